// A playground panel: one ImGui window drawn each frame, thin over core state, plus its part of
// the state() JSON snapshot. Panels never compute quantization math themselves; they call core/.
// Coming panels (Model, Data, Quantize, Histograms, Range x precision, QAT, Compare, Benchmark,
// Export) implement this interface over the Session facade and register in app.cc.
#pragma once

#include <string>

#include "core/base/status.h"

namespace qp::web {

class JsonWriter;

// What a panel gets from the app each frame.
struct FrameContext {
  float dpr = 1.0f;     // device pixel ratio: ImGui sizes are physical pixels, scaled by this
  long long frame = 0;  // frame counter
  // Records a recoverable error: shown in the Errors panel, the session continues.
  void (*report_error)(const Status& status, const char* where) = nullptr;
};

class Panel {
 public:
  virtual ~Panel() = default;
  // Window title and the key of this panel's object in state().
  virtual const char* Title() const = 0;
  virtual const char* StateKey() const = 0;
  // Draws the panel's window (the app has set its position/size for the first use).
  virtual void Draw(FrameContext& ctx) = 0;
  // Called every frame for every panel, visible or not, before any Draw: long work (calibration,
  // evaluation, QAT) advances here in small steps within `budget_ms` so the frame stays short and
  // the work goes on while another tab is shown.
  virtual void Tick(FrameContext& ctx, double budget_ms) {}
  // True while the panel has work in progress: the app then renders frames without input.
  virtual bool Busy() const { return false; }
  // Writes this panel's state as one JSON value (an object).
  virtual void WriteState(JsonWriter& json) const = 0;

  // Files dropped on the page or chosen in a file picker go to the first panel that accepts the
  // name. LoadFile's bytes are untrusted; on error the panel keeps its current state and the
  // Status is shown in the Errors panel.
  virtual bool AcceptsFile(const std::string& name) const { return false; }
  virtual Status LoadFile(const std::string& name, const std::string& bytes) {
    return Unimplemented("file '", name, "': ", Title(), " opens no files");
  }
};

}  // namespace qp::web
