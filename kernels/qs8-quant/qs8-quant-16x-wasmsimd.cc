// WebAssembly SIMD128 quantize / dequantize / convert, 16 elements per step. Quantize is the
// scalar's exact sequence: fp32 division, round half to even (f32x4.nearest), clamp in float,
// truncating convert (exact on integers; NaN -> 0, then + zero point, as the scalar maps NaN to
// the zero point), add the zero point. Conversions flip the sign bit. Bit-exact with the scalar.
#include <wasm_simd128.h>

#include <cmath>

#include "core/quant/quantize.h"
#include "kernels/qs8-quant/qs8-quant.h"

namespace qp::kernels::wasmsimd {

Status qs8_quant_16x_create(const QS8QuantParams& params, QS8QuantOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8QuantParams(params));
  op->params = params;
  return Status::Ok();
}

namespace {
// 4 floats -> 4 int32 quantized values (clamped, zero point added).
inline v128_t Quant4(v128_t x, v128_t scale, v128_t lo, v128_t hi, v128_t zp) {
  v128_t r = wasm_f32x4_nearest(wasm_f32x4_div(x, scale));
  // pmin/pmax keep NaN out of the way differently; use compare+select to mirror the scalar's
  // `r < lo ? lo : (r > hi ? hi : r)` exactly (NaN falls through unchanged, then converts to 0).
  r = wasm_v128_bitselect(lo, r, wasm_f32x4_lt(r, lo));
  r = wasm_v128_bitselect(hi, r, wasm_f32x4_gt(r, hi));
  return wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(r), zp);
}
}  // namespace

Status qs8_quant_16x_run(const QS8QuantOp& op, size_t n, const void* xv, void* yv) {
  const quant::QParams& q = op.params.qparams;
  const QuantKind kind = op.params.kind;
  size_t i = 0;
  if (kind == QuantKind::kQuantizeS8 || kind == QuantKind::kQuantizeU8) {
    const float* x = static_cast<const float*>(xv);
    const v128_t scale = wasm_f32x4_splat(q.scale);
    const v128_t lo = wasm_f32x4_splat(static_cast<float>(q.qmin - q.zero_point));
    const v128_t hi = wasm_f32x4_splat(static_cast<float>(q.qmax - q.zero_point));
    const v128_t zp = wasm_i32x4_splat(q.zero_point);
    for (; i + 16 <= n; i += 16) {
      const v128_t a = Quant4(wasm_v128_load(x + i), scale, lo, hi, zp);
      const v128_t b = Quant4(wasm_v128_load(x + i + 4), scale, lo, hi, zp);
      const v128_t c = Quant4(wasm_v128_load(x + i + 8), scale, lo, hi, zp);
      const v128_t d = Quant4(wasm_v128_load(x + i + 12), scale, lo, hi, zp);
      const v128_t ab = wasm_i16x8_narrow_i32x4(a, b), cd = wasm_i16x8_narrow_i32x4(c, d);
      if (kind == QuantKind::kQuantizeS8) {
        wasm_v128_store(static_cast<int8_t*>(yv) + i, wasm_i8x16_narrow_i16x8(ab, cd));
      } else {
        wasm_v128_store(static_cast<uint8_t*>(yv) + i, wasm_u8x16_narrow_i16x8(ab, cd));
      }
    }
  } else if (kind == QuantKind::kDequantizeS8 || kind == QuantKind::kDequantizeU8) {
    float* y = static_cast<float*>(yv);
    const v128_t scale = wasm_f32x4_splat(q.scale);
    const v128_t zp = wasm_i32x4_splat(q.zero_point);
    for (; i + 16 <= n; i += 16) {
      const v128_t v = wasm_v128_load(static_cast<const uint8_t*>(xv) + i);
      v128_t lo16, hi16;
      if (kind == QuantKind::kDequantizeS8) {
        lo16 = wasm_i16x8_extend_low_i8x16(v);
        hi16 = wasm_i16x8_extend_high_i8x16(v);
      } else {
        lo16 = wasm_u16x8_extend_low_u8x16(v);
        hi16 = wasm_u16x8_extend_high_u8x16(v);
      }
      const v128_t q32[4] = {wasm_i32x4_extend_low_i16x8(lo16), wasm_i32x4_extend_high_i16x8(lo16),
                             wasm_i32x4_extend_low_i16x8(hi16), wasm_i32x4_extend_high_i16x8(hi16)};
      for (int j = 0; j < 4; ++j) {
        wasm_v128_store(y + i + 4 * j,
                        wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(q32[j], zp)), scale));
      }
    }
  } else {
    const v128_t flip = wasm_i8x16_splat(static_cast<int8_t>(0x80));
    for (; i + 16 <= n; i += 16) {
      wasm_v128_store(static_cast<uint8_t*>(yv) + i,
                      wasm_v128_xor(wasm_v128_load(static_cast<const uint8_t*>(xv) + i), flip));
    }
  }
  if (i < n) {
    // Tail through the scalar reference on the remaining elements.
    const size_t in_size = (kind == QuantKind::kQuantizeS8 || kind == QuantKind::kQuantizeU8) ? 4 : 1;
    const size_t out_size = (kind == QuantKind::kDequantizeS8 || kind == QuantKind::kDequantizeU8) ? 4 : 1;
    return scalar::qs8_quant_run(op, n - i, static_cast<const uint8_t*>(xv) + i * in_size,
                                 static_cast<uint8_t*>(yv) + i * out_size);
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
