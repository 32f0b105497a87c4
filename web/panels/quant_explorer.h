// "Quantize a tensor" panel: a seeded weight- or activation-like tensor, its histogram with the
// quantization grid, clip range and every calibrator's threshold, and the error metrics, live
// as bits / calibrator / scheme change. Drawing only; the numbers come from explorer_study.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "web/demo_tensors.h"
#include "web/explorer_study.h"
#include "web/panel.h"

namespace qp::web {

class QuantExplorerPanel : public Panel {
 public:
  QuantExplorerPanel();
  ~QuantExplorerPanel() override;
  const char* Title() const override { return "Quantize a tensor"; }
  const char* StateKey() const override { return "explorer"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;
  // .npy tensors (any shape; float32, int8, uint8, int32, int64 converted to float).
  bool AcceptsFile(const std::string& name) const override;
  Status LoadFile(const std::string& name, const std::string& bytes) override;

  // The current tensor (for Module.tensorValues()); null before the first one exists.
  static const std::vector<float>* CurrentValues();

 private:
  void Recompute(FrameContext& ctx);
  void DrawControls(FrameContext& ctx);
  void DrawHistogram(FrameContext& ctx, float height);
  void DrawMetrics(FrameContext& ctx);
  void DrawSqnrCurve(FrameContext& ctx, float height);

  // Inputs.
  DemoDistribution distribution_ = DemoDistribution::kGaussianOutliers;
  bool use_file_ = false;           // the tensor is file_values_ rather than a demo distribution
  std::vector<float> file_values_;  // the last loaded file's values
  std::string file_label_;          // "File: name [shape]"
  int seed_ = 1;
  int size_index_ = 1;
  StudyConfig config_;
  bool log_scale_ = true;

  // Derived.
  std::optional<StudyData> data_;
  std::optional<StudyResult> result_;
  std::vector<double> curve_;  // SQNR for bits kCurveMinBits..kCurveMaxBits
  std::string error_;          // why result_ is empty, when it is
  bool tensor_dirty_ = true;
  bool study_dirty_ = true;
  bool curve_dirty_ = true;     // calibrator, scheme, percentile or tensor changed (not bits)
  bool dragging_clip_ = false;  // the user is dragging the clip value on the histogram
  double recompute_ms_ = 0;
  long long recomputes_ = 0;
};

}  // namespace qp::web
