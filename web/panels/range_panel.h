// "Range x precision" panel: bits (2-8) against activation calibrator, end to end and per layer,
// from core/workflows' RangePrecisionSweep over the session's calibration statistics, run in
// steps from Tick (the float reference in sample chunks, then each configuration's planning and
// its simulation in sample chunks) with a progress bar and Cancel. Shows the accuracy (and output
// SQNR) as a heatmap table and as curves of accuracy against bits, one per calibrator.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/session/session.h"
#include "core/workflows/analysis.h"
#include "web/panel.h"

namespace qp::web {

class RangePanel : public Panel {
 public:
  explicit RangePanel(Session* session);
  const char* Title() const override { return "Range x precision"; }
  const char* StateKey() const override { return "range"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override { return running_; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Status Start();
  void Stop(const std::string& why);
  // The value shown (accuracy or output SQNR) and its [min, max] over a scope's finite rows
  // (+inf, -inf when there are none).
  double Shown(const workflows::SweepRow& r) const;
  std::pair<double, double> ShownRange(const std::string& scope) const;
  void DrawHeatmap(FrameContext& ctx, const std::string& scope);
  void DrawCurves(FrameContext& ctx, const std::string& scope, float height);

  Session& session_;
  // Options.
  bool bits_on_[7] = {true, false, true, false, true, false, true};  // 2..8: 2, 4, 6, 8
  bool calib_on_[6] = {true, true, true, true, true, true};          // DefaultSweepCalibrators()
  bool global_ = true, per_layer_ = false;
  int samples_ = 200;
  bool show_sqnr_ = false;
  // The run.
  bool running_ = false;
  std::unique_ptr<workflows::AnalysisContextBuilder> builder_;
  std::unique_ptr<workflows::AnalysisContext> ctx_;
  std::unique_ptr<workflows::RangePrecisionSweep> sweep_;
  workflows::SweepOptions pending_options_;  // for the sweep created once the context is built
  workflows::QuantConfig base_;              // the session's config when the run started
  std::vector<workflows::SweepRow> rows_;  // of the last (or current) run
  std::vector<int> run_bits_;
  std::vector<std::string> run_calibrators_;
  std::vector<std::string> scopes_;  // "all" and/or the layers, as the run produced them
  int scope_index_ = 0;
  size_t total_ = 0;
  double progress_ = 0;
  double run_ms_ = 0, max_step_ms_ = 0;
  long long steps_ = 0;
  std::string status_;  // "", "cancelled", "done in ... ms", or an error
  std::string error_;
};

}  // namespace qp::web
