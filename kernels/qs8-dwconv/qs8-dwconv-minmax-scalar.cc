// Scalar reference of the depthwise convolution: direct loops over the contract in
// qs8-dwconv.h. The oracle of the wasm SIMD and XNNPACK variants; never optimized.
#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"

namespace qp::kernels::scalar {

Status qs8_dwconv_minmax_create(const QS8DwConvParams& params, QS8DwConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8DwConvParams(params));
  InitQS8DwConvOp(params, op);
  return Status::Ok();
}

Status qs8_dwconv_minmax_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                             const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  QP_ASSIGN_OR_RETURN(size_t out_h, ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h,
                                                   p.stride_h, p.dilation_h, "height"));
  QP_ASSIGN_OR_RETURN(size_t out_w, ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w,
                                                   p.stride_w, p.dilation_w, "width"));
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        for (size_t c = 0; c < p.channels; ++c) {
          int64_t sum = op.bias[c];
          for (size_t ky = 0; ky < p.kernel_h; ++ky) {
            const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) -
                            static_cast<long>(p.pad_top);
            if (iy < 0 || iy >= static_cast<long>(in_h)) continue;
            for (size_t kx = 0; kx < p.kernel_w; ++kx) {
              const long ix = static_cast<long>(ox * p.stride_w + kx * p.dilation_w) -
                              static_cast<long>(p.pad_left);
              if (ix < 0 || ix >= static_cast<long>(in_w)) continue;
              const int32_t x = input[((b * in_h + iy) * in_w + ix) * p.input_pixel_stride + c];
              const int32_t w = op.weights[(ky * p.kernel_w + kx) * p.channels + c];
              sum += (x - p.input_zero_point) * w;
            }
          }
          const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
          output[((b * out_h + oy) * out_w + ox) * p.output_pixel_stride + c] =
              static_cast<int8_t>(quant::Requantize(acc, op.requant[c], p.output));
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
