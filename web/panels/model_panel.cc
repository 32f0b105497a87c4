// "Model" panel (see model_panel.h): demo model picker, "Open .onnx", totals and a layer table.
#include "web/panels/model_panel.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

#include "core/session/session_io.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

std::string ShapeText(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += s[i] == kDynamicDim ? std::string("?") : std::to_string(s[i]);
  }
  return out + "]";
}

// "1.23 M" style counts for the table.
std::string Count(int64_t n) {
  char buf[32];
  if (n >= 1000000000)
    std::snprintf(buf, sizeof(buf), "%.2f G", n / 1e9);
  else if (n >= 1000000)
    std::snprintf(buf, sizeof(buf), "%.2f M", n / 1e6);
  else if (n >= 10000)
    std::snprintf(buf, sizeof(buf), "%.1f k", n / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
  return buf;
}

constexpr const char* kModelsDir = "/models";  // models/*.onnx, embedded by web/CMakeLists.txt

}  // namespace

ModelPanel::ModelPanel(Session* session) : session_(*session) {
  // The panel opens with a model: the trained CNN when the bundle has it, else the untrained CNN
  // architecture. A failure here is shown by Draw (no info).
  trained_ = ListBuiltinModels(kModelsDir);
  const bool have_cnn = std::find(trained_.begin(), trained_.end(), "cnn") != trained_.end();
  if (!have_cnn || !LoadTrained("cnn").ok()) (void)LoadDemo(AllDemoModels()[static_cast<size_t>(demo_index_)]);
}

Status ModelPanel::Describe() {
  QP_ASSIGN_OR_RETURN(ModelInfo info, session_.Info(1));
  info_ = std::move(info);
  described_generation_ = session_.model_generation();
  return Status::Ok();
}

Status ModelPanel::LoadDemo(DemoModel m) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(session_.LoadDemoModel(m, static_cast<uint64_t>(seed_)));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_.clear();
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

Status ModelPanel::LoadTrained(const std::string& name) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(LoadBuiltinModel(session_, kModelsDir, name));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_ = name;
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

bool ModelPanel::AcceptsFile(const std::string& name) const {
  if (name.size() < 5) return false;
  std::string ext = name.substr(name.size() - 5);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".onnx";
}

Status ModelPanel::LoadFile(const std::string& name, const std::string& bytes) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(session_.LoadModel(bytes.data(), bytes.size(), name));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_.clear();
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

void ModelPanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  const std::vector<DemoModel>& demos = AllDemoModels();
  if (!trained_.empty()) {
    ImGui::TextUnformatted("Trained on Fashion-MNIST");
    for (const std::string& name : trained_) {
      ImGui::SameLine();
      const std::string label = name + " (trained)";
      if (ImGui::RadioButton(label.c_str(), trained_selected_ == name)) {
        const Status st = LoadTrained(name);
        if (!st.ok() && ctx.report_error) ctx.report_error(st, "load built-in model");
      }
    }
  }
  ImGui::TextUnformatted("Untrained architecture");
  ImGui::SameLine();
  for (size_t i = 0; i < demos.size(); ++i) {
    if (i > 0) ImGui::SameLine();
    const bool selected = trained_selected_.empty() && demo_index_ == static_cast<int>(i);
    if (ImGui::RadioButton(DemoModelName(demos[i]), selected)) {
      demo_index_ = static_cast<int>(i);
      const Status st = LoadDemo(demos[i]);
      if (!st.ok() && ctx.report_error) ctx.report_error(st, "load demo model");
    }
  }
  ImGui::SameLine(0, 24.0f * dpr);
  if (ImGui::Button("Open .onnx...")) OpenFilePicker(".onnx");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Or drop an .onnx file anywhere on the page.");

  // The model may have changed elsewhere (the JS API, training): describe it again.
  if (session_.has_model() && described_generation_ != session_.model_generation()) {
    const Status st = Describe();
    if (!st.ok() && ctx.report_error) ctx.report_error(st, "describe model");
  }
  if (!info_ || !session_.has_model()) {
    ImGui::TextDisabled("No model loaded.");
    return;
  }
  const ModelInfo& m = *info_;
  ImGui::Text(
      "%s  |  %zu layers  |  %s parameters  |  %s MACs (batch 1)  |  opset %lld  |  "
      "loaded in %.0f ms",
      session_.model_name().c_str(), m.layers.size(), Count(m.total_params).c_str(),
      Count(m.total_macs).c_str(), static_cast<long long>(m.opset), load_ms_);
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  if (ImGui::BeginTable("layers", 5, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Layer", ImGuiTableColumnFlags_WidthStretch, 2.2f);
    ImGui::TableSetupColumn("Op", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("Output shape", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableSetupColumn("Params", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableSetupColumn("MACs", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableHeadersRow();
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(m.layers.size()));
    while (clipper.Step()) {
      for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
        const LayerInfo& l = m.layers[static_cast<size_t>(i)];
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        ImGui::TextUnformatted(l.name.c_str());
        ImGui::TableSetColumnIndex(1);
        ImGui::TextUnformatted(l.op.c_str());
        ImGui::TableSetColumnIndex(2);
        ImGui::TextUnformatted(ShapeText(l.output_shape).c_str());
        ImGui::TableSetColumnIndex(3);
        ImGui::TextUnformatted(l.params ? Count(l.params).c_str() : "");
        ImGui::TableSetColumnIndex(4);
        ImGui::TextUnformatted(l.macs ? Count(l.macs).c_str() : "");
      }
    }
    ImGui::EndTable();
  }
}

void ModelPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("loaded", session_.has_model());
  j.Field("name", session_.model_name());
  j.Field("demo", DemoModelName(AllDemoModels()[static_cast<size_t>(demo_index_)]));
  j.Field("trained", trained_selected_);
  j.Key("builtin").BeginArray();
  for (const std::string& name : trained_) j.Value(name);
  j.EndArray();
  j.Field("loadMs", load_ms_);
  if (info_) {
    j.Field("layers", static_cast<long long>(info_->layers.size()));
    j.Field("params", static_cast<long long>(info_->total_params));
    j.Field("macs", static_cast<long long>(info_->total_macs));
    j.Key("ops").BeginArray();
    for (const LayerInfo& l : info_->layers) j.Value(l.op);
    j.EndArray();
  } else {
    j.Key("layers").Null();
  }
  j.EndObject();
}

}  // namespace qp::web
