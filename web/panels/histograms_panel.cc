#include "web/panels/histograms_panel.h"

#include "imgui.h"
#include "web/json_writer.h"

namespace qp::web {

HistogramsPanel::HistogramsPanel(Session* session) : session_(*session) {}

void HistogramsPanel::Draw(FrameContext& ctx) {
  (void)ctx;
  ImGui::TextDisabled("%s", session_.has_model() ? "Work in progress." : "Load a model first (Model tab).");
}

void HistogramsPanel::WriteState(JsonWriter& json) const {
  json.BeginObject();
  json.EndObject();
}

}  // namespace qp::web
