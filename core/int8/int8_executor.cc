// Int8Executor: QDQ pattern matching and lowering to kernels/qs8-* calls (see int8_executor.h).
// Numerics: each fused region is the kernel's contract (core/quant/requantization.h); boundaries are
// ONNX QuantizeLinear / DequantizeLinear (quant::QuantizeValue / DequantizeValue), identical on
// every backend.
#include "core/int8/int8_executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "core/graph/attrs.h"
#include "core/graph/executor.h"
#include "core/graph/ops.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"
#include "core/quant/requantization.h"
#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/qs8-gemm/qs8-gemm.h"
#include "kernels/qs8-pool/qs8-pool.h"
#include "kernels/qs8-vadd/qs8-vadd.h"
#include "kernels/qs8-vcvt/qs8-vcvt.h"

namespace qp::int8 {
namespace {

enum class Layout : uint8_t {
  kPlain,     // logical (row-major ONNX) order
  kNhwc,      // logical [N, C, H, W], stored [N, H, W, C]
  kFlatNhwc,  // logical [N, C*H*W] (Flatten of NCHW), stored [N, H*W*C]
};

// A value living in the run context: either an int8 buffer with its quantization or a Tensor.
struct Slot {
  bool is_int8 = false;
  Shape shape;  // logical; dim 0 may be kDynamicDim (the batch)
  // int8 only:
  float scale = 0;
  int32_t zero_point = 0;  // in the int8 domain (uint8 zero points minus 128)
  bool from_u8 = false;    // the model's quantized type is uint8
  Layout layout = Layout::kPlain;
  int64_t c = 0, h = 0, w = 0;  // kFlatNhwc geometry
};

// A name bound to a slot: `real` is the float value (a DequantizeLinear output or a float tensor),
// otherwise the quantized tensor itself (a QuantizeLinear output).
struct Ref {
  int slot = -1;
  bool real = true;
};

struct Ctx {
  int64_t batch = 1;
  std::vector<std::vector<int8_t>> q;
  std::vector<Tensor> t;
};

struct Step {
  std::string what;
  std::function<Status(Ctx&)> fn;
};

int64_t NumelWithBatch(const Shape& s, int64_t batch) {
  int64_t n = 1;
  for (size_t i = 0; i < s.size(); ++i) n *= (s[i] == kDynamicDim ? batch : s[i]);
  return n;
}

Status CheckScale(float s, const std::string& what) {
  if (!std::isfinite(s) || !(s > 0) || !std::isnormal(s)) {
    return InvalidArgument(what, ": scale ", s, " must be a finite, positive, normal float");
  }
  return Status::Ok();
}

template <typename V>
const V* PickVariant(const std::vector<V>& table, Backend b) {
  const V* scalar = nullptr;
  for (const V& v : table) {
    if (!v.available()) continue;
    if (v.isa == b) return &v;
    if (v.isa == kernels::Isa::kScalar && scalar == nullptr) scalar = &v;
  }
  return scalar;
}

template <typename V>
const V* ScalarVariant(const std::vector<V>& table) {
  return PickVariant(table, kernels::Isa::kScalar);
}

}  // namespace

struct Int8Executor::Plan {
  Graph graph;
  Backend backend = Backend::kScalar;
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<int> input_slots;   // per graph input
  std::vector<int> output_slots;  // per graph output (tensor slots)
  std::vector<std::string> notes;
  int int8_steps = 0;
  int fallbacks = 0;
};

namespace {

// Prepare-time state.
class Lowering {
 public:
  Lowering(Int8Executor::Plan* p, const Int8Options& o) : plan_(*p), opt_(o) {}
  // The lowering in bounded units for Int8PlanBuilder: Prepare (validation, rewrite, shapes,
  // order), then one unit per node in topological order for the TensorRT weight folding and one
  // per node for the lowering, then Finish (output slots). Units() counts them all.
  Status Prepare();
  size_t Units() const { return 2 * order_.size() + 1; }
  // Unit u in [0, Units()): u < n folds order_[u], u < 2n lowers order_[u - n], the last binds the
  // outputs. Returns whether the unit did real work (a skipped node costs nothing).
  Result<bool> RunUnit(size_t u);

 private:
  struct QInfo {  // per-tensor quantization read from a Q/DQ node's constant inputs
    float scale = 0;
    int32_t zp = 0;  // in the int8 domain
    bool u8 = false;
  };
  struct Weights {  // a DQ(int8 constant) weight, per tensor or along one axis
    const Tensor* q = nullptr;
    std::vector<float> scales;
    int64_t axis = 0;
  };

  const Graph& g() const { return plan_.graph; }
  std::string Desc(size_t n) const { return g().nodes[n].Describe(); }
  const Tensor* Const(const std::string& name) const {
    auto it = g().initializers.find(name);
    return it == g().initializers.end() ? nullptr : &it->second;
  }
  int NewSlot(Slot s) {
    plan_.slots.push_back(std::move(s));
    return static_cast<int>(plan_.slots.size()) - 1;
  }
  Slot& S(int i) { return plan_.slots[static_cast<size_t>(i)]; }
  void AddStep(std::string what, std::function<Status(Ctx&)> fn, bool int8) {
    plan_.steps.push_back({std::move(what), std::move(fn)});
    if (int8) ++plan_.int8_steps;
  }
  Result<Shape> ValueShape(const std::string& name) const {
    const ValueInfo* vi = g().FindValueInfo(name);
    if (vi == nullptr || !vi->has_shape) return Unimplemented("value '", name, "' has no known shape");
    for (size_t i = 1; i < vi->shape.size(); ++i) {
      if (vi->shape[i] < 0) {
        return Unimplemented("value '", name, "': dim ", i, " is dynamic; only dim 0 (batch) may be");
      }
    }
    return vi->shape;
  }
  // The single consumer node of `name`, or -1 (none, several, or a graph output).
  int SingleConsumer(const std::string& name) const {
    auto it = consumers_.find(name);
    if (it == consumers_.end() || it->second.size() != 1 || graph_outputs_.count(name)) return -1;
    return static_cast<int>(it->second[0]);
  }

  Result<QInfo> ReadQInfo(size_t n);  // activation Q/DQ: per tensor
  Result<bool> ReadWeights(size_t n, const std::string& name, Weights* w);
  Result<int> FloatOf(const std::string& name);    // tensor slot holding the float value
  Result<int> QuantTensorOf(const std::string& name);  // tensor slot holding the int8/uint8 tensor
  Status Fallback(size_t n, const std::string& why);
  // Output side of a fused op: [Relu|Clip] -> Q. Returns false if the pattern is absent.
  Result<bool> FindOutputQ(size_t n, QInfo* q, quant::OutputQuant* out, std::vector<size_t>* used,
                           std::string* q_output);
  Status LowerQuantize(size_t n);
  Status LowerDequantize(size_t n);
  Result<bool> LowerConv(size_t n);
  Result<bool> LowerGemm(size_t n);
  Result<bool> LowerAdd(size_t n);
  Result<bool> LowerConcat(size_t n);
  Result<bool> LowerPool(size_t n);
  Result<bool> LowerReshapeLike(size_t n);
  Status BindOutput(const std::string& q_output, int slot, const std::vector<size_t>& used);
  Result<std::vector<int32_t>> ReadBias(size_t n, const std::string& name, size_t channels,
                                        float input_scale, const std::vector<float>& wscales);
  template <typename V>
  Result<const V*> Variant(const std::vector<V>& table, size_t n);
  // Creates the backend's kernel for `params`; a backend that refuses the shape (Unimplemented)
  // is replaced by the scalar kernel, with a note. Returns the variant that was created.
  template <typename V, typename P, typename Op>
  Result<const V*> CreateKernel(const std::vector<V>& table, size_t n, const P& params, Op* op);

  Int8Executor::Plan& plan_;
  const Int8Options& opt_;
  std::map<std::string, Ref> refs_;
  std::map<std::string, size_t> const_dq_;  // DQ outputs whose input is an initializer
  std::map<std::string, int> float_cache_;  // int8 slot -> its dequantized tensor slot, by name
  std::map<std::string, std::vector<size_t>> consumers_;
  std::set<std::string> graph_outputs_;
  std::vector<bool> done_;
  std::vector<size_t> order_;
  Status FoldConstantQ(size_t n);
  Status LowerNode(size_t n);
  Status BindOutputs();
};

template <typename V>
Result<const V*> Lowering::Variant(const std::vector<V>& table, size_t n) {
  const V* v = PickVariant(table, plan_.backend);
  if (v == nullptr) return Internal("no scalar kernel variant for ", Desc(n));
  if (v->isa != plan_.backend) {
    const std::string note = Desc(n) + ": no " + IsaName(plan_.backend) + " variant; scalar kernel";
    if (plan_.notes.empty() || plan_.notes.back() != note) plan_.notes.push_back(note);  // once per node
  }
  return v;
}

template <typename V, typename P, typename Op>
Result<const V*> Lowering::CreateKernel(const std::vector<V>& table, size_t n, const P& params, Op* op) {
  QP_ASSIGN_OR_RETURN(const V* v, Variant(table, n));
  Status st = v->create(params, op);
  if (st.code() == StatusCode::kUnimplemented && v->isa != Backend::kScalar) {
    plan_.notes.push_back(Desc(n) + ": " + st.message() + "; scalar kernel");
    v = ScalarVariant(table);
    st = v->create(params, op);
  }
  QP_RETURN_IF_ERROR(st.WithContext(Desc(n)));
  return v;
}

// The window fields shared by the convolution and depthwise params (same names in both structs).
template <typename P>
void SetConvWindow(const ops::WindowGeometry& geo, P* p) {
  p->stride_h = static_cast<size_t>(geo.stride[1]);
  p->stride_w = static_cast<size_t>(geo.stride[2]);
  p->dilation_h = static_cast<size_t>(geo.dilation[1]);
  p->dilation_w = static_cast<size_t>(geo.dilation[2]);
  p->pad_top = static_cast<size_t>(geo.pad_begin[1]);
  p->pad_left = static_cast<size_t>(geo.pad_begin[2]);
  p->pad_bottom = static_cast<size_t>(geo.pad_end[1]);
  p->pad_right = static_cast<size_t>(geo.pad_end[2]);
}

Result<Lowering::QInfo> Lowering::ReadQInfo(size_t n) {
  const Node& node = g().nodes[n];
  const Tensor* s = node.has_input(1) ? Const(node.inputs[1]) : nullptr;
  if (s == nullptr) return Unimplemented(node.Describe(), ": scale is not a constant");
  if (s->numel() != 1) return Unimplemented(node.Describe(), ": per-axis activation scale");
  if (s->dtype() != DType::kFloat32) return InvalidArgument(node.Describe(), ": scale must be float");
  QInfo q;
  q.scale = s->f32()[0];
  QP_RETURN_IF_ERROR(CheckScale(q.scale, node.Describe()));
  const Tensor* z = node.has_input(2) ? Const(node.inputs[2]) : nullptr;
  if (node.has_input(2) && z == nullptr) {
    return Unimplemented(node.Describe(), ": zero point is not a constant");
  }
  if (z == nullptr) {
    q.u8 = true;  // ONNX default zero point is uint8 0
    q.zp = -128;
    return q;
  }
  if (z->numel() != 1) return Unimplemented(node.Describe(), ": per-axis activation zero point");
  if (z->dtype() == DType::kUInt8) {
    q.u8 = true;
    q.zp = static_cast<int32_t>(z->data<uint8_t>()[0]) - 128;
  } else if (z->dtype() == DType::kInt8) {
    q.zp = z->data<int8_t>()[0];
  } else {
    // ONNX: the zero point's type is the quantized type, so only uint8 [0, 255] / int8 [-128, 127]
    // exist; an int32 300 is neither the type nor in range of either.
    const std::vector<float> v = z->ToFloatVector();
    return InvalidArgument(node.Describe(), ": zero point ", v.empty() ? 0.f : v[0], " has dtype ",
                           DTypeName(z->dtype()), "; an activation zero point must be uint8 [0, 255] or int8 "
                           "[-128, 127] (its type is the quantized type)");
  }
  return q;
}

// Weights DQ(int8 const, scale, zp == 0). Returns false (no error) for patterns we do not lower.
Result<bool> Lowering::ReadWeights(size_t n, const std::string& name, Weights* w) {
  auto it = const_dq_.find(name);
  if (it == const_dq_.end()) return false;
  const Node& dq = g().nodes[it->second];
  const Tensor* q = Const(dq.inputs[0]);
  if (q->dtype() != DType::kInt8) return false;
  const Tensor* s = dq.has_input(1) ? Const(dq.inputs[1]) : nullptr;
  if (s == nullptr || s->dtype() != DType::kFloat32) return false;
  QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(dq, "axis", 1));
  if (axis < 0) axis += q->rank();
  if (s->numel() > 1) {
    if (axis < 0 || axis >= q->rank()) {
      return InvalidArgument(dq.Describe(), ": axis ", axis, " outside the weight's rank ", q->rank());
    }
    if (s->numel() != q->dim(static_cast<int>(axis))) {
      return InvalidArgument(dq.Describe(), ": ", s->numel(), " scales for ", q->dim(static_cast<int>(axis)),
                             " channels along axis ", axis, " (weights of ", Desc(n), ")");
    }
  }
  for (int64_t i = 0; i < s->numel(); ++i) {
    QP_RETURN_IF_ERROR(CheckScale(s->f32()[i], dq.Describe() + " channel " + std::to_string(i)));
  }
  if (dq.has_input(2)) {
    const Tensor* z = Const(dq.inputs[2]);
    if (z == nullptr) return false;
    if (z->numel() != s->numel()) {
      return InvalidArgument(dq.Describe(), ": ", z->numel(), " zero points for ", s->numel(), " scales");
    }
    std::vector<float> zs = z->ToFloatVector();
    for (float v : zs) {
      if (v != 0) {
        plan_.notes.push_back(Desc(n) + ": weight zero point " + std::to_string(static_cast<int>(v)) +
                              " != 0 (int8 kernels take symmetric weights)");
        return false;
      }
    }
  }
  w->q = q;
  w->scales.assign(s->f32(), s->f32() + s->numel());
  w->axis = s->numel() > 1 ? axis : -1;
  return true;
}

Result<std::vector<int32_t>> Lowering::ReadBias(size_t n, const std::string& name, size_t channels,
                                                float input_scale,
                                                const std::vector<float>& wscales) {
  std::vector<int32_t> out(channels, 0);
  auto expected = [&](size_t c) { return input_scale * wscales[wscales.size() == 1 ? 0 : c]; };
  if (const Tensor* f = Const(name); f != nullptr && f->dtype() == DType::kFloat32) {
    // Float bias (TensorRT-style exports): quantize at input_scale x weight_scale, as ORT does.
    if (f->numel() != static_cast<int64_t>(channels)) {
      return InvalidArgument(Desc(n), ": bias has ", f->numel(), " values for ", channels, " channels");
    }
    for (size_t c = 0; c < channels; ++c) {
      double v = std::nearbyint(static_cast<double>(f->f32()[c]) / expected(c));
      out[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
    }
    return out;
  }
  auto it = const_dq_.find(name);
  if (it == const_dq_.end()) return Unimplemented(Desc(n), ": bias is not a constant");
  const Node& dq = g().nodes[it->second];
  const Tensor* q = Const(dq.inputs[0]);
  const Tensor* s = dq.has_input(1) ? Const(dq.inputs[1]) : nullptr;
  if (q->dtype() != DType::kInt32) return Unimplemented(Desc(n), ": bias is not int32");
  if (s == nullptr || s->dtype() != DType::kFloat32) {
    return Unimplemented(Desc(n), ": bias scale is not a float constant");
  }
  if (q->numel() != static_cast<int64_t>(channels)) {
    return InvalidArgument(Desc(n), ": bias has ", q->numel(), " values for ", channels, " channels");
  }
  if (s->numel() != 1 && s->numel() != static_cast<int64_t>(channels)) {
    return InvalidArgument(dq.Describe(), ": ", s->numel(), " bias scales for ", channels, " channels");
  }
  if (dq.has_input(2)) {
    const Tensor* z = Const(dq.inputs[2]);
    if (z == nullptr) return Unimplemented(dq.Describe(), ": zero point is not a constant");
    for (float v : z->ToFloatVector()) {
      if (v != 0) return InvalidArgument(dq.Describe(), ": bias zero point ", v, " must be 0");
    }
  }
  bool warned = false;
  for (size_t c = 0; c < channels; ++c) {
    const float bs = s->f32()[s->numel() == 1 ? 0 : c];
    QP_RETURN_IF_ERROR(CheckScale(bs, dq.Describe() + " channel " + std::to_string(c)));
    const double e = expected(c);
    const double rel = std::fabs(bs - e) / e;
    const int32_t b = q->data<int32_t>()[c];
    if (rel > opt_.bias_scale_reject_rtol) {
      return InvalidArgument(Desc(n), ": bias scale ", bs, " at channel ", c,
                             " is not input scale x weight scale (", e, ")");
    }
    if (rel > opt_.bias_scale_warn_rtol) {
      double v = std::nearbyint(static_cast<double>(b) * bs / e);
      out[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
      if (!warned) {
        plan_.notes.push_back("warning: " + Desc(n) + ": bias scale differs from input scale x weight scale (channel " +
                              std::to_string(c) + ": " + std::to_string(bs) + " vs " + std::to_string(e) +
                              "); bias requantized");
        warned = true;
      }
    } else {
      out[c] = b;
    }
  }
  return out;
}

// A tensor slot holding the float value of `name` (dequantizing an int8 slot once, at need).
Result<int> Lowering::FloatOf(const std::string& name) {
  auto it = refs_.find(name);
  if (it == refs_.end()) {
    if (const Tensor* c = Const(name)) {
      Slot s;
      s.shape = c->shape();
      int id = NewSlot(s);
      Tensor copy = *c;
      AddStep("const " + name, [id, copy](Ctx& ctx) { ctx.t[static_cast<size_t>(id)] = copy; return Status::Ok(); },
              false);
      refs_[name] = {id, true};
      return id;
    }
    auto dq = const_dq_.find(name);
    if (dq == const_dq_.end()) return Internal("value '", name, "' is not defined");
    // A constant DequantizeLinear: fold it now with the reference op.
    const Node& node = g().nodes[dq->second];
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < node.inputs.size(); ++i) ins.push_back(node.has_input(i) ? Const(node.inputs[i]) : nullptr);
    std::vector<Tensor> outs;
    QP_RETURN_IF_ERROR(RunNode(node, g().opset, ins, &outs));
    Slot s;
    s.shape = outs[0].shape();
    int id = NewSlot(s);
    Tensor copy = outs[0];
    AddStep("const " + name, [id, copy](Ctx& ctx) { ctx.t[static_cast<size_t>(id)] = copy; return Status::Ok(); },
            false);
    refs_[name] = {id, true};
    return id;
  }
  const Ref r = it->second;
  const Slot src = S(r.slot);
  if (!src.is_int8) return r.slot;
  if (!r.real) return Internal("value '", name, "' is quantized, not float");
  auto cached = float_cache_.find(name);
  if (cached != float_cache_.end()) return cached->second;
  Slot f;
  f.shape = src.shape;
  int id = NewSlot(f);
  const int in = r.slot;
  AddStep("dequantize " + name, [id, in, src](Ctx& ctx) {
    Shape shape = src.shape;
    if (!shape.empty() && shape[0] == kDynamicDim) shape[0] = ctx.batch;
    Tensor out(DType::kFloat32, shape);
    const int8_t* q = ctx.q[static_cast<size_t>(in)].data();
    float* y = out.f32();
    const quant::QParams p{src.scale, src.zero_point, -128, 127};
    const int64_t n = out.numel();
    if (src.layout == Layout::kPlain) {
      for (int64_t i = 0; i < n; ++i) y[i] = quant::DequantizeValue(q[i], p);
    } else {
      const int64_t N = shape[0];
      const int64_t C = src.layout == Layout::kNhwc ? shape[1] : src.c;
      const int64_t HW = src.layout == Layout::kNhwc ? shape[2] * shape[3] : src.h * src.w;
      for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t p2 = 0; p2 < HW; ++p2)
            y[(b * C + c) * HW + p2] = quant::DequantizeValue(q[(b * HW + p2) * C + c], p);
    }
    ctx.t[static_cast<size_t>(id)] = std::move(out);
    return Status::Ok();
  }, false);
  float_cache_[name] = id;
  return id;
}

// A tensor slot with the quantized tensor itself (int8 or uint8, logical layout).
Result<int> Lowering::QuantTensorOf(const std::string& name) {
  auto it = refs_.find(name);
  if (it == refs_.end()) {
    if (Const(name) != nullptr) return FloatOf(name);  // a constant of any dtype
    return Internal("value '", name, "' is not defined");
  }
  const Ref r = it->second;
  const Slot src = S(r.slot);
  if (!src.is_int8) return r.slot;
  if (r.real) return FloatOf(name);
  Slot f;
  f.shape = src.shape;
  int id = NewSlot(f);
  const int in = r.slot;
  AddStep("export " + name, [id, in, src](Ctx& ctx) {
    Shape shape = src.shape;
    if (!shape.empty() && shape[0] == kDynamicDim) shape[0] = ctx.batch;
    Tensor out(src.from_u8 ? DType::kUInt8 : DType::kInt8, shape);
    const int8_t* q = ctx.q[static_cast<size_t>(in)].data();
    uint8_t* y = static_cast<uint8_t*>(out.raw());
    const int shift = src.from_u8 ? 128 : 0;
    auto conv = [shift](int8_t v) { return static_cast<uint8_t>(static_cast<int>(v) + shift); };
    const int64_t n = out.numel();
    if (src.layout == Layout::kPlain) {
      for (int64_t i = 0; i < n; ++i) y[i] = conv(q[i]);
    } else {
      const int64_t N = shape[0];
      const int64_t C = src.layout == Layout::kNhwc ? shape[1] : src.c;
      const int64_t HW = src.layout == Layout::kNhwc ? shape[2] * shape[3] : src.h * src.w;
      for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t p = 0; p < HW; ++p) y[(b * C + c) * HW + p] = conv(q[(b * HW + p) * C + c]);
    }
    ctx.t[static_cast<size_t>(id)] = std::move(out);
    return Status::Ok();
  }, false);
  return id;
}

Status Lowering::Fallback(size_t n, const std::string& why) {
  const Node& node = g().nodes[n];
  std::vector<int> ins;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!node.has_input(i)) {
      ins.push_back(-1);
      continue;
    }
    const std::string& name = node.inputs[i];
    auto it = refs_.find(name);
    if (it != refs_.end() && S(it->second.slot).is_int8 && !it->second.real) {
      QP_ASSIGN_OR_RETURN(int id, QuantTensorOf(name));
      ins.push_back(id);
    } else {
      QP_ASSIGN_OR_RETURN(int id, FloatOf(name));
      ins.push_back(id);
    }
  }
  std::vector<int> outs;
  for (const std::string& o : node.outputs) {
    Slot s;
    int id = NewSlot(s);
    outs.push_back(id);
    if (!o.empty()) refs_[o] = {id, true};
  }
  const Node copy = node;
  const int64_t opset = g().opset;
  AddStep("fp32 " + node.Describe(), [copy, opset, ins, outs](Ctx& ctx) {
    std::vector<const Tensor*> in;
    for (int i : ins) in.push_back(i < 0 ? nullptr : &ctx.t[static_cast<size_t>(i)]);
    std::vector<Tensor> out;
    QP_RETURN_IF_ERROR(RunNode(copy, opset, in, &out));
    for (size_t i = 0; i < outs.size() && i < out.size(); ++i) ctx.t[static_cast<size_t>(outs[i])] = std::move(out[i]);
    return Status::Ok();
  }, false);
  ++plan_.fallbacks;
  if (!why.empty()) plan_.notes.push_back(node.Describe() + ": " + why + "; fp32 reference");
  return Status::Ok();
}

Status Lowering::LowerQuantize(size_t n) {
  const Node& node = g().nodes[n];
  QP_ASSIGN_OR_RETURN(QInfo qi, ReadQInfo(n));
  QP_RETURN_IF_ERROR(CheckNodeSupported(node, g().opset));
  auto it = refs_.find(node.inputs[0]);
  if (it != refs_.end() && S(it->second.slot).is_int8 && it->second.real) {
    const Slot& s = S(it->second.slot);
    if (s.scale == qi.scale && s.zero_point == qi.zp) {
      // Q(DQ(q)) with the same parameters is q exactly.
      refs_[node.outputs[0]] = {it->second.slot, false};
      if (s.from_u8 != qi.u8) {
        Slot copy = s;
        copy.from_u8 = qi.u8;
        refs_[node.outputs[0]] = {NewSlot(copy), false};
        const int from = it->second.slot, to = refs_[node.outputs[0]].slot;
        AddStep("alias " + node.outputs[0], [from, to](Ctx& ctx) {
          ctx.q[static_cast<size_t>(to)] = ctx.q[static_cast<size_t>(from)];
          return Status::Ok();
        }, false);
      }
      return Status::Ok();
    }
  }
  QP_ASSIGN_OR_RETURN(int in, FloatOf(node.inputs[0]));
  QP_ASSIGN_OR_RETURN(Shape shape, ValueShape(node.outputs[0]));
  Slot s;
  s.is_int8 = true;
  s.shape = shape;
  s.scale = qi.scale;
  s.zero_point = qi.zp;
  s.from_u8 = qi.u8;
  s.layout = shape.size() == 4 ? Layout::kNhwc : Layout::kPlain;
  int id = NewSlot(s);
  refs_[node.outputs[0]] = {id, false};
  const std::string name = node.Describe();
  AddStep("quantize " + name, [id, in, s, name](Ctx& ctx) {
    const Tensor& x = ctx.t[static_cast<size_t>(in)];
    Shape shape = s.shape;
    if (!shape.empty() && shape[0] == kDynamicDim) shape[0] = ctx.batch;
    if (x.dtype() != DType::kFloat32 || x.shape() != shape) {
      return InvalidArgument(name, ": input shape ", ShapeToString(x.shape()), ", expected ",
                             ShapeToString(shape));
    }
    std::vector<int8_t>& q = ctx.q[static_cast<size_t>(id)];
    q.resize(static_cast<size_t>(x.numel()));
    const quant::QParams p{s.scale, s.zero_point, -128, 127};
    const float* v = x.f32();
    if (s.layout == Layout::kPlain) {
      for (int64_t i = 0; i < x.numel(); ++i) q[static_cast<size_t>(i)] = static_cast<int8_t>(quant::QuantizeValue(v[i], p));
    } else {
      const int64_t N = shape[0], C = shape[1], HW = shape[2] * shape[3];
      for (int64_t b = 0; b < N; ++b)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < HW; ++i)
            q[static_cast<size_t>((b * HW + i) * C + c)] =
                static_cast<int8_t>(quant::QuantizeValue(v[(b * C + c) * HW + i], p));
    }
    return Status::Ok();
  }, false);
  return Status::Ok();
}

Status Lowering::LowerDequantize(size_t n) {
  const Node& node = g().nodes[n];
  if (Const(node.inputs[0]) != nullptr) {
    const_dq_[node.outputs[0]] = n;  // weights / bias: used by the op that consumes them
    return Status::Ok();
  }
  auto it = refs_.find(node.inputs[0]);
  if (it != refs_.end() && S(it->second.slot).is_int8 && !it->second.real) {
    QP_ASSIGN_OR_RETURN(QInfo qi, ReadQInfo(n));
    const Slot& s = S(it->second.slot);
    if (qi.scale == s.scale && qi.zp == s.zero_point && qi.u8 == s.from_u8) {
      refs_[node.outputs[0]] = {it->second.slot, true};
      return Status::Ok();
    }
  }
  return Fallback(n, "");
}

Result<bool> Lowering::FindOutputQ(size_t n, QInfo* qi, quant::OutputQuant* out,
                                   std::vector<size_t>* used, std::string* q_output) {
  int c = SingleConsumer(g().nodes[n].outputs[0]);
  if (c < 0) return false;
  const Node* act = nullptr;
  if (g().nodes[static_cast<size_t>(c)].op_type == "Relu" || g().nodes[static_cast<size_t>(c)].op_type == "Clip") {
    act = &g().nodes[static_cast<size_t>(c)];
    used->push_back(static_cast<size_t>(c));
    c = SingleConsumer(act->outputs[0]);
    if (c < 0) return false;
  }
  const Node& q = g().nodes[static_cast<size_t>(c)];
  if (q.op_type != "QuantizeLinear" || q.inputs[0] != (act ? act->outputs[0] : g().nodes[n].outputs[0])) return false;
  QP_ASSIGN_OR_RETURN(*qi, ReadQInfo(static_cast<size_t>(c)));
  used->push_back(static_cast<size_t>(c));
  *q_output = q.outputs[0];
  int32_t qmin = -128, qmax = 127;
  const quant::QParams p{qi->scale, qi->zp, -128, 127};
  if (act != nullptr && act->op_type == "Relu") qmin = std::max(qmin, qi->zp);
  if (act != nullptr && act->op_type == "Clip") {
    float lo = -INFINITY, hi = INFINITY;
    if (g().opset < 11) {
      QP_ASSIGN_OR_RETURN(lo, AttrFloat(*act, "min", -INFINITY));
      QP_ASSIGN_OR_RETURN(hi, AttrFloat(*act, "max", INFINITY));
    } else {
      for (int i = 1; i <= 2; ++i) {
        if (!act->has_input(static_cast<size_t>(i))) continue;
        const Tensor* t = Const(act->inputs[static_cast<size_t>(i)]);
        if (t == nullptr || t->numel() != 1 || t->dtype() != DType::kFloat32) return false;
        (i == 1 ? lo : hi) = t->f32()[0];
      }
    }
    // Clip then QuantizeLinear == clamp of the quantized value to the quantized bounds (monotone).
    if (lo > -INFINITY) qmin = std::max(qmin, quant::QuantizeValue(lo, p));
    if (hi < INFINITY) qmax = std::min(qmax, quant::QuantizeValue(hi, p));
  }
  if (qmin >= qmax) return false;
  QP_ASSIGN_OR_RETURN(*out, quant::MakeOutputQuant(quant::RequantScheme::kFp32, qi->zp, qmin, qmax));
  return true;
}

Status Lowering::BindOutput(const std::string& q_output, int slot, const std::vector<size_t>& used) {
  refs_[q_output] = {slot, false};
  for (size_t u : used) done_[u] = true;
  return Status::Ok();
}

Result<bool> Lowering::LowerConv(size_t n) {
  const Node& node = g().nodes[n];
  auto in = refs_.find(node.inputs[0]);
  if (in == refs_.end() || !S(in->second.slot).is_int8 || !in->second.real) return false;
  const Slot x = S(in->second.slot);
  if (x.layout != Layout::kNhwc || x.shape.size() != 4) return false;
  Weights w;
  QP_ASSIGN_OR_RETURN(bool ok_w, ReadWeights(n, node.inputs[1], &w));
  if (!ok_w || w.q->rank() != 4 || (w.axis != -1 && w.axis != 0)) return false;
  QInfo qo;
  quant::OutputQuant out;
  std::vector<size_t> used;
  std::string q_output;
  QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
  if (!ok_q) return false;
  QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(node));
  const int64_t O = w.q->dim(0), IG = w.q->dim(1), KH = w.q->dim(2), KW = w.q->dim(3);
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  if (a.group < 1 || C != IG * a.group || O % a.group != 0) {
    return InvalidArgument(node.Describe(), ": weights [", O, ", ", IG, ", ", KH, ", ", KW, "] with group ", a.group,
                           " do not fit ", C, " input channels");
  }
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry geo, ops::ResolveWindow({H, W}, {KH, KW}, a.strides, a.dilations,
                                                                  a.pads, a.auto_pad, false));
  const size_t channels = static_cast<size_t>(O);
  std::vector<int32_t> bias(channels, 0);
  if (node.has_input(2)) {
    QP_ASSIGN_OR_RETURN(bias, ReadBias(n, node.inputs[2], channels, x.scale, w.scales));
  }
  std::vector<quant::RequantChannel> rq;
  for (size_t c = 0; c < (w.scales.size() == 1 ? 1 : channels); ++c) {
    auto r = quant::MakeRequantChannel(x.scale, w.scales[c], qo.scale);
    if (!r.ok()) return r.status().WithContext(node.Describe() + " channel " + std::to_string(c));
    rq.push_back(*r);
  }
  Slot y;
  y.is_int8 = true;
  y.shape = {x.shape[0], O, geo.out[1], geo.out[2]};
  y.scale = qo.scale;
  y.zero_point = qo.zp;
  y.from_u8 = qo.u8;
  y.layout = Layout::kNhwc;
  const int xi = in->second.slot;
  const int8_t* wq = w.q->data<int8_t>();
  const size_t kh = static_cast<size_t>(KH), kw = static_cast<size_t>(KW);
  const bool depthwise = IG == 1 && a.group == C && O == C;
  if (depthwise) {
    std::vector<int8_t> packed(static_cast<size_t>(KH * KW * O));
    for (int64_t o = 0; o < O; ++o)
      for (int64_t t = 0; t < KH * KW; ++t) packed[static_cast<size_t>(t * O + o)] = wq[o * KH * KW + t];
    kernels::QS8DwConvParams p;
    p.channels = channels;
    p.kernel_h = kh;
    p.kernel_w = kw;
    SetConvWindow(geo, &p);
    p.weights = packed.data();
    p.bias = bias.data();
    p.input_zero_point = x.zero_point;
    p.requant = rq.data();
    p.per_channel = rq.size() > 1;
    p.output = out;
    auto op = std::make_shared<kernels::QS8DwConvOp>();
    QP_ASSIGN_OR_RETURN(const kernels::QS8DwConvVariant* v, CreateKernel(kernels::QS8DwConvVariants(), n, p, op.get()));
    const int yi = NewSlot(y);
    auto run = v->run;
    AddStep("dwconv " + node.Describe(), [op, run, xi, yi, H, W, y](Ctx& ctx) {
      auto& o = ctx.q[static_cast<size_t>(yi)];
      o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
      return run(*op, static_cast<size_t>(ctx.batch), static_cast<size_t>(H), static_cast<size_t>(W),
                 ctx.q[static_cast<size_t>(xi)].data(), o.data());
    }, true);
    QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
    return true;
  }
  // OIHW -> OHWI.
  std::vector<int8_t> packed(static_cast<size_t>(O * KH * KW * IG));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < IG; ++i)
      for (int64_t t = 0; t < KH * KW; ++t)
        packed[static_cast<size_t>((o * KH * KW + t) * IG + i)] = wq[(o * IG + i) * KH * KW + t];
  kernels::QS8ConvParams p;
  p.kernel_h = kh;
  p.kernel_w = kw;
  SetConvWindow(geo, &p);
  p.groups = static_cast<size_t>(a.group);
  p.group_input_channels = static_cast<size_t>(IG);
  p.group_output_channels = static_cast<size_t>(O / a.group);
  p.weights = packed.data();
  p.bias = bias.data();
  p.input_zero_point = x.zero_point;
  p.requant = rq.data();
  p.per_channel = rq.size() > 1;
  p.output = out;
  auto op = std::make_shared<kernels::QS8ConvOp>();
  QP_ASSIGN_OR_RETURN(const kernels::QS8ConvVariant* v, CreateKernel(kernels::QS8ConvVariants(), n, p, op.get()));
  const int yi = NewSlot(y);
  auto run = v->run;
  AddStep("conv " + node.Describe(), [op, run, xi, yi, H, W, y](Ctx& ctx) {
    auto& o = ctx.q[static_cast<size_t>(yi)];
    o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
    return run(*op, static_cast<size_t>(ctx.batch), static_cast<size_t>(H), static_cast<size_t>(W),
               ctx.q[static_cast<size_t>(xi)].data(), o.data());
  }, true);
  QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
  return true;
}

Result<bool> Lowering::LowerGemm(size_t n) {
  const Node& node = g().nodes[n];
  auto in = refs_.find(node.inputs[0]);
  if (in == refs_.end() || !S(in->second.slot).is_int8 || !in->second.real) return false;
  const Slot x = S(in->second.slot);
  if (x.shape.size() != 2 || x.layout == Layout::kNhwc) return false;
  bool trans_b = false;
  if (node.op_type == "Gemm") {
    QP_ASSIGN_OR_RETURN(ops::GemmAttrs a, ParseGemmAttrs(node));
    if (a.trans_a || a.alpha != 1.f || (node.has_input(2) && a.beta != 1.f)) return false;
    trans_b = a.trans_b;
  }
  Weights w;
  QP_ASSIGN_OR_RETURN(bool ok_w, ReadWeights(n, node.inputs[1], &w));
  if (!ok_w || w.q->rank() != 2) return false;
  const int64_t N = trans_b ? w.q->dim(0) : w.q->dim(1), K = trans_b ? w.q->dim(1) : w.q->dim(0);
  if (w.axis != -1 && w.axis != (trans_b ? 0 : 1)) return false;  // per-channel along K: not a GEMM scale
  if (K != x.shape[1]) {
    return InvalidArgument(node.Describe(), ": weights K = ", K, " but the input has ", x.shape[1], " features");
  }
  QInfo qo;
  quant::OutputQuant out;
  std::vector<size_t> used;
  std::string q_output;
  QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
  if (!ok_q) return false;
  const size_t channels = static_cast<size_t>(N);
  std::vector<int32_t> bias(channels, 0);
  if (node.op_type == "Gemm" && node.has_input(2)) {
    QP_ASSIGN_OR_RETURN(bias, ReadBias(n, node.inputs[2], channels, x.scale, w.scales));
  }
  std::vector<quant::RequantChannel> rq;
  for (size_t c = 0; c < (w.scales.size() == 1 ? 1 : channels); ++c) {
    auto r = quant::MakeRequantChannel(x.scale, w.scales[c], qo.scale);
    if (!r.ok()) return r.status().WithContext(node.Describe() + " channel " + std::to_string(c));
    rq.push_back(*r);
  }
  // Packed [N][K] in the input's physical order (a Flatten of NHWC data permutes K).
  std::vector<int8_t> packed(static_cast<size_t>(N * K));
  const int8_t* wq = w.q->data<int8_t>();
  for (int64_t j = 0; j < N; ++j) {
    for (int64_t p = 0; p < K; ++p) {
      int64_t k = p;
      if (x.layout == Layout::kFlatNhwc) {  // p = (h*W + w)*C + c, logical k = c*H*W + h*W + w
        const int64_t hw = x.h * x.w, c = p % x.c, s = p / x.c;
        k = c * hw + s;
      }
      packed[static_cast<size_t>(j * K + p)] = trans_b ? wq[j * K + k] : wq[k * N + j];
    }
  }
  kernels::QS8GemmParams p;
  p.n = channels;
  p.k = static_cast<size_t>(K);
  p.weights = packed.data();
  p.bias = bias.data();
  p.input_zero_point = x.zero_point;
  p.requant = rq.data();
  p.per_channel = rq.size() > 1;
  p.output = out;
  auto op = std::make_shared<kernels::QS8GemmOp>();
  QP_ASSIGN_OR_RETURN(const kernels::QS8GemmVariant* v, CreateKernel(kernels::QS8GemmVariants(), n, p, op.get()));
  Slot y;
  y.is_int8 = true;
  y.shape = {x.shape[0], N};
  y.scale = qo.scale;
  y.zero_point = qo.zp;
  y.from_u8 = qo.u8;
  const int xi = in->second.slot, yi = NewSlot(y);
  auto run = v->run;
  const Shape xs = x.shape;
  AddStep("gemm " + node.Describe(), [op, run, xi, yi, xs, y](Ctx& ctx) {
    const int64_t m = xs[0] == kDynamicDim ? ctx.batch : xs[0];
    auto& o = ctx.q[static_cast<size_t>(yi)];
    o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
    return run(*op, static_cast<size_t>(m), ctx.q[static_cast<size_t>(xi)].data(), o.data());
  }, true);
  QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
  return true;
}

Result<bool> Lowering::LowerAdd(size_t n) {
  const Node& node = g().nodes[n];
  auto ia = refs_.find(node.inputs[0]);
  auto ib = refs_.find(node.inputs[1]);
  if (ia == refs_.end() || ib == refs_.end()) return false;
  if (!S(ia->second.slot).is_int8 || !ia->second.real || !S(ib->second.slot).is_int8 || !ib->second.real) return false;
  Slot a = S(ia->second.slot), b = S(ib->second.slot);
  int ai = ia->second.slot, bi = ib->second.slot;
  const bool a_scalar = a.shape.size() <= 1 && NumelWithBatch(a.shape, 2) == 1;
  if (a_scalar) {  // the kernel broadcasts its second operand
    std::swap(a, b);
    std::swap(ai, bi);
  }
  const bool b_scalar = NumelWithBatch(b.shape, 2) == 1 && (b.shape.empty() || b.shape[0] != kDynamicDim);
  if (!b_scalar && (a.shape != b.shape || a.layout != b.layout)) return false;
  QInfo qo;
  quant::OutputQuant out;
  std::vector<size_t> used;
  std::string q_output;
  QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
  if (!ok_q) return false;
  kernels::QS8AddParams p;
  auto r = quant::MakeAddRequant(quant::AddScheme::kXnnpackFixedPoint, a.scale, a.zero_point, b.scale,
                                 b.zero_point, qo.scale);
  if (!r.ok()) return r.status().WithContext(node.Describe());
  p.requant = *r;
  p.output = out;
  QP_ASSIGN_OR_RETURN(const kernels::QS8AddVariant* v, Variant(kernels::QS8AddVariants(), n));
  auto op = std::make_shared<kernels::QS8AddOp>();
  QP_RETURN_IF_ERROR(v->create(p, op.get()).WithContext(node.Describe()));
  Slot y = a;
  y.scale = qo.scale;
  y.zero_point = qo.zp;
  y.from_u8 = qo.u8;
  const int yi = NewSlot(y);
  auto run = v->run;
  AddStep("add " + node.Describe(), [op, run, ai, bi, yi, y, b_scalar](Ctx& ctx) {
    const size_t count = static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch));
    auto& o = ctx.q[static_cast<size_t>(yi)];
    o.resize(count);
    return run(*op, count, ctx.q[static_cast<size_t>(ai)].data(), ctx.q[static_cast<size_t>(bi)].data(), b_scalar,
               o.data());
  }, true);
  QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
  return true;
}

// DQ(x_i) ... -> Concat -> [Relu | Clip] -> Q (ONNX Runtime's QLinearConcat, rewritten to this form):
// every input is requantized from its own scale and zero point into its band of the output
// (qs8-vcvt; an input already on the output's grid is a copy). Concat along dim 0 (the batch) and
// inputs of different layouts stay on the reference.
Result<bool> Lowering::LowerConcat(size_t n) {
  const Node& node = g().nodes[n];
  std::vector<int> xi;
  std::vector<Slot> xs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    auto it = node.has_input(i) ? refs_.find(node.inputs[i]) : refs_.end();
    if (it == refs_.end() || !S(it->second.slot).is_int8 || !it->second.real) return false;
    xi.push_back(it->second.slot);
    xs.push_back(S(it->second.slot));
  }
  if (xs.empty()) return false;
  const Layout layout = xs[0].layout;
  const size_t rank = xs[0].shape.size();
  if (layout == Layout::kFlatNhwc || rank < 2) return false;
  QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(node, "axis", 0));
  if (axis < 0) axis += static_cast<int64_t>(rank);
  if (axis < 0 || axis >= static_cast<int64_t>(rank)) {
    return InvalidArgument(node.Describe(), ": axis ", axis, " outside rank ", rank);
  }
  if (axis == 0) return false;
  Shape yshape = xs[0].shape;
  yshape[static_cast<size_t>(axis)] = 0;
  for (const Slot& x : xs) {
    if (x.layout != layout || x.shape.size() != rank) return false;
    for (size_t d = 0; d < rank; ++d) {
      if (d != static_cast<size_t>(axis) && x.shape[d] != xs[0].shape[d]) return false;
    }
    yshape[static_cast<size_t>(axis)] += x.shape[static_cast<size_t>(axis)];
  }
  QInfo qo;
  quant::OutputQuant out;
  std::vector<size_t> used;
  std::string q_output;
  QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
  if (!ok_q) return false;
  // The stored order: NHWC keeps logical dims [N, C, H, W] as [N, H, W, C].
  auto stored = [layout](const Shape& s) {
    return layout == Layout::kNhwc ? Shape{s[0], s[2], s[3], s[1]} : s;
  };
  const size_t saxis = layout == Layout::kNhwc ? (axis == 1 ? 3 : static_cast<size_t>(axis) - 1)
                                               : static_cast<size_t>(axis);
  // Rows = batch x the stored dims before the axis; each input's row is its stored tail from the axis.
  int64_t rows_per_batch = 1;
  for (size_t d = 1; d < saxis; ++d) rows_per_batch *= stored(yshape)[d];
  std::vector<size_t> cols, offsets;
  size_t total = 0;
  std::vector<std::shared_ptr<kernels::QS8CvtOp>> ops;
  std::vector<kernels::QS8CvtRunFn> runs;
  for (const Slot& x : xs) {
    int64_t c = 1;
    const Shape sx = stored(x.shape);
    for (size_t d = saxis; d < rank; ++d) c *= sx[d];
    offsets.push_back(total);
    cols.push_back(static_cast<size_t>(c));
    total += static_cast<size_t>(c);
    auto params = kernels::MakeQS8CvtParams(x.scale, x.zero_point, qo.scale, out);
    if (!params.ok()) {
      plan_.notes.push_back(node.Describe() + ": " + params.status().message());
      return false;
    }
    auto op = std::make_shared<kernels::QS8CvtOp>();
    QP_ASSIGN_OR_RETURN(const kernels::QS8CvtVariant* v, CreateKernel(kernels::QS8CvtVariants(), n, *params, op.get()));
    ops.push_back(op);
    runs.push_back(v->run);
  }
  Slot y = xs[0];
  y.shape = yshape;
  y.scale = qo.scale;
  y.zero_point = qo.zp;
  y.from_u8 = qo.u8;
  const int yi = NewSlot(y);
  AddStep("concat " + node.Describe(), [ops, runs, xi, yi, y, cols, offsets, total, rows_per_batch](Ctx& ctx) {
    auto& o = ctx.q[static_cast<size_t>(yi)];
    o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
    const size_t rows = static_cast<size_t>(rows_per_batch * ctx.batch);
    for (size_t i = 0; i < ops.size(); ++i) {
      QP_RETURN_IF_ERROR(runs[i](*ops[i], rows, cols[i], ctx.q[static_cast<size_t>(xi[i])].data(), cols[i],
                                 o.data() + offsets[i], total));
    }
    return Status::Ok();
  }, true);
  QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
  return true;
}

Result<bool> Lowering::LowerPool(size_t n) {
  const Node& node = g().nodes[n];
  auto in = refs_.find(node.inputs[0]);
  if (in == refs_.end() || !S(in->second.slot).is_int8 || !in->second.real) return false;
  const Slot x = S(in->second.slot);
  if (x.layout != Layout::kNhwc || x.shape.size() != 4) return false;
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int xi = in->second.slot;
  if (node.op_type == "GlobalAveragePool") {
    QInfo qo;
    quant::OutputQuant out;
    std::vector<size_t> used;
    std::string q_output;
    QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
    if (!ok_q) return false;
    kernels::QS8GlobalAvgPoolParams p;
    p.channels = static_cast<size_t>(C);
    p.width = static_cast<size_t>(H * W);
    p.input_zero_point = x.zero_point;
    auto r = quant::MakeAvgPoolRequant(x.scale, qo.scale, p.width);
    if (!r.ok()) return r.status().WithContext(node.Describe());
    p.requant = *r;
    p.input_output_ratio = x.scale / qo.scale;
    p.output = out;
    QP_ASSIGN_OR_RETURN(const kernels::QS8GlobalAvgPoolVariant* v, Variant(kernels::QS8GlobalAvgPoolVariants(), n));
    auto op = std::make_shared<kernels::QS8GlobalAvgPoolOp>();
    QP_RETURN_IF_ERROR(v->create(p, op.get()).WithContext(node.Describe()));
    Slot y = x;
    y.shape = {x.shape[0], C, 1, 1};
    y.scale = qo.scale;
    y.zero_point = qo.zp;
    y.from_u8 = qo.u8;
    const int yi = NewSlot(y);
    auto run = v->run;
    AddStep("gavgpool " + node.Describe(), [op, run, xi, yi, y](Ctx& ctx) {
      auto& o = ctx.q[static_cast<size_t>(yi)];
      o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
      return run(*op, static_cast<size_t>(ctx.batch), ctx.q[static_cast<size_t>(xi)].data(), o.data());
    }, true);
    QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
    return true;
  }
  QP_ASSIGN_OR_RETURN(ops::PoolAttrs a, ParsePoolAttrs(node));
  if (a.kernel_shape.size() != 2) return false;
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry geo, ops::ResolveWindow({H, W}, a.kernel_shape, a.strides,
                                                                  node.op_type == "MaxPool" ? a.dilations : std::vector<int64_t>{},
                                                                  a.pads, a.auto_pad, a.ceil_mode));
  // The kernels use the floor formula; ceil_mode windows that differ run on the reference.
  for (int d = 1; d <= 2; ++d) {
    const int64_t span = geo.in[d] + geo.pad_begin[d] + geo.pad_end[d] - ((geo.kernel[d] - 1) * geo.dilation[d] + 1);
    if (span < 0 || span / geo.stride[d] + 1 != geo.out[d]) return false;
  }
  kernels::PoolGeometry pg;
  pg.channels = static_cast<size_t>(C);
  pg.kernel_h = static_cast<size_t>(geo.kernel[1]);
  pg.kernel_w = static_cast<size_t>(geo.kernel[2]);
  pg.stride_h = static_cast<size_t>(geo.stride[1]);
  pg.stride_w = static_cast<size_t>(geo.stride[2]);
  pg.dilation_h = static_cast<size_t>(geo.dilation[1]);
  pg.dilation_w = static_cast<size_t>(geo.dilation[2]);
  pg.pad_top = static_cast<size_t>(geo.pad_begin[1]);
  pg.pad_left = static_cast<size_t>(geo.pad_begin[2]);
  pg.pad_bottom = static_cast<size_t>(geo.pad_end[1]);
  pg.pad_right = static_cast<size_t>(geo.pad_end[2]);
  Slot y = x;
  y.shape = {x.shape[0], C, geo.out[1], geo.out[2]};
  if (node.op_type == "MaxPool") {
    if (node.outputs.size() > 1 && !node.outputs[1].empty()) return false;  // Indices
    // Max commutes with the monotone dequantization: the output keeps the input's quantization.
    kernels::QS8MaxPoolParams p;
    p.geometry = pg;
    QP_ASSIGN_OR_RETURN(const kernels::QS8MaxPoolVariant* v, Variant(kernels::QS8MaxPoolVariants(), n));
    auto op = std::make_shared<kernels::QS8MaxPoolOp>();
    QP_RETURN_IF_ERROR(v->create(p, op.get()).WithContext(node.Describe()));
    const int yi = NewSlot(y);
    auto run = v->run;
    AddStep("maxpool " + node.Describe(), [op, run, xi, yi, y, H, W](Ctx& ctx) {
      auto& o = ctx.q[static_cast<size_t>(yi)];
      o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
      return run(*op, static_cast<size_t>(ctx.batch), static_cast<size_t>(H), static_cast<size_t>(W),
                 ctx.q[static_cast<size_t>(xi)].data(), o.data());
    }, true);
    refs_[node.outputs[0]] = {yi, true};
    return true;
  }
  // AveragePool.
  QInfo qo;
  quant::OutputQuant out;
  std::vector<size_t> used;
  std::string q_output;
  QP_ASSIGN_OR_RETURN(bool ok_q, FindOutputQ(n, &qo, &out, &used, &q_output));
  if (!ok_q) return false;
  kernels::QS8AvgPoolParams p;
  p.geometry = pg;
  p.count_include_pad = a.count_include_pad;
  p.input_zero_point = x.zero_point;
  p.input_scale = x.scale;
  p.output_scale = qo.scale;
  p.output = out;
  QP_ASSIGN_OR_RETURN(const kernels::QS8AvgPoolVariant* v, Variant(kernels::QS8AvgPoolVariants(), n));
  auto op = std::make_shared<kernels::QS8AvgPoolOp>();
  QP_RETURN_IF_ERROR(v->create(p, op.get()).WithContext(node.Describe()));
  y.scale = qo.scale;
  y.zero_point = qo.zp;
  y.from_u8 = qo.u8;
  const int yi = NewSlot(y);
  auto run = v->run;
  AddStep("avgpool " + node.Describe(), [op, run, xi, yi, y, H, W](Ctx& ctx) {
    auto& o = ctx.q[static_cast<size_t>(yi)];
    o.resize(static_cast<size_t>(NumelWithBatch(y.shape, ctx.batch)));
    return run(*op, static_cast<size_t>(ctx.batch), static_cast<size_t>(H), static_cast<size_t>(W),
               ctx.q[static_cast<size_t>(xi)].data(), o.data());
  }, true);
  QP_RETURN_IF_ERROR(BindOutput(q_output, yi, used));
  return true;
}

// Flatten / Identity on a dequantized int8 value: a new view, no data movement.
Result<bool> Lowering::LowerReshapeLike(size_t n) {
  const Node& node = g().nodes[n];
  auto in = refs_.find(node.inputs[0]);
  if (in == refs_.end() || !S(in->second.slot).is_int8) return false;
  if (node.op_type == "Identity") {
    refs_[node.outputs[0]] = in->second;
    return true;
  }
  if (!in->second.real) return false;
  const Slot x = S(in->second.slot);
  QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(node, "axis", 1));
  if (axis != 1 || x.shape.size() < 2) return false;
  Slot y = x;
  int64_t rest = 1;
  for (size_t i = 1; i < x.shape.size(); ++i) rest *= x.shape[i];
  y.shape = {x.shape[0], rest};
  if (x.layout == Layout::kNhwc) {
    if (x.shape[2] * x.shape[3] == 1) {
      y.layout = Layout::kPlain;
    } else {
      y.layout = Layout::kFlatNhwc;
      y.c = x.shape[1];
      y.h = x.shape[2];
      y.w = x.shape[3];
    }
  } else if (x.layout == Layout::kFlatNhwc) {
    return false;
  }
  const int yi = NewSlot(y);
  const int xi = in->second.slot;
  AddStep("view " + node.Describe(), [xi, yi](Ctx& ctx) {
    ctx.q[static_cast<size_t>(yi)] = ctx.q[static_cast<size_t>(xi)];
    return Status::Ok();
  }, false);
  refs_[node.outputs[0]] = {yi, true};
  return true;
}

// QOperator nodes become the QDQ form they are defined by (QLinearConv(x, w, B) ==
// Q(Conv(DQ(x), DQ(w), DQ(B at sx*sw)))), so one set of patterns lowers both. Default-domain nodes
// whose scales are not constants stay as they are (the fp32 reference runs them). ONNX Runtime's
// contrib QLinearAdd / QLinearConcat (com.microsoft) have no reference op, so they must rewrite:
// one that cannot (a scale or zero point that is not a constant, a missing zero point, a wrong
// arity) is a Status naming the node and the rule.
Status RewriteContribQOperator(Graph* g, const Node& n, std::vector<Node>* out);

Status RewriteQOperators(Graph* g) {
  std::vector<Node> out;
  auto constant = [g](const Node& n, size_t i) {
    return n.has_input(i) && g->initializers.count(n.inputs[i]) ? &g->initializers.at(n.inputs[i]) : nullptr;
  };
  auto make = [](const std::string& name, const std::string& op, std::vector<std::string> in,
                 std::vector<std::string> o) {
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(o);
    return n;
  };
  for (const Node& n : g->nodes) {
    if (n.domain == "com.microsoft" && (n.op_type == "QLinearAdd" || n.op_type == "QLinearConcat")) {
      QP_RETURN_IF_ERROR(RewriteContribQOperator(g, n, &out));
      continue;
    }
    const bool conv = n.op_type == "QLinearConv", mm = n.op_type == "QLinearMatMul";
    if (!IsDefaultDomain(n.domain) || (!conv && !mm) || n.inputs.size() < 8 || n.outputs.empty()) {
      out.push_back(n);
      continue;
    }
    const Tensor* xs = constant(n, 1);
    const Tensor* ws = constant(n, 4);
    if (xs == nullptr || ws == nullptr || xs->numel() != 1 || xs->dtype() != DType::kFloat32 ||
        ws->dtype() != DType::kFloat32 || constant(n, 3) == nullptr) {
      out.push_back(n);
      continue;
    }
    const std::string p = n.name.empty() ? n.outputs[0] : n.name;
    const std::string xdq = p + "/x_dq", wdq = p + "/w_dq", y = p + "/y";
    out.push_back(make(p + "/dq_x", "DequantizeLinear", {n.inputs[0], n.inputs[1], n.inputs[2]}, {xdq}));
    Node dw = make(p + "/dq_w", "DequantizeLinear", {n.inputs[3], n.inputs[4], n.inputs[5]}, {wdq});
    if (ws->numel() > 1) dw.attrs["axis"] = Attribute::Int(conv ? 0 : 1);
    out.push_back(dw);
    std::vector<std::string> ins{xdq, wdq};
    if (conv && n.has_input(8)) {
      std::vector<float> bs(static_cast<size_t>(ws->numel()));
      for (size_t c = 0; c < bs.size(); ++c) bs[c] = xs->f32()[0] * ws->f32()[c];
      const std::string bsn = p + "/b_scale", bdq = p + "/b_dq";
      g->initializers[bsn] = bs.size() == 1 ? Tensor::Scalar(bs[0])
                                            : Tensor::FromVector<float>({static_cast<int64_t>(bs.size())}, bs);
      Node db = make(p + "/dq_b", "DequantizeLinear", {n.inputs[8], bsn}, {bdq});
      if (bs.size() > 1) db.attrs["axis"] = Attribute::Int(0);
      out.push_back(db);
      ins.push_back(bdq);
    }
    Node op = make(p + "/op", conv ? "Conv" : "MatMul", ins, {y});
    if (conv) op.attrs = n.attrs;
    out.push_back(op);
    out.push_back(make(p + "/q", "QuantizeLinear", {y, n.inputs[6], n.inputs[7]}, {n.outputs[0]}));
  }
  g->nodes = std::move(out);
  return Status::Ok();
}

// QLinearAdd(A, As, Az, B, Bs, Bz, Cs, Cz) == Q(Add(DQ(A), DQ(B)), Cs, Cz);
// QLinearConcat(Ys, Yz, X0, X0s, X0z, ...; axis) == Q(Concat(DQ(X0), ...; axis), Ys, Yz).
// The zero points must be present: they carry the element type (an absent one would make the
// rewritten QuantizeLinear uint8 whatever the model's type).
Status RewriteContribQOperator(Graph* g, const Node& n, std::vector<Node>* out) {
  const bool add = n.op_type == "QLinearAdd";
  const size_t arity = n.inputs.size();
  if (n.outputs.size() != 1 || n.outputs[0].empty() || (add && arity != 8) ||
      (!add && (arity < 5 || (arity - 2) % 3 != 0))) {
    return InvalidArgument(n.Describe(), ": ", n.inputs.size(), " inputs and ", n.outputs.size(), " outputs; ",
                           add ? "QLinearAdd takes 8 inputs (A, A_scale, A_zero_point, B, B_scale, "
                                 "B_zero_point, C_scale, C_zero_point) and 1 output"
                               : "QLinearConcat takes Y_scale, Y_zero_point and (X, X_scale, X_zero_point) "
                                 "triples, and 1 output");
  }
  // (scale index, zero point index) of every quantized operand, the output's first.
  std::vector<std::pair<size_t, size_t>> qp;
  if (add) {
    qp = {{6, 7}, {1, 2}, {4, 5}};
  } else {
    qp.push_back({0, 1});
    for (size_t i = 2; i < arity; i += 3) qp.push_back({i + 1, i + 2});
  }
  for (const auto& [s, z] : qp) {
    for (size_t i : {s, z}) {
      if (!n.has_input(i) || g->initializers.count(n.inputs[i]) == 0) {
        return Unimplemented(n.Describe(), ": input ", i, " (", i == s ? "scale" : "zero point",
                             ") must be a constant initializer for the int8 executor (ONNX Runtime's "
                             "quantizer writes constants); ", n.op_type, " has no fp32 reference here");
      }
    }
  }
  auto make = [](const std::string& name, const std::string& op, std::vector<std::string> in,
                 std::vector<std::string> o) {
    Node m;
    m.name = name;
    m.op_type = op;
    m.inputs = std::move(in);
    m.outputs = std::move(o);
    return m;
  };
  const std::string p = n.name.empty() ? n.outputs[0] : n.name;
  std::vector<std::string> ins;
  const std::vector<size_t> xs = add ? std::vector<size_t>{0, 3} : [&] {
    std::vector<size_t> v;
    for (size_t i = 2; i < arity; i += 3) v.push_back(i);
    return v;
  }();
  for (size_t k = 0; k < xs.size(); ++k) {
    const size_t i = xs[k];
    if (!n.has_input(i)) return InvalidArgument(n.Describe(), ": input ", i, " (a quantized operand) is missing");
    const std::string dq = p + "/x" + std::to_string(k) + "_dq";
    out->push_back(make(p + "/dq_x" + std::to_string(k), "DequantizeLinear",
                        {n.inputs[i], n.inputs[i + 1], n.inputs[i + 2]}, {dq}));
    ins.push_back(dq);
  }
  const std::string y = p + "/y";
  Node op = make(p + "/op", add ? "Add" : "Concat", ins, {y});
  if (!add) {
    auto axis = n.attrs.find("axis");
    if (axis == n.attrs.end()) return InvalidArgument(n.Describe(), ": QLinearConcat requires the attribute 'axis'");
    op.attrs["axis"] = axis->second;
  }
  out->push_back(op);
  const size_t ys = add ? 6 : 0;
  out->push_back(make(p + "/q", "QuantizeLinear", {y, n.inputs[ys], n.inputs[ys + 1]}, {n.outputs[0]}));
  return Status::Ok();
}

Status Lowering::Prepare() {
  // The rewrite first: it turns the contrib QOperators (no default-domain schema) into QDQ nodes.
  QP_RETURN_IF_ERROR(ValidateGraph(g(), opt_.limits));
  QP_RETURN_IF_ERROR(RewriteQOperators(&plan_.graph));
  for (const Node& node : g().nodes) QP_RETURN_IF_ERROR(CheckNodeSupported(node, g().opset));
  QP_RETURN_IF_ERROR(ValidateGraph(g(), opt_.limits));
  QP_RETURN_IF_ERROR(InferShapes(&plan_.graph, opt_.limits.max_tensor_elements));
  QP_ASSIGN_OR_RETURN(order_, TopologicalOrder(g()));
  done_.assign(g().nodes.size(), false);
  for (size_t i = 0; i < g().nodes.size(); ++i)
    for (const std::string& s : g().nodes[i].inputs)
      if (!s.empty()) consumers_[s].push_back(i);
  for (const ValueInfo& o : g().outputs) graph_outputs_.insert(o.name);
  for (const ValueInfo& in : g().inputs) {
    Slot s;
    s.shape = in.shape;
    const int id = NewSlot(s);
    refs_[in.name] = {id, true};
    plan_.input_slots.push_back(id);
  }
  return Status::Ok();
}

Result<bool> Lowering::RunUnit(size_t u) {
  const size_t n = order_.size();
  if (u < n) {
    // TensorRT-style QDQ: float weights -> QuantizeLinear -> DequantizeLinear. Every weight Q is
    // folded (all units u < n run before any lowering) so the DQ reads an int8 constant.
    const Node& node = g().nodes[order_[u]];
    if (node.op_type != "QuantizeLinear" || !IsDefaultDomain(node.domain)) return false;
    QP_RETURN_IF_ERROR(FoldConstantQ(order_[u]));
    return true;
  }
  if (u < 2 * n) {
    if (done_[order_[u - n]]) return false;
    QP_RETURN_IF_ERROR(LowerNode(order_[u - n]));
    return true;
  }
  QP_RETURN_IF_ERROR(BindOutputs());
  return true;
}

Status Lowering::FoldConstantQ(size_t n) {
  const Node& node = g().nodes[n];
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    ins.push_back(node.has_input(i) ? Const(node.inputs[i]) : nullptr);
    if (node.has_input(i) && ins.back() == nullptr) return Status::Ok();  // an activation Q
  }
  if (ins.size() > 1 && ins[1] != nullptr && ins[1]->dtype() == DType::kFloat32) {
    for (int64_t i = 0; i < ins[1]->numel(); ++i) {
      QP_RETURN_IF_ERROR(CheckScale(ins[1]->f32()[i], node.Describe() + " channel " + std::to_string(i)));
    }
  }
  std::vector<Tensor> outs;
  QP_RETURN_IF_ERROR(RunNode(node, g().opset, ins, &outs));
  plan_.graph.initializers[node.outputs[0]] = std::move(outs[0]);
  done_[n] = true;
  return Status::Ok();
}

Status Lowering::LowerNode(size_t n) {
  const Node& node = g().nodes[n];
  done_[n] = true;
  if (!IsDefaultDomain(node.domain)) return Fallback(n, "custom domain");
  const std::string& op = node.op_type;
  if (op == "QuantizeLinear") return LowerQuantize(n);
  if (op == "DequantizeLinear") return LowerDequantize(n);
  Result<bool> lowered = false;
  if (op == "Conv") lowered = LowerConv(n);
  else if (op == "Gemm" || op == "MatMul") lowered = LowerGemm(n);
  else if (op == "Add") lowered = LowerAdd(n);
  else if (op == "Concat") lowered = LowerConcat(n);
  else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") lowered = LowerPool(n);
  else if (op == "Flatten" || op == "Identity") lowered = LowerReshapeLike(n);
  if (!lowered.ok()) return lowered.status();
  if (!*lowered) QP_RETURN_IF_ERROR(Fallback(n, "no int8 pattern"));
  return Status::Ok();
}

Status Lowering::BindOutputs() {
  for (const ValueInfo& o : g().outputs) {
    auto it = refs_.find(o.name);
    if (it == refs_.end()) {
      QP_ASSIGN_OR_RETURN(int id, FloatOf(o.name));  // an initializer output
      plan_.output_slots.push_back(id);
      continue;
    }
    QP_ASSIGN_OR_RETURN(int id, it->second.real ? FloatOf(o.name) : QuantTensorOf(o.name));
    plan_.output_slots.push_back(id);
  }
  return Status::Ok();
}

}  // namespace

std::vector<Backend> AvailableBackends() {
  std::vector<Backend> out;
  for (Backend b : {Backend::kScalar, Backend::kWasmSimd, Backend::kXnnpack})
    if (kernels::IsaCompiled(b)) out.push_back(b);
  return out;
}

Result<Backend> ParseBackend(const std::string& name) {
  std::string names;
  for (Backend b : AvailableBackends()) {
    if (name == IsaName(b)) return b;
    names += std::string(names.empty() ? "" : ", ") + IsaName(b);
  }
  return InvalidArgument("backend '", name, "' is not available in this build (choices: ", names, ")");
}

// The builder's state: the options and plan live here so the Lowering's references stay valid
// while the builder is moved around.
struct Int8PlanBuilder::State {
  Int8Options options;
  std::shared_ptr<Int8Executor::Plan> plan;
  std::unique_ptr<Lowering> lowering;
  size_t next = 0;  // next unit of the lowering; Units() + 1 once Finish may be called
  bool failed = false;
  std::string context;
};

Int8PlanBuilder::Int8PlanBuilder() = default;
Int8PlanBuilder::~Int8PlanBuilder() = default;
Int8PlanBuilder::Int8PlanBuilder(Int8PlanBuilder&&) noexcept = default;
Int8PlanBuilder& Int8PlanBuilder::operator=(Int8PlanBuilder&&) noexcept = default;

Result<Int8PlanBuilder> Int8PlanBuilder::Start(Graph graph, const Int8Options& options) {
  if (!kernels::IsaCompiled(options.backend)) {
    return InvalidArgument("backend '", IsaName(options.backend), "' is not compiled into this build");
  }
  Int8PlanBuilder b;
  b.state_ = std::make_unique<State>();
  State& st = *b.state_;
  st.options = options;
  st.plan = std::make_shared<Int8Executor::Plan>();
  st.plan->graph = std::move(graph);
  st.plan->backend = options.backend;
  st.context = "int8 prepare of '" + st.plan->graph.name + "'";
  st.lowering = std::make_unique<Lowering>(st.plan.get(), st.options);
  QP_RETURN_IF_ERROR(st.lowering->Prepare().WithContext(st.context));
  return b;
}

Result<double> Int8PlanBuilder::Step() {
  if (!state_) return FailedPrecondition("int8 plan builder: not started (or moved from)");
  State& st = *state_;
  if (st.failed) return FailedPrecondition(st.context, ": a previous step failed");
  if (done()) return FailedPrecondition(st.context, ": the plan is complete; call Finish");
  // Units that do no work (a node already fused into an earlier region, a non-Q node in the
  // folding pass) are skipped here so every Step does one real node's worth.
  for (;;) {
    Result<bool> worked = st.lowering->RunUnit(st.next);
    if (!worked.ok()) {
      st.failed = true;
      return worked.status().WithContext(st.context);
    }
    ++st.next;
    if (*worked || done()) break;
  }
  return progress();
}

bool Int8PlanBuilder::done() const { return state_ && state_->next >= state_->lowering->Units(); }

double Int8PlanBuilder::progress() const {
  if (!state_) return 0;
  return static_cast<double>(state_->next) / static_cast<double>(state_->lowering->Units());
}

Result<Int8Executor> Int8PlanBuilder::Finish() {
  if (!state_) return FailedPrecondition("int8 plan builder: not started (or moved from)");
  while (!done()) QP_RETURN_IF_ERROR(Step().status());
  Int8Executor e;
  e.plan_ = std::move(state_->plan);
  state_.reset();
  return e;
}

Result<Int8Executor> Int8Executor::Create(Graph graph, const Int8Options& options) {
  QP_ASSIGN_OR_RETURN(Int8PlanBuilder builder, Int8PlanBuilder::Start(std::move(graph), options));
  return builder.Finish();
}

Result<std::vector<Tensor>> Int8Executor::Run(const std::vector<Tensor>& inputs) const {
  return RunProfiled(inputs, nullptr, nullptr);
}

Result<std::vector<Tensor>> Int8Executor::RunProfiled(const std::vector<Tensor>& inputs,
                                                      std::vector<double>* step_us,
                                                      std::vector<std::string>* step_names) const {
  const Plan& p = *plan_;
  if (inputs.size() != p.graph.inputs.size()) {
    return InvalidArgument("got ", inputs.size(), " inputs; the model has ", p.graph.inputs.size());
  }
  Ctx ctx;
  ctx.q.resize(p.slots.size());
  ctx.t.resize(p.slots.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueInfo& vi = p.graph.inputs[i];
    const Tensor& t = inputs[i];
    if (t.dtype() != vi.dtype || (vi.has_shape && t.rank() != static_cast<int>(vi.shape.size()))) {
      return InvalidArgument("input '", vi.name, "': ", DTypeName(t.dtype()), " ", ShapeToString(t.shape()),
                             "; the model expects ", DTypeName(vi.dtype), " of rank ", vi.shape.size());
    }
    for (size_t d = 0; vi.has_shape && d < vi.shape.size(); ++d) {
      if (vi.shape[d] >= 0 && vi.shape[d] != t.dim(static_cast<int>(d))) {
        return InvalidArgument("input '", vi.name, "': dim ", d, " is ", t.dim(static_cast<int>(d)),
                               "; the model expects ", vi.shape[d]);
      }
    }
    if (i == 0 && t.rank() > 0) ctx.batch = t.dim(0);
    if (t.rank() > 0 && t.dim(0) != ctx.batch) {
      return InvalidArgument("input '", vi.name, "': batch ", t.dim(0), " differs from ", ctx.batch);
    }
    ctx.t[static_cast<size_t>(p.input_slots[i])] = t;
  }
  if (step_us == nullptr) {
    for (const Step& s : p.steps) QP_RETURN_IF_ERROR(s.fn(ctx).WithContext(s.what));
  } else {
    step_us->clear();
    if (step_names) step_names->clear();
    for (const Step& s : p.steps) {
      const auto t0 = std::chrono::steady_clock::now();
      QP_RETURN_IF_ERROR(s.fn(ctx).WithContext(s.what));
      step_us->push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      if (step_names) step_names->push_back(s.what);
    }
  }
  std::vector<Tensor> out;
  for (int id : p.output_slots) out.push_back(ctx.t[static_cast<size_t>(id)]);
  return out;
}

Backend Int8Executor::backend() const { return plan_->backend; }
int Int8Executor::int8_kernel_steps() const { return plan_->int8_steps; }
int Int8Executor::fallback_nodes() const { return plan_->fallbacks; }
const std::vector<std::string>& Int8Executor::notes() const { return plan_->notes; }

std::string Int8Executor::Summary() const {
  std::ostringstream os;
  os << IsaName(plan_->backend) << ": " << plan_->int8_steps << " int8 kernel steps, " << plan_->fallbacks
     << " fp32 reference nodes, " << plan_->steps.size() << " steps";
  return os.str();
}

}  // namespace qp::int8
