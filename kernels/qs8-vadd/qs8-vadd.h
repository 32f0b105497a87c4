// Elementwise add of two int8 tensors with their own scales (ONNX QLinearAdd), with a fused
// output clamp. Arithmetic is quant::AddRequantApply (scheme: XNNPACK 2022 fixed-point by
// default, or fp32). Every variant must give the scalar reference's bits. Variants: qs8-vadd.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

struct QS8AddParams {
  quant::AddRequant requant;  // from quant::MakeAddRequant (zero points, ratios, scheme)
  quant::OutputQuant output;  // zero point and clamp (output.scheme is unused here)
};

struct QS8AddOp {
  QS8AddParams params;
  std::shared_ptr<void> backend;
};

using QS8AddCreateFn = Status (*)(const QS8AddParams& params, QS8AddOp* op);
// y[i] = add(a[i], b_broadcast ? b[0] : b[i]) for i < n. Larger broadcasts are loops of calls.
using QS8AddRunFn = Status (*)(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y);
using QS8AddVariant = KernelVariant<QS8AddCreateFn, QS8AddRunFn>;

const std::vector<QS8AddVariant>& QS8AddVariants();
Status ValidateQS8AddParams(const QS8AddParams& params);

namespace scalar {
Status qs8_vadd_minmax_create(const QS8AddParams& params, QS8AddOp* op);
Status qs8_vadd_minmax_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y);
}  // namespace scalar
namespace wasmsimd {
Status qs8_vadd_minmax_16x_create(const QS8AddParams& params, QS8AddOp* op);
Status qs8_vadd_minmax_16x_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y);
}  // namespace wasmsimd
namespace xnnpack {
// xnn_create_add_nd_qs8; kXnnpackFixedPoint scheme only (that is XNNPACK's own arithmetic).
Status qs8_vadd_minmax_create(const QS8AddParams& params, QS8AddOp* op);
Status qs8_vadd_minmax_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y);
}  // namespace xnnpack

}  // namespace qp::kernels
