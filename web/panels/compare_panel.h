// "Compare" panel: two quantization configurations A and B of the Session's model side by side.
// Each side starts from a preset or the Quantize tab's current config, with the global weight /
// activation bits, activation calibrator and weight granularity editable. Run comparison evaluates
// both in steps between frames (core/workflows/compare.h: one calibration pass shared by both,
// reused from the session's quantized model when it covers them): simulated top-1 of A and B on the
// test data and a per-site table of SQNR against the float model (A, B, delta, bits).
#pragma once

#include <memory>
#include <string>

#include "core/session/session.h"
#include "core/workflows/compare.h"
#include "web/panel.h"

namespace qp::web {

class ComparePanel : public Panel {
 public:
  explicit ComparePanel(Session* session);
  const char* Title() const override { return "Compare"; }
  const char* StateKey() const override { return "compare"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override { return job_ != nullptr && !job_->done(); }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  // One side's choice: a source (0: current config, 1 + i: preset i) and the edited globals.
  struct Side {
    int source = 1;
    int weight_bits = 8, act_bits = 8;
    int calibrator = 0;  // workflows::CalibMethod
    bool per_channel = true;
  };
  Result<workflows::QuantConfig> BaseConfig(const Side& s) const;
  Result<workflows::QuantConfig> Config(const Side& s) const;
  void LoadSide(Side* s);  // fields from the chosen source
  std::string SourceName(const Side& s) const;
  Status Start();
  void DrawSide(Side* s, const char* id, float dpr);
  void DrawResults(float dpr);

  Session& session_;
  uint64_t generation_ = ~uint64_t{0};
  Side side_[2];
  int eval_samples_ = 500;
  int sqnr_samples_ = 32;
  std::unique_ptr<workflows::CompareJob> job_;
  std::string names_[2];  // the configurations compared by job_ ("int8", "w4a4 (edited)")
  double run_ms_ = 0, max_step_ms_ = 0;
  const char* max_step_phase_ = "";  // the phase of the longest step
  std::string error_;
};

}  // namespace qp::web
