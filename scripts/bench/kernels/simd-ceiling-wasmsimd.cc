// The SIMD128 int8 ceiling that bench_kernels reports kernel GOPS against, measured in the same
// run: the definition of ../shared/research/perf-anchors.md section 3 (an L1-resident,
// register-blocked int8 GEMM C = A * B^T, M = N = 24, K = 256, i16x8.load8x8_s +
// i32x4.dot_i16x8_s + i32x4.add, 4x2 blocking, no requantization). It is the best the
// "sign-extending load + dot" form reaches when nothing else (cache misses, requantization, tails)
// costs anything. Built only into the wasm SIMD bench; the only file here with -msimd128.
#include <wasm_simd128.h>

#include <cstdint>

#include "scripts/bench/kernels/simd-ceiling.h"

namespace qp::bench {

// a: [24][256] int8, b: packed [12 pairs][32 k-blocks][2][8] int8, c: [24][24] int32.
void SimdCeilingKernel(const int8_t* a, const int8_t* b, int32_t* c) {
  constexpr int kM = 24, kN = 24, kK = 256;
  for (int i = 0; i < kM; i += 4) {
    for (int j = 0; j < kN; j += 2) {
      const int8_t* w = b + (j / 2) * (kK * 2);
      const int8_t* a0 = a + i * kK;
      v128_t acc[4][2];
      for (auto& r : acc) r[0] = r[1] = wasm_i32x4_splat(0);
      for (int k = 0; k < kK; k += 8, w += 16) {
        const v128_t b0 = wasm_i16x8_load8x8(w), b1 = wasm_i16x8_load8x8(w + 8);
        for (int r = 0; r < 4; ++r) {
          const v128_t va = wasm_i16x8_load8x8(a0 + r * kK + k);
          acc[r][0] = wasm_i32x4_add(acc[r][0], wasm_i32x4_dot_i16x8(va, b0));
          acc[r][1] = wasm_i32x4_add(acc[r][1], wasm_i32x4_dot_i16x8(va, b1));
        }
      }
      for (int r = 0; r < 4; ++r) {
        for (int cc = 0; cc < 2; ++cc) {
          c[(i + r) * kN + j + cc] = wasm_i32x4_extract_lane(acc[r][cc], 0) +
                                     wasm_i32x4_extract_lane(acc[r][cc], 1) +
                                     wasm_i32x4_extract_lane(acc[r][cc], 2) +
                                     wasm_i32x4_extract_lane(acc[r][cc], 3);
        }
      }
    }
  }
}

}  // namespace qp::bench
