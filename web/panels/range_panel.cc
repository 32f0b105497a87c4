#include "web/panels/range_panel.h"

#include "imgui.h"
#include "web/json_writer.h"

namespace qp::web {

RangePanel::RangePanel(Session* session) : session_(*session) {}

void RangePanel::Draw(FrameContext& ctx) {
  (void)ctx;
  ImGui::TextDisabled("%s", session_.has_model() ? "Work in progress." : "Load a model first (Model tab).");
}

void RangePanel::WriteState(JsonWriter& json) const {
  json.BeginObject();
  json.EndObject();
}

}  // namespace qp::web
