// WebAssembly SIMD128 elementwise add, 16 elements per step, both schemes in SIMD:
// fixed-point (i32x4 multiply-add, arithmetic shift, clamp) and fp32 (two products, one sum,
// clamp, magic-bias round). Tails go through the scalar function. Bit-exact with the scalar.
#include <wasm_simd128.h>

#include "kernels/qs8-vadd/qs8-vadd.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

Status qs8_vadd_minmax_16x_create(const QS8AddParams& params, QS8AddOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8AddParams(params));
  op->params = params;
  return Status::Ok();
}

namespace {
// The 4 i32x4 quarters of 16 int8 lanes, sign-extended.
inline void Widen(v128_t v, v128_t q[4]) {
  const v128_t lo = wasm_i16x8_extend_low_i8x16(v), hi = wasm_i16x8_extend_high_i8x16(v);
  q[0] = wasm_i32x4_extend_low_i16x8(lo);
  q[1] = wasm_i32x4_extend_high_i16x8(lo);
  q[2] = wasm_i32x4_extend_low_i16x8(hi);
  q[3] = wasm_i32x4_extend_high_i16x8(hi);
}
inline v128_t Narrow(const v128_t q[4]) {
  return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]),
                                 wasm_i16x8_narrow_i32x4(q[2], q[3]));
}
}  // namespace

Status qs8_vadd_minmax_16x_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                               bool b_broadcast, int8_t* y) {
  const quant::AddRequant& r = op.params.requant;
  const quant::OutputQuant& out = op.params.output;
  const v128_t vlo = wasm_i32x4_splat(out.qmin - out.zero_point);
  const v128_t vhi = wasm_i32x4_splat(out.qmax - out.zero_point);
  const v128_t vzo = wasm_i32x4_splat(out.zero_point);
  const v128_t vbias = wasm_i32x4_splat(r.fixed.bias);
  const v128_t vam = wasm_i32x4_splat(r.fixed.a_multiplier);
  const v128_t vbm = wasm_i32x4_splat(r.fixed.b_multiplier);
  const v128_t vza = wasm_i32x4_splat(r.a_zero_point), vzb = wasm_i32x4_splat(r.b_zero_point);
  const v128_t vra = wasm_f32x4_splat(r.a_ratio), vrb = wasm_f32x4_splat(r.b_ratio);
  const Fp32RequantConsts k(out);
  const bool fixed = r.scheme == quant::AddScheme::kXnnpackFixedPoint;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t qa[4], qb[4], qy[4];
    Widen(wasm_v128_load(a + i), qa);
    Widen(b_broadcast ? wasm_i8x16_splat(b[0]) : wasm_v128_load(b + i), qb);
    for (int j = 0; j < 4; ++j) {
      if (fixed) {
        v128_t acc = wasm_i32x4_add(vbias, wasm_i32x4_mul(qa[j], vam));
        acc = wasm_i32x4_add(acc, wasm_i32x4_mul(qb[j], vbm));
        acc = wasm_i32x4_shr(acc, r.fixed.shift);
        qy[j] = wasm_i32x4_add(wasm_i32x4_min(wasm_i32x4_max(acc, vlo), vhi), vzo);
      } else {
        v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(qa[j], vza)), vra);
        f = wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(qb[j], vzb)), vrb));
        f = wasm_f32x4_min(wasm_f32x4_max(f, k.lo), k.hi);
        qy[j] = wasm_i32x4_sub(wasm_f32x4_add(f, k.magic), k.magic_less_zp);
      }
    }
    wasm_v128_store(y + i, Narrow(qy));
  }
  for (; i < n; ++i) {
    y[i] = static_cast<int8_t>(quant::AddRequantApply(a[i], b_broadcast ? b[0] : b[i], r, out));
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
