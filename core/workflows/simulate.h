// Running a quantized model three ways and comparing them: the float prepared graph, the fake-quant
// simulation (FakeQuantHook on the fp32 reference ops), and integer execution (the ORT-layout QDQ
// graph on core/int8's Int8Executor). The per-site report says how far simulation and integer
// execution differ, in quanta of each activation site (|diff| / scale).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"
#include "core/int8/int8_executor.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"

namespace qp::workflows {

// Runs `graph` node by node on the fp32 reference ops with `hook` (may be nullptr) applied as the
// Trainer applies it (inference mode). Returns the graph outputs; `values` (optional) receives every
// value computed (after hooks), by name.
Result<std::vector<Tensor>> RunWithHook(const Graph& graph, const std::vector<Tensor>& inputs,
                                        train::TensorHook* hook,
                                        std::map<std::string, Tensor>* values = nullptr);

enum class ExecMode { kFloat, kSimulated, kInt8 };
const char* ExecModeName(ExecMode m);  // "float", "simulated", "int8"

// Prepared runners for one QuantizedModel: the fake-quant hook and the int8 plan are built once.
class QuantizedRunner {
 public:
  static Result<std::unique_ptr<QuantizedRunner>> Create(const QuantizedModel& model,
                                                         int8::Backend backend = int8::Backend::kScalar);
  // Create in two parts, so a UI can build the int8 plan over several frames: Prepare makes the
  // runner without its int8 plan and, when the model has one (every site at 8 bits), sets *int8_plan
  // to the plan's builder (else leaves it empty); Step the builder, then SetInt8Plan(Finish()).
  static Result<std::unique_ptr<QuantizedRunner>> Prepare(const QuantizedModel& model, int8::Backend backend,
                                                          std::optional<int8::Int8PlanBuilder>* int8_plan);
  void SetInt8Plan(int8::Int8Executor plan) { int8_ = std::make_unique<int8::Int8Executor>(std::move(plan)); }
  // Needs every site at 8 bits (the int8 plan); otherwise kInt8 is FailedPrecondition naming a site.
  Result<std::vector<Tensor>> Run(ExecMode mode, const Tensor& input) const;
  // The int8 graph (ORT layout) with every activation site's DequantizeLinear output as an extra
  // graph output; nullptr when bits != 8.
  const int8::Int8Executor* int8_executor() const { return int8_.get(); }
  const QuantizedModel& model() const { return model_; }

  // Values at every activation site: simulation (fake-quantized values) and integer execution
  // (dequantized int8 values), for the report.
  Result<std::map<std::string, Tensor>> SimulatedSiteValues(const Tensor& input) const;
  // Simulation with every activation site's value replaced by `forced` (where present) before
  // later layers read it: each layer simulated on the integer execution's inputs.
  Result<std::map<std::string, Tensor>> SimulatedSiteValues(
      const Tensor& input, const std::map<std::string, Tensor>& forced) const;
  Result<std::map<std::string, Tensor>> Int8SiteValues(const Tensor& input) const;

 private:
  QuantizedRunner() = default;
  QuantizedModel model_;
  std::shared_ptr<train::TensorHook> hook_;
  std::unique_ptr<int8::Int8Executor> int8_;
  std::vector<std::string> int8_site_outputs_;  // extra outputs of the int8 graph, in order
  size_t num_outputs_ = 0;
};

// Two views per site. End to end: both engines run the whole model, so a difference upstream can
// propagate. Isolated ("per layer"): the simulation of each layer is fed the integer execution's
// values at its input sites, so only this layer's own arithmetic differs (float products and a
// float rounding in simulation; int32 accumulation and the kernels' requantization in int8): by
// construction at most one quantum apart, except at exact rounding ties.
struct SiteDiff {
  std::string tensor;
  std::string layer;
  double scale = 0;            // per-tensor scale of the site
  double max_quanta = 0;       // end to end: max |sim - int| / scale
  double mean_quanta = 0;      // end to end: mean |sim - int| / scale
  double frac_within_one = 0;  // end to end: fraction with |sim - int| <= 1 quantum (+1e-3 slack)
  double isolated_max_quanta = 0;   // per layer (int8 inputs): max |sim - int| / scale
  double isolated_mean_quanta = 0;  // per layer: mean
  int64_t count = 0;
};
struct SimIntReport {
  std::vector<SiteDiff> sites;  // activation sites in graph order
  int64_t samples = 0;
};
// Simulation vs integer execution on `input` (a batch), per activation site.
Result<SimIntReport> CompareSimulatedToInt8(const QuantizedRunner& runner, const Tensor& input);
std::string SimIntReportToString(const SimIntReport& report);

struct AccuracyResult {
  int64_t samples = 0;
  int64_t correct = 0;
  double accuracy = 0;
  double loss = 0;  // mean softmax cross-entropy of the first output taken as logits
};
// Top-1 accuracy of the first output over a dataset (at most max_samples if > 0), in batches.
Result<AccuracyResult> EvaluateAccuracy(const QuantizedRunner& runner, ExecMode mode,
                                        const data::Dataset& ds, int64_t max_samples = -1,
                                        int64_t batch = 256);

}  // namespace qp::workflows
