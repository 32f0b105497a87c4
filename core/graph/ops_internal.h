// Helpers shared by the float and the integer reference ops (ops.cc, ops_quant.cc): axis
// normalization, Conv and MatMul planning (shape checks before any allocation) and im2col.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph/ops.h"

namespace qp::ops::internal {

// Cap on scratch buffers (im2col): 256 Mi elements, so a hostile geometry errors out instead of
// exhausting the wasm heap.
inline constexpr int64_t kMaxWorkspaceElements = int64_t{1} << 28;

// axis in [-rank, rank-1] -> [0, rank-1]; rank 0 accepts axis 0 or -1.
inline Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* op) {
  const int64_t r = rank == 0 ? 1 : rank;
  if (axis < -r || axis >= r)
    return OutOfRange(op, " axis ", axis, " outside [", -r, ", ", r - 1, "] for rank ", rank);
  return axis < 0 ? axis + r : axis;
}

struct ConvPlan {
  int64_t n = 0, c = 0, m = 0, group = 1, cg = 0, mg = 0, kdim = 0;
  WindowGeometry geo;
  Shape out_shape;
  bool direct = false;  // 1x1, stride 1, no pad: X itself is the im2col matrix
};
Result<ConvPlan> PlanConv(const Tensor& x, const Tensor& w, const ConvAttrs& attrs);

// Unrolls one group's channels: col[(c * K + k) * P + p] = x at window k of output p, or `pad`
// outside the input. P = geo.out_size(), K = geo.kernel_size().
template <typename T>
void Im2Col(const T* x, int64_t channels, const WindowGeometry& g, T pad, T* col) {
  const int64_t in_size = g.in_size();
  T* dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * in_size;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw)
          for (int64_t od = 0; od < g.out[0]; ++od) {
            const int64_t id = od * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                for (int64_t ow = 0; ow < g.out[2]; ++ow) *dst++ = pad;
                continue;
              }
              const T* row = xc + (id * g.in[1] + ih) * g.in[2];
              const int64_t iw0 = -g.pad_begin[2] + kw * g.dilation[2];
              const int64_t sw = g.stride[2];
              for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                const int64_t iw = iw0 + ow * sw;
                *dst++ = (iw >= 0 && iw < g.in[2]) ? row[iw] : pad;
              }
            }
          }
  }
}

struct MatMulPlan {
  int64_t m = 0, n = 0, k = 0, batch_count = 1;
  Shape batch, out_shape;
  std::vector<int64_t> a_batch_strides, b_batch_strides;
  // Element offsets of batch `bi`'s A and B matrices.
  void Offsets(int64_t bi, int64_t* ao, int64_t* bo) const;
};
Result<MatMulPlan> PlanMatMul(const Shape& a, const Shape& b);

}  // namespace qp::ops::internal
