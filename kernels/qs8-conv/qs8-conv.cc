// qs8/qc8 convolution family: dispatch table from qs8-conv.inc and shared create() validation.
#include "kernels/qs8-conv/qs8-conv.h"

namespace qp::kernels {

const std::vector<QS8ConvVariant>& QS8ConvVariants() {
  static const std::vector<QS8ConvVariant> table = {
#define QP_QS8_CONV_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-conv/qs8-conv.inc"
#undef QP_QS8_CONV_VARIANT
  };
  return table;
}

Status ValidateQS8ConvParams(const QS8ConvParams& p) {
  if (p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 ||
      p.dilation_h == 0 || p.dilation_w == 0) {
    return InvalidArgument("qs8 conv: kernel ", p.kernel_h, "x", p.kernel_w, ", stride ",
                           p.stride_h, "x", p.stride_w, ", dilation ", p.dilation_h, "x",
                           p.dilation_w, "; all must be >= 1");
  }
  if (p.groups == 0 || p.group_input_channels == 0 || p.group_output_channels == 0) {
    return InvalidArgument("qs8 conv: groups ", p.groups, ", gic ", p.group_input_channels,
                           ", goc ", p.group_output_channels, "; all must be >= 1");
  }
  const size_t k = p.kernel_h * p.kernel_w * p.group_input_channels;
  if (k > 65536 || p.kernel_h > 1024 || p.kernel_w > 1024) {
    return OutOfRange("qs8 conv: kernel_h*kernel_w*gic is ", k,
                      "; must be <= 65536 so int32 sums cannot wrap");
  }
  if (p.input_pixel_stride != 0 && p.input_pixel_stride < p.groups * p.group_input_channels) {
    return InvalidArgument("qs8 conv: input pixel stride ", p.input_pixel_stride,
                           " is below groups*gic ", p.groups * p.group_input_channels);
  }
  if (p.output_pixel_stride != 0 && p.output_pixel_stride < p.groups * p.group_output_channels) {
    return InvalidArgument("qs8 conv: output pixel stride ", p.output_pixel_stride,
                           " is below groups*goc ", p.groups * p.group_output_channels);
  }
  if (p.weights == nullptr || p.requant == nullptr) {
    return InvalidArgument("qs8 conv: weights or requant params are null");
  }
  if (p.input_zero_point < -128 || p.input_zero_point > 127) {
    return OutOfRange("qs8 conv: input zero point ", p.input_zero_point, " outside [-128, 127]");
  }
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(p.output.scheme, p.output.zero_point, p.output.qmin,
                                            p.output.qmax)
                         .status()
                         .WithContext("qs8 conv"));
  const size_t channels = p.per_channel ? p.groups * p.group_output_channels : 1;
  for (size_t j = 0; j < channels; ++j) {
    if (p.output.scheme == quant::RequantScheme::kFp32) {
      QP_RETURN_IF_ERROR(quant::CheckFp32Scale(p.requant[j].scale, "qs8 conv requant scale"));
    } else if (p.requant[j].multiplier < (INT32_C(1) << 30) || p.requant[j].shift > 8 ||
               p.requant[j].shift < -31) {
      return OutOfRange("qs8 conv: Q31 channel ", j, " multiplier ", p.requant[j].multiplier,
                        " shift ", p.requant[j].shift,
                        "; need multiplier >= 2^30 and shift in [-31, 8]");
    }
  }
  return Status::Ok();
}

void InitQS8ConvOp(const QS8ConvParams& params, QS8ConvOp* op) {
  const size_t oc = params.groups * params.group_output_channels;
  op->params = params;
  if (!op->params.input_pixel_stride) {
    op->params.input_pixel_stride = params.groups * params.group_input_channels;
  }
  if (!op->params.output_pixel_stride) op->params.output_pixel_stride = oc;
  op->requant.assign(oc, params.requant[0]);
  if (params.per_channel) op->requant.assign(params.requant, params.requant + oc);
  op->params.weights = nullptr;
  op->params.bias = nullptr;
  op->params.requant = nullptr;
  op->weights.clear();
  op->bias.clear();
  op->backend.reset();
  op->scratch.clear();
}

Result<size_t> ConvOutputSize(size_t in, size_t pad_a, size_t pad_b, size_t kernel, size_t stride,
                              size_t dilation, const char* axis) {
  const size_t padded = in + pad_a + pad_b;
  const size_t window = dilation * (kernel - 1) + 1;
  if (in == 0 || padded < window) {
    return InvalidArgument("conv/pool ", axis, ": input ", in, " + padding ", pad_a + pad_b,
                           " is smaller than the dilated window ", window);
  }
  return (padded - window) / stride + 1;
}

}  // namespace qp::kernels
