// WebAssembly SIMD128 depthwise convolution, 8 channels per step, taps taken in pairs ("8c2").
//
// As in XNNPACK's qs8-dwconv kernels, every output pixel runs all kernel taps unconditionally:
// a tap outside the image points at a row filled with the input zero point, and the bias is
// folded at create time to bias - za * sum_taps w (mod 2^32), so sum_taps x * w + folded bias
// equals the reference bias + sum_(taps inside) (x - za) * w exactly (int32 arithmetic mod 2^32).
// Instead of XNNPACK's i16x8.mul + widening adds, two taps are interleaved per channel
// ([x_t0 c, x_t1 c] pairs, one i16x8 unpack) and multiplied with i32x4.dot_i16x8_s against weights
// packed the same way (int16, odd tap counts padded with a zero-weight tap): one dot gives 4
// channels x 2 taps. Channel tails (channels % 8) use the scalar arithmetic. Bit-exact with the
// scalar reference.
//
// Two loop orders over the same packing: 8c2 (output pixel outside, channel blocks inside, one
// tap table per pixel) and 8c2r (3x3 / 5x5, fp32: one output row at a time, channel block
// outside, the row's interior pixels inside with tap addresses from kK row pointers; measured
// 4-8% faster in Chromium, see kernels/README.md). Keeping a 3x3 block's 10 weight vectors in
// locals across the row measured no faster (V8 spills them), so they are loaded per pixel.
#include <wasm_simd128.h>

#include <algorithm>
#include <memory>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

namespace {

// Packed state kept in QS8DwConvOp::backend.
struct DwPacked {
  size_t pairs = 0;             // ceil(taps / 2)
  std::vector<int16_t> w;       // [channels / 8][pairs][2 halves][4 channels x 2 taps]
  std::vector<int32_t> bias;    // [channels]: bias - za * sum_taps w
  std::vector<int8_t> zero_row; // [channels] of the input zero point
  std::vector<float> scales;    // [channels] fp32 requantization scales, contiguous
};

// 8 channels of one output pixel over `pairs` tap pairs; taps[] has 2 * pairs pointers (already
// offset to channel c). Returns the two int32x4 sums.
template <size_t kPairs>
inline void Dot8(size_t pairs_rt, const int8_t* const* taps, size_t c, const int16_t* w,
                 v128_t* lo, v128_t* hi) {
  const size_t pairs = kPairs ? kPairs : pairs_rt;
  v128_t acc_lo = *lo, acc_hi = *hi;
  for (size_t q = 0; q < pairs; ++q) {
    const v128_t x0 = wasm_i16x8_load8x8(taps[2 * q] + c);
    const v128_t x1 = wasm_i16x8_load8x8(taps[2 * q + 1] + c);
    const v128_t xl = wasm_i16x8_shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11);
    const v128_t xh = wasm_i16x8_shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
    acc_lo = wasm_i32x4_add(acc_lo, wasm_i32x4_dot_i16x8(xl, wasm_v128_load(w + q * 16)));
    acc_hi = wasm_i32x4_add(acc_hi, wasm_i32x4_dot_i16x8(xh, wasm_v128_load(w + q * 16 + 8)));
  }
  *lo = acc_lo;
  *hi = acc_hi;
}

// kK: 3 or 5 for a square kernel known at compile time (fully unrolled, tap pointers kept in
// registers), 0 for any other size.
template <size_t kK, bool kFp32>
void RunRows(const QS8DwConvOp& op, const DwPacked& pk, size_t batch, size_t in_h, size_t in_w,
             size_t out_h, size_t out_w, const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  constexpr size_t kPairs = (kK * kK + 1) / 2;
  const size_t channels = p.channels, kh = kK ? kK : p.kernel_h, kw = kK ? kK : p.kernel_w;
  const size_t taps_real = kh * kw;
  const size_t pairs = pk.pairs;
  const size_t c8 = channels / 8 * 8;
  const size_t in_stride = p.input_pixel_stride, out_stride = p.output_pixel_stride;
  const long sw = static_cast<long>(p.stride_w), dw = static_cast<long>(p.dilation_w);
  const long pad_left = static_cast<long>(p.pad_left);
  // Locals, so the int8 stores below cannot force reloads through op / pk.
  const int16_t* const weights = pk.w.data();
  const int32_t* const bias = pk.bias.data();
  const float* const scales = pk.scales.data();
  const quant::RequantChannel* const requant = op.requant.data();
  const int8_t* const zero = pk.zero_row.data();
  const quant::OutputQuant out_q = p.output;
  std::vector<const int8_t*> tap_storage(kK ? 0 : 2 * pairs);
  std::vector<const int8_t*> rows(kh);
  const Fp32RequantConsts k(out_q);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      // Input rows of this output row (nullptr above / below the image).
      for (size_t ky = 0; ky < kh; ++ky) {
        const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) -
                        static_cast<long>(p.pad_top);
        rows[ky] = iy >= 0 && iy < static_cast<long>(in_h)
                       ? input + (b * in_h + static_cast<size_t>(iy)) * in_w * in_stride
                       : nullptr;
      }
      int8_t* out = output + (b * out_h + oy) * out_w * out_stride;
      for (size_t ox = 0; ox < out_w; ++ox, out += out_stride) {
        const long ix0 = static_cast<long>(ox) * sw - pad_left;
        const int8_t* tap_fixed[2 * (kK ? kPairs : 1)];  // constant indices only: registers
        const int8_t** taps = tap_storage.data();
        if constexpr (kK != 0) taps = tap_fixed;
        size_t t = 0;
        for (size_t ky = 0; ky < kh; ++ky) {
          for (size_t kx = 0; kx < kw; ++kx, ++t) {
            const long ix = ix0 + static_cast<long>(kx) * dw;
            taps[t] = rows[ky] != nullptr && ix >= 0 && ix < static_cast<long>(in_w)
                          ? rows[ky] + static_cast<size_t>(ix) * in_stride
                          : zero;
          }
        }
        for (; t < 2 * pairs; ++t) taps[t] = zero;  // zero-weight pad tap
        const int16_t* w = weights;
        for (size_t c = 0; c < c8; c += 8, w += pairs * 16) {
          v128_t lo = wasm_v128_load(bias + c);
          v128_t hi = wasm_v128_load(bias + c + 4);
          Dot8<kPairs>(pairs, taps, c, w, &lo, &hi);
          if (kFp32) {
            Store8(out + c, RequantFp32x4(lo, wasm_v128_load(scales + c), k),
                   RequantFp32x4(hi, wasm_v128_load(scales + c + 4), k));
          } else {
            Store8(out + c, Requant4(lo, requant + c, out_q, k),
                   Requant4(hi, requant + c + 4, out_q, k));
          }
        }
        for (size_t c = c8; c < channels; ++c) {
          int32_t acc = bias[c];
          for (size_t tt = 0; tt < taps_real; ++tt) {
            acc = static_cast<int32_t>(static_cast<uint32_t>(acc) +
                                       static_cast<uint32_t>(taps[tt][c] * op.weights[tt * channels + c]));
          }
          out[c] = static_cast<int8_t>(quant::Requantize(acc, requant[c], out_q));
        }
      }
    }
  }
}

// Channel-block-outer form for kK x kK kernels (3, 5) and the fp32 scheme: for one output row and
// one block of 8 channels, the packed weights, folded bias and scales are loaded once and every
// interior output pixel (all taps inside the image horizontally) runs with tap addresses formed
// from kK row pointers; rows above / below the image point at a full row of the input zero point,
// so only the left and right border pixels take the per-pixel tap table of RunRows.
template <size_t kK>
void RunRowsBlockOuter(const QS8DwConvOp& op, const DwPacked& pk, size_t batch, size_t in_h, size_t in_w,
                       size_t out_h, size_t out_w, const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  constexpr size_t kTaps = kK * kK, kPairs = (kTaps + 1) / 2;
  const size_t channels = p.channels, c8 = channels / 8 * 8;
  const size_t S = p.input_pixel_stride, out_stride = p.output_pixel_stride;
  const size_t sw = p.stride_w, dS = p.dilation_w * S;
  const int16_t* const weights = pk.w.data();
  const int32_t* const bias = pk.bias.data();
  const float* const scales = pk.scales.data();
  const quant::RequantChannel* const requant = op.requant.data();
  const int8_t* const zero = pk.zero_row.data();
  const quant::OutputQuant out_q = p.output;
  const Fp32RequantConsts k(out_q);
  const std::vector<int8_t> zero_image_row(in_w * S, static_cast<int8_t>(p.input_zero_point));
  // Interior columns: ox * sw - pad_left >= 0 and ox * sw - pad_left + (kK - 1) * dw < in_w.
  const size_t span = (kK - 1) * p.dilation_w;
  size_t ox_lo = (p.pad_left + sw - 1) / sw;
  size_t ox_hi = in_w + p.pad_left >= span + 1 ? (in_w + p.pad_left - span - 1) / sw + 1 : 0;
  ox_hi = std::min(ox_hi, out_w);
  ox_lo = std::min(ox_lo, ox_hi);
  const int8_t* rows[kK];
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ky = 0; ky < kK; ++ky) {
        const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) - static_cast<long>(p.pad_top);
        rows[ky] = iy >= 0 && iy < static_cast<long>(in_h)
                       ? input + (b * in_h + static_cast<size_t>(iy)) * in_w * S
                       : zero_image_row.data();
      }
      int8_t* const out_row = output + (b * out_h + oy) * out_w * out_stride;
      // Border pixels: the per-pixel tap table.
      auto border = [&](size_t ox) {
        const int8_t* taps[2 * kPairs];
        const long ix0 = static_cast<long>(ox * sw) - static_cast<long>(p.pad_left);
        for (size_t t = 0; t < kTaps; ++t) {
          const long ix = ix0 + static_cast<long>((t % kK) * p.dilation_w);
          taps[t] = ix >= 0 && ix < static_cast<long>(in_w) ? rows[t / kK] + static_cast<size_t>(ix) * S : zero;
        }
        for (size_t t = kTaps; t < 2 * kPairs; ++t) taps[t] = zero;
        int8_t* out = out_row + ox * out_stride;
        const int16_t* w = weights;
        for (size_t c = 0; c < c8; c += 8, w += kPairs * 16) {
          v128_t lo = wasm_v128_load(bias + c), hi = wasm_v128_load(bias + c + 4);
          Dot8<kPairs>(kPairs, taps, c, w, &lo, &hi);
          Store8(out + c, RequantFp32x4(lo, wasm_v128_load(scales + c), k),
                 RequantFp32x4(hi, wasm_v128_load(scales + c + 4), k));
        }
        for (size_t c = c8; c < channels; ++c) {
          int32_t acc = bias[c];
          for (size_t t = 0; t < kTaps; ++t) {
            acc = static_cast<int32_t>(static_cast<uint32_t>(acc) +
                                       static_cast<uint32_t>(taps[t][c] * op.weights[t * channels + c]));
          }
          out[c] = static_cast<int8_t>(quant::Requantize(acc, requant[c], out_q));
        }
      };
      for (size_t ox = 0; ox < ox_lo; ++ox) border(ox);
      for (size_t ox = ox_hi; ox < out_w; ++ox) border(ox);
      if (ox_lo == ox_hi) continue;
      const size_t base0 = (ox_lo * sw - p.pad_left) * S;
      const size_t step = sw * S;
      const int16_t* wb = weights;
      for (size_t c = 0; c < c8; c += 8, wb += kPairs * 16) {
        const v128_t b_lo = wasm_v128_load(bias + c), b_hi = wasm_v128_load(bias + c + 4);
        const v128_t s_lo = wasm_v128_load(scales + c), s_hi = wasm_v128_load(scales + c + 4);
        const int8_t* r[kK];
        for (size_t ky = 0; ky < kK; ++ky) r[ky] = rows[ky] + base0 + c;
        int8_t* out = out_row + ox_lo * out_stride + c;
        for (size_t ox = ox_lo; ox < ox_hi; ++ox, out += out_stride) {
          v128_t lo = b_lo, hi = b_hi;
#pragma clang loop unroll(full)
          for (size_t q = 0; q < kPairs; ++q) {
            const size_t t0 = 2 * q, t1 = 2 * q + 1;
            const v128_t x0 = wasm_i16x8_load8x8(r[t0 / kK] + (t0 % kK) * dS);
            const v128_t x1 = t1 < kTaps ? wasm_i16x8_load8x8(r[t1 / kK] + (t1 % kK) * dS) : wasm_i16x8_splat(0);
            const v128_t xl = wasm_i16x8_shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11);
            const v128_t xh = wasm_i16x8_shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15);
            lo = wasm_i32x4_add(lo, wasm_i32x4_dot_i16x8(xl, wasm_v128_load(wb + q * 16)));
            hi = wasm_i32x4_add(hi, wasm_i32x4_dot_i16x8(xh, wasm_v128_load(wb + q * 16 + 8)));
          }
          Store8(out, RequantFp32x4(lo, s_lo, k), RequantFp32x4(hi, s_hi, k));
          for (size_t ky = 0; ky < kK; ++ky) r[ky] += step;
        }
      }
      // Channel tail of the interior pixels: the scalar arithmetic.
      for (size_t ox = ox_lo; ox < ox_hi && c8 < channels; ++ox) {
        const size_t base = (ox * sw - p.pad_left) * S;
        int8_t* out = out_row + ox * out_stride;
        for (size_t c = c8; c < channels; ++c) {
          int32_t acc = bias[c];
          for (size_t t = 0; t < kTaps; ++t) {
            const int8_t x = rows[t / kK][base + (t % kK) * dS + c];
            acc = static_cast<int32_t>(static_cast<uint32_t>(acc) +
                                       static_cast<uint32_t>(x * op.weights[t * channels + c]));
          }
          out[c] = static_cast<int8_t>(quant::Requantize(acc, requant[c], out_q));
        }
      }
    }
  }
}

}  // namespace

Status qs8_dwconv_minmax_8c2_create(const QS8DwConvParams& params, QS8DwConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8DwConvParams(params));
  InitQS8DwConvOp(params, op);
  const size_t channels = params.channels, taps = params.kernel_h * params.kernel_w;
  auto pk = std::make_shared<DwPacked>();
  pk->pairs = (taps + 1) / 2;
  pk->w.assign(channels / 8 * pk->pairs * 16, 0);
  for (size_t cb = 0; cb < channels / 8; ++cb) {
    for (size_t q = 0; q < pk->pairs; ++q) {
      int16_t* dst = pk->w.data() + (cb * pk->pairs + q) * 16;
      for (size_t cc = 0; cc < 8; ++cc) {
        for (size_t h = 0; h < 2; ++h) {
          const size_t t = 2 * q + h, c = cb * 8 + cc;
          dst[(cc / 4) * 8 + (cc % 4) * 2 + h] =
              t < taps ? op->weights[t * channels + c] : int16_t{0};
        }
      }
    }
  }
  pk->bias.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    uint32_t wsum = 0;
    for (size_t t = 0; t < taps; ++t) wsum += static_cast<uint32_t>(op->weights[t * channels + c]);
    pk->bias[c] = static_cast<int32_t>(static_cast<uint32_t>(op->bias[c]) -
                                       static_cast<uint32_t>(params.input_zero_point) * wsum);
  }
  pk->zero_row.assign(channels, static_cast<int8_t>(params.input_zero_point));
  pk->scales.resize(channels);
  for (size_t c = 0; c < channels; ++c) pk->scales[c] = op->requant[c].scale;
  op->backend = pk;
  return Status::Ok();
}

Status qs8_dwconv_minmax_8c2_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                 const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  const auto& pk = *static_cast<const DwPacked*>(op.backend.get());
  const bool fp32 = p.output.scheme == quant::RequantScheme::kFp32;
  auto go = [&](auto fn) { fn(op, pk, batch, in_h, in_w, out_h, out_w, input, output); };
  const size_t kh = p.kernel_h, kw = p.kernel_w;
  if (kh == 3 && kw == 3) {
    fp32 ? go(RunRows<3, true>) : go(RunRows<3, false>);
  } else if (kh == 5 && kw == 5) {
    fp32 ? go(RunRows<5, true>) : go(RunRows<5, false>);
  } else {
    fp32 ? go(RunRows<0, true>) : go(RunRows<0, false>);
  }
  return Status::Ok();
}

Status qs8_dwconv_minmax_8c2r_create(const QS8DwConvParams& params, QS8DwConvOp* op) {
  return qs8_dwconv_minmax_8c2_create(params, op);
}

Status qs8_dwconv_minmax_8c2r_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                  const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  const bool fp32 = p.output.scheme == quant::RequantScheme::kFp32;
  const size_t kh = p.kernel_h, kw = p.kernel_w;
  if (!fp32 || kh != kw || (kh != 3 && kh != 5)) return qs8_dwconv_minmax_8c2_run(op, batch, in_h, in_w, input, output);
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  const auto& pk = *static_cast<const DwPacked*>(op.backend.get());
  if (kh == 3) {
    RunRowsBlockOuter<3>(op, pk, batch, in_h, in_w, out_h, out_w, input, output);
  } else {
    RunRowsBlockOuter<5>(op, pk, batch, in_h, in_w, out_h, out_w, input, output);
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
