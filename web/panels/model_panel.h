// "Model" panel: the Session's current model (a built-in demo architecture or a dropped .onnx
// file) and its layer list with op, output shape, parameter count and MACs. Once the model is
// quantized, the list is coloured by quantization health: per-layer weight and activation SQNR
// (core/workflows PerLayerSqnr, fake-quant vs float on the first calibration samples, computed
// once per quantized model in Tick) and the activation clip fraction of the calibration data
// (AnalyzeTensorClip at the chosen amax). Drawing only; the numbers come from core.
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/session/model_info.h"
#include "core/session/session.h"
#include "core/workflows/analysis.h"
#include "web/panel.h"

namespace qp::web {

class ModelPanel : public Panel {
 public:
  // The session is the app's (shared with the JS API and the other panels); not owned.
  explicit ModelPanel(Session* session);
  const char* Title() const override { return "Model"; }
  const char* StateKey() const override { return "model"; }
  void Tick(FrameContext& ctx, double budget_ms) override;
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;
  // .onnx files go to Session::LoadModel (size-capped, validated; a bad file keeps the model).
  bool AcceptsFile(const std::string& name) const override;
  Status LoadFile(const std::string& name, const std::string& bytes) override;

 private:
  Status LoadDemo(DemoModel m);
  Status LoadTrained(const std::string& name);
  Status Describe();
  // Per ModelInfo layer (same index): the quantization figures, NaN where the layer has none.
  struct Health {
    double weight_db = std::numeric_limits<double>::quiet_NaN();
    double act_db = std::numeric_limits<double>::quiet_NaN();
    double clip_fraction = std::numeric_limits<double>::quiet_NaN();
  };
  Status ComputeHealth();

  Session& session_;
  uint64_t described_generation_ = 0;  // the model generation info_ describes
  std::optional<ModelInfo> info_;
  int demo_index_ = 1;  // cnn: the architecture the demo buttons load (and the seed applies to)
  bool demo_selected_ = false;  // a demo architecture is the loaded model
  // Trained built-in models (models/*.onnx embedded at /models), names without ".onnx"; the
  // selected one ("" when an untrained architecture or a dropped file is loaded).
  std::vector<std::string> trained_;
  std::string trained_selected_;
  uint64_t health_fingerprint_ = 0;  // of the quantized model health_ describes (0: none)
  std::vector<Health> health_;
  int64_t health_samples_ = 0;
  double health_ms_ = 0;
  std::string health_error_;
  int seed_ = 1;
  double load_ms_ = 0;
};

}  // namespace qp::web
