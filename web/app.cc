// The playground application (see app.h): layout is one full-viewport host window with a tab per
// panel, a menu bar, a status line, and a floating Errors panel that never blocks the session.
#include "web/app.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "imgui.h"
#include "web/json_writer.h"
#include "web/panels/benchmark_panel.h"
#include "web/panels/compare_panel.h"
#include "web/panels/data_panel.h"
#include "web/panels/export_panel.h"
#include "web/panels/histograms_panel.h"
#include "web/panels/model_panel.h"
#include "web/panels/qat_panel.h"
#include "web/panels/quantize_panel.h"
#include "web/panels/quant_explorer.h"
#include "web/panels/range_panel.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

App* g_app = nullptr;
constexpr size_t kMaxErrorsKept = 50;
constexpr float kBaseFontPx = 15.0f;
constexpr double kWorkBudgetMs = 25.0;  // per frame, for all panels' stepped work together  // CSS pixels; the atlas is rasterised at 15 * dpr

void ReportErrorThunk(const Status& status, const char* where) {
  if (g_app != nullptr) g_app->ReportError(status, where);
}

// The TTF bytes, read once from the embedded file system (--embed-file in web/CMakeLists.txt)
// and kept: the atlas is rebuilt from them whenever the DPR changes.
const std::vector<unsigned char>& FontBytes() {
  static std::vector<unsigned char> bytes = [] {
    std::vector<unsigned char> b;
    if (FILE* f = std::fopen("/fonts/DejaVuSans.ttf", "rb")) {
      unsigned char buf[16384];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) b.insert(b.end(), buf, buf + n);
      std::fclose(f);
    }
    return b;
  }();
  return bytes;
}

}  // namespace

App* App::Get() { return g_app; }

App::App() {
  g_app = this;
  // Tabs: the tensor explorer, then the workflow (model, data, quantize). Each file type has one
  // accepting panel (labelled .npy / IDX: Data; other .npy: the explorer; .onnx: Model).
  panels_.push_back(std::make_unique<QuantExplorerPanel>());
  panels_.push_back(std::make_unique<ModelPanel>(&session_));
  panels_.push_back(std::make_unique<DataPanel>(&session_));
  panels_.push_back(std::make_unique<QuantizePanel>(&session_));
  panels_.push_back(std::make_unique<HistogramsPanel>(&session_));
  panels_.push_back(std::make_unique<RangePanel>(&session_));
  panels_.push_back(std::make_unique<QatPanel>(&session_));
  panels_.push_back(std::make_unique<ComparePanel>(&session_));
  panels_.push_back(std::make_unique<BenchmarkPanel>(&session_));
  panels_.push_back(std::make_unique<ExportPanel>(&session_));
}

void App::ApplyScale(float dpr) {
  dpr_ = dpr;
  ImGuiStyle& style = ImGui::GetStyle();
  style = ImGuiStyle();
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 4.0f;
  style.FrameRounding = 3.0f;
  style.GrabRounding = 3.0f;
  style.WindowBorderSize = 1.0f;
  style.FramePadding = ImVec2(6.0f, 4.0f);
  style.ItemSpacing = ImVec2(8.0f, 6.0f);
  style.ScaleAllSizes(dpr);

  ImGuiIO& io = ImGui::GetIO();
  io.Fonts->Clear();
  const std::vector<unsigned char>& ttf = FontBytes();
  if (!ttf.empty()) {
    ImFontConfig cfg;
    cfg.FontDataOwnedByAtlas = false;  // FontBytes() keeps them for later rebuilds
    cfg.OversampleH = 2;
    cfg.OversampleV = 1;
    io.Fonts->AddFontFromMemoryTTF(const_cast<unsigned char*>(ttf.data()),
                                   static_cast<int>(ttf.size()), kBaseFontPx * dpr, &cfg);
  } else {
    // The embedded font is part of the bundle; if it is missing, keep going with ImGui's own.
    ImFontConfig cfg;
    cfg.SizePixels = 13.0f * dpr;
    io.Fonts->AddFontDefault(&cfg);
    ReportError(Status(StatusCode::kNotFound,
                       "/fonts/DejaVuSans.ttf missing from the bundle; "
                       "using ImGui's built-in bitmap font"),
                "font");
  }
  io.Fonts->Build();
}

void App::SetFrameTiming(double frame_ms, double interval_ms, double ui_ms, double gl_ms) {
  frame_ms_ = frame_ms;
  interval_ms_ = interval_ms;
  ui_ms_ = ui_ms;
  gl_ms_ = gl_ms;
  recent_ms_[recent_count_ % kRecentFrames] = frame_ms;
  recent_ui_ms_[recent_count_ % kRecentFrames] = ui_ms;
  ++recent_count_;
  if (frame_ > 3 && interval_ms > max_interval_ms_) max_interval_ms_ = interval_ms;
}

bool App::WantsFrames() const {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.WantTextInput || busy_frames_ > 0) return true;  // a blinking text cursor, async arrivals
  for (const auto& panel : panels_)
    if (panel->Busy()) return true;  // stepped work in progress
  return false;
}

void App::ReportError(const Status& status, const char* where) {
  if (status.ok()) return;
  errors_.push_back({where ? where : "", status.ToString(), frame_});
  while (errors_.size() > kMaxErrorsKept) errors_.pop_front();
  ++error_count_;
  show_errors_ = true;
  busy_frames_ = 8;
}

void App::Frame(float dpr, int width, int height) {
  ++frame_;
  if (busy_frames_ > 0) --busy_frames_;
  width_ = width;
  height_ = height;
  FrameContext ctx;
  ctx.dpr = dpr;
  ctx.frame = frame_;
  ctx.report_error = ReportErrorThunk;

  // Stepped work first, within a share of the 50 ms frame budget (drawing and WebGL need the rest).
  const double work_start = NowMs();
  for (auto& panel : panels_) {
    const double left = kWorkBudgetMs - (NowMs() - work_start);
    if (left <= 0) break;
    panel->Tick(ctx, left);
  }

  DrawMenuBar();

  // Host window: everything below the menu bar, above nothing; resizes with the canvas.
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(ImVec2(vp->WorkPos.x, vp->WorkPos.y));
  ImGui::SetNextWindowSize(vp->WorkSize);
  const ImGuiWindowFlags host_flags =
      ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBackground |
      ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings;
  if (ImGui::Begin("qplay", nullptr, host_flags)) {
    if (ImGui::BeginTabBar("panels")) {
      for (auto& panel : panels_) {
        if (ImGui::BeginTabItem(panel->Title())) {
          ImGui::BeginChild("panel", ImVec2(0, -ImGui::GetFrameHeightWithSpacing()), false);
          panel->Draw(ctx);
          ImGui::EndChild();
          ImGui::EndTabItem();
        }
      }
      ImGui::EndTabBar();
    }
    // Status line.
    ImGui::Separator();
    ImGui::TextDisabled(
        "frame %lld  |  %.1f ms/frame (%.1f ms CPU)  |  %dx%d px @ %.2fx  |  "
        "%lld error(s)",
        frame_, interval_ms_, frame_ms_, width, height, dpr, error_count_);
  }
  ImGui::End();

  DrawErrors();
  DrawAbout();
  if (show_metrics_) ImGui::ShowMetricsWindow(&show_metrics_);
}

void App::DrawMenuBar() {
  if (!ImGui::BeginMainMenuBar()) return;
  if (ImGui::BeginMenu("View")) {
    ImGui::MenuItem("Errors", nullptr, &show_errors_);
    ImGui::MenuItem("ImGui metrics", nullptr, &show_metrics_);
    ImGui::EndMenu();
  }
  if (ImGui::BeginMenu("Help")) {
    ImGui::MenuItem("About qplay", nullptr, &show_about_);
    ImGui::EndMenu();
  }
  ImGui::TextDisabled("  qplay: quantization playground");
  ImGui::EndMainMenuBar();
}

void App::DrawErrors() {
  if (!show_errors_) return;
  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowSize(ImVec2(vp->WorkSize.x * 0.5f, vp->WorkSize.y * 0.3f),
                           ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowPos(
      ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.48f, vp->WorkPos.y + vp->WorkSize.y * 0.65f),
      ImGuiCond_FirstUseEver);
  if (ImGui::Begin("Errors", &show_errors_)) {
    if (errors_.empty()) {
      ImGui::TextDisabled("No errors.");
    } else {
      ImGui::TextWrapped("The session is intact: fix the input and carry on.");
      if (ImGui::Button("Clear")) errors_.clear();
      ImGui::Separator();
      for (auto it = errors_.rbegin(); it != errors_.rend(); ++it) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.55f, 0.45f, 1.0f));
        ImGui::TextWrapped("[frame %lld] %s: %s", it->frame, it->where.c_str(),
                           it->message.c_str());
        ImGui::PopStyleColor();
      }
    }
  }
  ImGui::End();
}

void App::DrawAbout() {
  if (!show_about_) return;
  ImGui::SetNextWindowPos(ImGui::GetMainViewport()->GetCenter(), ImGuiCond_Appearing,
                          ImVec2(0.5f, 0.5f));
  if (ImGui::Begin("About qplay", &show_about_, ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::Text("qplay: a neural-network quantization playground.");
    ImGui::Text("Everything runs in this page; nothing is uploaded.");
    ImGui::Text("Dear ImGui %s, WebGL2, Emscripten.", ImGui::GetVersion());
  }
  ImGui::End();
}

void App::OnFile(const std::string& name, const std::string& bytes) {
  busy_frames_ = 8;
  for (auto& panel : panels_) {
    if (!panel->AcceptsFile(name)) continue;
    const Status st = panel->LoadFile(name, bytes);
    if (st.ok()) {
      ++files_loaded_;
      last_file_ = name;
    } else {
      ReportError(st, "open file");
    }
    return;
  }
  ReportError(InvalidArgument("file '", name, "' (", bytes.size(),
                              " bytes): no panel opens this type; the playground opens .npy tensors "
                              "and .onnx models"
                              ", IDX / .npy images + labels and .png / .jpg images"),
              "open file");
}

void App::OnFileTooLarge(const std::string& name, double size_bytes) {
  ReportError(ResourceExhausted("file '", name, "' is ", static_cast<long long>(size_bytes),
                                " bytes; the page reads files up to 512 MiB"),
              "open file");
}

std::string App::StateJson() const {
  JsonWriter j;
  j.BeginObject();
  j.Field("frame", frame_);
  j.Field("frameMs", frame_ms_);
  j.Field("frameIntervalMs", interval_ms_);
  j.Field("maxFrameIntervalMs", max_interval_ms_);
  j.Field("uiMs", ui_ms_);
  j.Field("glMs", gl_ms_);
  // Oldest first.
  j.Key("recentFrameMs").BeginArray();
  const int n = std::min(recent_count_, kRecentFrames);
  for (int i = recent_count_ - n; i < recent_count_; ++i) j.Value(recent_ms_[i % kRecentFrames]);
  j.EndArray();
  j.Key("recentUiMs").BeginArray();
  for (int i = recent_count_ - n; i < recent_count_; ++i) j.Value(recent_ui_ms_[i % kRecentFrames]);
  j.EndArray();
  j.Field("dpr", static_cast<double>(dpr_));
  j.Key("canvas").BeginObject().Field("w", width_).Field("h", height_).EndObject();
  j.Field("items", LastFrameItemCount());
  j.Field("errorCount", error_count_);
  j.Field("filesLoaded", files_loaded_);
  j.Field("lastFile", last_file_);
  if (errors_.empty()) {
    j.Key("lastError").Null();
  } else {
    j.Field("lastError", errors_.back().where + ": " + errors_.back().message);
  }
  for (const auto& panel : panels_) {
    j.Key(panel->StateKey());
    panel->WriteState(j);
  }
  j.EndObject();
  return j.str();
}

}  // namespace qp::web
