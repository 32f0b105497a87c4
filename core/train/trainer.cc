// The stepping Trainer (see trainer.h): graph forward with saved activations, softmax
// cross-entropy, reverse-order backward with per-op rules from backward.h, optimizer update.
#include "core/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "core/graph/attrs.h"
#include "core/graph/executor.h"
#include "core/train/backward.h"

namespace qp::train {

struct Trainer::NodeRecord {
  size_t node = 0;
  std::vector<const Tensor*> inputs;  // as the node saw them (after input hooks)
  std::vector<Tensor> hooked_inputs;  // storage for hooked inputs, by slot
  std::vector<bool> input_hooked;
  std::vector<Tensor> raw_outputs;    // outputs before output hooks, by slot (hooked slots only)
  std::vector<bool> output_hooked;
  Tensor bn_mean, bn_inv_std, bn_running_mean, bn_running_var;  // BatchNormalization, training
};

struct Trainer::PendingStep {
  data::Batch batch;
  std::vector<NodeRecord> rec;  // one per forward node run so far
  std::map<std::string, Tensor> values, grads;
  double loss = 0;
  int64_t correct = 0;
  bool backward = false;        // forward and loss done
  size_t backward_left = 0;     // records still to backpropagate (rec[0, backward_left))
};

Trainer::Trainer() = default;
Trainer::~Trainer() = default;

void Trainer::CancelStep() { pending_.reset(); }

namespace {

const std::set<std::string>& BackwardOps() {
  static const std::set<std::string> ops = {
      "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Sigmoid",
      "Tanh", "HardSigmoid", "HardSwish", "MaxPool", "AveragePool", "GlobalAveragePool",
      "BatchNormalization", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout",
      "Transpose", "Concat"};
  return ops;
}

// Input slots of an op that hold trainable parameters when fed by a float initializer.
std::vector<size_t> ParamSlots(const std::string& op) {
  if (op == "Conv") return {1, 2};
  if (op == "Gemm") return {0, 1, 2};
  if (op == "MatMul") return {0, 1};
  if (op == "BatchNormalization") return {1, 2};
  return {};
}

uint64_t NameHash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

void FillUniform(Tensor* t, float bound, uint64_t seed) {
  data::SplitMix64 rng(seed);
  for (int64_t i = 0; i < t->numel(); ++i) t->f32()[i] = (2.f * rng.Uniform01() - 1.f) * bound;
}

void Accumulate(std::map<std::string, Tensor>* grads, const std::string& name, Tensor g) {
  auto it = grads->find(name);
  if (it == grads->end()) {
    grads->emplace(name, std::move(g));
    return;
  }
  float* d = it->second.f32();
  const float* s = g.f32();
  for (int64_t i = 0; i < g.numel(); ++i) d[i] += s[i];
}

Result<float> ScalarInput(const Tensor* t, float dflt, const Node& n) {
  if (!t) return dflt;
  if (t->dtype() != DType::kFloat32 || t->numel() != 1)
    return InvalidArgument(n.Describe(), ": Clip bound must be a float32 scalar for training");
  return t->f32()[0];
}

}  // namespace

Status InitializeParameters(Graph* g, uint64_t seed) {
  for (const Node& n : g->nodes) {
    auto init = [&](size_t slot) -> Tensor* {
      if (!n.has_input(slot)) return nullptr;
      auto it = g->initializers.find(n.inputs[slot]);
      if (it == g->initializers.end() || it->second.dtype() != DType::kFloat32) return nullptr;
      return &it->second;
    };
    auto uniform = [&](size_t slot, int64_t fan_in) {
      if (Tensor* t = init(slot)) {
        const float bound = fan_in > 0 ? 1.f / std::sqrt(static_cast<float>(fan_in)) : 0.f;
        FillUniform(t, bound, seed ^ NameHash(n.inputs[slot]));
      }
    };
    if (n.op_type == "Conv") {
      Tensor* w = init(1);
      if (!w || w->rank() < 3) continue;
      const int64_t fan_in = w->numel() / std::max<int64_t>(1, w->dim(0));
      uniform(1, fan_in);
      uniform(2, fan_in);
    } else if (n.op_type == "Gemm") {
      Tensor* b = init(1);
      if (!b || b->rank() != 2) continue;
      QP_ASSIGN_OR_RETURN(ops::GemmAttrs a, ParseGemmAttrs(n));
      const int64_t fan_in = a.trans_b ? b->dim(1) : b->dim(0);
      uniform(1, fan_in);
      uniform(2, fan_in);
    } else if (n.op_type == "MatMul") {
      Tensor* b = init(1);
      if (!b || b->rank() < 2) continue;
      uniform(1, b->dim(b->rank() - 2));
    } else if (n.op_type == "BatchNormalization") {
      const float values[4] = {1.f, 0.f, 0.f, 1.f};  // scale, bias, mean, var
      for (size_t slot = 1; slot <= 4; ++slot)
        if (Tensor* t = init(slot)) std::fill(t->f32(), t->f32() + t->numel(), values[slot - 1]);
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Trainer>> Trainer::Create(Graph graph, const data::Dataset* train,
                                                 const TrainerOptions& options) {
  QP_RETURN_IF_ERROR(ValidateGraph(graph));
  for (const Node& n : graph.nodes) QP_RETURN_IF_ERROR(CheckNodeSupported(n, graph.opset));
  if (graph.inputs.size() != 1)
    return InvalidArgument("Trainer: the graph has ", graph.inputs.size(),
                           " run-time inputs; training needs exactly one (the images)");
  if (graph.outputs.empty() && options.logits.empty()) return InvalidArgument("Trainer: the graph has no outputs");
  QP_RETURN_IF_ERROR(ValidateSchedule(options.schedule));
  std::unique_ptr<Trainer> t(new Trainer());
  t->options_ = options;
  if (options.optimizer == TrainerOptions::Opt::kSgd) {
    QP_ASSIGN_OR_RETURN(t->optimizer_, MakeSgd(options.sgd));
  } else {
    QP_ASSIGN_OR_RETURN(t->optimizer_, MakeAdam(options.adam));
  }
  if (train) {
    QP_ASSIGN_OR_RETURN(data::BatchIterator it,
                        data::BatchIterator::Create(train, options.batch_size, options.shuffle, options.seed));
    t->batches_ = std::make_unique<data::BatchIterator>(std::move(it));
  }
  t->train_ = train;
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(graph));

  // The logits: the requested value, or the first output; a final (Log)Softmax is skipped.
  t->logits_ = options.logits.empty() ? graph.outputs[0].name : options.logits;
  size_t skip = graph.nodes.size();
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (std::find(n.outputs.begin(), n.outputs.end(), t->logits_) == n.outputs.end()) continue;
    if (n.op_type == "Softmax" || n.op_type == "LogSoftmax") {
      skip = i;
      t->logits_ = n.inputs[0];
    }
  }
  for (size_t i : order)
    if (i != skip) t->order_.push_back(i);

  // Parameters, then which values carry gradients (anything computed from a parameter).
  std::set<std::string> params;
  for (const Node& n : graph.nodes)
    for (size_t slot : ParamSlots(n.op_type)) {
      if (!n.has_input(slot)) continue;
      auto it = graph.initializers.find(n.inputs[slot]);
      if (it != graph.initializers.end() && it->second.dtype() == DType::kFloat32) params.insert(n.inputs[slot]);
    }
  t->params_.assign(params.begin(), params.end());
  for (const std::string& p : params) t->needs_grad_[p] = true;
  for (size_t i : t->order_) {
    const Node& n = graph.nodes[i];
    bool any = false;
    for (const std::string& in : n.inputs) any = any || (t->needs_grad_.count(in) && t->needs_grad_[in]);
    if (any && !BackwardOps().count(n.op_type))
      return Unimplemented("Trainer: no backward for op ", n.op_type, " at ", n.Describe(),
                           "; trainable ops: Conv, Gemm, MatMul, BatchNormalization and the "
                           "activation, pooling and layout ops of core/train/backward.h");
    for (const std::string& out : n.outputs)
      if (!out.empty()) t->needs_grad_[out] = any;
  }
  bool produced = false;
  for (size_t i : t->order_)
    for (const std::string& out : graph.nodes[i].outputs) produced = produced || out == t->logits_;
  if (!produced) return NotFound("Trainer: logits value '", t->logits_, "' is not produced by any node");
  t->graph_ = std::move(graph);
  return t;
}

Tensor* Trainer::FindParameter(const std::string& name) {
  if (!std::binary_search(params_.begin(), params_.end(), name)) return nullptr;
  auto it = graph_.initializers.find(name);
  return it == graph_.initializers.end() ? nullptr : &it->second;
}

int64_t Trainer::parameter_count() const {
  int64_t n = 0;
  for (const std::string& p : params_) n += graph_.initializers.at(p).numel();
  return n;
}

Result<Tensor> Trainer::PrepareInput(const Tensor& images) const {
  const ValueInfo& in = graph_.inputs[0];
  if (images.rank() < 1 || images.dim(0) < 1) return InvalidArgument("Trainer: empty batch");
  // A flat-input model (e.g. an MLP taking [N, 784]) receives NCHW images flattened.
  if (in.has_shape && in.shape.size() == 2 && images.rank() > 2)
    return images.Reshaped({images.dim(0), images.numel() / images.dim(0)});
  return images;
}

const Tensor* Trainer::Lookup(const std::map<std::string, Tensor>& values,
                              const std::string& name) const {
  auto v = values.find(name);
  if (v != values.end()) return &v->second;
  auto i = graph_.initializers.find(name);
  return i == graph_.initializers.end() ? nullptr : &i->second;
}

Status Trainer::ForwardNode(size_t idx, bool training, std::vector<NodeRecord>* rec,
                            std::map<std::string, Tensor>* values) {
  const Node& n = graph_.nodes[idx];
  rec->emplace_back();
  NodeRecord& r = rec->back();
  r.node = idx;
  const size_t ni = n.inputs.size(), no = n.outputs.size();
  r.inputs.assign(ni, nullptr);
  r.hooked_inputs.resize(ni);
  r.input_hooked.assign(ni, false);
  r.raw_outputs.resize(no);
  r.output_hooked.assign(no, false);
  for (size_t i = 0; i < ni; ++i) {
    if (n.inputs[i].empty()) continue;
    r.inputs[i] = Lookup(*values, n.inputs[i]);
    if (!r.inputs[i]) return Internal("Trainer: value '", n.inputs[i], "' missing at ", n.Describe());
    HookSite site{&n, false, static_cast<int>(i), n.inputs[i]};
    if (hook_ && hook_->Applies(site)) {
      QP_RETURN_IF_ERROR(hook_->Forward(site, *r.inputs[i], training, &r.hooked_inputs[i]));
      r.inputs[i] = &r.hooked_inputs[i];
      r.input_hooked[i] = true;
    }
  }
  std::vector<Tensor> outs;
  if (n.op_type == "BatchNormalization" && training && options_.bn_batch_statistics) {
    QP_ASSIGN_OR_RETURN(float eps, AttrFloat(n, "epsilon", 1e-5f));
    QP_ASSIGN_OR_RETURN(float momentum, AttrFloat(n, "momentum", 0.9f));
    Result<BatchNormTrainOutput> bn = BatchNormTrainForward(*r.inputs[0], *r.inputs[1], *r.inputs[2],
                                                            *r.inputs[3], *r.inputs[4], eps, momentum);
    if (!bn.ok()) return bn.status().WithContext(n.Describe());
    outs.assign(no, Tensor());
    outs[0] = std::move(bn->y);
    r.bn_mean = std::move(bn->batch_mean);
    r.bn_inv_std = std::move(bn->inv_std);
    r.bn_running_mean = std::move(bn->running_mean);
    r.bn_running_var = std::move(bn->running_var);
  } else {
    QP_RETURN_IF_ERROR(RunNode(n, graph_.opset, r.inputs, &outs));
  }
  for (size_t j = 0; j < no && j < outs.size(); ++j) {
    if (n.outputs[j].empty()) continue;
    HookSite site{&n, true, static_cast<int>(j), n.outputs[j]};
    if (hook_ && hook_->Applies(site)) {
      Tensor y;
      QP_RETURN_IF_ERROR(hook_->Forward(site, outs[j], training, &y));
      r.raw_outputs[j] = std::move(outs[j]);
      r.output_hooked[j] = true;
      (*values)[n.outputs[j]] = std::move(y);
    } else {
      (*values)[n.outputs[j]] = std::move(outs[j]);
    }
  }
  return Status::Ok();
}

Status Trainer::Forward(const Tensor& images, bool training, std::vector<NodeRecord>* rec,
                        std::map<std::string, Tensor>* values, const Tensor** logits) {
  QP_ASSIGN_OR_RETURN(Tensor x, PrepareInput(images));
  (*values)[graph_.inputs[0].name] = std::move(x);
  rec->clear();
  rec->reserve(order_.size());
  for (size_t idx : order_) QP_RETURN_IF_ERROR(ForwardNode(idx, training, rec, values));
  *logits = Lookup(*values, logits_);
  if (!*logits) return Internal("Trainer: logits '", logits_, "' were not computed");
  return Status::Ok();
}

Status Trainer::BackwardNode(const NodeRecord& r, const std::map<std::string, Tensor>& values,
                             std::map<std::string, Tensor>* grads) {
  const Node& n = graph_.nodes[r.node];
  if (n.outputs.empty() || n.outputs[0].empty()) return Status::Ok();
  auto git = grads->find(n.outputs[0]);
  if (git == grads->end()) return Status::Ok();
  Tensor dy = std::move(git->second);
  grads->erase(git);
  if (r.output_hooked[0]) {
    Tensor d;
    QP_RETURN_IF_ERROR(hook_->Backward({&n, true, 0, n.outputs[0]}, r.raw_outputs[0], dy, &d));
    dy = std::move(d);
  }
  auto need = [&](size_t slot) {
    if (!n.has_input(slot)) return false;
    auto it = needs_grad_.find(n.inputs[slot]);
    return it != needs_grad_.end() && it->second;
  };
  const Tensor* x = r.inputs.empty() ? nullptr : r.inputs[0];
  std::vector<Tensor> gin(n.inputs.size());
  std::vector<bool> has(n.inputs.size(), false);
  auto put = [&](size_t slot, Tensor g) {
    if (slot < gin.size() && need(slot)) {
      gin[slot] = std::move(g);
      has[slot] = true;
    }
  };
  auto unary = [&](Result<Tensor> g) -> Status {
    if (!g.ok()) return g.status().WithContext(n.Describe());
    put(0, std::move(g).value());
    return Status::Ok();
  };
  const std::string& op = n.op_type;
  if (op == "Conv") {
    QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(n));
    Result<ConvGrads> g = ConvBackward(*x, *r.inputs[1], dy, a, need(0));
    if (!g.ok()) return g.status().WithContext(n.Describe());
    if (need(0)) put(0, std::move(g->dx));
    put(1, std::move(g->dw));
    put(2, std::move(g->db));
  } else if (op == "Gemm") {
    QP_ASSIGN_OR_RETURN(ops::GemmAttrs a, ParseGemmAttrs(n));
    const Tensor* c = r.inputs.size() > 2 ? r.inputs[2] : nullptr;
    Result<GemmGrads> g = GemmBackward(*x, *r.inputs[1], c, dy, a);
    if (!g.ok()) return g.status().WithContext(n.Describe());
    put(0, std::move(g->da));
    put(1, std::move(g->db));
    if (c) put(2, std::move(g->dc));
  } else if (op == "MatMul" || op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    Result<BinaryGrads> g =
        op == "MatMul" ? MatMulBackward(*x, *r.inputs[1], dy)
                       : BinaryBackward(op == "Add"   ? ops::BinaryOp::kAdd
                                        : op == "Sub" ? ops::BinaryOp::kSub
                                        : op == "Mul" ? ops::BinaryOp::kMul
                                                      : ops::BinaryOp::kDiv,
                                        *x, *r.inputs[1], dy);
    if (!g.ok()) return g.status().WithContext(n.Describe());
    put(0, std::move(g->da));
    put(1, std::move(g->db));
  } else if (op == "Relu") {
    QP_RETURN_IF_ERROR(unary(ReluBackward(*x, dy)));
  } else if (op == "LeakyRelu") {
    QP_ASSIGN_OR_RETURN(float alpha, AttrFloat(n, "alpha", 0.01f));
    QP_RETURN_IF_ERROR(unary(LeakyReluBackward(*x, dy, alpha)));
  } else if (op == "Clip") {
    const float inf = std::numeric_limits<float>::infinity();
    float lo = -inf, hi = inf;
    const Attribute* amin = n.attr("min");
    const Attribute* amax = n.attr("max");
    if ((amin || amax) && !n.has_input(1) && !n.has_input(2)) {
      lo = amin ? amin->f : -inf;
      hi = amax ? amax->f : inf;
    } else {
      QP_ASSIGN_OR_RETURN(lo, ScalarInput(r.inputs.size() > 1 ? r.inputs[1] : nullptr, -inf, n));
      QP_ASSIGN_OR_RETURN(hi, ScalarInput(r.inputs.size() > 2 ? r.inputs[2] : nullptr, inf, n));
    }
    QP_RETURN_IF_ERROR(unary(ClipBackward(*x, dy, lo, hi)));
  } else if (op == "Sigmoid") {
    QP_RETURN_IF_ERROR(unary(SigmoidBackward(*x, dy)));
  } else if (op == "Tanh") {
    QP_RETURN_IF_ERROR(unary(TanhBackward(*x, dy)));
  } else if (op == "HardSigmoid") {
    QP_ASSIGN_OR_RETURN(float alpha, AttrFloat(n, "alpha", 0.2f));
    QP_ASSIGN_OR_RETURN(float beta, AttrFloat(n, "beta", 0.5f));
    QP_RETURN_IF_ERROR(unary(HardSigmoidBackward(*x, dy, alpha, beta)));
  } else if (op == "HardSwish") {
    QP_RETURN_IF_ERROR(unary(HardSwishBackward(*x, dy)));
  } else if (op == "MaxPool" || op == "AveragePool") {
    QP_ASSIGN_OR_RETURN(ops::PoolAttrs a, ParsePoolAttrs(n));
    QP_RETURN_IF_ERROR(unary(op == "MaxPool" ? MaxPoolBackward(*x, dy, a) : AveragePoolBackward(*x, dy, a)));
  } else if (op == "GlobalAveragePool") {
    QP_RETURN_IF_ERROR(unary(GlobalAveragePoolBackward(*x, dy)));
  } else if (op == "BatchNormalization") {
    QP_ASSIGN_OR_RETURN(float eps, AttrFloat(n, "epsilon", 1e-5f));
    Result<BatchNormGrads> g =
        r.bn_mean.numel() > 0
            ? BatchNormTrainBackward(*x, *r.inputs[1], r.bn_mean, r.bn_inv_std, dy)
            : BatchNormEvalBackward(*x, *r.inputs[1], *r.inputs[3], *r.inputs[4], eps, dy);
    if (!g.ok()) return g.status().WithContext(n.Describe());
    put(0, std::move(g->dx));
    put(1, std::move(g->dscale));
    put(2, std::move(g->dbias));
  } else if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" ||
             op == "Identity" || op == "Dropout") {
    QP_RETURN_IF_ERROR(unary(ReshapeBackward(dy, x->shape())));
  } else if (op == "Transpose") {
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> perm, AttrInts(n, "perm"));
    QP_RETURN_IF_ERROR(unary(TransposeBackward(dy, perm)));
  } else if (op == "Concat") {
    QP_ASSIGN_OR_RETURN(int64_t axis, RequireAttrInt(n, "axis"));
    std::vector<Shape> shapes;
    for (const Tensor* t : r.inputs) shapes.push_back(t->shape());
    Result<std::vector<Tensor>> g = ConcatBackward(dy, shapes, axis);
    if (!g.ok()) return g.status().WithContext(n.Describe());
    for (size_t i = 0; i < g->size(); ++i) put(i, std::move((*g)[i]));
  } else {
    bool any = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) any = any || need(i);
    if (any) return Unimplemented("Trainer: no backward for op ", op, " at ", n.Describe());
    return Status::Ok();
  }
  for (size_t i = 0; i < gin.size(); ++i) {
    if (!has[i]) continue;
    if (r.input_hooked[i]) {
      auto v = values.find(n.inputs[i]);
      const Tensor* orig = v != values.end() ? &v->second : &graph_.initializers.at(n.inputs[i]);
      Tensor d;
      QP_RETURN_IF_ERROR(hook_->Backward({&n, false, static_cast<int>(i), n.inputs[i]}, *orig, gin[i], &d));
      gin[i] = std::move(d);
    }
    Accumulate(grads, n.inputs[i], std::move(gin[i]));
  }
  return Status::Ok();
}

Status Trainer::Backward(const std::vector<NodeRecord>& rec, const std::map<std::string, Tensor>& values,
                         const Tensor& dlogits, std::map<std::string, Tensor>* grads) {
  grads->clear();
  (*grads)[logits_] = dlogits;
  for (size_t ri = rec.size(); ri-- > 0;) QP_RETURN_IF_ERROR(BackwardNode(rec[ri], values, grads));
  return Status::Ok();
}

Result<Gradients> Trainer::ComputeGradients(const Tensor& images, const Tensor& labels) {
  std::vector<NodeRecord> rec;
  std::map<std::string, Tensor> values, grads;
  const Tensor* logits = nullptr;
  QP_RETURN_IF_ERROR(Forward(images, true, &rec, &values, &logits));
  QP_ASSIGN_OR_RETURN(LossOutput loss, SoftmaxCrossEntropy(*logits, labels));
  QP_RETURN_IF_ERROR(Backward(rec, values, loss.dlogits, &grads));
  Gradients out;
  out.loss = loss.loss;
  out.correct = loss.correct;
  for (const std::string& p : params_) {
    auto it = grads.find(p);
    if (it != grads.end()) out.params.emplace(p, std::move(it->second));
  }
  return out;
}

Result<StepResult> Trainer::Step() {
  if (!pending_) QP_RETURN_IF_ERROR(BeginStep());
  for (;;) {
    QP_ASSIGN_OR_RETURN(std::optional<StepResult> done,
                        AdvanceStep(std::numeric_limits<int64_t>::max()));
    if (done) return *done;
  }
}

Status Trainer::BeginStep() {
  if (!batches_) return FailedPrecondition("Trainer::Step: no training dataset was given");
  if (pending_) return FailedPrecondition("Trainer::BeginStep: a step is already in progress");
  auto p = std::make_unique<PendingStep>();
  p->batch = batches_->Next();
  QP_ASSIGN_OR_RETURN(Tensor x, PrepareInput(p->batch.images));
  p->values[graph_.inputs[0].name] = std::move(x);
  p->rec.reserve(order_.size());
  pending_ = std::move(p);
  return Status::Ok();
}

Result<std::optional<StepResult>> Trainer::AdvanceStep(int64_t max_nodes) {
  if (!pending_) return FailedPrecondition("Trainer::AdvanceStep: no step in progress (BeginStep)");
  PendingStep& p = *pending_;
  auto fail = [&](Status s) -> Status {
    pending_.reset();
    return s;
  };
  for (int64_t budget = std::max<int64_t>(1, max_nodes); budget > 0;) {
    if (!p.backward) {
      if (p.rec.size() < order_.size()) {
        Status s = ForwardNode(order_[p.rec.size()], true, &p.rec, &p.values);
        if (!s.ok()) return fail(s);
        --budget;
        continue;
      }
      const Tensor* logits = Lookup(p.values, logits_);
      if (!logits) return fail(Internal("Trainer: logits '", logits_, "' were not computed"));
      if (logits->rank() != 2 || logits->dim(1) != train_->num_classes)
        return fail(InvalidArgument("Trainer: logits '", logits_, "' have shape ",
                                    ShapeToString(logits->shape()), "; expected [N, ",
                                    train_->num_classes, "] for the dataset's classes"));
      Result<LossOutput> loss = SoftmaxCrossEntropy(*logits, p.batch.labels);
      if (!loss.ok()) return fail(loss.status());
      if (!std::isfinite(loss->loss))
        return fail(FailedPrecondition("Trainer: loss is ", loss->loss, " at step ", step_,
                                       "; training diverged (lower the learning rate)"));
      p.loss = loss->loss;
      p.correct = loss->correct;
      p.grads[logits_] = std::move(loss->dlogits);
      p.backward = true;
      p.backward_left = p.rec.size();
    }
    if (p.backward_left > 0) {
      Status s = BackwardNode(p.rec[p.backward_left - 1], p.values, &p.grads);
      if (!s.ok()) return fail(s);
      --p.backward_left;
      --budget;
      if (p.backward_left > 0) continue;
    }
    Result<StepResult> r = FinishStep(p);
    pending_.reset();
    if (!r.ok()) return r.status();
    return std::optional<StepResult>(*r);
  }
  return std::optional<StepResult>();
}

Result<StepResult> Trainer::FinishStep(PendingStep& p) {
  const float lr = LearningRate(options_.schedule, step_);
  std::vector<ParamRef> refs;
  for (const std::string& name : params_) {
    auto it = p.grads.find(name);
    if (it != p.grads.end()) refs.push_back({name, &graph_.initializers.at(name), &it->second});
  }
  QP_RETURN_IF_ERROR(optimizer_->Step(refs, lr));
  for (const NodeRecord& r : p.rec) {
    const Node& n = graph_.nodes[r.node];
    if (n.op_type != "BatchNormalization" || r.bn_running_mean.numel() == 0) continue;
    auto m = graph_.initializers.find(n.inputs[3]);
    auto v = graph_.initializers.find(n.inputs[4]);
    if (m != graph_.initializers.end()) m->second = r.bn_running_mean;
    if (v != graph_.initializers.end()) v->second = r.bn_running_var;
  }
  StepResult s;
  s.step = step_;
  s.epoch = batches_->epoch();
  s.loss = p.loss;
  s.accuracy = static_cast<double>(p.correct) / static_cast<double>(p.batch.labels.numel());
  s.lr = lr;
  ++step_;
  if (history_.size() >= options_.history_cap && !history_.empty()) {
    // Drop the oldest tenth at once so a full history costs amortised O(1) per step.
    const size_t drop = std::max<size_t>(1, history_.size() / 10);
    history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  history_.push_back(s);
  return s;
}

Result<EvalResult> Trainer::Evaluate(const data::Dataset& ds, int64_t batch_size) {
  if (batch_size < 1) return InvalidArgument("Evaluate: batch size ", batch_size, "; must be >= 1");
  if (ds.size() == 0) return InvalidArgument("Evaluate: empty dataset");
  EvalResult out;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < ds.size(); start += batch_size) {
    const int64_t count = std::min(batch_size, ds.size() - start);
    QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(ds, start, count));
    std::vector<NodeRecord> rec;
    std::map<std::string, Tensor> values;
    const Tensor* logits = nullptr;
    QP_RETURN_IF_ERROR(Forward(part.images, false, &rec, &values, &logits));
    QP_ASSIGN_OR_RETURN(LossOutput loss, SoftmaxCrossEntropy(*logits, part.labels));
    loss_sum += loss.loss * static_cast<double>(count);
    correct += loss.correct;
  }
  out.samples = ds.size();
  out.loss = loss_sum / static_cast<double>(ds.size());
  out.accuracy = static_cast<double>(correct) / static_cast<double>(ds.size());
  return out;
}

}  // namespace qp::train
