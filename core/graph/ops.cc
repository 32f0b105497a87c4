// Float forward ops of the executor (see ops.h), matching the ONNX operator definitions.
// Conv runs as im2col + GemmF32 per (image, group); GemmF32 is a cache-blocked row-major loop the
// compiler vectorizes. Accumulation is float32 in a fixed order (deterministic across runs).
#include "core/graph/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "core/graph/ops_internal.h"

namespace qp::ops {

using internal::NormalizeAxis;

// ---- Geometry ------------------------------------------------------------------------------------

Result<WindowGeometry> ResolveWindow(const Shape& spatial_in, const std::vector<int64_t>& kernel,
                                     const std::vector<int64_t>& strides,
                                     const std::vector<int64_t>& dilations,
                                     const std::vector<int64_t>& pads, AutoPad auto_pad,
                                     bool ceil_mode) {
  const size_t n = spatial_in.size();
  if (n < 1 || n > 3) return Unimplemented(n, " spatial dims; supported: 1 to 3");
  if (kernel.size() != n)
    return InvalidArgument("kernel_shape has ", kernel.size(), " dims but the input has ", n,
                           " spatial dims");
  if (!strides.empty() && strides.size() != n)
    return InvalidArgument("strides has ", strides.size(), " values; expected ", n);
  if (!dilations.empty() && dilations.size() != n)
    return InvalidArgument("dilations has ", dilations.size(), " values; expected ", n);
  if (auto_pad == AutoPad::kNotSet && !pads.empty() && pads.size() != 2 * n)
    return InvalidArgument("pads has ", pads.size(), " values; expected ", 2 * n);
  WindowGeometry g;
  g.nspatial = static_cast<int>(n);
  const size_t off = 3 - n;
  // Bounds keep every later product (out * stride, (k-1) * d) far from int64 overflow.
  constexpr int64_t kMaxDim = int64_t{1} << 31;
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = spatial_in[i], k = kernel[i];
    const int64_t s = strides.empty() ? 1 : strides[i];
    const int64_t d = dilations.empty() ? 1 : dilations[i];
    if (in < 0 || in > kMaxDim) return InvalidArgument("spatial dim ", i, " is ", in, "; must be in [0, 2^31]");
    if (k < 1 || k > kMaxDim) return InvalidArgument("kernel dim ", i, " is ", k, "; must be >= 1");
    if (s < 1 || s > kMaxDim) return InvalidArgument("stride ", i, " is ", s, "; must be >= 1");
    if (d < 1 || d > kMaxDim) return InvalidArgument("dilation ", i, " is ", d, "; must be >= 1");
    const int64_t keff = (k - 1) * d + 1;
    int64_t pb = 0, pe = 0, out = 0;
    if (auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower) {
      out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + keff - in);
      pb = auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (auto_pad == AutoPad::kNotSet && !pads.empty()) {
        pb = pads[i];
        pe = pads[i + n];
        if (pb < 0 || pe < 0 || pb > kMaxDim || pe > kMaxDim)
          return InvalidArgument("pads[", i, "] = ", pb, ", pads[", i + n, "] = ", pe,
                                 "; pads must be in [0, 2^31]");
      }
      const int64_t span = in + pb + pe - keff;
      if (span < 0)
        return InvalidArgument("spatial dim ", i, ": input ", in, " + pads ", pb, "+", pe,
                               " is smaller than the dilated kernel ", keff);
      out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // A ceil-mode window must start inside the input or the begin padding.
      if (ceil_mode && (out - 1) * s >= in + pb) --out;
    }
    g.in[off + i] = in;
    g.kernel[off + i] = k;
    g.out[off + i] = out;
    g.stride[off + i] = s;
    g.dilation[off + i] = d;
    g.pad_begin[off + i] = pb;
    g.pad_end[off + i] = pe;
  }
  return g;
}

Result<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return InvalidArgument("shapes ", ShapeToString(a), " and ", ShapeToString(b),
                             " do not broadcast (dim ", i, ": ", da, " vs ", db, ")");
    }
  }
  return out;
}

// ---- GEMM ----------------------------------------------------------------------------------------

// Natively on x86-64 with GCC an AVX2 clone is picked at load time (8-wide instead of SSE2's 4).
// No FMA target: products and sums round separately in every clone, so results are identical.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__EMSCRIPTEN__)
#define QP_GEMM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define QP_GEMM_CLONES
#endif

QP_GEMM_CLONES
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (!accumulate)
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
  // Blocks: a KB x NB panel of B (128 KiB) stays in L2 while 4 rows of A stream over it; the inner
  // loop updates 4 rows of C from one row of B (vectorized by the compiler; __restrict lets it).
  // Each C element still sums over k in increasing order. (Measured here: ~3x faster than a
  // register-tiled 4x8 variant that gcc did not keep in registers without -march flags.)
  constexpr int64_t kKB = 128, kNB = 256;
  for (int64_t p0 = 0; p0 < k; p0 += kKB) {
    const int64_t p1 = std::min(k, p0 + kKB);
    for (int64_t j0 = 0; j0 < n; j0 += kNB) {
      const int64_t nb = std::min(n, j0 + kNB) - j0;
      int64_t i = 0;
      for (; i + 4 <= m; i += 4) {
        float* __restrict c0 = c + i * ldc + j0;
        float* __restrict c1 = c0 + ldc;
        float* __restrict c2 = c1 + ldc;
        float* __restrict c3 = c2 + ldc;
        for (int64_t p = p0; p < p1; ++p) {
          const float a0 = a[i * lda + p], a1 = a[(i + 1) * lda + p];
          const float a2 = a[(i + 2) * lda + p], a3 = a[(i + 3) * lda + p];
          const float* __restrict bp = b + p * ldb + j0;
          for (int64_t j = 0; j < nb; ++j) {
            const float bv = bp[j];
            c0[j] += a0 * bv;
            c1[j] += a1 * bv;
            c2[j] += a2 * bv;
            c3[j] += a3 * bv;
          }
        }
      }
      for (; i < m; ++i) {
        float* __restrict c0 = c + i * ldc + j0;
        for (int64_t p = p0; p < p1; ++p) {
          const float a0 = a[i * lda + p];
          const float* __restrict bp = b + p * ldb + j0;
          for (int64_t j = 0; j < nb; ++j) c0[j] += a0 * bp[j];
        }
      }
    }
  }
}

// ---- Conv ----------------------------------------------------------------------------------------

namespace internal {

Result<ConvPlan> PlanConv(const Tensor& x, const Tensor& w, const ConvAttrs& attrs) {
  if (x.rank() < 3 || x.rank() > 5)
    return InvalidArgument("Conv input X has rank ", x.rank(), " (shape ", ShapeToString(x.shape()),
                           "); expected 3 to 5");
  if (w.rank() != x.rank())
    return InvalidArgument("Conv weight W has rank ", w.rank(), " but X has rank ", x.rank());
  ConvPlan p;
  p.n = x.dim(0);
  p.c = x.dim(1);
  p.m = w.dim(0);
  p.group = attrs.group;
  if (p.group < 1) return InvalidArgument("Conv group is ", p.group, "; must be >= 1");
  if (p.c % p.group != 0 || p.m % p.group != 0)
    return InvalidArgument("Conv channels C=", p.c, " and M=", p.m, " must be divisible by group ",
                           p.group);
  p.cg = p.c / p.group;
  p.mg = p.m / p.group;
  if (w.dim(1) != p.cg)
    return InvalidArgument("Conv weight W has ", w.dim(1), " input channels per group; X has C/group = ",
                           p.cg, " (shape W ", ShapeToString(w.shape()), ", X ",
                           ShapeToString(x.shape()), ", group ", p.group, ")");
  Shape spatial(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (!attrs.kernel_shape.empty() && attrs.kernel_shape != kernel)
    return InvalidArgument("Conv kernel_shape ", ShapeToString(attrs.kernel_shape),
                           " does not match the weight's spatial dims ", ShapeToString(kernel));
  QP_ASSIGN_OR_RETURN(p.geo, ResolveWindow(spatial, kernel, attrs.strides, attrs.dilations,
                                           attrs.pads, attrs.auto_pad, false));
  p.out_shape = {p.n, p.m};
  for (int i = 3 - p.geo.nspatial; i < 3; ++i) p.out_shape.push_back(p.geo.out[i]);
  QP_ASSIGN_OR_RETURN(int64_t out_elems, CheckedNumElements(p.out_shape));
  (void)out_elems;
  p.kdim = p.cg * p.geo.kernel_size();
  // The im2col buffer is one (image, group) slice: kdim x out spatial.
  QP_ASSIGN_OR_RETURN(int64_t col_elems, CheckedNumElements({p.kdim, p.geo.out_size()}, kMaxWorkspaceElements));
  (void)col_elems;
  p.direct = p.geo.kernel_size() == 1 && p.geo.stride == std::array<int64_t, 3>{1, 1, 1} &&
             p.geo.pad_begin == std::array<int64_t, 3>{0, 0, 0} &&
             p.geo.pad_end == std::array<int64_t, 3>{0, 0, 0};
  return p;
}

}  // namespace internal

Result<Tensor> Conv(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvAttrs& attrs) {
  if (x.dtype() != DType::kFloat32 || w.dtype() != DType::kFloat32)
    return InvalidArgument("Conv expects float32 X and W, got ", DTypeName(x.dtype()), " and ",
                           DTypeName(w.dtype()));
  QP_ASSIGN_OR_RETURN(internal::ConvPlan p, internal::PlanConv(x, w, attrs));
  if (bias && (bias->dtype() != DType::kFloat32 || bias->numel() != p.m || bias->rank() != 1))
    return InvalidArgument("Conv bias B has shape ", ShapeToString(bias->shape()), " (",
                           DTypeName(bias->dtype()), "); expected float32 [", p.m, "]");
  Tensor y(DType::kFloat32, p.out_shape);
  const int64_t in_size = p.geo.in_size(), out_size = p.geo.out_size();
  if (p.cg == 1 && p.mg == 1) {
    // Depthwise: a direct window sum per output (im2col would build a 1-row GEMM). Same order of
    // summation over the kernel as the GEMM path; padded taps are skipped instead of adding 0.
    const WindowGeometry& g = p.geo;
    for (int64_t b = 0; b < p.n; ++b)
      for (int64_t ch = 0; ch < p.c; ++ch) {
        const float* xp = x.f32() + (b * p.c + ch) * in_size;
        const float* wp = w.f32() + ch * g.kernel_size();
        float* yp = y.f32() + (b * p.m + ch) * out_size;
        const float bv = bias ? bias->f32()[ch] : 0.f;
        for (int64_t od = 0; od < g.out[0]; ++od)
          for (int64_t oh = 0; oh < g.out[1]; ++oh)
            for (int64_t ow = 0; ow < g.out[2]; ++ow) {
              float acc = 0.f;
              for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                  const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  const float* row = xp + (id * g.in[1] + ih) * g.in[2];
                  const float* wr = wp + (kd * g.kernel[1] + kh) * g.kernel[2];
                  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                    const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                    if (iw >= 0 && iw < g.in[2]) acc += wr[kw] * row[iw];
                  }
                }
              }
              yp[(od * g.out[1] + oh) * g.out[2] + ow] = acc + bv;
            }
      }
    return y;
  }
  // Scratch left uninitialized: Im2Col writes every element.
  std::unique_ptr<float[]> col(p.direct ? nullptr : new float[static_cast<size_t>(p.kdim * out_size)]);
  const float* xd = x.f32();
  const float* wd = w.f32();
  float* yd = y.f32();
  for (int64_t b = 0; b < p.n; ++b) {
    for (int64_t g = 0; g < p.group; ++g) {
      const float* xg = xd + (b * p.c + g * p.cg) * in_size;
      const float* src = xg;
      if (!p.direct) {
        internal::Im2Col<float>(xg, p.cg, p.geo, 0.f, col.get());
        src = col.get();
      }
      GemmF32(p.mg, out_size, p.kdim, wd + g * p.mg * p.kdim, p.kdim, src, out_size,
              yd + (b * p.m + g * p.mg) * out_size, out_size, false);
    }
    if (bias) {
      const float* bd = bias->f32();
      for (int64_t m = 0; m < p.m; ++m) {
        float* row = yd + (b * p.m + m) * out_size;
        for (int64_t i = 0; i < out_size; ++i) row[i] += bd[m];
      }
    }
  }
  return y;
}

// ---- Gemm / MatMul -------------------------------------------------------------------------------

static Tensor Transpose2D(const Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  Tensor o(DType::kFloat32, {c, r});
  const float* s = t.f32();
  float* d = o.f32();
  constexpr int64_t kB = 32;  // 32x32 blocks: both the read and the write side stay in L1
  for (int64_t i0 = 0; i0 < r; i0 += kB)
    for (int64_t j0 = 0; j0 < c; j0 += kB)
      for (int64_t i = i0; i < std::min(r, i0 + kB); ++i)
        for (int64_t j = j0; j < std::min(c, j0 + kB); ++j) d[j * r + i] = s[i * c + j];
  return o;
}

Result<Tensor> Gemm(const Tensor& a, const Tensor& b, const Tensor* c, const GemmAttrs& attrs) {
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32)
    return InvalidArgument("Gemm expects float32 A and B");
  if (a.rank() != 2 || b.rank() != 2)
    return InvalidArgument("Gemm expects rank-2 A and B, got ", ShapeToString(a.shape()), " and ",
                           ShapeToString(b.shape()));
  const int64_t m = attrs.trans_a ? a.dim(1) : a.dim(0);
  const int64_t k = attrs.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = attrs.trans_b ? b.dim(1) : b.dim(0);
  const int64_t n = attrs.trans_b ? b.dim(0) : b.dim(1);
  if (k != kb)
    return InvalidArgument("Gemm inner dims differ: A' is [", m, ", ", k, "], B' is [", kb, ", ", n, "]");
  Tensor y(DType::kFloat32, {m, n});
  const Tensor at = attrs.trans_a ? Transpose2D(a) : Tensor();
  const Tensor bt = attrs.trans_b ? Transpose2D(b) : Tensor();
  const Tensor& A = attrs.trans_a ? at : a;
  const Tensor& B = attrs.trans_b ? bt : b;
  GemmF32(m, n, k, A.f32(), k, B.f32(), n, y.f32(), n, false);
  float* yd = y.f32();
  if (attrs.alpha != 1.f)
    for (int64_t i = 0; i < m * n; ++i) yd[i] *= attrs.alpha;
  if (c && c->numel() > 0 && attrs.beta != 0.f) {
    if (c->dtype() != DType::kFloat32) return InvalidArgument("Gemm expects float32 C");
    // Unidirectional broadcast of C to [M, N].
    const Shape& cs = c->shape();
    if (cs.size() > 2) return InvalidArgument("Gemm C has rank ", cs.size(), "; expected <= 2");
    const int64_t cr = cs.size() == 2 ? cs[0] : 1;
    const int64_t cc = cs.empty() ? 1 : cs.back();
    if ((cr != 1 && cr != m) || (cc != 1 && cc != n))
      return InvalidArgument("Gemm C of shape ", ShapeToString(cs), " does not broadcast to [", m,
                             ", ", n, "]");
    const float* cd = c->f32();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        yd[i * n + j] += attrs.beta * cd[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
  }
  return y;
}

namespace internal {

Result<MatMulPlan> PlanMatMul(const Shape& as, const Shape& bs) {
  if (as.empty() || bs.empty()) return InvalidArgument("MatMul operands must have rank >= 1");
  MatMulPlan p;
  Shape a = as, b = bs;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  p.m = a[a.size() - 2];
  p.k = a.back();
  p.n = b.back();
  if (b[b.size() - 2] != p.k)
    return InvalidArgument("MatMul inner dims differ: ", ShapeToString(as), " x ", ShapeToString(bs));
  Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  QP_ASSIGN_OR_RETURN(p.batch, BroadcastShapes(ab, bb));
  const size_t r = p.batch.size();
  p.a_batch_strides.assign(r, 0);
  p.b_batch_strides.assign(r, 0);
  int64_t sa = p.m * p.k, sb = p.k * p.n;
  for (size_t i = r; i-- > 0;) {
    const int64_t da = i < r - ab.size() ? 1 : ab[i - (r - ab.size())];
    const int64_t db = i < r - bb.size() ? 1 : bb[i - (r - bb.size())];
    p.a_batch_strides[i] = da == 1 ? 0 : sa;
    p.b_batch_strides[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  p.out_shape = p.batch;
  if (as.size() > 1) p.out_shape.push_back(p.m);
  if (bs.size() > 1) p.out_shape.push_back(p.n);
  QP_ASSIGN_OR_RETURN(p.batch_count, CheckedNumElements(p.batch));
  QP_ASSIGN_OR_RETURN(int64_t elems, CheckedNumElements(p.out_shape));
  (void)elems;
  return p;
}

void MatMulPlan::Offsets(int64_t bi, int64_t* ao, int64_t* bo) const {
  *ao = 0;
  *bo = 0;
  for (size_t i = batch.size(); i-- > 0;) {
    const int64_t idx = bi % batch[i];
    bi /= batch[i];
    *ao += idx * a_batch_strides[i];
    *bo += idx * b_batch_strides[i];
  }
}

}  // namespace internal

Result<Tensor> MatMul(const Tensor& a, const Tensor& b) {
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32)
    return InvalidArgument("MatMul expects float32 operands, got ", DTypeName(a.dtype()), " and ",
                           DTypeName(b.dtype()));
  QP_ASSIGN_OR_RETURN(internal::MatMulPlan p, internal::PlanMatMul(a.shape(), b.shape()));
  Tensor y(DType::kFloat32, p.out_shape);
  for (int64_t bi = 0; bi < p.batch_count; ++bi) {
    int64_t ao, bo;
    p.Offsets(bi, &ao, &bo);
    GemmF32(p.m, p.n, p.k, a.f32() + ao, p.k, b.f32() + bo, p.n, y.f32() + bi * p.m * p.n, p.n, false);
  }
  return y;
}

// ---- Elementwise ---------------------------------------------------------------------------------

namespace {

template <typename T>
T ApplyBinary(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::kAdd: return static_cast<T>(x + y);
    case BinaryOp::kSub: return static_cast<T>(x - y);
    case BinaryOp::kMul: return static_cast<T>(x * y);
    case BinaryOp::kDiv: return static_cast<T>(x / y);
  }
  return x;
}

template <typename T>
Status BinaryTyped(BinaryOp op, const Tensor& a, const Tensor& b, Tensor* y) {
  const T* ad = a.data<T>();
  const T* bd = b.data<T>();
  T* yd = y->data<T>();
  if (std::is_integral<T>::value && op == BinaryOp::kDiv) {
    for (int64_t i = 0; i < b.numel(); ++i)
      if (bd[i] == 0) return InvalidArgument("integer Div by zero");
  }
  const int64_t n = y->numel();
  if (a.shape() == b.shape()) {
    for (int64_t i = 0; i < n; ++i) yd[i] = ApplyBinary<T>(op, ad[i], bd[i]);
    return Status::Ok();
  }
  if (b.numel() == 1 && a.numel() == n) {
    const T bv = bd[0];
    for (int64_t i = 0; i < n; ++i) yd[i] = ApplyBinary<T>(op, ad[i], bv);
    return Status::Ok();
  }
  // General broadcast: iterate the output with per-input strides (0 on broadcast dims); the last
  // dim runs as an inner loop.
  const Shape& os = y->shape();
  const size_t r = os.size();
  std::vector<int64_t> sa(r, 0), sb(r, 0);
  int64_t ma = 1, mb = 1;
  for (size_t i = r; i-- > 0;) {
    const size_t ia = i + a.shape().size(), ib = i + b.shape().size();
    const int64_t da = ia >= r ? a.shape()[ia - r] : 1;
    const int64_t db = ib >= r ? b.shape()[ib - r] : 1;
    sa[i] = da == 1 ? 0 : ma;
    sb[i] = db == 1 ? 0 : mb;
    ma *= da;
    mb *= db;
  }
  const int64_t inner = r ? os[r - 1] : 1;
  const int64_t sai = r ? sa[r - 1] : 0, sbi = r ? sb[r - 1] : 0;
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < n; o += inner) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i + 1 < r; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    for (int64_t j = 0; j < inner; ++j) yd[o + j] = ApplyBinary<T>(op, ad[oa + j * sai], bd[ob + j * sbi]);
    for (size_t i = r - 1; i-- > 0;) {
      if (++idx[i] < os[i]) break;
      idx[i] = 0;
    }
  }
  return Status::Ok();
}

template <typename F>
Result<Tensor> UnaryF32(const char* name, const Tensor& x, F f) {
  if (x.dtype() != DType::kFloat32)
    return InvalidArgument(name, " expects float32, got ", DTypeName(x.dtype()));
  Tensor y(DType::kFloat32, x.shape());
  const float* xd = x.f32();
  float* yd = y.f32();
  for (int64_t i = 0; i < x.numel(); ++i) yd[i] = f(xd[i]);
  return y;
}

}  // namespace

Result<Tensor> Binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    return InvalidArgument("elementwise op on different dtypes ", DTypeName(a.dtype()), " and ",
                           DTypeName(b.dtype()));
  QP_ASSIGN_OR_RETURN(Shape os, BroadcastShapes(a.shape(), b.shape()));
  QP_ASSIGN_OR_RETURN(int64_t n, CheckedNumElements(os));
  (void)n;
  Tensor y(a.dtype(), os);
  switch (a.dtype()) {
    case DType::kFloat32: QP_RETURN_IF_ERROR(BinaryTyped<float>(op, a, b, &y)); break;
    case DType::kInt8: QP_RETURN_IF_ERROR(BinaryTyped<int8_t>(op, a, b, &y)); break;
    case DType::kUInt8: QP_RETURN_IF_ERROR(BinaryTyped<uint8_t>(op, a, b, &y)); break;
    case DType::kInt32: QP_RETURN_IF_ERROR(BinaryTyped<int32_t>(op, a, b, &y)); break;
    case DType::kInt64: QP_RETURN_IF_ERROR(BinaryTyped<int64_t>(op, a, b, &y)); break;
    default: return InvalidArgument("elementwise op on unsupported dtype ", DTypeName(a.dtype()));
  }
  return y;
}

Result<Tensor> Relu(const Tensor& x) {
  return UnaryF32("Relu", x, [](float v) { return v > 0.f ? v : 0.f; });
}
Result<Tensor> LeakyRelu(const Tensor& x, float alpha) {
  return UnaryF32("LeakyRelu", x, [alpha](float v) { return v < 0.f ? alpha * v : v; });
}
Result<Tensor> Sigmoid(const Tensor& x) {
  // Two branches keep exp() from overflowing for large |v|.
  return UnaryF32("Sigmoid", x, [](float v) {
    if (v >= 0.f) return 1.f / (1.f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.f + e);
  });
}
Result<Tensor> Tanh(const Tensor& x) {
  return UnaryF32("Tanh", x, [](float v) { return std::tanh(v); });
}
Result<Tensor> HardSigmoid(const Tensor& x, float alpha, float beta) {
  return UnaryF32("HardSigmoid", x,
                  [alpha, beta](float v) { return std::max(0.f, std::min(1.f, alpha * v + beta)); });
}
Result<Tensor> HardSwish(const Tensor& x) {
  return UnaryF32("HardSwish", x, [](float v) {
    return v * std::max(0.f, std::min(1.f, v * (1.f / 6.f) + 0.5f));
  });
}

namespace {
template <typename T>
Status ClipTyped(const Tensor& x, const Tensor* lo, const Tensor* hi, Tensor* y) {
  const T l = lo ? lo->data<T>()[0] : std::numeric_limits<T>::lowest();
  const T h = hi ? hi->data<T>()[0] : std::numeric_limits<T>::max();
  const T* xd = x.data<T>();
  T* yd = y->data<T>();
  for (int64_t i = 0; i < x.numel(); ++i) yd[i] = std::min(std::max(xd[i], l), h);
  return Status::Ok();
}
}  // namespace

Result<Tensor> Clip(const Tensor& x, const Tensor* lo, const Tensor* hi) {
  for (const Tensor* b : {lo, hi}) {
    if (b && (b->dtype() != x.dtype() || b->numel() != 1))
      return InvalidArgument("Clip bounds must be scalars of the input dtype ", DTypeName(x.dtype()),
                             "; got ", DTypeName(b->dtype()), " ", ShapeToString(b->shape()));
  }
  Tensor y(x.dtype(), x.shape());
  switch (x.dtype()) {
    case DType::kFloat32: QP_RETURN_IF_ERROR(ClipTyped<float>(x, lo, hi, &y)); break;
    case DType::kInt8: QP_RETURN_IF_ERROR(ClipTyped<int8_t>(x, lo, hi, &y)); break;
    case DType::kUInt8: QP_RETURN_IF_ERROR(ClipTyped<uint8_t>(x, lo, hi, &y)); break;
    case DType::kInt32: QP_RETURN_IF_ERROR(ClipTyped<int32_t>(x, lo, hi, &y)); break;
    case DType::kInt64: QP_RETURN_IF_ERROR(ClipTyped<int64_t>(x, lo, hi, &y)); break;
    default: return InvalidArgument("Clip on unsupported dtype ", DTypeName(x.dtype()));
  }
  return y;
}

Result<Tensor> ClipF(const Tensor& x, float lo, float hi) {
  const Tensor l = Tensor::Scalar(lo), h = Tensor::Scalar(hi);
  return Clip(x, &l, &h);
}

Result<Tensor> BatchNormalization(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                  const Tensor& mean, const Tensor& var, float epsilon) {
  if (x.dtype() != DType::kFloat32 || x.rank() < 2)
    return InvalidArgument("BatchNormalization expects float32 X of rank >= 2, got ",
                           DTypeName(x.dtype()), " ", ShapeToString(x.shape()));
  const int64_t c = x.dim(1);
  const char* names[] = {"scale", "B", "input_mean", "input_var"};
  const Tensor* params[] = {&scale, &bias, &mean, &var};
  for (int i = 0; i < 4; ++i) {
    if (params[i]->dtype() != DType::kFloat32 || params[i]->numel() != c || params[i]->rank() != 1)
      return InvalidArgument("BatchNormalization ", names[i], " has shape ",
                             ShapeToString(params[i]->shape()), "; expected float32 [", c, "]");
  }
  Tensor y(DType::kFloat32, x.shape());
  const int64_t n = x.dim(0), inner = c ? x.numel() / (n * c) : 0;
  for (int64_t ch = 0; ch < c; ++ch) {
    // Same association as the ONNX reference: (x - mean) / sqrt(var + eps) * scale + B.
    const float inv = 1.f / std::sqrt(var.f32()[ch] + epsilon);
    const float s = scale.f32()[ch], b = bias.f32()[ch], mu = mean.f32()[ch];
    for (int64_t i = 0; i < n; ++i) {
      const float* xs = x.f32() + (i * c + ch) * inner;
      float* ys = y.f32() + (i * c + ch) * inner;
      for (int64_t j = 0; j < inner; ++j) ys[j] = (xs[j] - mu) * inv * s + b;
    }
  }
  return y;
}

// ---- Pooling -------------------------------------------------------------------------------------

namespace {

Result<WindowGeometry> PlanPool(const char* name, const Tensor& x, const PoolAttrs& a, bool dilations) {
  if (x.rank() < 3 || x.rank() > 5)
    return InvalidArgument(name, " input has shape ", ShapeToString(x.shape()), "; expected rank 3 to 5");
  if (a.kernel_shape.empty()) return InvalidArgument(name, " requires kernel_shape");
  Shape spatial(x.shape().begin() + 2, x.shape().end());
  return ResolveWindow(spatial, a.kernel_shape, a.strides, dilations ? a.dilations : std::vector<int64_t>{},
                       a.pads, a.auto_pad, a.ceil_mode);
}

Shape PoolOutShape(const Tensor& x, const WindowGeometry& g) {
  Shape s = {x.dim(0), x.dim(1)};
  for (int i = 3 - g.nspatial; i < 3; ++i) s.push_back(g.out[i]);
  return s;
}

template <typename T>
void MaxPoolTyped(const Tensor& x, const WindowGeometry& g, Tensor* y) {
  const int64_t planes = x.dim(0) * x.dim(1);
  const T* xd = x.data<T>();
  T* yd = y->data<T>();
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = xd + pl * g.in_size();
    T* yp = yd + pl * g.out_size();
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          T best = std::numeric_limits<T>::lowest();
          bool any = false;
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                const T v = xp[(id * g.in[1] + ih) * g.in[2] + iw];
                if (!any || v > best) best = v;
                any = true;
              }
            }
          }
          yp[(od * g.out[1] + oh) * g.out[2] + ow] = best;
        }
  }
}

}  // namespace

Result<Tensor> MaxPool(const Tensor& x, const PoolAttrs& attrs) {
  QP_ASSIGN_OR_RETURN(WindowGeometry g, PlanPool("MaxPool", x, attrs, true));
  Tensor y(x.dtype(), PoolOutShape(x, g));
  switch (x.dtype()) {
    case DType::kFloat32: MaxPoolTyped<float>(x, g, &y); break;
    case DType::kInt8: MaxPoolTyped<int8_t>(x, g, &y); break;
    case DType::kUInt8: MaxPoolTyped<uint8_t>(x, g, &y); break;
    default: return InvalidArgument("MaxPool on unsupported dtype ", DTypeName(x.dtype()));
  }
  return y;
}

Result<Tensor> AveragePool(const Tensor& x, const PoolAttrs& attrs) {
  if (x.dtype() != DType::kFloat32) return InvalidArgument("AveragePool expects float32");
  QP_ASSIGN_OR_RETURN(WindowGeometry g, PlanPool("AveragePool", x, attrs, false));
  Tensor y(DType::kFloat32, PoolOutShape(x, g));
  const int64_t planes = x.dim(0) * x.dim(1);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* xp = x.f32() + pl * g.in_size();
    float* yp = y.f32() + pl * g.out_size();
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          const int64_t o[3] = {od, oh, ow};
          const PoolWindow win = AveragePoolWindow(g, o, attrs.count_include_pad);
          const int64_t* s = win.begin;
          const int64_t* e = win.end;
          float sum = 0.f;
          for (int64_t id = s[0]; id < e[0]; ++id)
            for (int64_t ih = s[1]; ih < e[1]; ++ih)
              for (int64_t iw = s[2]; iw < e[2]; ++iw) sum += xp[(id * g.in[1] + ih) * g.in[2] + iw];
          const int64_t div = win.divisor;
          yp[(od * g.out[1] + oh) * g.out[2] + ow] = div > 0 ? sum / static_cast<float>(div) : 0.f;
        }
  }
  return y;
}

Result<Tensor> GlobalAveragePool(const Tensor& x) {
  if (x.dtype() != DType::kFloat32 || x.rank() < 3)
    return InvalidArgument("GlobalAveragePool expects float32 of rank >= 3, got ",
                           DTypeName(x.dtype()), " ", ShapeToString(x.shape()));
  Shape os = {x.dim(0), x.dim(1)};
  for (int i = 2; i < x.rank(); ++i) os.push_back(1);
  Tensor y(DType::kFloat32, os);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t inner = planes ? x.numel() / planes : 0;
  for (int64_t p = 0; p < planes; ++p) {
    float sum = 0.f;
    const float* xp = x.f32() + p * inner;
    for (int64_t i = 0; i < inner; ++i) sum += xp[i];
    y.f32()[p] = inner ? sum / static_cast<float>(inner) : 0.f;
  }
  return y;
}

// ---- Softmax -------------------------------------------------------------------------------------

static Result<Tensor> SoftmaxImpl(const char* name, const Tensor& x, int64_t axis, bool coerce_2d,
                                  bool log) {
  if (x.dtype() != DType::kFloat32) return InvalidArgument(name, " expects float32");
  QP_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(axis, x.rank(), name));
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= x.dim(static_cast<int>(i));
  if (coerce_2d) {
    for (int64_t i = ax; i < x.rank(); ++i) len *= x.dim(static_cast<int>(i));
  } else {
    len = x.rank() ? x.dim(static_cast<int>(ax)) : 1;
    for (int64_t i = ax + 1; i < x.rank(); ++i) inner *= x.dim(static_cast<int>(i));
  }
  Tensor y(DType::kFloat32, x.shape());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float* xp = x.f32() + o * len * inner + in;
      float* yp = y.f32() + o * len * inner + in;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < len; ++i) mx = std::max(mx, xp[i * inner]);
      float sum = 0.f;
      for (int64_t i = 0; i < len; ++i) {
        const float e = std::exp(xp[i * inner] - mx);
        sum += e;
        if (!log) yp[i * inner] = e;
      }
      if (log) {
        const float ls = std::log(sum);
        for (int64_t i = 0; i < len; ++i) yp[i * inner] = xp[i * inner] - mx - ls;
      } else {
        for (int64_t i = 0; i < len; ++i) yp[i * inner] /= sum;
      }
    }
  return y;
}

Result<Tensor> Softmax(const Tensor& x, int64_t axis, bool coerce_2d) {
  return SoftmaxImpl("Softmax", x, axis, coerce_2d, false);
}
Result<Tensor> LogSoftmax(const Tensor& x, int64_t axis, bool coerce_2d) {
  return SoftmaxImpl("LogSoftmax", x, axis, coerce_2d, true);
}

// ---- Layout --------------------------------------------------------------------------------------

Result<Tensor> Flatten(const Tensor& x, int64_t axis) {
  if (axis < -x.rank() || axis > x.rank())
    return OutOfRange("Flatten axis ", axis, " outside [", -x.rank(), ", ", x.rank(), "]");
  if (axis < 0) axis += x.rank();
  int64_t a = 1, b = 1;
  for (int i = 0; i < x.rank(); ++i) (i < axis ? a : b) *= x.dim(i);
  return x.Reshaped({a, b});
}

Result<Shape> ReshapeOutputShape(const Shape& in, const std::vector<int64_t>& shape, bool allowzero) {
  Shape out(shape.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size())
        return InvalidArgument("Reshape: shape[", i, "] = 0 copies an input dim, but the input ",
                               ShapeToString(in), " has only ", in.size(), " dims");
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) return InvalidArgument("Reshape: more than one -1 in ", ShapeToString(shape));
      infer = static_cast<int>(i);
      continue;
    }
    if (d < 0) return InvalidArgument("Reshape: shape[", i, "] = ", d, "; must be >= -1");
    if (d != 0 && known > std::numeric_limits<int64_t>::max() / d)
      return ResourceExhausted("Reshape: shape ", ShapeToString(shape), " overflows");
    known *= d;
    out[i] = d;
  }
  QP_ASSIGN_OR_RETURN(int64_t total, CheckedNumElements(in));
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      return InvalidArgument("Reshape: cannot infer the -1 in ", ShapeToString(shape), " for input ",
                             ShapeToString(in));
    out[infer] = total / known;
  } else if (known != total) {
    return InvalidArgument("Reshape: input ", ShapeToString(in), " has ", total,
                           " elements but the target shape ", ShapeToString(shape), " has ", known);
  }
  return out;
}

Result<Tensor> Reshape(const Tensor& x, const std::vector<int64_t>& shape, bool allowzero) {
  QP_ASSIGN_OR_RETURN(Shape out, ReshapeOutputShape(x.shape(), shape, allowzero));
  return x.Reshaped(out);
}

Result<Tensor> Transpose(const Tensor& x, const std::vector<int64_t>& perm_in) {
  const int r = x.rank();
  std::vector<int64_t> perm = perm_in;
  if (perm.empty())
    for (int i = r - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int>(perm.size()) != r)
    return InvalidArgument("Transpose perm has ", perm.size(), " entries for rank ", r);
  std::vector<bool> seen(r, false);
  Shape os(r);
  for (int i = 0; i < r; ++i) {
    if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
      return InvalidArgument("Transpose perm ", ShapeToString(perm), " is not a permutation of 0..", r - 1);
    seen[perm[i]] = true;
    os[i] = x.dim(static_cast<int>(perm[i]));
  }
  Tensor y(x.dtype(), os);
  std::vector<int64_t> in_strides(r, 1);
  for (int i = r - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * x.dim(i + 1);
  std::vector<int64_t> st(r);
  for (int i = 0; i < r; ++i) st[i] = in_strides[perm[i]];
  const size_t es = DTypeSize(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t o = 0; o < y.numel(); ++o) {
    std::memcpy(dst + o * es, src + off * es, es);
    for (int i = r - 1; i >= 0; --i) {
      off += st[i];
      if (++idx[i] < os[i]) break;
      off -= st[i] * os[i];
      idx[i] = 0;
    }
  }
  return y;
}

Result<Tensor> Concat(const std::vector<const Tensor*>& xs, int64_t axis) {
  if (xs.empty()) return InvalidArgument("Concat needs at least one input");
  const Tensor& f = *xs[0];
  QP_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(axis, f.rank(), "Concat"));
  Shape os = f.shape();
  os[ax] = 0;
  for (const Tensor* t : xs) {
    if (t->dtype() != f.dtype() || t->rank() != f.rank())
      return InvalidArgument("Concat inputs differ in dtype or rank: ", ShapeToString(f.shape()),
                             " vs ", ShapeToString(t->shape()));
    for (int i = 0; i < f.rank(); ++i)
      if (i != ax && t->dim(i) != f.dim(i))
        return InvalidArgument("Concat inputs differ off the axis ", ax, ": ",
                               ShapeToString(f.shape()), " vs ", ShapeToString(t->shape()));
    os[ax] += t->dim(static_cast<int>(ax));
  }
  QP_ASSIGN_OR_RETURN(int64_t n, CheckedNumElements(os));
  (void)n;
  Tensor y(f.dtype(), os);
  int64_t outer = 1;
  for (int64_t i = 0; i < ax; ++i) outer *= os[i];
  const size_t es = DTypeSize(f.dtype());
  const int64_t out_row = outer ? y.numel() / outer : 0;
  auto* dst = static_cast<uint8_t*>(y.raw());
  int64_t col = 0;
  for (const Tensor* t : xs) {
    const int64_t row = outer ? t->numel() / outer : 0;
    const auto* src = static_cast<const uint8_t*>(t->raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + (o * out_row + col) * es, src + o * row * es, row * es);
    col += row;
  }
  return y;
}

Result<Shape> SqueezeOutputShape(const Shape& in, const std::vector<int64_t>& axes) {
  const int r = static_cast<int>(in.size());
  std::vector<bool> drop(r, false);
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) drop[i] = in[i] == 1;
  } else {
    for (int64_t a : axes) {
      QP_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(a, r, "Squeeze"));
      if (in[ax] != 1)
        return InvalidArgument("Squeeze axis ", a, " has size ", in[ax], " in ", ShapeToString(in),
                               "; must be 1");
      drop[ax] = true;
    }
  }
  Shape out;
  for (int i = 0; i < r; ++i)
    if (!drop[i]) out.push_back(in[i]);
  return out;
}

Result<Shape> UnsqueezeOutputShape(const Shape& in, const std::vector<int64_t>& axes) {
  const int r = static_cast<int>(in.size() + axes.size());
  std::vector<bool> ins(r, false);
  for (int64_t a : axes) {
    QP_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(a, r, "Unsqueeze"));
    if (ins[ax]) return InvalidArgument("Unsqueeze axis ", a, " repeated");
    ins[ax] = true;
  }
  Shape out;
  size_t j = 0;
  for (int i = 0; i < r; ++i) out.push_back(ins[i] ? 1 : in[j++]);
  return out;
}

Result<Tensor> Squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  QP_ASSIGN_OR_RETURN(Shape s, SqueezeOutputShape(x.shape(), axes));
  return x.Reshaped(s);
}

Result<Tensor> Unsqueeze(const Tensor& x, const std::vector<int64_t>& axes) {
  QP_ASSIGN_OR_RETURN(Shape s, UnsqueezeOutputShape(x.shape(), axes));
  return x.Reshaped(s);
}

Result<Tensor> Pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  const int r = x.rank();
  if (static_cast<int>(pads.size()) != 2 * r)
    return InvalidArgument("Pad: pads has ", pads.size(), " values; expected 2 * rank = ", 2 * r);
  Shape os(r);
  for (int i = 0; i < r; ++i) {
    if (std::abs(pads[i]) > (int64_t{1} << 31) || std::abs(pads[i + r]) > (int64_t{1} << 31))
      return InvalidArgument("Pad: pads for dim ", i, " are out of range");
    os[i] = x.dim(i) + pads[i] + pads[i + r];
    if (os[i] < 0) return InvalidArgument("Pad: dim ", i, " would become ", os[i]);
    if (mode != PadMode::kConstant && x.dim(i) == 0 && os[i] > 0)
      return InvalidArgument("Pad: reflect/edge padding of the empty dim ", i);
  }
  QP_ASSIGN_OR_RETURN(int64_t n, CheckedNumElements(os));
  Tensor y(x.dtype(), os);
  const size_t es = DTypeSize(x.dtype());
  // The fill value in x's dtype, as bytes.
  uint8_t fill[8] = {0};
  switch (x.dtype()) {
    case DType::kFloat32: { float v = static_cast<float>(value); std::memcpy(fill, &v, 4); break; }
    case DType::kInt8: { int8_t v = static_cast<int8_t>(value); std::memcpy(fill, &v, 1); break; }
    case DType::kUInt8: { uint8_t v = static_cast<uint8_t>(value); std::memcpy(fill, &v, 1); break; }
    case DType::kInt32: { int32_t v = static_cast<int32_t>(value); std::memcpy(fill, &v, 4); break; }
    case DType::kInt64: { int64_t v = static_cast<int64_t>(value); std::memcpy(fill, &v, 8); break; }
    case DType::kBool: { fill[0] = value != 0; break; }
  }
  std::vector<int64_t> in_strides(r, 1);
  for (int i = r - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * x.dim(i + 1);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < n; ++o) {
    int64_t off = 0;
    bool inside = true;
    for (int i = 0; i < r && inside; ++i) {
      int64_t j = idx[i] - pads[i];
      const int64_t d = x.dim(i);
      if (j < 0 || j >= d) {
        if (mode == PadMode::kConstant) {
          inside = false;
          break;
        } else if (mode == PadMode::kEdge) {
          j = j < 0 ? 0 : d - 1;
        } else if (d == 1) {
          j = 0;
        } else {
          // Mirror without repeating the edge (numpy 'reflect'), period 2(d-1).
          const int64_t period = 2 * (d - 1);
          j %= period;
          if (j < 0) j += period;
          if (j >= d) j = period - j;
        }
      }
      off += j * in_strides[i];
    }
    std::memcpy(dst + o * es, inside ? src + off * es : fill, es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < os[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

}  // namespace qp::ops
