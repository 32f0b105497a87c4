// "Histograms" panel: for any quantized tensor of the Session's quantized model (activation sites
// from the calibration statistics, weights from their values), the |x| histogram the calibrators
// work on, every sweep calibrator's threshold drawn on it (max, percentile 99.9 / 99.99 / 99.999,
// MSE, entropy), two clip handles at -amax and +amax (the quantizers are symmetric: dragging either
// moves both), the clipping vs rounding error split at the handles' amax updating live, and the
// calibration samples that set the max. All numbers come from core/workflows/analysis.h
// (CalibratorThresholds, AnalyzeTensorClip, WeightClipStats); the panel only draws.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/session/session.h"
#include "core/workflows/analysis.h"
#include "web/panel.h"

namespace qp::web {

class HistogramsPanel : public Panel {
 public:
  explicit HistogramsPanel(Session* session);
  const char* Title() const override { return "Histograms"; }
  const char* StateKey() const override { return "histograms"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  bool Busy() const override { return weights_pending_; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  struct Entry {
    std::string tensor;
    bool weight = false;
    bool is_unsigned = false;  // the site's quantized type (ReLU outputs: uint8)
    int bits = 8;
    float calibrated_amax = 0;  // the amax the quantized model uses (weights: largest channel's)
  };
  // Follows the session's quantized model: on a new one, computes the weight sites' statistics a
  // site at a time within `budget_ms` per frame, then lists the entries.
  void Sync(FrameContext& ctx, double budget_ms);
  void BuildEntries();
  void Select(size_t index);
  void Recompute();  // thresholds and split for the selected tensor at amax_ / bits_
  const workflows::CalibrationStats* StatsFor(const Entry& e) const;
  void DrawPlot(FrameContext& ctx, float height);

  Session& session_;
  uint64_t fingerprint_ = 0;  // of the quantized model the entries describe
  std::vector<Entry> entries_;
  workflows::CalibrationStats weight_stats_;
  size_t weight_site_ = 0;       // next plan site for weight_stats_
  bool weights_pending_ = false; // weight_stats_ still being computed
  std::string previous_tensor_;  // selection to keep across quantized models
  size_t selected_ = 0;
  int bits_ = 8;
  float amax_ = 0;
  bool log_scale_ = true;
  bool dragging_ = false;
  std::vector<std::pair<std::string, float>> thresholds_;
  std::optional<workflows::TensorClipReport> report_;
  float data_min_ = 0, data_max_ = 0;  // signed range seen (activations: calibration; weights: values)
  std::string error_;
  int recomputes_ = 0;
  // Handle positions of the last frame in CSS pixels (for tests): x of -amax and +amax, y middle.
  float handle_lo_x_ = 0, handle_hi_x_ = 0, handle_y_ = 0;
  bool handles_visible_ = false;
};

}  // namespace qp::web
