// The playground application: owns the panels, lays them out (no docking in 1.86), draws the
// menu bar and the recoverable Errors panel, times frames and writes the state() snapshot.
// Platform-free apart from ImGui: main.cc owns GLFW, the GL context and the main loop.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

struct ErrorEntry {
  std::string where;
  std::string message;
  long long frame = 0;
};

class App {
 public:
  App();
  // Sets up style and fonts for a device pixel ratio (called again when the DPR changes).
  void ApplyScale(float dpr);
  // Builds one ImGui frame (between ImGui::NewFrame and ImGui::Render).
  void Frame(float dpr, int width, int height);
  // Frame timing as measured by main.cc (milliseconds): CPU time of the last frame, the interval
  // between the starts of the last two frames, and the frame's split into building the UI
  // (NewFrame..Render, including panel computation) and submitting it to WebGL.
  void SetFrameTiming(double frame_ms, double interval_ms, double ui_ms, double gl_ms);

  // True while something changes without input (long work in steps, a text cursor blinking):
  // the platform then renders every frame instead of on demand.
  bool WantsFrames() const;

  void ReportError(const Status& status, const char* where);
  // A file from the page (drop or file picker): routed to the first panel that accepts it.
  void OnFile(const std::string& name, const std::string& bytes);
  // A file the page refused to read (larger than the page's cap): reported, nothing loaded.
  void OnFileTooLarge(const std::string& name, double size_bytes);
  std::string StateJson() const;

  static App* Get();  // the single instance (created by main.cc)
  // The one Session of the page: every panel and the JS API (window.qplay) act on it.
  Session& session() { return session_; }

 private:
  void DrawMenuBar();
  void DrawErrors();
  void DrawAbout();

  Session session_;  // declared first: panels hold references to it
  std::vector<std::unique_ptr<Panel>> panels_;
  std::deque<ErrorEntry> errors_;  // most recent last; bounded
  long long error_count_ = 0;
  long long files_loaded_ = 0;
  int busy_frames_ = 0;  // frames to render without input (after a file or an error arrives)
  std::string last_file_;
  bool show_errors_ = false;
  bool show_about_ = false;
  bool show_metrics_ = false;
  long long frame_ = 0;
  double frame_ms_ = 0, interval_ms_ = 0, max_interval_ms_ = 0, ui_ms_ = 0, gl_ms_ = 0;
  // CPU times of the last kRecentFrames frames (ring buffer), for percentiles in tests.
  static constexpr int kRecentFrames = 120;
  double recent_ms_[kRecentFrames] = {};
  double recent_ui_ms_[kRecentFrames] = {};
  int recent_count_ = 0;
  float dpr_ = 1.0f;
  int width_ = 0, height_ = 0;
};

}  // namespace qp::web
