// "Benchmark" panel: fp32 vs int8 latency of the Session's model in this browser, per layer and in
// total. Run: a few warm-up runs, then N timed runs of each engine on one batch of test images, one
// run per frame (stepped, with progress), medians reported. fp32 is the reference executor
// (Executor::RunProfiled: per-node times); int8 is the session's quantized model lowered to the
// int8 kernels (its ORT-layout QDQ graph on Int8Executor, RunProfiled: per-step times), or the
// loaded model itself when it is a QDQ model. Int8 steps are attributed to the layer they name;
// quantize / dequantize at the float boundaries get a row of their own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class BenchmarkPanel : public Panel {
 public:
  explicit BenchmarkPanel(Session* session);
  const char* Title() const override { return "Benchmark"; }
  const char* StateKey() const override { return "benchmark"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override { return running_; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  struct Row {
    std::string layer, op;
    std::vector<double> fp32_us, int8_us;  // per timed run (summed over the layer's steps)
    int int8_steps = 0;                    // int8 kernel steps attributed to the layer (0: fused)
    double fp32_ms = 0, int8_ms = -1;      // medians; int8 -1: no int8 step
  };
  Status Start();
  Status RunOnce();  // one run of the current phase
  void Finish();
  size_t RowFor(const std::string& layer, const std::string& op);
  // Why int8 cannot run, or "" when an int8 engine is available for the current model.
  std::string Int8Reason() const;

  Session& session_;
  uint64_t generation_ = ~uint64_t{0};
  int batch_ = 4, runs_ = 20, warmup_ = 3;  // batch 4: one fp32 run well inside a frame
  bool running_ = false;
  int phase_ = 0;  // 0: fp32 warm-up, 1: fp32 timed, 2: int8 warm-up, 3: int8 timed
  int done_in_phase_ = 0;
  int batch_used_ = 0, runs_used_ = 0;
  double last_run_ms_ = 0;
  Tensor input_;
  std::unique_ptr<Executor> fp32_;
  std::unique_ptr<int8::Int8Executor> int8_owned_;  // built from the quantized model
  const int8::Int8Executor* int8_ = nullptr;         // int8_owned_ or the session's plan
  std::string int8_source_;                          // "quantized model" / "QDQ model"
  std::vector<double> fp32_total_, int8_total_;      // ms per timed run
  std::vector<Row> rows_;
  double fp32_ms_ = 0, int8_ms_ = -1;                // median totals
  std::string int8_note_;                            // why int8 did not run
  std::string error_;
};

}  // namespace qp::web
