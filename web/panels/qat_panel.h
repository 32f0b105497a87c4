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
  bool Busy() const override { return (playing_ || pending_steps_ > 0) && session_.qat() != nullptr; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Status Start();
  void Fail(FrameContext& ctx, const Status& st, const char* where);

  Session& session_;
  int method_ = 1;  // QatMethod: 0 STE, 1 LSQ, 2 PACT
  float lr_ = 1e-4f, range_lr_ = 1e-2f;
  int total_steps_ = 300;
  // A step is split into layer passes over frames (Tick); one pass is not split, so the batch
  // sets the longest pass: 16 keeps the built-in CNN's slowest (conv backward) near 30 ms in wasm.
  int batch_ = 16;
  bool playing_ = false;
  int pending_steps_ = 0;  // single steps requested by the Step button
  double step_ms_ = 0;     // last complete step's compute time (summed over its frames)
  double worst_pass_ms_ = 0;       // slowest node pass of the last complete step
  double step_work_ms_ = 0;        // the step in progress: compute so far
  double step_worst_pass_ms_ = 0;  // and its slowest pass so far
  std::string last_error_;
};

}  // namespace qp::web
