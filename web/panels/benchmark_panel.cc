#include "web/panels/benchmark_panel.h"

#include "imgui.h"
#include "web/json_writer.h"

namespace qp::web {

BenchmarkPanel::BenchmarkPanel(Session* session) : session_(*session) {}

void BenchmarkPanel::Draw(FrameContext& ctx) {
  (void)ctx;
  ImGui::TextDisabled("%s", session_.has_model() ? "Work in progress." : "Load a model first (Model tab).");
}

void BenchmarkPanel::WriteState(JsonWriter& json) const {
  json.BeginObject();
  json.EndObject();
}

}  // namespace qp::web
