// WebAssembly SIMD128 elementwise multiply, 16 elements per step: centred inputs in int16,
// wasm_i32x4_extmul products (exact), fp32 requantization in SIMD (Q31 lane by lane through the
// scalar function). Tails use the scalar arithmetic. Bit-exact with the scalar reference.
#include <wasm_simd128.h>

#include "kernels/qs8-vmul/qs8-vmul.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

Status qs8_vmul_minmax_16x_create(const QS8MulParams& params, QS8MulOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8MulParams(params));
  op->params = params;
  return Status::Ok();
}

Status qs8_vmul_minmax_16x_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y) {
  const QS8MulParams& p = op.params;
  const Fp32RequantConsts k(p.output);
  const quant::RequantChannel ch4[4] = {p.requant, p.requant, p.requant, p.requant};
  const v128_t vza = wasm_i16x8_splat(static_cast<int16_t>(p.a_zero_point));
  const v128_t vzb = wasm_i16x8_splat(static_cast<int16_t>(p.b_zero_point));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const v128_t va = wasm_v128_load(a + i);
    const v128_t vb = b_broadcast ? wasm_i8x16_splat(b[0]) : wasm_v128_load(b + i);
    const v128_t a_lo = wasm_i16x8_sub(wasm_i16x8_extend_low_i8x16(va), vza);
    const v128_t a_hi = wasm_i16x8_sub(wasm_i16x8_extend_high_i8x16(va), vza);
    const v128_t b_lo = wasm_i16x8_sub(wasm_i16x8_extend_low_i8x16(vb), vzb);
    const v128_t b_hi = wasm_i16x8_sub(wasm_i16x8_extend_high_i8x16(vb), vzb);
    const v128_t q0 = Requant4(wasm_i32x4_extmul_low_i16x8(a_lo, b_lo), ch4, p.output, k);
    const v128_t q1 = Requant4(wasm_i32x4_extmul_high_i16x8(a_lo, b_lo), ch4, p.output, k);
    const v128_t q2 = Requant4(wasm_i32x4_extmul_low_i16x8(a_hi, b_hi), ch4, p.output, k);
    const v128_t q3 = Requant4(wasm_i32x4_extmul_high_i16x8(a_hi, b_hi), ch4, p.output, k);
    wasm_v128_store(y + i, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q0, q1),
                                                   wasm_i16x8_narrow_i32x4(q2, q3)));
  }
  for (; i < n; ++i) {
    const int32_t bv = b_broadcast ? b[0] : b[i];
    const int32_t acc = (a[i] - p.a_zero_point) * (bv - p.b_zero_point);
    y[i] = static_cast<int8_t>(quant::Requantize(acc, p.requant, p.output));
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
