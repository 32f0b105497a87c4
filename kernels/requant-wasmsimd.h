// wasm SIMD128 form of quant::RequantizeFp32 for 4 lanes, shared by the *-wasmsimd.cc kernels.
// Lane for lane the same IEEE operations as the scalar: int->float convert, one multiply, clamp
// in float, magic-bias round (ties to even), subtract the biased zero point.
#pragma once

#include <wasm_simd128.h>

#include <cstring>

#include "core/quant/requantization.h"

namespace qp::kernels::wasmsimd {

struct Fp32RequantConsts {
  v128_t lo, hi, magic, magic_less_zp;
  explicit Fp32RequantConsts(const quant::OutputQuant& out)
      : lo(wasm_f32x4_splat(static_cast<float>(out.qmin - out.zero_point))),
        hi(wasm_f32x4_splat(static_cast<float>(out.qmax - out.zero_point))),
        magic(wasm_f32x4_splat(12582912.0f)),
        magic_less_zp(wasm_i32x4_splat(INT32_C(0x4B400000) - out.zero_point)) {}
};

// acc: i32x4, scale: f32x4 -> i32x4 of final int8 values (already clamped, zero point added).
inline v128_t RequantFp32x4(v128_t acc, v128_t scale, const Fp32RequantConsts& k) {
  v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale);
  f = wasm_f32x4_min(wasm_f32x4_max(f, k.lo), k.hi);
  return wasm_i32x4_sub(wasm_f32x4_add(f, k.magic), k.magic_less_zp);
}

// Any scheme: fp32 in SIMD, Q31 through the scalar function lane by lane (identical math).
inline v128_t Requant4(v128_t acc, const quant::RequantChannel* ch, const quant::OutputQuant& out,
                       const Fp32RequantConsts& k) {
  if (out.scheme == quant::RequantScheme::kFp32) {
    return RequantFp32x4(acc, wasm_f32x4_make(ch[0].scale, ch[1].scale, ch[2].scale, ch[3].scale), k);
  }
  int32_t v[4];
  wasm_v128_store(v, acc);
  for (int l = 0; l < 4; ++l) v[l] = quant::RequantizeQ31(v[l], ch[l].multiplier, ch[l].shift, out);
  return wasm_v128_load(v);
}

// Narrows two i32x4 of in-range int8 values and stores the 8 bytes.
inline void Store8(int8_t* dst, v128_t lo, v128_t hi) {
  const v128_t b = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(lo, hi), lo);
  const int64_t bytes = wasm_i64x2_extract_lane(b, 0);
  std::memcpy(dst, &bytes, 8);
}

}  // namespace qp::kernels::wasmsimd
