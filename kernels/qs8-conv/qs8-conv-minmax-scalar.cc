// Scalar reference of the qs8/qc8 convolution: direct loops over the contract in qs8-conv.h.
// The oracle for the wasm SIMD and XNNPACK variants; never optimized.
#include "kernels/qs8-conv/qs8-conv.h"

namespace qp::kernels::scalar {

Status qs8_conv_minmax_create(const QS8ConvParams& params, QS8ConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8ConvParams(params));
  InitQS8ConvOp(params, op);
  const size_t oc = params.groups * params.group_output_channels;
  op->weights.assign(params.weights,
                     params.weights + oc * params.kernel_h * params.kernel_w *
                                          params.group_input_channels);
  op->bias.assign(oc, 0);
  if (params.bias) op->bias.assign(params.bias, params.bias + oc);
  return Status::Ok();
}

Status qs8_conv_minmax_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                           const int8_t* input, int8_t* output) {
  const QS8ConvParams& p = op.params;
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  const size_t gic = p.group_input_channels, goc = p.group_output_channels;
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        for (size_t g = 0; g < p.groups; ++g) {
          for (size_t o = 0; o < goc; ++o) {
            const size_t oc = g * goc + o;
            int64_t sum = op.bias[oc];
            for (size_t ky = 0; ky < p.kernel_h; ++ky) {
              // Signed positions: negative or >= size means padding (contributes 0).
              const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) -
                              static_cast<long>(p.pad_top);
              if (iy < 0 || iy >= static_cast<long>(in_h)) continue;
              for (size_t kx = 0; kx < p.kernel_w; ++kx) {
                const long ix = static_cast<long>(ox * p.stride_w + kx * p.dilation_w) -
                                static_cast<long>(p.pad_left);
                if (ix < 0 || ix >= static_cast<long>(in_w)) continue;
                const int8_t* x = input + ((b * in_h + iy) * in_w + ix) * p.input_pixel_stride +
                                  g * gic;
                const int8_t* w = op.weights.data() + ((oc * p.kernel_h + ky) * p.kernel_w + kx) * gic;
                for (size_t c = 0; c < gic; ++c) {
                  sum += (static_cast<int32_t>(x[c]) - p.input_zero_point) * w[c];
                }
              }
            }
            const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
            output[((b * out_h + oy) * out_w + ox) * p.output_pixel_stride + oc] =
                static_cast<int8_t>(quant::Requantize(acc, op.requant[oc], p.output));
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
