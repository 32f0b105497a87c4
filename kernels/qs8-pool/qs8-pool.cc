// Pooling families: dispatch tables from the three .inc lists and shared validation.
#include "kernels/qs8-pool/qs8-pool.h"

namespace qp::kernels {

#define QP_VARIANT_ROW(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},

const std::vector<QS8MaxPoolVariant>& QS8MaxPoolVariants() {
  static const std::vector<QS8MaxPoolVariant> table = {
#define QP_QS8_MAXPOOL_VARIANT QP_VARIANT_ROW
#include "kernels/qs8-pool/qs8-maxpool.inc"
#undef QP_QS8_MAXPOOL_VARIANT
  };
  return table;
}

const std::vector<QS8AvgPoolVariant>& QS8AvgPoolVariants() {
  static const std::vector<QS8AvgPoolVariant> table = {
#define QP_QS8_AVGPOOL_VARIANT QP_VARIANT_ROW
#include "kernels/qs8-pool/qs8-avgpool.inc"
#undef QP_QS8_AVGPOOL_VARIANT
  };
  return table;
}

const std::vector<QS8GlobalAvgPoolVariant>& QS8GlobalAvgPoolVariants() {
  static const std::vector<QS8GlobalAvgPoolVariant> table = {
#define QP_QS8_GAVGPOOL_VARIANT QP_VARIANT_ROW
#include "kernels/qs8-pool/qs8-gavgpool.inc"
#undef QP_QS8_GAVGPOOL_VARIANT
  };
  return table;
}
#undef QP_VARIANT_ROW

Status ValidatePoolGeometry(const PoolGeometry& g, const char* op) {
  if (g.channels == 0 || g.kernel_h == 0 || g.kernel_w == 0 || g.stride_h == 0 ||
      g.stride_w == 0 || g.dilation_h == 0 || g.dilation_w == 0) {
    return InvalidArgument(op, ": channels ", g.channels, ", kernel ", g.kernel_h, "x", g.kernel_w,
                           ", stride ", g.stride_h, "x", g.stride_w, ", dilation ", g.dilation_h,
                           "x", g.dilation_w, "; all must be >= 1");
  }
  if (g.kernel_h * g.kernel_w > 65536) {
    return OutOfRange(op, ": window ", g.kernel_h, "x", g.kernel_w, " exceeds 65536 taps");
  }
  if (g.pad_top >= g.kernel_h * g.dilation_h || g.pad_bottom >= g.kernel_h * g.dilation_h ||
      g.pad_left >= g.kernel_w * g.dilation_w || g.pad_right >= g.kernel_w * g.dilation_w) {
    return InvalidArgument(op, ": padding ", g.pad_top, ",", g.pad_left, ",", g.pad_bottom, ",",
                           g.pad_right, " must be smaller than the window (",
                           g.kernel_h, "x", g.kernel_w, ") so no window is all padding");
  }
  if ((g.input_pixel_stride && g.input_pixel_stride < g.channels) ||
      (g.output_pixel_stride && g.output_pixel_stride < g.channels)) {
    return InvalidArgument(op, ": pixel strides ", g.input_pixel_stride, "/",
                           g.output_pixel_stride, " are below channels ", g.channels);
  }
  return Status::Ok();
}

void ResolvePoolStrides(PoolGeometry* g) {
  if (!g->input_pixel_stride) g->input_pixel_stride = g->channels;
  if (!g->output_pixel_stride) g->output_pixel_stride = g->channels;
}

Status InitQS8AvgPoolOp(const QS8AvgPoolParams& params, QS8AvgPoolOp* op) {
  QP_RETURN_IF_ERROR(ValidatePoolGeometry(params.geometry, "qs8 avgpool"));
  if (params.input_zero_point < -128 || params.input_zero_point > 127) {
    return OutOfRange("qs8 avgpool: input zero point ", params.input_zero_point,
                      " outside [-128, 127]");
  }
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(params.output.scheme, params.output.zero_point,
                                            params.output.qmin, params.output.qmax)
                         .status()
                         .WithContext("qs8 avgpool"));
  op->params = params;
  ResolvePoolStrides(&op->params.geometry);
  const size_t taps = params.geometry.kernel_h * params.geometry.kernel_w;
  op->requant_by_count.assign(taps + 1, quant::RequantChannel{});
  for (size_t count = 1; count <= taps; ++count) {
    QP_ASSIGN_OR_RETURN(op->requant_by_count[count],
                        quant::MakeAvgPoolRequant(params.input_scale, params.output_scale, count));
  }
  return Status::Ok();
}

Status ValidateQS8GlobalAvgPoolParams(const QS8GlobalAvgPoolParams& p) {
  if (p.channels == 0 || p.width == 0) {
    return InvalidArgument("qs8 global avgpool: channels ", p.channels, ", width ", p.width,
                           "; both must be >= 1");
  }
  if (p.input_pixel_stride && p.input_pixel_stride < p.channels) {
    return InvalidArgument("qs8 global avgpool: pixel stride ", p.input_pixel_stride,
                           " below channels ", p.channels);
  }
  if (p.width > (size_t{1} << 16)) {
    return OutOfRange("qs8 global avgpool: width ", p.width, " exceeds 65536 pixels");
  }
  if (p.input_zero_point < -128 || p.input_zero_point > 127) {
    return OutOfRange("qs8 global avgpool: input zero point ", p.input_zero_point,
                      " outside [-128, 127]");
  }
  QP_RETURN_IF_ERROR(quant::CheckFp32Scale(p.requant.scale, "qs8 global avgpool scale"));
  return quant::MakeOutputQuant(p.output.scheme, p.output.zero_point, p.output.qmin, p.output.qmax)
      .status()
      .WithContext("qs8 global avgpool");
}

}  // namespace qp::kernels
