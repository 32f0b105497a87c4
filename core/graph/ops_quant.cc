// Plain references of the ONNX quantization ops (see ops.h): QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul. Rounding and
// saturation come from core/quant (round half to even, as ONNX); integer accumulation is exact in
// int64 and stored as int32 (ONNX's accumulator type). The int8 kernels issue makes these fast.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/graph/ops.h"
#include "core/graph/ops_internal.h"
#include "core/quant/quantize.h"

namespace qp::ops {

namespace {

bool IsQuantType(DType t) { return t == DType::kInt8 || t == DType::kUInt8; }

quant::QParams MakeParams(float scale, int32_t zp, DType t) {
  quant::QParams p;
  p.scale = scale;
  p.zero_point = zp;
  p.qmin = t == DType::kInt8 ? -128 : 0;
  p.qmax = t == DType::kInt8 ? 127 : 255;
  return p;
}

// Integer value i of an int8/uint8/int32 tensor.
int32_t IntAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    default: return 0;
  }
}

void StoreQ(Tensor* t, int64_t i, int32_t v) {
  if (t->dtype() == DType::kInt8) t->data<int8_t>()[i] = static_cast<int8_t>(v);
  else t->data<uint8_t>()[i] = static_cast<uint8_t>(v);
}

Status CheckScales(const Tensor& s, const char* what) {
  if (s.dtype() != DType::kFloat32) return InvalidArgument(what, " must be float32, got ", DTypeName(s.dtype()));
  for (int64_t i = 0; i < s.numel(); ++i) {
    const float v = s.f32()[i];
    if (!(v > 0.f) || !std::isfinite(v))
      return InvalidArgument(what, "[", i, "] is ", v, "; scales must be finite and > 0");
  }
  return Status::Ok();
}

// Per-tensor (1 element) or per-axis (1-D with x.dim(axis) elements) layout of scale/zero point.
struct AxisParams {
  int64_t channels = 1, inner = 1;  // channel of element i: (i / inner) % channels
  int64_t Channel(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

Result<AxisParams> ResolveAxis(const Tensor& x, const Tensor& scale, const Tensor* zp, int64_t axis,
                               const char* op) {
  AxisParams a;
  if (zp && zp->shape() != scale.shape())
    return InvalidArgument(op, ": zero point shape ", ShapeToString(zp->shape()), " differs from scale shape ",
                           ShapeToString(scale.shape()));
  if (scale.numel() == 1 && scale.rank() <= 1) return a;
  if (scale.rank() != 1)
    return InvalidArgument(op, ": scale has shape ", ShapeToString(scale.shape()), "; expected a scalar or 1-D");
  QP_ASSIGN_OR_RETURN(int64_t ax, internal::NormalizeAxis(axis, x.rank(), op));
  if (x.rank() == 0 || x.dim(static_cast<int>(ax)) != scale.numel())
    return InvalidArgument(op, ": scale has ", scale.numel(), " values but input dim ", ax, " of ",
                           ShapeToString(x.shape()), " is ", x.rank() ? x.dim(static_cast<int>(ax)) : 0);
  a.channels = scale.numel();
  for (int64_t i = ax + 1; i < x.rank(); ++i) a.inner *= x.dim(static_cast<int>(i));
  return a;
}

}  // namespace

Result<Tensor> QuantizeLinear(const Tensor& x, const Tensor& scale, const Tensor* zp, int64_t axis) {
  if (x.dtype() != DType::kFloat32 && x.dtype() != DType::kInt32)
    return InvalidArgument("QuantizeLinear input must be float32 or int32, got ", DTypeName(x.dtype()));
  QP_RETURN_IF_ERROR(CheckScales(scale, "QuantizeLinear y_scale"));
  const DType out = zp ? zp->dtype() : DType::kUInt8;
  if (!IsQuantType(out))
    return InvalidArgument("QuantizeLinear zero point must be int8 or uint8, got ", DTypeName(out));
  QP_ASSIGN_OR_RETURN(AxisParams a, ResolveAxis(x, scale, zp, axis, "QuantizeLinear"));
  Tensor y(out, x.shape());
  const std::vector<float> xs = x.ToFloatVector();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = a.Channel(i);
    const quant::QParams p = MakeParams(scale.f32()[c], zp ? IntAt(*zp, c) : 0, out);
    StoreQ(&y, i, quant::QuantizeValue(xs[i], p, quant::RoundingMode::kHalfToEven));
  }
  return y;
}

Result<Tensor> DequantizeLinear(const Tensor& x, const Tensor& scale, const Tensor* zp, int64_t axis) {
  if (!IsQuantType(x.dtype()) && x.dtype() != DType::kInt32)
    return InvalidArgument("DequantizeLinear input must be int8, uint8 or int32, got ", DTypeName(x.dtype()));
  QP_RETURN_IF_ERROR(CheckScales(scale, "DequantizeLinear x_scale"));
  if (zp && zp->dtype() != x.dtype())
    return InvalidArgument("DequantizeLinear zero point is ", DTypeName(zp->dtype()), " but x is ",
                           DTypeName(x.dtype()));
  QP_ASSIGN_OR_RETURN(AxisParams a, ResolveAxis(x, scale, zp, axis, "DequantizeLinear"));
  if (x.dtype() == DType::kInt32 && zp)
    for (int64_t i = 0; i < zp->numel(); ++i)
      if (zp->data<int32_t>()[i] != 0)
        return InvalidArgument("DequantizeLinear of int32 requires zero point 0, got ", zp->data<int32_t>()[i]);
  Tensor y(DType::kFloat32, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = a.Channel(i);
    quant::QParams p;
    p.scale = scale.f32()[c];
    p.zero_point = zp ? IntAt(*zp, c) : 0;
    y.f32()[i] = quant::DequantizeValue(IntAt(x, i), p);
  }
  return y;
}

Result<std::vector<Tensor>> DynamicQuantizeLinear(const Tensor& x) {
  if (x.dtype() != DType::kFloat32)
    return InvalidArgument("DynamicQuantizeLinear input must be float32, got ", DTypeName(x.dtype()));
  // ONNX: range [min(0, min x), max(0, max x)] so 0 is exact; scale = range / 255 (float32),
  // zero point = saturate(round_half_even((0 - min) / scale)).
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x.f32()[i];
    if (std::isnan(v)) return InvalidArgument("DynamicQuantizeLinear input has NaN at index ", i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi))
    return InvalidArgument("DynamicQuantizeLinear input range [", lo, ", ", hi, "] is not finite");
  const float scale = (hi - lo) / 255.f;
  Tensor y(DType::kUInt8, x.shape());
  Tensor ys = Tensor::Scalar(scale);
  Tensor yz(DType::kUInt8, {});
  if (scale == 0.f) return std::vector<Tensor>{y, ys, yz};  // all zeros: every code is 0
  const float zpf = std::nearbyint((0.f - lo) / scale);
  const int32_t zp = static_cast<int32_t>(std::min(255.f, std::max(0.f, zpf)));
  yz.data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  const quant::QParams p = MakeParams(scale, zp, DType::kUInt8);
  for (int64_t i = 0; i < x.numel(); ++i)
    y.data<uint8_t>()[i] = static_cast<uint8_t>(quant::QuantizeValue(x.f32()[i], p));
  return std::vector<Tensor>{y, ys, yz};
}

namespace {

// int32 GEMM over already zero-point-shifted operands: c[i*n+j] = sum_p a[i*k+p] * b[p*n+j].
void GemmI32(int64_t m, int64_t n, int64_t k, const int32_t* a, const int32_t* b, int64_t* c) {
  std::fill(c, c + m * n, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      const int64_t av = a[i * k + p];
      if (av == 0) continue;
      const int32_t* bp = b + p * n;
      int64_t* cp = c + i * n;
      for (int64_t j = 0; j < n; ++j) cp[j] += av * bp[j];
    }
}

Status CheckZeroPoint(const Tensor* zp, DType want, int64_t per_count, const char* what) {
  if (!zp) return Status::Ok();
  if (zp->dtype() != want)
    return InvalidArgument(what, " is ", DTypeName(zp->dtype()), "; expected ", DTypeName(want));
  if (zp->numel() != 1 && zp->numel() != per_count)
    return InvalidArgument(what, " has ", zp->numel(), " values; expected 1 or ", per_count);
  return Status::Ok();
}

// Integer conv: int64 accumulators [N, M, out spatial] of (x - x_zp) * (w - w_zp[m]).
Result<std::vector<int64_t>> ConvAccumulate(const Tensor& x, const Tensor& w, const Tensor* x_zp,
                                            const Tensor* w_zp, const ConvAttrs& attrs,
                                            internal::ConvPlan* plan) {
  if (!IsQuantType(x.dtype()) || !IsQuantType(w.dtype()))
    return InvalidArgument("integer conv expects int8/uint8 x and w, got ", DTypeName(x.dtype()), " and ",
                           DTypeName(w.dtype()));
  QP_ASSIGN_OR_RETURN(*plan, internal::PlanConv(x, w, attrs));
  const internal::ConvPlan& p = *plan;
  QP_RETURN_IF_ERROR(CheckZeroPoint(x_zp, x.dtype(), 1, "x_zero_point"));
  QP_RETURN_IF_ERROR(CheckZeroPoint(w_zp, w.dtype(), p.m, "w_zero_point"));
  const int32_t xz = x_zp ? IntAt(*x_zp, 0) : 0;
  const int64_t in_size = p.geo.in_size(), out_size = p.geo.out_size();
  std::vector<int32_t> xs(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) xs[i] = IntAt(x, i) - xz;
  std::vector<int32_t> ws(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t m = i / p.kdim;
    ws[i] = IntAt(w, i) - (w_zp ? IntAt(*w_zp, w_zp->numel() == 1 ? 0 : m) : 0);
  }
  std::vector<int64_t> acc(static_cast<size_t>(p.n * p.m * out_size));
  std::vector<int32_t> col(static_cast<size_t>(p.kdim * out_size));
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t g = 0; g < p.group; ++g) {
      // Padding holds x_zero_point in ONNX, i.e. 0 after the shift.
      internal::Im2Col<int32_t>(xs.data() + (b * p.c + g * p.cg) * in_size, p.cg, p.geo, 0, col.data());
      GemmI32(p.mg, out_size, p.kdim, ws.data() + g * p.mg * p.kdim, col.data(),
              acc.data() + (b * p.m + g * p.mg) * out_size);
    }
  return acc;
}

}  // namespace

Result<Tensor> ConvInteger(const Tensor& x, const Tensor& w, const Tensor* x_zp, const Tensor* w_zp,
                           const ConvAttrs& attrs) {
  internal::ConvPlan p;
  QP_ASSIGN_OR_RETURN(std::vector<int64_t> acc, ConvAccumulate(x, w, x_zp, w_zp, attrs, &p));
  Tensor y(DType::kInt32, p.out_shape);
  for (size_t i = 0; i < acc.size(); ++i) y.data<int32_t>()[i] = static_cast<int32_t>(acc[i]);
  return y;
}

Result<Tensor> QLinearConv(const Tensor& x, const Tensor& x_scale, const Tensor& x_zp, const Tensor& w,
                           const Tensor& w_scale, const Tensor& w_zp, const Tensor& y_scale,
                           const Tensor& y_zp, const Tensor* bias, const ConvAttrs& attrs) {
  QP_RETURN_IF_ERROR(CheckScales(x_scale, "x_scale"));
  QP_RETURN_IF_ERROR(CheckScales(w_scale, "w_scale"));
  QP_RETURN_IF_ERROR(CheckScales(y_scale, "y_scale"));
  if (x_scale.numel() != 1 || y_scale.numel() != 1 || y_zp.numel() != 1)
    return InvalidArgument("QLinearConv x_scale, y_scale and y_zero_point must be scalars");
  if (!IsQuantType(y_zp.dtype())) return InvalidArgument("QLinearConv y_zero_point must be int8 or uint8");
  internal::ConvPlan p;
  QP_ASSIGN_OR_RETURN(std::vector<int64_t> acc, ConvAccumulate(x, w, &x_zp, &w_zp, attrs, &p));
  if (w_scale.numel() != 1 && w_scale.numel() != p.m)
    return InvalidArgument("QLinearConv w_scale has ", w_scale.numel(), " values; expected 1 or ", p.m);
  if (bias && (bias->dtype() != DType::kInt32 || bias->numel() != p.m))
    return InvalidArgument("QLinearConv bias must be int32 [", p.m, "], got ", DTypeName(bias->dtype()), " ",
                           ShapeToString(bias->shape()));
  Tensor y(y_zp.dtype(), p.out_shape);
  const quant::QParams yp = MakeParams(y_scale.f32()[0], IntAt(y_zp, 0), y_zp.dtype());
  const int64_t out_size = p.geo.out_size();
  for (int64_t b = 0; b < p.n; ++b)
    for (int64_t m = 0; m < p.m; ++m) {
      const float real_scale = x_scale.f32()[0] * w_scale.f32()[w_scale.numel() == 1 ? 0 : m];
      const int64_t bv = bias ? bias->data<int32_t>()[m] : 0;
      for (int64_t i = 0; i < out_size; ++i) {
        const int64_t idx = (b * p.m + m) * out_size + i;
        const int32_t a32 = static_cast<int32_t>(acc[idx] + bv);
        StoreQ(&y, idx, quant::QuantizeValue(static_cast<float>(a32) * real_scale, yp));
      }
    }
  return y;
}

namespace {

// Integer matmul with batch broadcasting; a_zp per row (scalar or [M]), b_zp per column ([N]).
Result<std::vector<int64_t>> MatMulAccumulate(const Tensor& a, const Tensor& b, const Tensor* a_zp,
                                              const Tensor* b_zp, internal::MatMulPlan* plan) {
  if (!IsQuantType(a.dtype()) || !IsQuantType(b.dtype()))
    return InvalidArgument("integer matmul expects int8/uint8 operands, got ", DTypeName(a.dtype()), " and ",
                           DTypeName(b.dtype()));
  QP_ASSIGN_OR_RETURN(*plan, internal::PlanMatMul(a.shape(), b.shape()));
  const internal::MatMulPlan& p = *plan;
  QP_RETURN_IF_ERROR(CheckZeroPoint(a_zp, a.dtype(), p.m, "a_zero_point"));
  QP_RETURN_IF_ERROR(CheckZeroPoint(b_zp, b.dtype(), p.n, "b_zero_point"));
  std::vector<int64_t> acc(static_cast<size_t>(p.batch_count * p.m * p.n));
  std::vector<int32_t> as(static_cast<size_t>(p.m * p.k)), bs(static_cast<size_t>(p.k * p.n));
  for (int64_t bi = 0; bi < p.batch_count; ++bi) {
    int64_t ao, bo;
    p.Offsets(bi, &ao, &bo);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t q = 0; q < p.k; ++q)
        as[i * p.k + q] = IntAt(a, ao + i * p.k + q) - (a_zp ? IntAt(*a_zp, a_zp->numel() == 1 ? 0 : i) : 0);
    for (int64_t q = 0; q < p.k; ++q)
      for (int64_t j = 0; j < p.n; ++j)
        bs[q * p.n + j] = IntAt(b, bo + q * p.n + j) - (b_zp ? IntAt(*b_zp, b_zp->numel() == 1 ? 0 : j) : 0);
    GemmI32(p.m, p.n, p.k, as.data(), bs.data(), acc.data() + bi * p.m * p.n);
  }
  return acc;
}

}  // namespace

Result<Tensor> MatMulInteger(const Tensor& a, const Tensor& b, const Tensor* a_zp, const Tensor* b_zp) {
  internal::MatMulPlan p;
  QP_ASSIGN_OR_RETURN(std::vector<int64_t> acc, MatMulAccumulate(a, b, a_zp, b_zp, &p));
  Tensor y(DType::kInt32, p.out_shape);
  for (size_t i = 0; i < acc.size(); ++i) y.data<int32_t>()[i] = static_cast<int32_t>(acc[i]);
  return y;
}

Result<Tensor> QLinearMatMul(const Tensor& a, const Tensor& a_scale, const Tensor& a_zp,
                             const Tensor& b, const Tensor& b_scale, const Tensor& b_zp,
                             const Tensor& y_scale, const Tensor& y_zp) {
  QP_RETURN_IF_ERROR(CheckScales(a_scale, "a_scale"));
  QP_RETURN_IF_ERROR(CheckScales(b_scale, "b_scale"));
  QP_RETURN_IF_ERROR(CheckScales(y_scale, "y_scale"));
  if (y_scale.numel() != 1 || y_zp.numel() != 1)
    return InvalidArgument("QLinearMatMul y_scale and y_zero_point must be scalars");
  if (!IsQuantType(y_zp.dtype())) return InvalidArgument("QLinearMatMul y_zero_point must be int8 or uint8");
  internal::MatMulPlan p;
  QP_ASSIGN_OR_RETURN(std::vector<int64_t> acc, MatMulAccumulate(a, b, &a_zp, &b_zp, &p));
  if (a_scale.numel() != 1 && a_scale.numel() != p.m)
    return InvalidArgument("QLinearMatMul a_scale has ", a_scale.numel(), " values; expected 1 or ", p.m);
  if (b_scale.numel() != 1 && b_scale.numel() != p.n)
    return InvalidArgument("QLinearMatMul b_scale has ", b_scale.numel(), " values; expected 1 or ", p.n);
  Tensor y(y_zp.dtype(), p.out_shape);
  const quant::QParams yp = MakeParams(y_scale.f32()[0], IntAt(y_zp, 0), y_zp.dtype());
  for (int64_t bi = 0; bi < p.batch_count; ++bi)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        const int64_t idx = (bi * p.m + i) * p.n + j;
        const float s = a_scale.f32()[a_scale.numel() == 1 ? 0 : i] * b_scale.f32()[b_scale.numel() == 1 ? 0 : j];
        StoreQ(&y, idx, quant::QuantizeValue(static_cast<float>(static_cast<int32_t>(acc[idx])) * s, yp));
      }
  return y;
}

}  // namespace qp::ops
