// XNNPACK adapters of max pooling (xnn_create_max_pooling2d_nhwc_s8) and global average pooling
// (xnn_create_global_average_pooling_nwc_qs8, given the ratio sx/sy as input scale and 1 as output
// scale so its scale ratio / width equals quant::MakeAvgPoolRequant's). Native only.
#include <xnnpack.h>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-pool/qs8-pool.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_maxpool_minmax_create(const QS8MaxPoolParams& params, QS8MaxPoolOp* op) {
  QP_RETURN_IF_ERROR(scalar::qs8_maxpool_minmax_create(params, op));
  QP_RETURN_IF_ERROR(EnsureInitialized());
  const PoolGeometry& g = op->params.geometry;
  const auto u = [](size_t v) { return static_cast<uint32_t>(v); };
  xnn_operator_t xop = nullptr;
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_create_max_pooling2d_nhwc_s8(
          u(g.pad_top), u(g.pad_right), u(g.pad_bottom), u(g.pad_left), u(g.kernel_h),
          u(g.kernel_w), u(g.stride_h), u(g.stride_w), u(g.dilation_h), u(g.dilation_w),
          g.channels, g.input_pixel_stride, g.output_pixel_stride,
          static_cast<int8_t>(params.qmin), static_cast<int8_t>(params.qmax), 0, &xop),
      "xnnpack maxpool create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_maxpool_minmax_run(const QS8MaxPoolOp& op, size_t batch, size_t in_h, size_t in_w,
                              const int8_t* input, int8_t* output) {
  const PoolGeometry& g = op.params.geometry;
  QP_RETURN_IF_ERROR(ConvOutputSize(in_h, g.pad_top, g.pad_bottom, g.kernel_h, g.stride_h,
                                    g.dilation_h, "height").status());
  QP_RETURN_IF_ERROR(ConvOutputSize(in_w, g.pad_left, g.pad_right, g.kernel_w, g.stride_w,
                                    g.dilation_w, "width").status());
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_setup_max_pooling2d_nhwc_s8(xop, batch, in_h, in_w, input, output, nullptr),
      "xnnpack maxpool setup"));
  return RunOperator(xop);
}

Status qs8_gavgpool_minmax_create(const QS8GlobalAvgPoolParams& params, QS8GlobalAvgPoolOp* op) {
  QP_RETURN_IF_ERROR(scalar::qs8_gavgpool_minmax_create(params, op));
  if (params.output.scheme != quant::RequantScheme::kFp32) {
    return Unimplemented("xnnpack global avgpool: scheme ",
                         quant::RequantSchemeName(params.output.scheme), " is not in XNNPACK");
  }
  // XNNPACK derives the scale itself from (ratio, width): only ratio / width in fp32 is reachable.
  const float xnn_scale = params.input_output_ratio / static_cast<float>(params.width);
  if (!(params.input_output_ratio > 0.0f) || xnn_scale != params.requant.scale) {
    return Unimplemented("xnnpack global avgpool: requant scale ", params.requant.scale,
                         " is not input_output_ratio / width (", xnn_scale, ")");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  const QS8GlobalAvgPoolParams& p = op->params;
  xnn_operator_t xop = nullptr;
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_create_global_average_pooling_nwc_qs8(
          p.channels, p.input_pixel_stride, p.channels, static_cast<int8_t>(p.input_zero_point),
          p.input_output_ratio, static_cast<int8_t>(p.output.zero_point), 1.0f,
          static_cast<int8_t>(p.output.qmin), static_cast<int8_t>(p.output.qmax), 0, &xop),
      "xnnpack global avgpool create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_gavgpool_minmax_run(const QS8GlobalAvgPoolOp& op, size_t batch, const int8_t* input,
                               int8_t* output) {
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_setup_global_average_pooling_nwc_qs8(xop, batch, op.params.width, input, output, nullptr),
      "xnnpack global avgpool setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
