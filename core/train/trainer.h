// The stepping Trainer: trains a Graph (the IR of core/graph) one minibatch per Step() call, so a
// UI can interleave training with frames. Forward keeps every activation, the loss is softmax
// cross-entropy on the logits, the backward walks the node list in reverse (backward.h per op)
// and sums gradients of values that feed several nodes (residual connections). Parameters are the
// float initializers feeding Conv (W, B), Gemm (A, B, C), MatMul and BatchNormalization (scale,
// bias); BatchNormalization runs in training mode (batch statistics) and its running mean/var
// initializers are updated per the ONNX definition. A TensorHook may wrap any node input or output
// (fake-quant forward, straight-through backward) for quantization-aware training.
// Deterministic: the same graph, data, options and seed give bit-identical losses.
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
#include "core/train/optimizer.h"

namespace qp::train {

// Where a hook applies: input `slot` of `node` (output == false) or its output `slot`.
struct HookSite {
  const Node* node = nullptr;
  bool output = false;
  int slot = 0;
  std::string value;  // the tensor's name in the graph
};

class TensorHook {
 public:
  virtual ~TensorHook() = default;
  virtual bool Applies(const HookSite& site) const = 0;
  // y = f(x), e.g. fake-quant. `training` is false in Evaluate().
  virtual Status Forward(const HookSite& site, const Tensor& x, bool training, Tensor* y) = 0;
  // dx from the hook's input x and dy = dL/dy (STE: dy where x is inside the clamp range, else 0).
  virtual Status Backward(const HookSite& site, const Tensor& x, const Tensor& dy, Tensor* dx) = 0;
};

struct TrainerOptions {
  int64_t batch_size = 64;
  uint64_t seed = 1;      // data order
  bool shuffle = true;
  enum class Opt { kSgd, kAdam } optimizer = Opt::kSgd;
  SgdOptions sgd;
  AdamOptions adam;
  LrSchedule schedule;
  std::string logits;     // value trained on; default: the first graph output (a final
                          // Softmax/LogSoftmax is skipped and its input used as the logits)
  // false: BatchNormalization uses (and does not update) its running statistics in training too,
  // and its backward treats them as constants (frozen BN, as QAT often does late in training).
  bool bn_batch_statistics = true;
  size_t history_cap = 100000;  // beyond this the oldest tenth is dropped
};

struct StepResult {
  int64_t step = 0;    // 0-based optimizer step
  int64_t epoch = 0;   // epoch of this minibatch
  double loss = 0;     // mean softmax cross-entropy of the minibatch (before the update)
  double accuracy = 0; // top-1 accuracy of the minibatch (before the update)
  float lr = 0;        // learning rate used
};

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  int64_t samples = 0;
};

struct Gradients {
  double loss = 0;
  int64_t correct = 0;
  std::map<std::string, Tensor> params;  // dL/dparam for every parameter the loss reaches
};

// PyTorch's default initialisation, deterministic from `seed` (our SplitMix64, identical natively
// and in wasm): Conv/Gemm/MatMul weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what
// kaiming_uniform(a = sqrt(5)) reduces to); BatchNormalization scale 1, bias 0, mean 0, var 1.
Status InitializeParameters(Graph* g, uint64_t seed);

class Trainer {
 public:
  // `train` must outlive the Trainer. Errors: invalid graph, an op on the training path without a
  // backward ("no backward for op X at node Y"), bad options, logits not [N, num_classes].
  static Result<std::unique_ptr<Trainer>> Create(Graph graph, const data::Dataset* train,
                                                 const TrainerOptions& options);
  ~Trainer();

  // One minibatch: forward, loss, backward, optimizer update, BN running statistics. With a step
  // in progress (BeginStep), completes that one.
  Result<StepResult> Step();
  // The same step in pieces, so a caller with a frame budget can spread it over frames: BeginStep
  // takes the next minibatch; each AdvanceStep runs up to `max_nodes` (>= 1) node passes (forward
  // nodes, then backward nodes; the loss and the optimizer update ride along with the last one)
  // and returns the StepResult once the update is done, nullopt before. Nothing is changed until
  // the update, so Evaluate and ComputeGradients may run in between. An error ends the step with
  // nothing changed (the minibatch is consumed, as for Step).
  Status BeginStep();
  Result<std::optional<StepResult>> AdvanceStep(int64_t max_nodes);
  bool step_in_progress() const { return pending_ != nullptr; }
  // Drops a step in progress (nothing was changed yet).
  void CancelStep();
  // Node passes of one step (forward plus backward): AdvanceStep calls needed at max_nodes = 1.
  int64_t node_passes_per_step() const { return static_cast<int64_t>(2 * order_.size()); }
  // Loss and parameter gradients on one batch, changing nothing (for tests and analysis).
  Result<Gradients> ComputeGradients(const Tensor& images, const Tensor& labels);
  // Inference-mode pass (BN running statistics) over a dataset in batches.
  Result<EvalResult> Evaluate(const data::Dataset& ds, int64_t batch_size = 256);

  void SetHook(std::shared_ptr<TensorHook> hook) { hook_ = std::move(hook); }
  // Switches BatchNormalization between batch statistics and frozen running statistics from the
  // next step on (QAT freezes BN after a chosen step); see TrainerOptions::bn_batch_statistics.
  void set_bn_batch_statistics(bool on) { options_.bn_batch_statistics = on; }
  bool bn_batch_statistics() const { return options_.bn_batch_statistics; }
  const std::vector<StepResult>& history() const { return history_; }
  int64_t steps() const { return step_; }
  const Graph& graph() const { return graph_; }
  const std::vector<std::string>& parameter_names() const { return params_; }
  Tensor* FindParameter(const std::string& name);
  int64_t parameter_count() const;

 private:
  struct NodeRecord;
  struct PendingStep;
  Trainer();
  const Tensor* Lookup(const std::map<std::string, Tensor>& values, const std::string& name) const;
  Status ForwardNode(size_t idx, bool training, std::vector<NodeRecord>* rec,
                     std::map<std::string, Tensor>* values);
  Status BackwardNode(const NodeRecord& r, const std::map<std::string, Tensor>& values,
                      std::map<std::string, Tensor>* grads);
  Result<StepResult> FinishStep(PendingStep& p);
  Status Forward(const Tensor& images, bool training, std::vector<NodeRecord>* rec,
                 std::map<std::string, Tensor>* values, const Tensor** logits);
  Status Backward(const std::vector<NodeRecord>& rec, const std::map<std::string, Tensor>& values,
                  const Tensor& dlogits, std::map<std::string, Tensor>* grads);
  Result<Tensor> PrepareInput(const Tensor& images) const;

  Graph graph_;
  const data::Dataset* train_ = nullptr;
  TrainerOptions options_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<data::BatchIterator> batches_;
  std::vector<size_t> order_;          // topological order without the skipped final softmax
  std::string logits_;
  std::vector<std::string> params_;    // sorted
  std::map<std::string, bool> needs_grad_;
  std::shared_ptr<TensorHook> hook_;
  std::vector<StepResult> history_;
  int64_t step_ = 0;
  std::unique_ptr<PendingStep> pending_;
};

}  // namespace qp::train
