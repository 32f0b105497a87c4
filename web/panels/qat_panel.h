// "QAT" panel: quantization-aware training of the quantized model (from the Quantize panel) on the
// train data, one minibatch per step between frames. Play / Pause / Step / Reset / Finish, method
// (STE, LSQ, PACT) and learning rates, live loss / accuracy / STE clip-fraction curves, per-site
// range trajectories, and the quantization state machine's current state. Thin over
// Session::StartQat / QatStep / FinishQat (core/workflows/qat.h).
#pragma once

#include <string>

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class QatPanel : public Panel {
 public:
  explicit QatPanel(Session* session);
  const char* Title() const override { return "QAT"; }
  const char* StateKey() const override { return "qat"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override { return playing_ && session_.qat() != nullptr; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Status Start();
  void Fail(FrameContext& ctx, const Status& st, const char* where);

  Session& session_;
  int method_ = 1;  // QatMethod: 0 STE, 1 LSQ, 2 PACT
  float lr_ = 1e-4f, range_lr_ = 1e-2f;
  int total_steps_ = 300;
  // Small minibatches keep one step (forward + backward + update, not divisible) near the frame
  // budget in wasm; larger ones train faster per sample but stall frames.
  int batch_ = 8;
  bool playing_ = false;
  int pending_steps_ = 0;  // single steps requested by the Step button
  double step_ms_ = 0;     // last step's time
  std::string last_error_;
};

}  // namespace qp::web
