// "Compare" panel: two quantization configurations A and B side by side with per-layer deltas.
#pragma once

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class ComparePanel : public Panel {
 public:
  explicit ComparePanel(Session* session);
  const char* Title() const override { return "Compare"; }
  const char* StateKey() const override { return "compare"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Session& session_;
};

}  // namespace qp::web
