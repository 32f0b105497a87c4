// Depthwise convolution family: dispatch table from qs8-dwconv.inc and shared validation.
#include "kernels/qs8-dwconv/qs8-dwconv.h"

#include "kernels/qs8-conv/qs8-conv.h"

namespace qp::kernels {

const std::vector<QS8DwConvVariant>& QS8DwConvVariants() {
  static const std::vector<QS8DwConvVariant> table = {
#define QP_QS8_DWCONV_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-dwconv/qs8-dwconv.inc"
#undef QP_QS8_DWCONV_VARIANT
  };
  return table;
}

// The same rules as a convolution with groups == channels and one channel per group.
Status ValidateQS8DwConvParams(const QS8DwConvParams& p) {
  QS8ConvParams c;
  c.kernel_h = p.kernel_h;
  c.kernel_w = p.kernel_w;
  c.stride_h = p.stride_h;
  c.stride_w = p.stride_w;
  c.dilation_h = p.dilation_h;
  c.dilation_w = p.dilation_w;
  c.groups = p.channels;
  c.group_input_channels = 1;
  c.group_output_channels = 1;
  c.input_pixel_stride = p.input_pixel_stride;
  c.output_pixel_stride = p.output_pixel_stride;
  c.weights = p.weights;
  c.input_zero_point = p.input_zero_point;
  c.requant = p.requant;
  c.per_channel = p.per_channel;
  c.output = p.output;
  return ValidateQS8ConvParams(c).WithContext("depthwise");
}

void InitQS8DwConvOp(const QS8DwConvParams& params, QS8DwConvOp* op) {
  const size_t c = params.channels;
  op->params = params;
  if (!op->params.input_pixel_stride) op->params.input_pixel_stride = c;
  if (!op->params.output_pixel_stride) op->params.output_pixel_stride = c;
  op->weights.assign(params.weights, params.weights + params.kernel_h * params.kernel_w * c);
  op->bias.assign(c, 0);
  if (params.bias) op->bias.assign(params.bias, params.bias + c);
  op->requant.assign(c, params.requant[0]);
  if (params.per_channel) op->requant.assign(params.requant, params.requant + c);
  op->params.weights = nullptr;
  op->params.bias = nullptr;
  op->params.requant = nullptr;
  op->backend.reset();
}

}  // namespace qp::kernels
