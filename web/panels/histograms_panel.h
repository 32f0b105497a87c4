// "Histograms" panel: a tensor's calibration histogram with every calibrator's threshold, draggable clip handles and the clipping vs rounding error split.
#pragma once

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class HistogramsPanel : public Panel {
 public:
  explicit HistogramsPanel(Session* session);
  const char* Title() const override { return "Histograms"; }
  const char* StateKey() const override { return "histograms"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Session& session_;
};

}  // namespace qp::web
