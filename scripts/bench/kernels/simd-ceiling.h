// The SIMD128 int8 ceiling probe (simd-ceiling-wasmsimd.cc); present only in the wasm SIMD build
// (QP_BENCH_HAVE_SIMD_CEILING).
#pragma once

#include <cstdint>

namespace qp::bench {
// 24x24x256 int8 GEMM, 2 * 24 * 24 * 256 ops. a: [24][256]; b: packed as the .cc describes.
void SimdCeilingKernel(const int8_t* a, const int8_t* b, int32_t* c);
}  // namespace qp::bench
