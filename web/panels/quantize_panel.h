// "Quantize" panel: static post-training quantization of the Session's model. A preset and a
// per-layer table (skip, weight / activation bits, per-channel weights, calibrator), Calibrate
// with a progress bar and Cancel, then the accuracy of the float model, the fake-quant simulation
// and the int8 kernels on the test data, each evaluated in steps between frames (the int8 plan
// itself is built a node per step first). Thin over
// core/session (config, calibration, quantized runners) and core/session/eval_job.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/session/eval_job.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class QuantizePanel : public Panel {
 public:
  explicit QuantizePanel(Session* session);
  const char* Title() const override { return "Quantize"; }
  const char* StateKey() const override { return "quantize"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override;
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  // One accuracy figure: pending, running (with progress) or done.
  struct Figure {
    EvalTarget target = EvalTarget::kModel;
    std::optional<EvalJob> job;
    std::optional<EvalSummary> result;
    bool failed = false;
  };
  Status ApplyPreset(FrameContext& ctx);
  Status EditLayer(const std::string& layer, int weight_bits, int act_bits, bool skip, int calib);
  Status StartCalibration();
  void StartEvaluations();
  void SyncWithModel();

  Session& session_;
  uint64_t generation_ = ~uint64_t{0};
  int preset_index_ = 0;
  int calib_batches_ = 64;  // of 8 samples: 512 calibration images by default
  int eval_samples_ = 2000;
  bool quantize_when_done_ = false;
  double calib_ms_ = 0;
  double max_step_ms_ = 0;
  // The longest step of each kind (calibration batch, Quantize, int8 plan node, evaluation chunk).
  double max_calib_ms_ = 0, quantize_ms_ = 0, max_prep_ms_ = 0, max_eval_ms_ = 0;
  // The quantized runner (int8 plan: lowering and weight packing) is built in steps before the
  // quantized figures run, so no frame carries the whole preparation.
  bool preparing_ = false;
  int prep_steps_ = 0;
  double prep_ms_ = 0;
  std::vector<Figure> figures_;
  size_t running_figure_ = 0;
  std::string last_status_;
};

}  // namespace qp::web
