// "Range x precision" panel: bits against calibrator, per layer and end to end, as a heatmap and curves (the workflows sweep, stepped).
#pragma once

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class RangePanel : public Panel {
 public:
  explicit RangePanel(Session* session);
  const char* Title() const override { return "Range x precision"; }
  const char* StateKey() const override { return "range"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Session& session_;
};

}  // namespace qp::web
