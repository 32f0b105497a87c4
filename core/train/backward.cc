// Backward passes (see backward.h). Conv/Gemm/MatMul gradients are GEMMs on (transposed) copies
// run by ops::GemmF32, the forward's own inner loop, so training speed follows the forward's.
// Accumulation is float32 in a fixed order: results are deterministic run to run.
#include "core/train/backward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qp::train {
namespace {

Status RequireF32(const Tensor& t, const char* op, const char* what) {
  if (t.dtype() != DType::kFloat32)
    return InvalidArgument(op, " backward: ", what, " is ", DTypeName(t.dtype()), "; expected float32");
  return Status::Ok();
}

Status RequireShape(const Tensor& t, const Shape& want, const char* op, const char* what) {
  if (t.shape() != want)
    return InvalidArgument(op, " backward: ", what, " has shape ", ShapeToString(t.shape()),
                           "; expected ", ShapeToString(want));
  return Status::Ok();
}

// dst[c, r] = src[r, c] for a rows x cols matrix.
void TransposeInto(const float* src, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// C[m, n] (+)= op(A) op(B) where op(A) is [m, k] (A stored [k, m] if ta) and op(B) is [k, n]
// (B stored [n, k] if tb). Transposed operands are copied so GemmF32 sees row-major inputs.
void MatMulF32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
               float* c, bool accumulate) {
  std::vector<float> at, bt;
  if (ta) {
    at.resize(static_cast<size_t>(m * k));
    TransposeInto(a, k, m, at.data());
    a = at.data();
  }
  if (tb) {
    bt.resize(static_cast<size_t>(k * n));
    TransposeInto(b, n, k, bt.data());
    b = bt.data();
  }
  ops::GemmF32(m, n, k, a, k, b, n, c, n, accumulate);
}

// Row-major strides of `shape` aligned right into a rank-`r` index space, 0 on broadcast dims.
std::vector<int64_t> BroadcastStrides(const Shape& shape, size_t r) {
  std::vector<int64_t> s(r, 0);
  int64_t stride = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const size_t d = shape.size() - 1 - i;
    const size_t o = r - 1 - i;
    s[o] = shape[d] == 1 ? 0 : stride;
    stride *= shape[d];
  }
  return s;
}

// Calls f(out_index, a_offset, b_offset) for every element of `out` in row-major order.
template <typename F>
void ForEachBroadcast(const Shape& out, const Shape& as, const Shape& bs, F f) {
  const size_t r = out.size();
  const std::vector<int64_t> sa = BroadcastStrides(as, r), sb = BroadcastStrides(bs, r);
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < total; ++i) {
    f(i, oa, ob);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// Unrolls one group's channels: col[(c * K + k) * P + p], K = kernel size, P = output size.
void Im2Col(const float* x, int64_t channels, const ops::WindowGeometry& g, float* col) {
  float* dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * g.in_size();
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw)
          for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              const bool row_ok = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1];
              for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                *dst++ = row_ok && iw >= 0 && iw < g.in[2] ? xc[(id * g.in[1] + ih) * g.in[2] + iw] : 0.f;
              }
            }
          }
  }
}

// The adjoint of Im2Col: scatters (adds) col back into x.
void Col2Im(const float* col, int64_t channels, const ops::WindowGeometry& g, float* x) {
  const float* src = col;
  for (int64_t c = 0; c < channels; ++c) {
    float* xc = x + c * g.in_size();
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw)
          for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              const bool row_ok = id >= 0 && id < g.in[0] && ih >= 0 && ih < g.in[1];
              for (int64_t ow = 0; ow < g.out[2]; ++ow, ++src) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (row_ok && iw >= 0 && iw < g.in[2]) xc[(id * g.in[1] + ih) * g.in[2] + iw] += *src;
              }
            }
          }
  }
}

Shape WindowOutShape(const Tensor& x, int64_t channels, const ops::WindowGeometry& g) {
  Shape s = {x.dim(0), channels};
  for (int i = 3 - g.nspatial; i < 3; ++i) s.push_back(g.out[i]);
  return s;
}

template <typename F>
Result<Tensor> UnaryBackward(const char* op, const Tensor& x, const Tensor& dy, F deriv) {
  QP_RETURN_IF_ERROR(RequireF32(x, op, "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, op, "dy"));
  QP_RETURN_IF_ERROR(RequireShape(dy, x.shape(), op, "dy"));
  Tensor dx(DType::kFloat32, x.shape());
  const float* xp = x.f32();
  const float* gp = dy.f32();
  float* o = dx.f32();
  for (int64_t i = 0; i < x.numel(); ++i) o[i] = gp[i] * deriv(xp[i]);
  return dx;
}

Result<ops::WindowGeometry> PoolGeometry(const char* op, const Tensor& x, const ops::PoolAttrs& a,
                                         bool dilations) {
  if (x.rank() < 3 || x.rank() > 5)
    return InvalidArgument(op, " backward: x has shape ", ShapeToString(x.shape()), "; expected rank 3 to 5");
  const Shape spatial(x.shape().begin() + 2, x.shape().end());
  return ops::ResolveWindow(spatial, a.kernel_shape, a.strides,
                            dilations ? a.dilations : std::vector<int64_t>{}, a.pads, a.auto_pad,
                            a.ceil_mode);
}

}  // namespace

// ---- Conv ----------------------------------------------------------------------------------------

Result<ConvGrads> ConvBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                               const ops::ConvAttrs& attrs, bool need_dx) {
  QP_RETURN_IF_ERROR(RequireF32(x, "Conv", "x"));
  QP_RETURN_IF_ERROR(RequireF32(w, "Conv", "w"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "Conv", "dy"));
  if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank())
    return InvalidArgument("Conv backward: x ", ShapeToString(x.shape()), " and w ",
                           ShapeToString(w.shape()), " must have the same rank in [3, 5]");
  const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0), group = attrs.group;
  if (group < 1 || c % group != 0 || m % group != 0 || w.dim(1) != c / group)
    return InvalidArgument("Conv backward: group ", group, " does not fit x ", ShapeToString(x.shape()),
                           " and w ", ShapeToString(w.shape()));
  const int64_t cg = c / group, mg = m / group;
  const Shape spatial(x.shape().begin() + 2, x.shape().end());
  const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry g,
                      ops::ResolveWindow(spatial, kernel, attrs.strides, attrs.dilations, attrs.pads,
                                         attrs.auto_pad, false));
  QP_RETURN_IF_ERROR(RequireShape(dy, WindowOutShape(x, m, g), "Conv", "dy"));
  const int64_t in_size = g.in_size(), out_size = g.out_size(), kdim = cg * g.kernel_size();
  ConvGrads r;
  r.dw = Tensor(DType::kFloat32, w.shape());
  r.db = Tensor(DType::kFloat32, {m});
  if (need_dx) r.dx = Tensor(DType::kFloat32, x.shape());
  std::vector<float> col(static_cast<size_t>(kdim * out_size));
  std::vector<float> col_t(col.size()), dcol(col.size());
  std::vector<float> w_t(static_cast<size_t>(mg * kdim));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t gi = 0; gi < group; ++gi) {
      const float* dyg = dy.f32() + (b * m + gi * mg) * out_size;  // [mg, P]
      Im2Col(x.f32() + (b * c + gi * cg) * in_size, cg, g, col.data());
      // dW_g[mg, kdim] += dy_g[mg, P] . col^T[P, kdim]
      TransposeInto(col.data(), kdim, out_size, col_t.data());
      ops::GemmF32(mg, kdim, out_size, dyg, out_size, col_t.data(), kdim,
                   r.dw.f32() + gi * mg * kdim, kdim, true);
      if (need_dx) {
        // dcol[kdim, P] = W_g^T[kdim, mg] . dy_g[mg, P], then scattered back by Col2Im.
        TransposeInto(w.f32() + gi * mg * kdim, mg, kdim, w_t.data());
        ops::GemmF32(kdim, out_size, mg, w_t.data(), mg, dyg, out_size, dcol.data(), out_size, false);
        Col2Im(dcol.data(), cg, g, r.dx.f32() + (b * c + gi * cg) * in_size);
      }
    }
    for (int64_t mi = 0; mi < m; ++mi) {
      const float* row = dy.f32() + (b * m + mi) * out_size;
      float s = 0.f;
      for (int64_t i = 0; i < out_size; ++i) s += row[i];
      r.db.f32()[mi] += s;
    }
  }
  return r;
}

// ---- Gemm / MatMul -------------------------------------------------------------------------------

Result<GemmGrads> GemmBackward(const Tensor& a, const Tensor& b, const Tensor* c, const Tensor& dy,
                               const ops::GemmAttrs& attrs) {
  QP_RETURN_IF_ERROR(RequireF32(a, "Gemm", "a"));
  QP_RETURN_IF_ERROR(RequireF32(b, "Gemm", "b"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "Gemm", "dy"));
  if (a.rank() != 2 || b.rank() != 2)
    return InvalidArgument("Gemm backward: a ", ShapeToString(a.shape()), " and b ",
                           ShapeToString(b.shape()), " must be rank 2");
  const int64_t m = attrs.trans_a ? a.dim(1) : a.dim(0), k = attrs.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = attrs.trans_b ? b.dim(1) : b.dim(0), n = attrs.trans_b ? b.dim(0) : b.dim(1);
  if (k != kb) return InvalidArgument("Gemm backward: inner dims ", k, " and ", kb, " differ");
  QP_RETURN_IF_ERROR(RequireShape(dy, Shape{m, n}, "Gemm", "dy"));
  GemmGrads r;
  r.da = Tensor(DType::kFloat32, a.shape());
  r.db = Tensor(DType::kFloat32, b.shape());
  // A' = op(A) [m, k], B' = op(B) [k, n]; dA' = alpha dY B'^T, dB' = alpha A'^T dY. If A is stored
  // transposed, dA = dA'^T = alpha B' dY^T (likewise for B), which MatMulF32 expresses directly.
  if (!attrs.trans_a) MatMulF32(false, !attrs.trans_b, m, k, n, dy.f32(), b.f32(), r.da.f32(), false);
  else MatMulF32(attrs.trans_b, true, k, m, n, b.f32(), dy.f32(), r.da.f32(), false);
  if (!attrs.trans_b) MatMulF32(!attrs.trans_a, false, k, n, m, a.f32(), dy.f32(), r.db.f32(), false);
  else MatMulF32(true, attrs.trans_a, n, k, m, dy.f32(), a.f32(), r.db.f32(), false);
  for (int64_t i = 0; i < r.da.numel(); ++i) r.da.f32()[i] *= attrs.alpha;
  for (int64_t i = 0; i < r.db.numel(); ++i) r.db.f32()[i] *= attrs.alpha;
  if (c) {
    QP_RETURN_IF_ERROR(RequireF32(*c, "Gemm", "c"));
    QP_ASSIGN_OR_RETURN(r.dc, ReduceToShape(dy, c->shape()));
    for (int64_t i = 0; i < r.dc.numel(); ++i) r.dc.f32()[i] *= attrs.beta;
  }
  return r;
}

Result<BinaryGrads> MatMulBackward(const Tensor& a_in, const Tensor& b_in, const Tensor& dy_in) {
  QP_RETURN_IF_ERROR(RequireF32(a_in, "MatMul", "a"));
  QP_RETURN_IF_ERROR(RequireF32(b_in, "MatMul", "b"));
  QP_RETURN_IF_ERROR(RequireF32(dy_in, "MatMul", "dy"));
  if (a_in.rank() < 1 || b_in.rank() < 1) return InvalidArgument("MatMul backward: scalar operand");
  // numpy.matmul promotion: a 1-D A is [1, K], a 1-D B is [K, 1]; the output drops those dims.
  Shape as = a_in.shape(), bs = b_in.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    return InvalidArgument("MatMul backward: inner dims ", k, " and ", bs[bs.size() - 2], " differ");
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  QP_ASSIGN_OR_RETURN(Shape batch, ops::BroadcastShapes(a_batch, b_batch));
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  int64_t dy_count = 1;
  for (int64_t d : out) dy_count *= d;
  if (dy_in.numel() != dy_count)
    return InvalidArgument("MatMul backward: dy has shape ", ShapeToString(dy_in.shape()),
                           "; expected the matmul output ", ShapeToString(out));
  BinaryGrads r;
  r.da = Tensor(DType::kFloat32, a_in.shape());
  r.db = Tensor(DType::kFloat32, b_in.shape());
  std::vector<float> tmp_a(static_cast<size_t>(m * k)), tmp_b(static_cast<size_t>(k * n));
  ForEachBroadcast(batch, a_batch, b_batch, [&](int64_t bi, int64_t ai, int64_t bj) {
    const float* dyp = dy_in.f32() + bi * m * n;
    // dA_i += dY_i B_j^T ; dB_j += A_i^T dY_i (summed over broadcast batch entries).
    MatMulF32(false, true, m, k, n, dyp, b_in.f32() + bj * k * n, tmp_a.data(), false);
    MatMulF32(true, false, k, n, m, a_in.f32() + ai * m * k, dyp, tmp_b.data(), false);
    float* da = r.da.f32() + ai * m * k;
    float* db = r.db.f32() + bj * k * n;
    for (size_t i = 0; i < tmp_a.size(); ++i) da[i] += tmp_a[i];
    for (size_t i = 0; i < tmp_b.size(); ++i) db[i] += tmp_b[i];
  });
  return r;
}

Result<Tensor> ReduceToShape(const Tensor& g, const Shape& target) {
  QP_RETURN_IF_ERROR(RequireF32(g, "broadcast", "gradient"));
  QP_ASSIGN_OR_RETURN(Shape b, ops::BroadcastShapes(g.shape(), target));
  if (b != g.shape())
    return InvalidArgument("ReduceToShape: ", ShapeToString(target), " does not broadcast to ",
                           ShapeToString(g.shape()));
  Tensor out(DType::kFloat32, target);
  const float* gp = g.f32();
  float* o = out.f32();
  ForEachBroadcast(g.shape(), target, target, [&](int64_t i, int64_t t, int64_t) { o[t] += gp[i]; });
  return out;
}

Result<BinaryGrads> BinaryBackward(ops::BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy) {
  QP_RETURN_IF_ERROR(RequireF32(a, "binary op", "a"));
  QP_RETURN_IF_ERROR(RequireF32(b, "binary op", "b"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "binary op", "dy"));
  QP_ASSIGN_OR_RETURN(Shape out, ops::BroadcastShapes(a.shape(), b.shape()));
  QP_RETURN_IF_ERROR(RequireShape(dy, out, "binary op", "dy"));
  BinaryGrads r;
  r.da = Tensor(DType::kFloat32, a.shape());
  r.db = Tensor(DType::kFloat32, b.shape());
  const float *ap = a.f32(), *bp = b.f32(), *gp = dy.f32();
  float *da = r.da.f32(), *db = r.db.f32();
  ForEachBroadcast(out, a.shape(), b.shape(), [&](int64_t i, int64_t ia, int64_t ib) {
    const float g = gp[i];
    switch (op) {
      case ops::BinaryOp::kAdd: da[ia] += g; db[ib] += g; break;
      case ops::BinaryOp::kSub: da[ia] += g; db[ib] -= g; break;
      case ops::BinaryOp::kMul: da[ia] += g * bp[ib]; db[ib] += g * ap[ia]; break;
      case ops::BinaryOp::kDiv:
        da[ia] += g / bp[ib];
        db[ib] -= g * ap[ia] / (bp[ib] * bp[ib]);
        break;
    }
  });
  return r;
}

// ---- Activations ---------------------------------------------------------------------------------

Result<Tensor> ReluBackward(const Tensor& x, const Tensor& dy) {
  return UnaryBackward("Relu", x, dy, [](float v) { return v > 0.f ? 1.f : 0.f; });
}
Result<Tensor> LeakyReluBackward(const Tensor& x, const Tensor& dy, float alpha) {
  return UnaryBackward("LeakyRelu", x, dy, [alpha](float v) { return v > 0.f ? 1.f : alpha; });
}
Result<Tensor> ClipBackward(const Tensor& x, const Tensor& dy, float lo, float hi) {
  return UnaryBackward("Clip", x, dy, [lo, hi](float v) { return v >= lo && v <= hi ? 1.f : 0.f; });
}
Result<Tensor> SigmoidBackward(const Tensor& x, const Tensor& dy) {
  return UnaryBackward("Sigmoid", x, dy, [](float v) {
    const float s = 1.f / (1.f + std::exp(-v));
    return s * (1.f - s);
  });
}
Result<Tensor> TanhBackward(const Tensor& x, const Tensor& dy) {
  return UnaryBackward("Tanh", x, dy, [](float v) {
    const float t = std::tanh(v);
    return 1.f - t * t;
  });
}
Result<Tensor> HardSigmoidBackward(const Tensor& x, const Tensor& dy, float alpha, float beta) {
  return UnaryBackward("HardSigmoid", x, dy, [alpha, beta](float v) {
    const float u = alpha * v + beta;
    return u > 0.f && u < 1.f ? alpha : 0.f;
  });
}
Result<Tensor> HardSwishBackward(const Tensor& x, const Tensor& dy) {
  return UnaryBackward("HardSwish", x, dy, [](float v) {
    if (v < -3.f) return 0.f;
    if (v > 3.f) return 1.f;
    return (2.f * v + 3.f) / 6.f;
  });
}

// ---- Pooling -------------------------------------------------------------------------------------

Result<Tensor> MaxPoolBackward(const Tensor& x, const Tensor& dy, const ops::PoolAttrs& attrs) {
  QP_RETURN_IF_ERROR(RequireF32(x, "MaxPool", "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "MaxPool", "dy"));
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry g, PoolGeometry("MaxPool", x, attrs, true));
  QP_RETURN_IF_ERROR(RequireShape(dy, WindowOutShape(x, x.dim(1), g), "MaxPool", "dy"));
  Tensor dx(DType::kFloat32, x.shape());
  const int64_t planes = x.dim(0) * x.dim(1);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* xp = x.f32() + pl * g.in_size();
    const float* gp = dy.f32() + pl * g.out_size();
    float* dp = dx.f32() + pl * g.in_size();
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          int64_t best_i = -1;
          float best = 0.f;
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                const int64_t i = (id * g.in[1] + ih) * g.in[2] + iw;
                if (best_i < 0 || xp[i] > best) {
                  best = xp[i];
                  best_i = i;
                }
              }
            }
          }
          if (best_i >= 0) dp[best_i] += gp[(od * g.out[1] + oh) * g.out[2] + ow];
        }
  }
  return dx;
}

Result<Tensor> AveragePoolBackward(const Tensor& x, const Tensor& dy, const ops::PoolAttrs& attrs) {
  QP_RETURN_IF_ERROR(RequireF32(x, "AveragePool", "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "AveragePool", "dy"));
  QP_ASSIGN_OR_RETURN(ops::WindowGeometry g, PoolGeometry("AveragePool", x, attrs, false));
  QP_RETURN_IF_ERROR(RequireShape(dy, WindowOutShape(x, x.dim(1), g), "AveragePool", "dy"));
  Tensor dx(DType::kFloat32, x.shape());
  const int64_t planes = x.dim(0) * x.dim(1);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* gp = dy.f32() + pl * g.out_size();
    float* dp = dx.f32() + pl * g.in_size();
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          const int64_t o[3] = {od, oh, ow};
          const ops::PoolWindow win = ops::AveragePoolWindow(g, o, attrs.count_include_pad);
          const int64_t* s = win.begin;
          const int64_t* e = win.end;
          const int64_t div = win.divisor;
          if (div <= 0) continue;
          const float share = gp[(od * g.out[1] + oh) * g.out[2] + ow] / static_cast<float>(div);
          for (int64_t id = s[0]; id < e[0]; ++id)
            for (int64_t ih = s[1]; ih < e[1]; ++ih)
              for (int64_t iw = s[2]; iw < e[2]; ++iw) dp[(id * g.in[1] + ih) * g.in[2] + iw] += share;
        }
  }
  return dx;
}

Result<Tensor> GlobalAveragePoolBackward(const Tensor& x, const Tensor& dy) {
  QP_RETURN_IF_ERROR(RequireF32(x, "GlobalAveragePool", "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "GlobalAveragePool", "dy"));
  if (x.rank() < 3) return InvalidArgument("GlobalAveragePool backward: x rank ", x.rank(), " < 3");
  const int64_t planes = x.dim(0) * x.dim(1);
  if (dy.numel() != planes)
    return InvalidArgument("GlobalAveragePool backward: dy has shape ", ShapeToString(dy.shape()),
                           "; expected ", planes, " elements");
  Tensor dx(DType::kFloat32, x.shape());
  const int64_t inner = planes ? x.numel() / planes : 0;
  for (int64_t p = 0; p < planes; ++p) {
    const float v = inner ? dy.f32()[p] / static_cast<float>(inner) : 0.f;
    std::fill(dx.f32() + p * inner, dx.f32() + (p + 1) * inner, v);
  }
  return dx;
}

// ---- BatchNormalization --------------------------------------------------------------------------

Result<BatchNormTrainOutput> BatchNormTrainForward(const Tensor& x, const Tensor& scale,
                                                   const Tensor& bias, const Tensor& running_mean,
                                                   const Tensor& running_var, float epsilon,
                                                   float momentum) {
  QP_RETURN_IF_ERROR(RequireF32(x, "BatchNormalization", "x"));
  if (x.rank() < 2) return InvalidArgument("BatchNormalization: x rank ", x.rank(), " < 2");
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t inner = (n * c) != 0 ? x.numel() / (n * c) : 0;
  for (const Tensor* t : {&scale, &bias, &running_mean, &running_var}) {
    QP_RETURN_IF_ERROR(RequireF32(*t, "BatchNormalization", "a parameter"));
    QP_RETURN_IF_ERROR(RequireShape(*t, Shape{c}, "BatchNormalization", "a per-channel parameter"));
  }
  const int64_t count = n * inner;
  if (count < 1) return InvalidArgument("BatchNormalization training: empty batch");
  BatchNormTrainOutput r;
  r.y = Tensor(DType::kFloat32, x.shape());
  for (Tensor* t : {&r.batch_mean, &r.batch_var, &r.running_mean, &r.running_var, &r.inv_std})
    *t = Tensor(DType::kFloat32, {c});
  for (int64_t ch = 0; ch < c; ++ch) {
    // Two passes in double: the mean, then the centred second moment (no cancellation).
    double sum = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) sum += p[i];
    }
    const double mean = sum / static_cast<double>(count);
    double sq = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) sq += (p[i] - mean) * (p[i] - mean);
    }
    const double var = sq / static_cast<double>(count);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + epsilon));
    const float mf = static_cast<float>(mean);
    const float sc = scale.f32()[ch] * inv, bi = bias.f32()[ch];
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      float* q = r.y.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) q[i] = (p[i] - mf) * sc + bi;
    }
    r.batch_mean.f32()[ch] = mf;
    r.batch_var.f32()[ch] = static_cast<float>(var);
    r.inv_std.f32()[ch] = inv;
    r.running_mean.f32()[ch] = running_mean.f32()[ch] * momentum + mf * (1.f - momentum);
    r.running_var.f32()[ch] = running_var.f32()[ch] * momentum + static_cast<float>(var) * (1.f - momentum);
  }
  return r;
}

Result<BatchNormGrads> BatchNormTrainBackward(const Tensor& x, const Tensor& scale,
                                              const Tensor& batch_mean, const Tensor& inv_std,
                                              const Tensor& dy) {
  QP_RETURN_IF_ERROR(RequireF32(x, "BatchNormalization", "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "BatchNormalization", "dy"));
  QP_RETURN_IF_ERROR(RequireShape(dy, x.shape(), "BatchNormalization", "dy"));
  if (x.rank() < 2) return InvalidArgument("BatchNormalization: x rank ", x.rank(), " < 2");
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t inner = (n * c) != 0 ? x.numel() / (n * c) : 0;
  for (const Tensor* t : {&scale, &batch_mean, &inv_std})
    QP_RETURN_IF_ERROR(RequireShape(*t, Shape{c}, "BatchNormalization", "a per-channel tensor"));
  const double count = static_cast<double>(n * inner);
  BatchNormGrads r;
  r.dx = Tensor(DType::kFloat32, x.shape());
  r.dscale = Tensor(DType::kFloat32, {c});
  r.dbias = Tensor(DType::kFloat32, {c});
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = batch_mean.f32()[ch], inv = inv_std.f32()[ch], gamma = scale.f32()[ch];
    // With xhat = (x - mean) * inv: dbias = sum dy, dscale = sum dy xhat, and
    // dx = gamma * inv / count * (count * dy - sum dy - xhat * sum(dy xhat)).
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      const float* g = dy.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        sum_dy += g[i];
        sum_dy_xhat += g[i] * (p[i] - mean) * inv;
      }
    }
    r.dbias.f32()[ch] = static_cast<float>(sum_dy);
    r.dscale.f32()[ch] = static_cast<float>(sum_dy_xhat);
    const float k = static_cast<float>(gamma * inv / count);
    const float mdy = static_cast<float>(sum_dy), mdx = static_cast<float>(sum_dy_xhat);
    const float cnt = static_cast<float>(count);
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      const float* g = dy.f32() + (b * c + ch) * inner;
      float* q = r.dx.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) q[i] = k * (cnt * g[i] - mdy - (p[i] - mean) * inv * mdx);
    }
  }
  return r;
}

Result<BatchNormGrads> BatchNormEvalBackward(const Tensor& x, const Tensor& scale, const Tensor& mean,
                                             const Tensor& var, float epsilon, const Tensor& dy) {
  QP_RETURN_IF_ERROR(RequireF32(x, "BatchNormalization", "x"));
  QP_RETURN_IF_ERROR(RequireF32(dy, "BatchNormalization", "dy"));
  QP_RETURN_IF_ERROR(RequireShape(dy, x.shape(), "BatchNormalization", "dy"));
  if (x.rank() < 2) return InvalidArgument("BatchNormalization: x rank ", x.rank(), " < 2");
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t inner = (n * c) != 0 ? x.numel() / (n * c) : 0;
  for (const Tensor* t : {&scale, &mean, &var}) {
    QP_RETURN_IF_ERROR(RequireF32(*t, "BatchNormalization", "a per-channel tensor"));
    QP_RETURN_IF_ERROR(RequireShape(*t, Shape{c}, "BatchNormalization", "a per-channel tensor"));
  }
  BatchNormGrads r;
  r.dx = Tensor(DType::kFloat32, x.shape());
  r.dscale = Tensor(DType::kFloat32, {c});
  r.dbias = Tensor(DType::kFloat32, {c});
  for (int64_t ch = 0; ch < c; ++ch) {
    const float inv = 1.f / std::sqrt(var.f32()[ch] + epsilon), mu = mean.f32()[ch];
    const float k = scale.f32()[ch] * inv;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t b = 0; b < n; ++b) {
      const float* p = x.f32() + (b * c + ch) * inner;
      const float* g = dy.f32() + (b * c + ch) * inner;
      float* q = r.dx.f32() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        q[i] = g[i] * k;
        sum_dy += g[i];
        sum_dy_xhat += g[i] * (p[i] - mu) * inv;
      }
    }
    r.dbias.f32()[ch] = static_cast<float>(sum_dy);
    r.dscale.f32()[ch] = static_cast<float>(sum_dy_xhat);
  }
  return r;
}

// ---- Layout --------------------------------------------------------------------------------------

Result<Tensor> ReshapeBackward(const Tensor& dy, const Shape& x_shape) {
  QP_ASSIGN_OR_RETURN(int64_t n, CheckedNumElements(x_shape));
  if (n != dy.numel())
    return InvalidArgument("Reshape backward: dy has ", dy.numel(), " elements, input shape ",
                           ShapeToString(x_shape), " has ", n);
  return dy.Reshaped(x_shape);
}

Result<Tensor> TransposeBackward(const Tensor& dy, const std::vector<int64_t>& perm) {
  if (perm.empty()) return ops::Transpose(dy, {});  // reversing is its own inverse
  if (perm.size() != static_cast<size_t>(dy.rank()))
    return InvalidArgument("Transpose backward: perm has ", perm.size(), " entries for rank ", dy.rank());
  std::vector<int64_t> inv(perm.size(), -1);
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t p = perm[i] < 0 ? perm[i] + dy.rank() : perm[i];
    if (p < 0 || p >= dy.rank() || inv[p] >= 0)
      return InvalidArgument("Transpose backward: perm is not a permutation");
    inv[p] = static_cast<int64_t>(i);
  }
  return ops::Transpose(dy, inv);
}

Result<std::vector<Tensor>> ConcatBackward(const Tensor& dy, const std::vector<Shape>& input_shapes,
                                           int64_t axis) {
  const int64_t r = dy.rank();
  if (axis < -r || axis >= r) return OutOfRange("Concat backward: axis ", axis, " for rank ", r);
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1, total = 0;
  for (int64_t d = 0; d < axis; ++d) outer *= dy.dim(static_cast<int>(d));
  for (int64_t d = axis + 1; d < r; ++d) inner *= dy.dim(static_cast<int>(d));
  for (const Shape& s : input_shapes) {
    if (static_cast<int64_t>(s.size()) != r) return InvalidArgument("Concat backward: input rank mismatch");
    total += s[axis];
  }
  if (total != dy.dim(static_cast<int>(axis)))
    return InvalidArgument("Concat backward: inputs sum to ", total, " along axis ", axis, ", dy has ",
                           dy.dim(static_cast<int>(axis)));
  const size_t es = DTypeSize(dy.dtype());
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (const Shape& s : input_shapes) {
    Tensor t(dy.dtype(), s);
    const int64_t len = s[axis] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(static_cast<uint8_t*>(t.raw()) + o * len * es,
                  static_cast<const uint8_t*>(dy.raw()) + (o * total * inner + offset) * es, len * es);
    offset += len;
    out.push_back(std::move(t));
  }
  return out;
}

// ---- Loss ----------------------------------------------------------------------------------------

Result<LossOutput> SoftmaxCrossEntropy(const Tensor& logits, const Tensor& labels) {
  QP_RETURN_IF_ERROR(RequireF32(logits, "SoftmaxCrossEntropy", "logits"));
  if (logits.rank() != 2 || logits.dim(0) < 1)
    return InvalidArgument("SoftmaxCrossEntropy: logits have shape ", ShapeToString(logits.shape()),
                           "; expected [N >= 1, C]");
  if (labels.dtype() != DType::kInt64 || labels.numel() != logits.dim(0))
    return InvalidArgument("SoftmaxCrossEntropy: labels must be int64 [", logits.dim(0), "], got ",
                           DTypeName(labels.dtype()), " ", ShapeToString(labels.shape()));
  const int64_t n = logits.dim(0), c = logits.dim(1);
  LossOutput r;
  r.dlogits = Tensor(DType::kFloat32, logits.shape());
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = labels.data<int64_t>()[i];
    if (y < 0 || y >= c) return OutOfRange("SoftmaxCrossEntropy: label ", i, " is ", y, "; must be in [0, ", c, ")");
    const float* z = logits.f32() + i * c;
    float* d = r.dlogits.f32() + i * c;
    int64_t arg = 0;
    for (int64_t j = 1; j < c; ++j)
      if (z[j] > z[arg]) arg = j;
    if (arg == y) ++r.correct;
    const double zmax = z[arg];
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
    const double lse = zmax + std::log(sum);
    total += lse - z[y];
    for (int64_t j = 0; j < c; ++j)
      d[j] = static_cast<float>((std::exp(z[j] - lse) - (j == y ? 1.0 : 0.0)) / static_cast<double>(n));
  }
  r.loss = total / static_cast<double>(n);
  return r;
}

}  // namespace qp::train
