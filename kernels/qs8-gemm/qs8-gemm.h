// qs8/qc8 GEMM (fully connected): C[m][n] = requant(bias[n] + sum_k (A[m][k] - za) * W[n][k]).
// Every variant (scalar oracle, wasm SIMD128, XNNPACK) has this signature and must give the
// scalar reference's bits. Variants are listed in qs8-gemm.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

// What create() needs; pointers are borrowed and only read during create().
// Numeric contract:
//  - A is int8 [m][a_stride] with zero point input_zero_point; W is int8 [n][k] (ONNX Gemm
//    transB=1 / XNNPACK fully-connected layout) with zero point 0 (symmetric weights);
//  - bias is int32 in units of input_scale * weight_scale (nullptr means 0);
//  - acc = bias[j] + sum_k (A[i][k] - za) * W[j][k], reduced mod 2^32 like int32 SIMD
//    accumulators (no wrap happens for k <= 65536, which create() enforces);
//  - C[i][j] = quant::Requantize(acc, requant[per_channel ? j : 0], output) (fused clamp).
struct QS8GemmParams {
  size_t n = 0;         // output channels, >= 1
  size_t k = 0;         // reduction length, in [1, 65536]
  size_t a_stride = 0;  // elements between rows of A; 0 means k
  size_t c_stride = 0;  // elements between rows of C; 0 means n
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;
  int32_t input_zero_point = 0;
  const quant::RequantChannel* requant = nullptr;  // [1] (qs8) or [n] (qc8, per_channel)
  bool per_channel = false;
  quant::OutputQuant output;
};

// A prepared GEMM: weights packed in the variant's layout, parameters expanded once.
struct QS8GemmOp {
  QS8GemmParams params;                        // borrowed pointers cleared
  std::vector<int8_t> weights;                 // variant-specific layout
  std::vector<int32_t> bias;                   // variant-specific (may fold the zero point)
  std::vector<quant::RequantChannel> requant;  // one per output channel (padded by variants)
  std::shared_ptr<void> backend;               // XNNPACK operator, if any
};

using QS8GemmCreateFn = Status (*)(const QS8GemmParams& params, QS8GemmOp* op);
// Precondition: op was created by the same variant; a has m rows, c has m rows.
using QS8GemmRunFn = Status (*)(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c);
using QS8GemmVariant = KernelVariant<QS8GemmCreateFn, QS8GemmRunFn>;

// The dispatch table built from qs8-gemm.inc (every variant, available or not).
const std::vector<QS8GemmVariant>& QS8GemmVariants();

// Shared validation of create() arguments (trust boundary of the kernel layer).
Status ValidateQS8GemmParams(const QS8GemmParams& params);
// Copies params with defaults resolved (strides) and pointers cleared, expands requant to n.
void InitQS8GemmOp(const QS8GemmParams& params, QS8GemmOp* op);

namespace scalar {
Status qs8_gemm_minmax_create(const QS8GemmParams& params, QS8GemmOp* op);
Status qs8_gemm_minmax_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c);
}  // namespace scalar

namespace wasmsimd {
// The 4x2c8 building blocks, shared with the convolution (im2col rows feed the same panel).
// Panel layout: for each pair of output channels, for each block of 8 k, 2 x 8 int8 (k padded
// with zeros to a multiple of 8, n padded to even). packed_bias[j] = bias[j] - za * sum_k W[j][k]
// (mod 2^32), so the kernel needs no zero-point work inside the loop.
void qs8_gemm_4x2c8_pack(size_t n, size_t k, const int8_t* w, size_t w_stride,
                         const int32_t* bias, int32_t input_zero_point, int8_t* packed,
                         int32_t* packed_bias);
inline size_t qs8_gemm_4x2c8_packed_size(size_t n, size_t k) {
  return ((n + 1) / 2) * 2 * ((k + 7) / 8) * 8;
}
// requant has n entries (not padded). Rows of A need only k readable bytes.
void qs8_gemm_4x2c8_compute(size_t m, size_t n, size_t k, const int8_t* a, size_t a_stride,
                            const int8_t* packed, const int32_t* packed_bias,
                            const quant::RequantChannel* requant, const quant::OutputQuant& out,
                            int8_t* c, size_t c_stride);
Status qs8_gemm_minmax_4x2c8_create(const QS8GemmParams& params, QS8GemmOp* op);
Status qs8_gemm_minmax_4x2c8_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c);

// The 2x4c8 building blocks (the fast variant), shared with the convolution. Both operands are
// int16: weights widened at pack time, A rows widened by the caller (im2col writes int16 rows).
// Panel layout: for each group of 4 output channels, for each block of 8 k, 4 x 8 int16 (k padded
// with zeros to a multiple of 8, n padded to a multiple of 4); packed_bias as in 4x2c8.
inline size_t qs8_gemm_2x4c8_padded_n(size_t n) { return (n + 3) / 4 * 4; }
inline size_t qs8_gemm_2x4c8_padded_k(size_t k) { return (k + 7) / 8 * 8; }
inline size_t qs8_gemm_2x4c8_packed_size(size_t n, size_t k) {  // int16 elements
  return qs8_gemm_2x4c8_padded_n(n) * qs8_gemm_2x4c8_padded_k(k);
}
void qs8_gemm_2x4c8_pack(size_t n, size_t k, const int8_t* w, size_t w_stride,
                         const int32_t* bias, int32_t input_zero_point, int16_t* packed,
                         int32_t* packed_bias);
// dst[i] = src[i] for count elements.
void qs8_widen_int8(size_t count, const int8_t* src, int16_t* dst);
// rows x k int8 (stride a_stride) -> rows x padded_k(k) int16, zeros after k.
void qs8_gemm_2x4c8_widen_rows(size_t rows, size_t k, const int8_t* a, size_t a_stride,
                               int16_t* dst);
// a: m rows of padded_k(k) int16 (zeros after k), a_stride >= padded_k(k); requant and
// packed_bias have padded_n(n) readable entries (lanes past n are computed, never stored).
void qs8_gemm_2x4c8_compute(size_t m, size_t n, size_t k, const int16_t* a, size_t a_stride,
                            const int16_t* packed, const int32_t* packed_bias,
                            const quant::RequantChannel* requant, const quant::OutputQuant& out,
                            int8_t* c, size_t c_stride);
Status qs8_gemm_minmax_2x4c8_create(const QS8GemmParams& params, QS8GemmOp* op);
Status qs8_gemm_minmax_2x4c8_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c);
}  // namespace wasmsimd

namespace xnnpack {
// qs8 through xnn_create_fully_connected_nc_qs8, qc8 through a 1x1 xnn_create_convolution2d_nhwc_qc8.
// Only the fp32 scheme (XNNPACK has no Q31 GEMM): other schemes return Unimplemented.
Status qs8_gemm_minmax_create(const QS8GemmParams& params, QS8GemmOp* op);
Status qs8_gemm_minmax_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c);
}  // namespace xnnpack

}  // namespace qp::kernels
