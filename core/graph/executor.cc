// fp32 executor (see executor.h): per-op dispatch from Node to ops.h, shape inference, constant
// folding and the run loop. Opset-dependent semantics (Softmax coerce-to-2D before 13, Squeeze/
// Unsqueeze axes as attribute before 13, Clip/Pad/Dropout inputs) are resolved here.
#include "core/graph/executor.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <unordered_map>

#include "core/graph/attrs.h"
#include "core/graph/ops.h"

namespace qp {

namespace {

Result<std::vector<int64_t>> IntVector(const Tensor& t, const char* what) {
  if (t.rank() > 1) return InvalidArgument(what, " must be 1-D, got shape ", ShapeToString(t.shape()));
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kInt64) {
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DType::kInt32) {
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int32_t>()[i];
  } else {
    return InvalidArgument(what, " must be int64, got ", DTypeName(t.dtype()));
  }
  return v;
}

Result<Tensor> ConstantValue(const Node& n) {
  int set = 0;
  for (const auto& kv : n.attrs) {
    (void)kv;
    ++set;
  }
  if (set != 1)
    return InvalidArgument(n.Describe(), ": Constant needs exactly one value attribute, has ", set);
  const auto& [key, a] = *n.attrs.begin();
  if (key == "value" && a.kind == Attribute::Kind::kTensor) return a.t;
  if (key == "value_float" && a.kind == Attribute::Kind::kFloat) return Tensor::Scalar(a.f);
  if (key == "value_floats" && a.kind == Attribute::Kind::kFloats)
    return Tensor::FromVector<float>({static_cast<int64_t>(a.floats.size())}, a.floats);
  if (key == "value_int" && a.kind == Attribute::Kind::kInt) return Tensor::FromVector<int64_t>({}, {a.i});
  if (key == "value_ints" && a.kind == Attribute::Kind::kInts)
    return Tensor::FromVector<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints);
  return Unimplemented(n.Describe(), ": Constant attribute '", key, "' (", AttributeKindName(a.kind),
                       ") is not supported");
}

// Squeeze/Unsqueeze axes: attribute before opset 13, optional input 1 from 13.
Result<std::vector<int64_t>> SqueezeAxes(const Node& n, int64_t opset, const Tensor* axes_input,
                                         bool* known) {
  *known = true;
  if (opset < 13) return AttrInts(n, "axes");
  if (!n.has_input(1)) return std::vector<int64_t>{};
  if (!axes_input) {
    *known = false;
    return std::vector<int64_t>{};
  }
  return IntVector(*axes_input, "axes");
}

int64_t SoftmaxDefaultAxis(int64_t opset) { return opset < 13 ? 1 : -1; }

Status RunNodeImpl(const Node& n, int64_t opset, const std::vector<const Tensor*>& in,
                   std::vector<Tensor>* out) {
  auto I = [&](size_t i) -> const Tensor* { return i < in.size() ? in[i] : nullptr; };
  const std::string& op = n.op_type;
  out->assign(n.outputs.size(), Tensor());
  auto set = [&](Result<Tensor> r) -> Status {
    if (!r.ok()) return r.status();
    (*out)[0] = std::move(r).value();
    return Status::Ok();
  };
  if (op == "Conv") {
    QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(n));
    return set(ops::Conv(*I(0), *I(1), I(2), a));
  }
  if (op == "Gemm") {
    QP_ASSIGN_OR_RETURN(ops::GemmAttrs a, ParseGemmAttrs(n));
    return set(ops::Gemm(*I(0), *I(1), I(2), a));
  }
  if (op == "MatMul") return set(ops::MatMul(*I(0), *I(1)));
  if (op == "Add") return set(ops::Add(*I(0), *I(1)));
  if (op == "Sub") return set(ops::Sub(*I(0), *I(1)));
  if (op == "Mul") return set(ops::Mul(*I(0), *I(1)));
  if (op == "Div") return set(ops::Div(*I(0), *I(1)));
  if (op == "Relu") return set(ops::Relu(*I(0)));
  if (op == "LeakyRelu") {
    QP_ASSIGN_OR_RETURN(float alpha, AttrFloat(n, "alpha", 0.01f));
    return set(ops::LeakyRelu(*I(0), alpha));
  }
  if (op == "Sigmoid") return set(ops::Sigmoid(*I(0)));
  if (op == "Tanh") return set(ops::Tanh(*I(0)));
  if (op == "HardSigmoid") {
    QP_ASSIGN_OR_RETURN(float alpha, AttrFloat(n, "alpha", 0.2f));
    QP_ASSIGN_OR_RETURN(float beta, AttrFloat(n, "beta", 0.5f));
    return set(ops::HardSigmoid(*I(0), alpha, beta));
  }
  if (op == "HardSwish") return set(ops::HardSwish(*I(0)));
  if (op == "Clip") {
    // Attribute form (opset < 11 files) is honoured if present; the input form wins otherwise.
    const Attribute* amin = n.attr("min");
    const Attribute* amax = n.attr("max");
    if ((amin || amax) && !I(1) && !I(2)) {
      return set(ops::ClipF(*I(0), amin ? amin->f : -std::numeric_limits<float>::infinity(),
                            amax ? amax->f : std::numeric_limits<float>::infinity()));
    }
    return set(ops::Clip(*I(0), I(1), I(2)));
  }
  if (op == "BatchNormalization") {
    QP_ASSIGN_OR_RETURN(float eps, AttrFloat(n, "epsilon", 1e-5f));
    QP_ASSIGN_OR_RETURN(int64_t training, AttrInt(n, "training_mode", 0));
    if (training != 0 || (n.outputs.size() > 1 && !n.outputs[1].empty()))
      return Unimplemented(n.Describe(), ": BatchNormalization training mode (running statistics "
                           "outputs) is not supported by the inference executor");
    return set(ops::BatchNormalization(*I(0), *I(1), *I(2), *I(3), *I(4), eps));
  }
  if (op == "MaxPool" || op == "AveragePool") {
    QP_ASSIGN_OR_RETURN(ops::PoolAttrs a, ParsePoolAttrs(n));
    if (op == "MaxPool") {
      if (n.outputs.size() > 1 && !n.outputs[1].empty())
        return Unimplemented(n.Describe(), ": MaxPool Indices output is not supported");
      return set(ops::MaxPool(*I(0), a));
    }
    return set(ops::AveragePool(*I(0), a));
  }
  if (op == "GlobalAveragePool") return set(ops::GlobalAveragePool(*I(0)));
  if (op == "Flatten") {
    QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", 1));
    return set(ops::Flatten(*I(0), axis));
  }
  if (op == "Reshape") {
    QP_ASSIGN_OR_RETURN(int64_t allowzero, AttrInt(n, "allowzero", 0));
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, IntVector(*I(1), "Reshape shape"));
    return set(ops::Reshape(*I(0), shape, allowzero != 0));
  }
  if (op == "Transpose") {
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> perm, AttrInts(n, "perm"));
    return set(ops::Transpose(*I(0), perm));
  }
  if (op == "Concat") {
    QP_ASSIGN_OR_RETURN(int64_t axis, RequireAttrInt(n, "axis"));
    std::vector<const Tensor*> xs;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i]) return InvalidArgument(n.Describe(), ": Concat input ", i, " is missing");
      xs.push_back(in[i]);
    }
    return set(ops::Concat(xs, axis));
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    bool known;
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> axes, SqueezeAxes(n, opset, I(1), &known));
    if (op == "Squeeze") return set(ops::Squeeze(*I(0), axes));
    if (axes.empty()) return InvalidArgument(n.Describe(), ": Unsqueeze requires axes");
    return set(ops::Unsqueeze(*I(0), axes));
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", SoftmaxDefaultAxis(opset)));
    if (op == "Softmax") return set(ops::Softmax(*I(0), axis, opset < 13));
    return set(ops::LogSoftmax(*I(0), axis, opset < 13));
  }
  if (op == "Identity") {
    (*out)[0] = *I(0);
    return Status::Ok();
  }
  if (op == "Dropout") {
    bool training = false;
    if (I(2)) {
      if (I(2)->dtype() != DType::kBool || I(2)->numel() != 1)
        return InvalidArgument(n.Describe(), ": training_mode must be a bool scalar");
      training = I(2)->data<bool>()[0];
    }
    // A training-mode Dropout with ratio 0 keeps every element (deterministic), as the spec says.
    float ratio = 0.5f;
    if (I(1)) {
      if (I(1)->dtype() != DType::kFloat32 || I(1)->numel() != 1)
        return InvalidArgument(n.Describe(), ": ratio must be a float scalar");
      ratio = I(1)->f32()[0];
    }
    if (training && ratio != 0.f)
      return Unimplemented(n.Describe(), ": Dropout with training_mode = true (random masks) is not "
                           "supported by the inference executor");
    (*out)[0] = *I(0);
    if (out->size() > 1) {
      Tensor mask(DType::kBool, I(0)->shape());
      std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
      (*out)[1] = std::move(mask);
    }
    return Status::Ok();
  }
  if (op == "Constant") return set(ConstantValue(n));
  if (op == "Pad") {
    QP_ASSIGN_OR_RETURN(ops::PadMode mode, ParsePadMode(n));
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, IntVector(*I(1), "Pad pads"));
    double value = 0;
    if (I(2)) {
      if (I(2)->numel() != 1 || I(2)->dtype() != I(0)->dtype())
        return InvalidArgument(n.Describe(), ": constant_value must be a scalar of the input dtype");
      value = I(2)->ToFloatVector()[0];
      if (I(2)->dtype() == DType::kInt64) value = static_cast<double>(I(2)->data<int64_t>()[0]);
      if (I(2)->dtype() == DType::kInt32) value = I(2)->data<int32_t>()[0];
    }
    return set(ops::Pad(*I(0), pads, mode, value));
  }
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", 1));
    if (op == "QuantizeLinear") return set(ops::QuantizeLinear(*I(0), *I(1), I(2), axis));
    return set(ops::DequantizeLinear(*I(0), *I(1), I(2), axis));
  }
  if (op == "DynamicQuantizeLinear") {
    QP_ASSIGN_OR_RETURN(std::vector<Tensor> r, ops::DynamicQuantizeLinear(*I(0)));
    for (size_t i = 0; i < 3; ++i) (*out)[i] = std::move(r[i]);
    return Status::Ok();
  }
  if (op == "ConvInteger") {
    QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(n));
    return set(ops::ConvInteger(*I(0), *I(1), I(2), I(3), a));
  }
  if (op == "MatMulInteger") return set(ops::MatMulInteger(*I(0), *I(1), I(2), I(3)));
  if (op == "QLinearConv") {
    QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(n));
    for (int i = 0; i < 8; ++i)
      if (!I(i)) return InvalidArgument(n.Describe(), ": QLinearConv input ", i, " is missing");
    return set(ops::QLinearConv(*I(0), *I(1), *I(2), *I(3), *I(4), *I(5), *I(6), *I(7), I(8), a));
  }
  if (op == "QLinearMatMul") {
    for (int i = 0; i < 8; ++i)
      if (!I(i)) return InvalidArgument(n.Describe(), ": QLinearMatMul input ", i, " is missing");
    return set(ops::QLinearMatMul(*I(0), *I(1), *I(2), *I(3), *I(4), *I(5), *I(6), *I(7)));
  }
  return Unimplemented("unsupported op ", op, " (domain ", n.domain.empty() ? "ai.onnx" : n.domain,
                       ", opset ", opset, ") at node '", n.name, "'");
}

// ---- Shape inference helpers ---------------------------------------------------------------------

ValueInfo Like(const ValueInfo& v, DType dtype) {
  ValueInfo o = v;
  o.dtype = dtype;
  o.dim_names.clear();
  return o;
}

ValueInfo Known(DType dtype, Shape s) {
  ValueInfo o;
  o.dtype = dtype;
  o.shape = std::move(s);
  return o;
}

ValueInfo UnknownRank(DType dtype) {
  ValueInfo o;
  o.dtype = dtype;
  o.has_shape = false;
  return o;
}

bool FullyKnown(const ValueInfo& v) {
  if (!v.has_shape) return false;
  for (int64_t d : v.shape)
    if (d < 0) return false;
  return true;
}

Result<Shape> BroadcastDynamic(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da < 0) out[i] = db;
    else if (db < 0) out[i] = da;
    else
      return InvalidArgument("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                             " do not broadcast (dim ", i, ": ", da, " vs ", db, ")");
  }
  return out;
}

// Conv/pool output shape: [N, channels, spatial...]; unknown spatial dims stay unknown.
Result<Shape> WindowOutShape(const ValueInfo& x, int64_t channels, const std::vector<int64_t>& kernel,
                             const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                             const std::vector<int64_t>& pads, ops::AutoPad auto_pad, bool ceil_mode) {
  if (x.shape.size() < 3 || x.shape.size() > 5)
    return InvalidArgument("input has shape ", ShapeToString(x.shape), "; expected rank 3 to 5");
  Shape spatial(x.shape.begin() + 2, x.shape.end());
  Shape out = {x.shape[0], channels};
  bool any_unknown = false;
  Shape probe = spatial;
  for (int64_t& d : probe)
    if (d < 0) {
      any_unknown = true;
      d = int64_t{1} << 20;  // stand-in; the output dim is reported as unknown below
    }
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry g,
                      ops::ResolveWindow(probe, kernel, strides, dilations, pads, auto_pad, ceil_mode));
  for (size_t i = 0; i < spatial.size(); ++i)
    out.push_back(spatial[i] < 0 ? kDynamicDim : g.out[3 - spatial.size() + i]);
  (void)any_unknown;
  return out;
}

Status InferNodeImpl(const Node& n, int64_t opset, const std::vector<const ValueInfo*>& in,
                     const std::vector<const Tensor*>& cst, std::vector<ValueInfo>* out) {
  auto I = [&](size_t i) -> const ValueInfo* { return i < in.size() ? in[i] : nullptr; };
  auto C = [&](size_t i) -> const Tensor* { return i < cst.size() ? cst[i] : nullptr; };
  const std::string& op = n.op_type;
  out->assign(n.outputs.size(), ValueInfo());
  for (size_t i = 0; i < in.size(); ++i)
    if (n.has_input(i) && !in[i]) return Internal(n.Describe(), ": input ", i, " has no type");
  auto& y = (*out)[0];
  if (op == "Constant") {
    QP_ASSIGN_OR_RETURN(Tensor t, ConstantValue(n));
    y = Known(t.dtype(), t.shape());
    return Status::Ok();
  }
  const ValueInfo& x = *I(0);  // InferNode checked that input 0 exists
  if (!x.has_shape && op != "Identity" && op != "Dropout") {
    for (auto& o : *out) o = UnknownRank(x.dtype);
    if (op == "DequantizeLinear") y.dtype = DType::kFloat32;
    return Status::Ok();
  }
  static const std::set<std::string> kSameShape = {"Relu", "LeakyRelu", "Sigmoid", "Tanh",
                                                   "HardSigmoid", "HardSwish", "Clip", "Identity",
                                                   "Softmax", "LogSoftmax", "BatchNormalization"};
  if (kSameShape.count(op)) {
    y = Like(x, x.dtype);
    return Status::Ok();
  }
  if (op == "Dropout") {
    y = Like(x, x.dtype);
    if (out->size() > 1) (*out)[1] = Like(x, DType::kBool);
    return Status::Ok();
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    if (!I(1)->has_shape) {
      y = UnknownRank(x.dtype);
      return Status::Ok();
    }
    if (I(1)->dtype != x.dtype)
      return InvalidArgument(op, " inputs have different dtypes ", DTypeName(x.dtype), " and ",
                             DTypeName(I(1)->dtype));
    QP_ASSIGN_OR_RETURN(Shape s, BroadcastDynamic(x.shape, I(1)->shape));
    y = Known(x.dtype, s);
    return Status::Ok();
  }
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    const size_t wi = op == "QLinearConv" ? 3 : 1;
    const ValueInfo& w = *I(wi);
    if (!w.has_shape || w.shape.size() != x.shape.size())
      return InvalidArgument("weight rank differs from the input rank (", ShapeToString(x.shape),
                             " vs ", ShapeToString(w.shape), ")");
    QP_ASSIGN_OR_RETURN(ops::ConvAttrs a, ParseConvAttrs(n));
    std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
    for (int64_t k : kernel)
      if (k < 0) return InvalidArgument("weight spatial dims must be known");
    if (x.shape[1] >= 0 && w.shape[1] >= 0 && x.shape[1] != w.shape[1] * a.group)
      return InvalidArgument("input has ", x.shape[1], " channels; weight expects ", w.shape[1],
                             " x group ", a.group);
    QP_ASSIGN_OR_RETURN(Shape s, WindowOutShape(x, w.shape[0], kernel, a.strides, a.dilations, a.pads,
                                                a.auto_pad, false));
    DType dt = op == "Conv" ? DType::kFloat32 : op == "ConvInteger" ? DType::kInt32 : I(7)->dtype;
    y = Known(dt, s);
    return Status::Ok();
  }
  if (op == "MaxPool" || op == "AveragePool") {
    QP_ASSIGN_OR_RETURN(ops::PoolAttrs a, ParsePoolAttrs(n));
    QP_ASSIGN_OR_RETURN(Shape s, WindowOutShape(x, x.shape.size() > 1 ? x.shape[1] : 0, a.kernel_shape,
                                                a.strides, op == "MaxPool" ? a.dilations : std::vector<int64_t>{},
                                                a.pads, a.auto_pad, a.ceil_mode));
    y = Known(x.dtype, s);
    if (out->size() > 1) (*out)[1] = Known(DType::kInt64, s);
    return Status::Ok();
  }
  if (op == "GlobalAveragePool") {
    if (x.shape.size() < 3) return InvalidArgument("input rank must be >= 3");
    Shape s = {x.shape[0], x.shape[1]};
    s.resize(x.shape.size(), 1);
    y = Known(x.dtype, s);
    return Status::Ok();
  }
  if (op == "Gemm") {
    QP_ASSIGN_OR_RETURN(ops::GemmAttrs a, ParseGemmAttrs(n));
    const ValueInfo& b = *I(1);
    if (x.shape.size() != 2 || !b.has_shape || b.shape.size() != 2)
      return InvalidArgument("Gemm expects rank-2 A and B, got ", ShapeToString(x.shape), " and ",
                             ShapeToString(b.shape));
    const int64_t m = a.trans_a ? x.shape[1] : x.shape[0], k = a.trans_a ? x.shape[0] : x.shape[1];
    const int64_t kb = a.trans_b ? b.shape[1] : b.shape[0], nn = a.trans_b ? b.shape[0] : b.shape[1];
    if (k >= 0 && kb >= 0 && k != kb)
      return InvalidArgument("Gemm inner dims differ: ", k, " vs ", kb);
    y = Known(DType::kFloat32, {m, nn});
    return Status::Ok();
  }
  if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul") {
    const ValueInfo& b = *I(op == "QLinearMatMul" ? 3 : 1);
    if (!b.has_shape) {
      y = UnknownRank(DType::kFloat32);
      return Status::Ok();
    }
    Shape as = x.shape, bs = b.shape;
    if (as.empty() || bs.empty()) return InvalidArgument("MatMul operands must have rank >= 1");
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t k = as.back(), kb = bs[bs.size() - 2];
    if (k >= 0 && kb >= 0 && k != kb)
      return InvalidArgument("MatMul inner dims differ: ", ShapeToString(x.shape), " x ",
                             ShapeToString(b.shape));
    QP_ASSIGN_OR_RETURN(Shape s, BroadcastDynamic(Shape(as.begin(), as.end() - 2),
                                                  Shape(bs.begin(), bs.end() - 2)));
    if (x.shape.size() > 1) s.push_back(as[as.size() - 2]);
    if (b.shape.size() > 1) s.push_back(bs.back());
    DType dt = op == "MatMul" ? DType::kFloat32 : op == "MatMulInteger" ? DType::kInt32 : I(7)->dtype;
    y = Known(dt, s);
    return Status::Ok();
  }
  if (op == "Flatten") {
    QP_ASSIGN_OR_RETURN(int64_t axis, AttrInt(n, "axis", 1));
    const int64_t r = static_cast<int64_t>(x.shape.size());
    if (axis < -r || axis > r) return OutOfRange("Flatten axis ", axis, " outside [", -r, ", ", r, "]");
    if (axis < 0) axis += r;
    int64_t a = 1, b = 1;
    for (int64_t i = 0; i < r; ++i) {
      int64_t& t = i < axis ? a : b;
      t = (t < 0 || x.shape[i] < 0) ? kDynamicDim : t * x.shape[i];
    }
    y = Known(x.dtype, {a, b});
    return Status::Ok();
  }
  if (op == "Reshape") {
    if (!C(1)) {
      y = UnknownRank(x.dtype);
      return Status::Ok();
    }
    QP_ASSIGN_OR_RETURN(int64_t allowzero, AttrInt(n, "allowzero", 0));
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> shape, IntVector(*C(1), "Reshape shape"));
    if (FullyKnown(x)) {
      QP_ASSIGN_OR_RETURN(Shape s, ops::ReshapeOutputShape(x.shape, shape, allowzero != 0));
      y = Known(x.dtype, s);
    } else {
      Shape s(shape.size());
      for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allowzero) s[i] = i < x.shape.size() ? x.shape[i] : kDynamicDim;
        else if (shape[i] < -1) return InvalidArgument("Reshape: shape[", i, "] = ", shape[i]);
        else s[i] = shape[i] < 0 ? kDynamicDim : shape[i];
      }
      y = Known(x.dtype, s);
    }
    return Status::Ok();
  }
  if (op == "Transpose") {
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> perm, AttrInts(n, "perm"));
    const int64_t r = static_cast<int64_t>(x.shape.size());
    if (perm.empty())
      for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    if (static_cast<int64_t>(perm.size()) != r)
      return InvalidArgument("Transpose perm has ", perm.size(), " entries for rank ", r);
    std::vector<bool> seen(r, false);
    Shape s;
    for (int64_t p : perm) {
      if (p < 0 || p >= r || seen[p]) return InvalidArgument("Transpose perm is not a permutation");
      seen[p] = true;
      s.push_back(x.shape[p]);
    }
    y = Known(x.dtype, s);
    return Status::Ok();
  }
  if (op == "Concat") {
    QP_ASSIGN_OR_RETURN(int64_t axis, RequireAttrInt(n, "axis"));
    const int64_t r = static_cast<int64_t>(x.shape.size());
    if (axis < -r || axis >= r) return OutOfRange("Concat axis ", axis, " outside [", -r, ", ", r - 1, "]");
    if (axis < 0) axis += r;
    Shape s = x.shape;
    for (size_t i = 1; i < in.size(); ++i) {
      if (!I(i) || !I(i)->has_shape) {
        y = UnknownRank(x.dtype);
        return Status::Ok();
      }
      const Shape& t = I(i)->shape;
      if (static_cast<int64_t>(t.size()) != r || I(i)->dtype != x.dtype)
        return InvalidArgument("Concat inputs differ in rank or dtype");
      for (int64_t d = 0; d < r; ++d) {
        if (d == axis) s[d] = (s[d] < 0 || t[d] < 0) ? kDynamicDim : s[d] + t[d];
        else if (s[d] >= 0 && t[d] >= 0 && s[d] != t[d])
          return InvalidArgument("Concat inputs differ off the axis: ", ShapeToString(x.shape), " vs ",
                                 ShapeToString(t));
        else if (s[d] < 0) s[d] = t[d];
      }
    }
    y = Known(x.dtype, s);
    return Status::Ok();
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    bool known;
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> axes, SqueezeAxes(n, opset, C(1), &known));
    if (!known) {
      y = UnknownRank(x.dtype);
      return Status::Ok();
    }
    if (op == "Squeeze") {
      if (axes.empty() && !FullyKnown(x)) {
        y = UnknownRank(x.dtype);
        return Status::Ok();
      }
      Shape probe = x.shape;
      const int64_t r = static_cast<int64_t>(probe.size());
      for (int64_t a : axes)
        if (a >= -r && a < r) {
          int64_t& d = probe[a < 0 ? a + r : a];
          if (d < 0) d = 1;  // an unknown dim named by axes must be 1 at run time
        }
      QP_ASSIGN_OR_RETURN(Shape s, ops::SqueezeOutputShape(probe, axes));
      y = Known(x.dtype, s);
    } else {
      if (axes.empty()) return InvalidArgument("Unsqueeze requires axes");
      QP_ASSIGN_OR_RETURN(Shape s, ops::UnsqueezeOutputShape(x.shape, axes));
      y = Known(x.dtype, s);
    }
    return Status::Ok();
  }
  if (op == "Pad") {
    QP_RETURN_IF_ERROR(ParsePadMode(n).status());
    if (!C(1)) {
      y = Like(x, x.dtype);
      for (int64_t& d : y.shape) d = kDynamicDim;
      return Status::Ok();
    }
    QP_ASSIGN_OR_RETURN(std::vector<int64_t> pads, IntVector(*C(1), "Pad pads"));
    const size_t r = x.shape.size();
    if (pads.size() != 2 * r)
      return InvalidArgument("Pad: pads has ", pads.size(), " values; expected ", 2 * r);
    Shape s = x.shape;
    for (size_t i = 0; i < r; ++i) {
      if (s[i] < 0) continue;
      s[i] += pads[i] + pads[i + r];
      if (s[i] < 0) return InvalidArgument("Pad: dim ", i, " would become ", s[i]);
    }
    y = Known(x.dtype, s);
    return Status::Ok();
  }
  if (op == "QuantizeLinear") {
    y = Like(x, I(2) ? I(2)->dtype : DType::kUInt8);
    return Status::Ok();
  }
  if (op == "DequantizeLinear") {
    y = Like(x, DType::kFloat32);
    return Status::Ok();
  }
  if (op == "DynamicQuantizeLinear") {
    y = Like(x, DType::kUInt8);
    (*out)[1] = Known(DType::kFloat32, {});
    (*out)[2] = Known(DType::kUInt8, {});
    return Status::Ok();
  }
  return Unimplemented("unsupported op ", op, " (domain ", n.domain.empty() ? "ai.onnx" : n.domain,
                       ", opset ", opset, ") at node '", n.name, "'");
}

}  // namespace

Status RunNode(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor>* outputs) {
  QP_RETURN_IF_ERROR(CheckNodeSupported(node, opset));
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (!node.inputs[i].empty() && (i >= inputs.size() || !inputs[i]))
      return Internal(node.Describe(), ": input ", i, " ('", node.inputs[i], "') has no value");
  Status s = RunNodeImpl(node, opset, inputs, outputs);
  if (!s.ok() && s.message().rfind("node '", 0) != 0 && s.message().rfind("unsupported op", 0) != 0)
    return s.WithContext(node.Describe());
  return s;
}

Status InferNode(const Node& node, int64_t opset, const std::vector<const ValueInfo*>& inputs,
                 const std::vector<const Tensor*>& constants, std::vector<ValueInfo>* outputs) {
  QP_RETURN_IF_ERROR(CheckNodeSupported(node, opset));
  if (node.op_type != "Constant" && (inputs.empty() || !inputs[0]))
    return InvalidArgument(node.Describe(), ": input 0 is missing");
  Status s = InferNodeImpl(node, opset, inputs, constants, outputs);
  if (!s.ok() && s.message().rfind("node '", 0) != 0 && s.message().rfind("unsupported op", 0) != 0)
    return s.WithContext(node.Describe());
  for (size_t i = 0; i < outputs->size() && i < node.outputs.size(); ++i)
    (*outputs)[i].name = node.outputs[i];
  return s;
}

Result<int> FoldConstants(Graph* g, int64_t max_elements) {
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(*g));
  std::set<std::string> graph_inputs;
  for (const ValueInfo& v : g->inputs) graph_inputs.insert(v.name);
  std::vector<bool> folded(g->nodes.size(), false);
  int count = 0;
  for (size_t idx : order) {
    const Node& n = g->nodes[idx];
    bool all_const = true;
    std::vector<const Tensor*> in;
    for (const std::string& name : n.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      auto it = g->initializers.find(name);
      if (it == g->initializers.end()) {
        all_const = false;
        break;
      }
      in.push_back(&it->second);
    }
    if (!all_const) continue;
    std::vector<Tensor> outs;
    Status s = RunNode(n, g->opset, in, &outs);
    if (!s.ok()) return s;
    bool small = true;
    for (const Tensor& t : outs) small = small && t.numel() <= max_elements;
    if (!small) continue;
    for (size_t i = 0; i < outs.size(); ++i)
      if (!n.outputs[i].empty()) g->initializers[n.outputs[i]] = std::move(outs[i]);
    folded[idx] = true;
    ++count;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g->nodes.size(); ++i)
    if (!folded[i]) kept.push_back(std::move(g->nodes[i]));
  g->nodes = std::move(kept);
  // Drop initializers nothing reads any more (inputs of folded subgraphs).
  std::set<std::string> used;
  for (const Node& n : g->nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (const ValueInfo& v : g->outputs) used.insert(v.name);
  for (auto it = g->initializers.begin(); it != g->initializers.end();)
    it = used.count(it->first) ? std::next(it) : g->initializers.erase(it);
  return count;
}

Status InferShapes(Graph* g, int64_t max_elements) {
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(*g));
  std::unordered_map<std::string, ValueInfo> known;
  for (const ValueInfo& v : g->inputs) known[v.name] = v;
  for (const auto& [name, t] : g->initializers) known[name] = Known(t.dtype(), t.shape());
  for (size_t idx : order) {
    const Node& n = g->nodes[idx];
    std::vector<const ValueInfo*> in;
    std::vector<const Tensor*> cst;
    for (const std::string& name : n.inputs) {
      auto it = name.empty() ? known.end() : known.find(name);
      in.push_back(it == known.end() ? nullptr : &it->second);
      auto ct = name.empty() ? g->initializers.end() : g->initializers.find(name);
      cst.push_back(ct == g->initializers.end() ? nullptr : &ct->second);
    }
    std::vector<ValueInfo> outs;
    QP_RETURN_IF_ERROR(InferNode(n, g->opset, in, cst, &outs));
    for (size_t i = 0; i < outs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      // Statically known sizes are checked against the cap here, before anything runs.
      if (outs[i].has_shape) {
        Shape known;
        for (int64_t d : outs[i].shape) known.push_back(d < 0 ? 1 : d);
        Status s = CheckedNumElements(known, max_elements).status();
        if (!s.ok()) return s.WithContext(n.Describe() + ": output '" + n.outputs[i] + "'");
      }
      known[n.outputs[i]] = outs[i];
      g->value_info[n.outputs[i]] = outs[i];
    }
  }
  for (ValueInfo& v : g->outputs) {
    auto it = known.find(v.name);
    if (it == known.end()) return Internal("graph output '", v.name, "' has no inferred type");
    const ValueInfo& inf = it->second;
    if (inf.dtype != v.dtype)
      return InvalidArgument("graph output '", v.name, "' is declared ", DTypeName(v.dtype),
                             " but computes ", DTypeName(inf.dtype));
    if (v.has_shape && inf.has_shape) {
      if (v.shape.size() != inf.shape.size())
        return InvalidArgument("graph output '", v.name, "' is declared ", ShapeToString(v.shape),
                               " but computes ", ShapeToString(inf.shape));
      for (size_t d = 0; d < v.shape.size(); ++d)
        if (v.shape[d] >= 0 && inf.shape[d] >= 0 && v.shape[d] != inf.shape[d])
          return InvalidArgument("graph output '", v.name, "' is declared ", ShapeToString(v.shape),
                                 " but computes ", ShapeToString(inf.shape));
    }
    if (!v.has_shape && inf.has_shape) {
      v.shape = inf.shape;
      v.has_shape = true;
    }
  }
  return Status::Ok();
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  constexpr int64_t kCap = int64_t{1} << 62;
  return a > kCap - b ? kCap : a + b;
}

int64_t ValueBytesPerSample(const ValueInfo& v) {
  constexpr int64_t kCap = int64_t{1} << 62;
  if (!v.has_shape) return 0;
  int64_t n = static_cast<int64_t>(DTypeSize(v.dtype));
  for (int64_t d : v.shape) {
    const int64_t k = d > 0 ? d : 1;
    n = n > kCap / k ? kCap : n * k;
  }
  return n;
}

Result<Executor> Executor::Create(Graph g, const ExecutorOptions& options) {
  QP_RETURN_IF_ERROR(ValidateGraph(g, options.limits));
  if (g.opset < kMinOpset || g.opset > kMaxOpset)
    return Unimplemented("opset ", g.opset, " of the default domain is not supported (supported: ",
                         kMinOpset, " to ", kMaxOpset, ")");
  for (const Node& n : g.nodes) QP_RETURN_IF_ERROR(CheckNodeSupported(n, g.opset));
  Executor e;
  if (options.fold_constants) {
    QP_ASSIGN_OR_RETURN(e.folded_, FoldConstants(&g, options.limits.max_tensor_elements));
  }
  QP_RETURN_IF_ERROR(InferShapes(&g, options.limits.max_tensor_elements));
  QP_ASSIGN_OR_RETURN(e.order_, TopologicalOrder(g));
  // Liveness: a value is released after the last step that reads it, unless it is a graph output.
  std::set<std::string> keep;
  for (const ValueInfo& v : g.outputs) keep.insert(v.name);
  std::unordered_map<std::string, size_t> last_use;
  for (size_t step = 0; step < e.order_.size(); ++step)
    for (const std::string& in : g.nodes[e.order_[step]].inputs)
      if (!in.empty() && !g.initializers.count(in)) last_use[in] = step;
  e.release_.assign(e.order_.size(), {});
  for (const auto& [name, step] : last_use)
    if (!keep.count(name)) e.release_[step].push_back(name);
  // Peak of the values a run holds at once, for one sample (unknown dims as 1): the inputs (the
  // caller keeps them) plus each step's outputs, less what the liveness above releases.
  {
    int64_t live = 0, peak = 0;
    for (const ValueInfo& v : g.inputs) live = SaturatingAdd(live, ValueBytesPerSample(v));
    peak = live;
    std::set<std::string> inputs;
    for (const ValueInfo& v : g.inputs) inputs.insert(v.name);
    for (size_t step = 0; step < e.order_.size(); ++step) {
      for (const std::string& out : g.nodes[e.order_[step]].outputs)
        if (const ValueInfo* v = out.empty() ? nullptr : g.FindValueInfo(out)) live = SaturatingAdd(live, ValueBytesPerSample(*v));
      peak = std::max(peak, live);
      for (const std::string& name : e.release_[step]) {
        if (inputs.count(name)) continue;
        if (const ValueInfo* v = g.FindValueInfo(name)) live -= ValueBytesPerSample(*v);
      }
    }
    e.peak_bytes_per_sample_ = peak;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Gemm" || !n.has_input(1)) continue;
    auto b = g.initializers.find(n.inputs[1]);
    QP_ASSIGN_OR_RETURN(ops::GemmAttrs ga, ParseGemmAttrs(n));
    if (!ga.trans_b || b == g.initializers.end() || b->second.rank() != 2 ||
        b->second.dtype() != DType::kFloat32)
      continue;
    QP_ASSIGN_OR_RETURN(e.gemm_bt_[i], ops::Transpose(b->second, {1, 0}));
  }
  e.graph_ = std::move(g);
  return e;
}

Result<std::vector<Tensor>> Executor::Run(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != graph_.inputs.size())
    return InvalidArgument("the model takes ", graph_.inputs.size(), " inputs; got ", inputs.size());
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < inputs.size(); ++i) named[graph_.inputs[i].name] = inputs[i];
  return RunImpl(named, nullptr);
}

Result<std::vector<Tensor>> Executor::Run(const std::map<std::string, Tensor>& inputs) const {
  return RunImpl(inputs, nullptr);
}

Result<std::vector<Tensor>> Executor::RunProfiled(const std::vector<Tensor>& inputs,
                                                  std::vector<NodeTime>* times) const {
  if (inputs.size() != graph_.inputs.size())
    return InvalidArgument("the model takes ", graph_.inputs.size(), " inputs; got ", inputs.size());
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < inputs.size(); ++i) named[graph_.inputs[i].name] = inputs[i];
  if (times) times->clear();
  return RunImpl(named, times);
}

Result<std::vector<Tensor>> Executor::RunImpl(const std::map<std::string, Tensor>& inputs,
                                              std::vector<NodeTime>* times) const {
  using Clock = std::chrono::steady_clock;
  std::unordered_map<std::string, Tensor> values;
  for (const ValueInfo& v : graph_.inputs) {
    auto it = inputs.find(v.name);
    if (it == inputs.end()) return InvalidArgument("input '", v.name, "' is missing");
    const Tensor& t = it->second;
    if (t.dtype() != v.dtype)
      return InvalidArgument("input '", v.name, "' is ", DTypeName(t.dtype()), "; the model expects ",
                             DTypeName(v.dtype));
    if (v.has_shape) {
      if (t.rank() != static_cast<int>(v.shape.size()))
        return InvalidArgument("input '", v.name, "' has shape ", ShapeToString(t.shape()),
                               "; the model expects rank ", v.shape.size(), " ", ShapeToString(v.shape));
      for (int d = 0; d < t.rank(); ++d)
        if (v.shape[d] >= 0 && t.dim(d) != v.shape[d])
          return InvalidArgument("input '", v.name, "': dim ", d, " is ", t.dim(d),
                                 "; the model expects ", v.shape[d], " (shape ", ShapeToString(v.shape), ")");
    }
    values[v.name] = t;
  }
  for (const auto& [name, t] : inputs)
    if (!values.count(name)) return InvalidArgument("'", name, "' is not an input of the model");
  std::vector<const Tensor*> in;
  std::vector<Tensor> outs;
  for (size_t step = 0; step < order_.size(); ++step) {
    const Node& n = graph_.nodes[order_[step]];
    Clock::time_point t0;
    if (times) t0 = Clock::now();
    in.clear();
    for (const std::string& name : n.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      auto it = values.find(name);
      if (it != values.end()) {
        in.push_back(&it->second);
        continue;
      }
      auto ct = graph_.initializers.find(name);
      if (ct == graph_.initializers.end())
        return Internal(n.Describe(), ": value '", name, "' is not available");
      in.push_back(&ct->second);
    }
    auto bt = gemm_bt_.find(order_[step]);
    if (bt != gemm_bt_.end()) {
      QP_ASSIGN_OR_RETURN(ops::GemmAttrs ga, ParseGemmAttrs(n));
      ga.trans_b = false;
      Result<Tensor> y = ops::Gemm(*in[0], bt->second, in.size() > 2 ? in[2] : nullptr, ga);
      if (!y.ok()) return y.status().WithContext(n.Describe());
      outs.assign(1, std::move(y).value());
    } else {
      QP_RETURN_IF_ERROR(RunNode(n, graph_.opset, in, &outs));
    }
    for (size_t i = 0; i < outs.size(); ++i)
      if (!n.outputs[i].empty()) values[n.outputs[i]] = std::move(outs[i]);
    for (const std::string& name : release_[step]) values.erase(name);
    if (times)
      times->push_back({n.name, n.op_type,
                        std::chrono::duration<double, std::micro>(Clock::now() - t0).count()});
  }
  std::vector<Tensor> result;
  for (const ValueInfo& v : graph_.outputs) {
    auto it = values.find(v.name);
    if (it != values.end()) {
      result.push_back(it->second);
      continue;
    }
    auto ct = graph_.initializers.find(v.name);
    if (ct == graph_.initializers.end()) return Internal("output '", v.name, "' was not computed");
    result.push_back(ct->second);
  }
  return result;
}

}  // namespace qp
