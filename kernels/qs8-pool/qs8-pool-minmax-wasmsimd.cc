// WebAssembly SIMD128 pooling: max pooling 16 channels per step (i8x16.max), average and global
// average pooling 8 channels per step (centred int16 inputs summed into i32x4, then the shared
// fp32 requantization). Channel tails use the scalar arithmetic. Bit-exact with the scalar.
#include <wasm_simd128.h>

#include <algorithm>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-pool/qs8-pool.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

namespace {
template <typename Fn>
Status ForEachWindow(const PoolGeometry& g, size_t batch, size_t in_h, size_t in_w,
                     const int8_t* input, int8_t* output, Fn fn) {
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, g.pad_top, g.pad_bottom, g.kernel_h,
                                                   g.stride_h, g.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, g.pad_left, g.pad_right, g.kernel_w,
                                                   g.stride_w, g.dilation_w, "width"));
  std::vector<const int8_t*> taps(g.kernel_h * g.kernel_w);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        size_t count = 0;
        for (size_t ky = 0; ky < g.kernel_h; ++ky) {
          const long iy = static_cast<long>(oy * g.stride_h + ky * g.dilation_h) -
                          static_cast<long>(g.pad_top);
          if (iy < 0 || iy >= static_cast<long>(in_h)) continue;
          for (size_t kx = 0; kx < g.kernel_w; ++kx) {
            const long ix = static_cast<long>(ox * g.stride_w + kx * g.dilation_w) -
                            static_cast<long>(g.pad_left);
            if (ix < 0 || ix >= static_cast<long>(in_w)) continue;
            taps[count++] = input + ((b * in_h + iy) * in_w + ix) * g.input_pixel_stride;
          }
        }
        fn(output + ((b * out_h + oy) * out_w + ox) * g.output_pixel_stride, taps.data(), count);
      }
    }
  }
  return Status::Ok();
}

// Sum over `count` rows of (x - zx) for 8 channels, as two i32x4.
inline void Sum8(const int8_t* const* rows, size_t count, size_t c, v128_t vzp, v128_t* lo,
                 v128_t* hi) {
  v128_t acc_lo = wasm_i32x4_splat(0), acc_hi = wasm_i32x4_splat(0);
  for (size_t t = 0; t < count; ++t) {
    const v128_t x = wasm_i16x8_sub(wasm_i16x8_load8x8(rows[t] + c), vzp);
    acc_lo = wasm_i32x4_add(acc_lo, wasm_i32x4_extend_low_i16x8(x));
    acc_hi = wasm_i32x4_add(acc_hi, wasm_i32x4_extend_high_i16x8(x));
  }
  *lo = acc_lo;
  *hi = acc_hi;
}
}  // namespace

Status qs8_maxpool_minmax_16c_create(const QS8MaxPoolParams& params, QS8MaxPoolOp* op) {
  return scalar::qs8_maxpool_minmax_create(params, op);
}

Status qs8_maxpool_minmax_16c_run(const QS8MaxPoolOp& op, size_t batch, size_t in_h, size_t in_w,
                                  const int8_t* input, int8_t* output) {
  const QS8MaxPoolParams& p = op.params;
  const v128_t vmin = wasm_i8x16_splat(static_cast<int8_t>(p.qmin));
  const v128_t vmax = wasm_i8x16_splat(static_cast<int8_t>(p.qmax));
  return ForEachWindow(p.geometry, batch, in_h, in_w, input, output,
                       [&](int8_t* out, const int8_t* const* taps, size_t count) {
                         const size_t channels = p.geometry.channels;
                         size_t c = 0;
                         for (; c + 16 <= channels; c += 16) {
                           v128_t m = wasm_i8x16_splat(-128);
                           for (size_t t = 0; t < count; ++t) m = wasm_i8x16_max(m, wasm_v128_load(taps[t] + c));
                           wasm_v128_store(out + c, wasm_i8x16_min(wasm_i8x16_max(m, vmin), vmax));
                         }
                         for (; c < channels; ++c) {
                           int32_t m = -128;
                           for (size_t t = 0; t < count; ++t) m = std::max<int32_t>(m, taps[t][c]);
                           out[c] = static_cast<int8_t>(std::min(std::max(m, p.qmin), p.qmax));
                         }
                       });
}

Status qs8_avgpool_minmax_8c_create(const QS8AvgPoolParams& params, QS8AvgPoolOp* op) {
  return InitQS8AvgPoolOp(params, op);
}

Status qs8_avgpool_minmax_8c_run(const QS8AvgPoolOp& op, size_t batch, size_t in_h, size_t in_w,
                                 const int8_t* input, int8_t* output) {
  const QS8AvgPoolParams& p = op.params;
  const size_t full = p.geometry.kernel_h * p.geometry.kernel_w;
  const Fp32RequantConsts k(p.output);
  const v128_t vzp = wasm_i16x8_splat(static_cast<int16_t>(p.input_zero_point));
  return ForEachWindow(p.geometry, batch, in_h, in_w, input, output,
                       [&](int8_t* out, const int8_t* const* taps, size_t count) {
                         const quant::RequantChannel& rq =
                             op.requant_by_count[p.count_include_pad ? full : count];
                         const quant::RequantChannel ch4[4] = {rq, rq, rq, rq};
                         const size_t channels = p.geometry.channels;
                         size_t c = 0;
                         for (; c + 8 <= channels; c += 8) {
                           v128_t lo, hi;
                           Sum8(taps, count, c, vzp, &lo, &hi);
                           Store8(out + c, Requant4(lo, ch4, p.output, k), Requant4(hi, ch4, p.output, k));
                         }
                         for (; c < channels; ++c) {
                           int32_t acc = 0;
                           for (size_t t = 0; t < count; ++t) acc += taps[t][c] - p.input_zero_point;
                           out[c] = static_cast<int8_t>(quant::Requantize(acc, rq, p.output));
                         }
                       });
}

Status qs8_gavgpool_minmax_8c_create(const QS8GlobalAvgPoolParams& params, QS8GlobalAvgPoolOp* op) {
  return scalar::qs8_gavgpool_minmax_create(params, op);
}

Status qs8_gavgpool_minmax_8c_run(const QS8GlobalAvgPoolOp& op, size_t batch, const int8_t* input,
                                  int8_t* output) {
  const QS8GlobalAvgPoolParams& p = op.params;
  const Fp32RequantConsts k(p.output);
  const quant::RequantChannel ch4[4] = {p.requant, p.requant, p.requant, p.requant};
  const v128_t vzp = wasm_i16x8_splat(static_cast<int16_t>(p.input_zero_point));
  for (size_t b = 0; b < batch; ++b) {
    const int8_t* image = input + b * p.width * p.input_pixel_stride;
    int8_t* out = output + b * p.channels;
    size_t c = 0;
    for (; c + 8 <= p.channels; c += 8) {
      v128_t lo = wasm_i32x4_splat(0), hi = wasm_i32x4_splat(0);
      for (size_t i = 0; i < p.width; ++i) {
        const v128_t x = wasm_i16x8_sub(wasm_i16x8_load8x8(image + i * p.input_pixel_stride + c), vzp);
        lo = wasm_i32x4_add(lo, wasm_i32x4_extend_low_i16x8(x));
        hi = wasm_i32x4_add(hi, wasm_i32x4_extend_high_i16x8(x));
      }
      Store8(out + c, Requant4(lo, ch4, p.output, k), Requant4(hi, ch4, p.output, k));
    }
    for (; c < p.channels; ++c) {
      int32_t acc = 0;
      for (size_t i = 0; i < p.width; ++i) acc += image[i * p.input_pixel_stride + c] - p.input_zero_point;
      out[c] = static_cast<int8_t>(quant::Requantize(acc, p.requant, p.output));
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
