// WebAssembly SIMD128 depthwise convolution: 8 channels per step, (x - za) formed in int16 and
// multiplied with wasm_i32x4_extmul_{low,high}_i16x8, so padded taps are simply skipped as in
// the scalar reference. Channel tails use the scalar arithmetic. Bit-exact with the scalar.
#include <wasm_simd128.h>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

Status qs8_dwconv_minmax_8c_create(const QS8DwConvParams& params, QS8DwConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8DwConvParams(params));
  InitQS8DwConvOp(params, op);
  return Status::Ok();
}

Status qs8_dwconv_minmax_8c_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  const size_t channels = p.channels;
  const size_t taps_max = p.kernel_h * p.kernel_w;
  std::vector<const int8_t*> tap_in(taps_max);
  std::vector<const int8_t*> tap_w(taps_max);
  const Fp32RequantConsts k(p.output);
  const v128_t vzp = wasm_i16x8_splat(static_cast<int16_t>(p.input_zero_point));
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        // The taps inside the image for this output pixel (padding taps contribute 0).
        size_t taps = 0;
        for (size_t ky = 0; ky < p.kernel_h; ++ky) {
          const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) -
                          static_cast<long>(p.pad_top);
          if (iy < 0 || iy >= static_cast<long>(in_h)) continue;
          for (size_t kx = 0; kx < p.kernel_w; ++kx) {
            const long ix = static_cast<long>(ox * p.stride_w + kx * p.dilation_w) -
                            static_cast<long>(p.pad_left);
            if (ix < 0 || ix >= static_cast<long>(in_w)) continue;
            tap_in[taps] = input + ((b * in_h + iy) * in_w + ix) * p.input_pixel_stride;
            tap_w[taps] = op.weights.data() + (ky * p.kernel_w + kx) * channels;
            ++taps;
          }
        }
        int8_t* out = output + ((b * out_h + oy) * out_w + ox) * p.output_pixel_stride;
        size_t c = 0;
        for (; c + 8 <= channels; c += 8) {
          v128_t acc_lo = wasm_v128_load(op.bias.data() + c);
          v128_t acc_hi = wasm_v128_load(op.bias.data() + c + 4);
          for (size_t t = 0; t < taps; ++t) {
            const v128_t x = wasm_i16x8_sub(wasm_i16x8_load8x8(tap_in[t] + c), vzp);
            const v128_t w = wasm_i16x8_load8x8(tap_w[t] + c);
            acc_lo = wasm_i32x4_add(acc_lo, wasm_i32x4_extmul_low_i16x8(x, w));
            acc_hi = wasm_i32x4_add(acc_hi, wasm_i32x4_extmul_high_i16x8(x, w));
          }
          Store8(out + c, Requant4(acc_lo, op.requant.data() + c, p.output, k),
                 Requant4(acc_hi, op.requant.data() + c + 4, p.output, k));
        }
        for (; c < channels; ++c) {
          int32_t acc = op.bias[c];
          for (size_t t = 0; t < taps; ++t) {
            acc += (static_cast<int32_t>(tap_in[t][c]) - p.input_zero_point) * tap_w[t][c];
          }
          out[c] = static_cast<int8_t>(quant::Requantize(acc, op.requant[c], p.output));
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
