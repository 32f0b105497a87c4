// WebAssembly SIMD128 requantizing copy, 16 elements per step: sign-extend to i32x4, subtract the
// input zero point, then the shared fp32 requantization (requant-wasmsimd.h; Q31 lane by lane
// through the scalar function). A row tail goes through a 16-byte stack block, so every element
// takes the same path. When the conversion is the identity (fp32, multiplier exactly 1, same zero
// point, no clamp) the rows are copied: x - z is in [-255, 255], so float(x - z) * 1 is exact and
// the clamp to [-128 - z, 127 - z] never binds, i.e. the arithmetic would return x itself.
#include <wasm_simd128.h>

#include <cstring>

#include "kernels/qs8-vcvt/qs8-vcvt.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

Status qs8_vcvt_16x_create(const QS8CvtParams& params, QS8CvtOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8CvtParams(params));
  op->params = params;
  return Status::Ok();
}

namespace {
inline v128_t Cvt16(v128_t v, v128_t vzx, const quant::RequantChannel* ch4,
                    const quant::OutputQuant& out, v128_t vscale, const Fp32RequantConsts& k) {
  const v128_t lo = wasm_i16x8_extend_low_i8x16(v), hi = wasm_i16x8_extend_high_i8x16(v);
  v128_t q[4] = {wasm_i32x4_extend_low_i16x8(lo), wasm_i32x4_extend_high_i16x8(lo),
                 wasm_i32x4_extend_low_i16x8(hi), wasm_i32x4_extend_high_i16x8(hi)};
  const bool fp32 = out.scheme == quant::RequantScheme::kFp32;
  for (int j = 0; j < 4; ++j) {
    const v128_t acc = wasm_i32x4_sub(q[j], vzx);
    q[j] = fp32 ? RequantFp32x4(acc, vscale, k) : Requant4(acc, ch4, out, k);
  }
  return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]),
                                 wasm_i16x8_narrow_i32x4(q[2], q[3]));
}
}  // namespace

Status qs8_vcvt_16x_run(const QS8CvtOp& op, size_t rows, size_t cols, const int8_t* x,
                        size_t x_stride, int8_t* y, size_t y_stride) {
  const QS8CvtParams& p = op.params;
  const quant::OutputQuant& out = p.output;
  if (out.scheme == quant::RequantScheme::kFp32 && p.requant.scale == 1.0f &&
      p.input_zero_point == out.zero_point && out.qmin == -128 && out.qmax == 127) {
    for (size_t r = 0; r < rows; ++r) std::memcpy(y + r * y_stride, x + r * x_stride, cols);
    return Status::Ok();
  }
  const quant::RequantChannel ch4[4] = {p.requant, p.requant, p.requant, p.requant};
  const v128_t vzx = wasm_i32x4_splat(p.input_zero_point);
  const v128_t vscale = wasm_f32x4_splat(p.requant.scale);
  const Fp32RequantConsts k(out);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * x_stride;
    int8_t* yr = y + r * y_stride;
    size_t i = 0;
    for (; i + 16 <= cols; i += 16) {
      wasm_v128_store(yr + i, Cvt16(wasm_v128_load(xr + i), vzx, ch4, out, vscale, k));
    }
    if (i < cols) {
      int8_t block[16] = {};
      std::memcpy(block, xr + i, cols - i);
      wasm_v128_store(block, Cvt16(wasm_v128_load(block), vzx, ch4, out, vscale, k));
      std::memcpy(yr + i, block, cols - i);
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
