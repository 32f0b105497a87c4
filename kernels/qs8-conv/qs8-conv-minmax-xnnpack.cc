// XNNPACK adapter of the qs8/qc8 convolution (native): xnn_create_convolution2d_nhwc_qs8/qc8
// with our weights ([groups*goc][kh][kw][gic], XNNPACK's own layout) and our precomputed scale
// as the kernel scale with unit input/output scales, so XNNPACK's arithmetic is bit-exact.
#include <xnnpack.h>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_conv_minmax_create(const QS8ConvParams& params, QS8ConvOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8ConvParams(params));
  if (params.output.scheme != quant::RequantScheme::kFp32) {
    return Unimplemented("xnnpack conv: scheme ", quant::RequantSchemeName(params.output.scheme),
                         " is not in XNNPACK (fp32 only)");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  InitQS8ConvOp(params, op);
  const QS8ConvParams& p = op->params;
  const auto u = [](size_t v) { return static_cast<uint32_t>(v); };
  xnn_operator_t xop = nullptr;
  xnn_status s;
  if (p.per_channel) {
    std::vector<float> scales(op->requant.size());
    for (size_t c = 0; c < scales.size(); ++c) scales[c] = op->requant[c].scale;
    s = xnn_create_convolution2d_nhwc_qc8(
        u(p.pad_top), u(p.pad_right), u(p.pad_bottom), u(p.pad_left), u(p.kernel_h),
        u(p.kernel_w), u(p.stride_h), u(p.stride_w), u(p.dilation_h), u(p.dilation_w),
        u(p.groups), p.group_input_channels, p.group_output_channels, p.input_pixel_stride,
        p.output_pixel_stride, static_cast<int8_t>(p.input_zero_point), 1.0f, scales.data(),
        params.weights, params.bias, static_cast<int8_t>(p.output.zero_point), 1.0f,
        static_cast<int8_t>(p.output.qmin), static_cast<int8_t>(p.output.qmax), 0, &xop);
  } else {
    s = xnn_create_convolution2d_nhwc_qs8(
        u(p.pad_top), u(p.pad_right), u(p.pad_bottom), u(p.pad_left), u(p.kernel_h),
        u(p.kernel_w), u(p.stride_h), u(p.stride_w), u(p.dilation_h), u(p.dilation_w),
        u(p.groups), p.group_input_channels, p.group_output_channels, p.input_pixel_stride,
        p.output_pixel_stride, static_cast<int8_t>(p.input_zero_point), 1.0f,
        op->requant[0].scale, params.weights, params.bias,
        static_cast<int8_t>(p.output.zero_point), 1.0f, static_cast<int8_t>(p.output.qmin),
        static_cast<int8_t>(p.output.qmax), 0, &xop);
  }
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack conv create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_conv_minmax_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                           const int8_t* input, int8_t* output) {
  const QS8ConvParams& p = op.params;
  QP_RETURN_IF_ERROR(ConvOutputSize(in_h, p.pad_top, p.pad_bottom, p.kernel_h, p.stride_h,
                                    p.dilation_h, "height").status());
  QP_RETURN_IF_ERROR(ConvOutputSize(in_w, p.pad_left, p.pad_right, p.kernel_w, p.stride_w,
                                    p.dilation_w, "width").status());
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  const xnn_status s =
      p.per_channel
          ? xnn_setup_convolution2d_nhwc_qc8(xop, batch, in_h, in_w, input, output, nullptr)
          : xnn_setup_convolution2d_nhwc_qs8(xop, batch, in_h, in_w, input, output, nullptr);
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack conv setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
