// XNNPACK adapter of the qs8/qc8 GEMM (native). XNNPACK receives our precomputed fp32 scale as
// kernel_scale with input_scale = output_scale = 1, so its own (in * w) / out reproduces the
// scale bit for bit; its fp32 requantization then matches quant::RequantizeFp32.
#include <xnnpack.h>

#include "kernels/qs8-gemm/qs8-gemm.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_gemm_minmax_create(const QS8GemmParams& params, QS8GemmOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8GemmParams(params));
  if (params.output.scheme != quant::RequantScheme::kFp32) {
    return Unimplemented("xnnpack qs8 gemm: requantization scheme ",
                         quant::RequantSchemeName(params.output.scheme),
                         " is not available in XNNPACK (fp32 only)");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  InitQS8GemmOp(params, op);
  const QS8GemmParams& p = op->params;
  xnn_operator_t xop = nullptr;
  xnn_status s;
  if (!params.per_channel) {
    s = xnn_create_fully_connected_nc_qs8(
        p.k, p.n, p.a_stride, p.c_stride, static_cast<int8_t>(p.input_zero_point), 1.0f,
        params.requant[0].scale, params.weights, params.bias,
        static_cast<int8_t>(p.output.zero_point), 1.0f, static_cast<int8_t>(p.output.qmin),
        static_cast<int8_t>(p.output.qmax), 0, &xop);
  } else {
    // qc8: a 1x1 convolution over an m x 1 image (XNNPACK has no qc8 fully-connected operator).
    std::vector<float> scales(p.n);
    for (size_t j = 0; j < p.n; ++j) scales[j] = params.requant[j].scale;
    s = xnn_create_convolution2d_nhwc_qc8(
        0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, p.k, p.n, p.a_stride, p.c_stride,
        static_cast<int8_t>(p.input_zero_point), 1.0f, scales.data(), params.weights, params.bias,
        static_cast<int8_t>(p.output.zero_point), 1.0f, static_cast<int8_t>(p.output.qmin),
        static_cast<int8_t>(p.output.qmax), 0, &xop);
  }
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack qs8 gemm create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_gemm_minmax_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c) {
  if (m == 0) return Status::Ok();
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  xnn_status s = op.params.per_channel
                     ? xnn_setup_convolution2d_nhwc_qc8(xop, 1, m, 1, a, c, nullptr)
                     : xnn_setup_fully_connected_nc_qs8(xop, m, a, c, nullptr);
  QP_RETURN_IF_ERROR(FromXnnStatus(s, "xnnpack qs8 gemm setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
