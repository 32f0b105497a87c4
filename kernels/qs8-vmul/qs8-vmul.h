// Elementwise multiply of two int8 tensors with their own scales (ONNX QLinearMul semantics):
// acc = (a - za) * (b - zb) exactly, then quant::Requantize(acc, requant, output) (fp32 scheme
// as XNNPACK 2022's qs8 vmul, or Q31). Every variant must give the scalar reference's bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

struct QS8MulParams {
  int32_t a_zero_point = 0, b_zero_point = 0;
  quant::RequantChannel requant;  // quant::MakeMulRequant(sa, sb, sy)
  quant::OutputQuant output;
};

struct QS8MulOp {
  QS8MulParams params;
  std::shared_ptr<void> backend;
};

using QS8MulCreateFn = Status (*)(const QS8MulParams& params, QS8MulOp* op);
using QS8MulRunFn = Status (*)(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y);
using QS8MulVariant = KernelVariant<QS8MulCreateFn, QS8MulRunFn>;

const std::vector<QS8MulVariant>& QS8MulVariants();
Status ValidateQS8MulParams(const QS8MulParams& params);

namespace scalar {
Status qs8_vmul_minmax_create(const QS8MulParams& params, QS8MulOp* op);
Status qs8_vmul_minmax_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y);
}  // namespace scalar
namespace wasmsimd {
Status qs8_vmul_minmax_16x_create(const QS8MulParams& params, QS8MulOp* op);
Status qs8_vmul_minmax_16x_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y);
}  // namespace wasmsimd
namespace xnnpack {
// xnn_create_multiply_nd_qs8 (fp32 arithmetic in XNNPACK 2022); fp32 scheme only.
Status qs8_vmul_minmax_create(const QS8MulParams& params, QS8MulOp* op);
Status qs8_vmul_minmax_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y);
}  // namespace xnnpack

}  // namespace qp::kernels
