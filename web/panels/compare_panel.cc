#include "web/panels/compare_panel.h"

#include "imgui.h"
#include "web/json_writer.h"

namespace qp::web {

ComparePanel::ComparePanel(Session* session) : session_(*session) {}

void ComparePanel::Draw(FrameContext& ctx) {
  (void)ctx;
  ImGui::TextDisabled("%s", session_.has_model() ? "Work in progress." : "Load a model first (Model tab).");
}

void ComparePanel::WriteState(JsonWriter& json) const {
  json.BeginObject();
  json.EndObject();
}

}  // namespace qp::web
