// XNNPACK adapter of the depthwise convolution (native): a grouped convolution with
// XNN_FLAG_DEPTHWISE_CONVOLUTION so XNNPACK reads our [kh][kw][C] weights as they are.
// Our precomputed scale goes in as the kernel scale with unit input/output scales (bit-exact).
#include <xnnpack.h>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_dwconv_minmax_create(const QS8DwConvParams& params, QS8DwConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8DwConvParams(params));
  if (params.output.scheme != quant::RequantScheme::kFp32) {
    return Unimplemented("xnnpack depthwise conv: scheme ",
                         quant::RequantSchemeName(params.output.scheme), " is not in XNNPACK");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  InitQS8DwConvOp(params, op);
  const QS8DwConvParams& p = op->params;
  const auto u = [](size_t v) { return static_cast<uint32_t>(v); };
  xnn_operator_t xop = nullptr;
  xnn_status s;
  if (p.per_channel) {
    std::vector<float> scales(p.channels);
    for (size_t c = 0; c < p.channels; ++c) scales[c] = op->requant[c].scale;
    s = xnn_create_convolution2d_nhwc_qc8(
        u(p.pad_top), u(p.pad_right), u(p.pad_bottom), u(p.pad_left), u(p.kernel_h),
        u(p.kernel_w), u(p.stride_h), u(p.stride_w), u(p.dilation_h), u(p.dilation_w),
        u(p.channels), 1, 1, p.input_pixel_stride, p.output_pixel_stride,
        static_cast<int8_t>(p.input_zero_point), 1.0f, scales.data(), op->weights.data(),
        op->bias.data(), static_cast<int8_t>(p.output.zero_point), 1.0f,
        static_cast<int8_t>(p.output.qmin), static_cast<int8_t>(p.output.qmax),
        XNN_FLAG_DEPTHWISE_CONVOLUTION, &xop);
  } else {
    s = xnn_create_convolution2d_nhwc_qs8(
        u(p.pad_top), u(p.pad_right), u(p.pad_bottom), u(p.pad_left), u(p.kernel_h),
        u(p.kernel_w), u(p.stride_h), u(p.stride_w), u(p.dilation_h), u(p.dilation_w),
        u(p.channels), 1, 1, p.input_pixel_stride, p.output_pixel_stride,
        static_cast<int8_t>(p.input_zero_point), 1.0f, op->requant[0].scale, op->weights.data(),
        op->bias.data(), static_cast<int8_t>(p.output.zero_point), 1.0f,
        static_cast<int8_t>(p.output.qmin), static_cast<int8_t>(p.output.qmax),
        XNN_FLAG_DEPTHWISE_CONVOLUTION, &xop);
  }
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack depthwise conv create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_dwconv_minmax_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                             const int8_t* input, int8_t* output) {
  const QS8DwConvParams& p = op.params;
  // Same size errors as the reference (XNNPACK would otherwise fail or read garbage).
  QP_RETURN_IF_ERROR(ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h, p.stride_h,
                                    p.dilation_h, "height").status());
  QP_RETURN_IF_ERROR(ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w, p.stride_w,
                                    p.dilation_w, "width").status());
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  const xnn_status s =
      op.params.per_channel
          ? xnn_setup_convolution2d_nhwc_qc8(xop, batch, in_h, in_w, input, output, nullptr)
          : xnn_setup_convolution2d_nhwc_qs8(xop, batch, in_h, in_w, input, output, nullptr);
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack depthwise conv setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
