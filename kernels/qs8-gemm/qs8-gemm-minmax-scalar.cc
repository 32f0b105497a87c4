// Scalar reference of the qs8/qc8 GEMM: the oracle every other variant must match bit for bit.
// Written to be read, not to be fast: the contract in qs8-gemm.h, line by line.
#include "kernels/qs8-gemm/qs8-gemm.h"

namespace qp::kernels::scalar {

Status qs8_gemm_minmax_create(const QS8GemmParams& params, QS8GemmOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8GemmParams(params));
  InitQS8GemmOp(params, op);
  // Plain layout: W stays [n][k]; bias is copied (zero when absent).
  op->weights.assign(params.weights, params.weights + params.n * params.k);
  op->bias.assign(params.n, 0);
  if (params.bias) op->bias.assign(params.bias, params.bias + params.n);
  return Status::Ok();
}

Status qs8_gemm_minmax_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c) {
  const QS8GemmParams& p = op.params;
  for (size_t i = 0; i < m; ++i) {
    const int8_t* a_row = a + i * p.a_stride;
    for (size_t j = 0; j < p.n; ++j) {
      const int8_t* w_row = op.weights.data() + j * p.k;
      int64_t sum = op.bias[j];
      for (size_t kk = 0; kk < p.k; ++kk) {
        sum += (static_cast<int32_t>(a_row[kk]) - p.input_zero_point) * w_row[kk];
      }
      // Reduced mod 2^32, like the int32 accumulators of the SIMD and XNNPACK variants.
      const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(sum));
      c[i * p.c_stride + j] = static_cast<int8_t>(quant::Requantize(acc, op.requant[j], p.output));
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
