// WebAssembly SIMD128 qs8/qc8 GEMM, 2 rows x 4 output channels per tile (1 row x 8 channels for
// an odd last row), k in blocks of 8, both operands widened to int16 before the inner loop.
//
// XNNPACK's wasmsimd "c8 dot16x2" kernels sign-extend int8 A and B inside the loop
// (i16x8.load8x8_s) and multiply with i32x4.dot_i16x8_s. Here B is widened once at create time
// (packed as int16) and A once per row block (a few KB of scratch), so the inner loop is only
// v128.load + i32x4.dot_i16x8_s + i32x4.add: no extension per multiply. Measured in headless
// Chromium (kernels/README.md) this is ~1.4x the load8x8 form on 64x256x256.
// Bit-exact with the scalar reference: the same int32 sums mod 2^32 (int16 products of int8
// values, pairwise sums <= 2 * 128 * 128, added in a different order, which mod 2^32 does not
// change) and the same fp32 requantization lane by lane (requant-wasmsimd.h).
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>

#include "kernels/qs8-gemm/qs8-gemm.h"
#include "kernels/requant-wasmsimd.h"

namespace qp::kernels::wasmsimd {

void qs8_gemm_2x4c8_pack(size_t n, size_t k, const int8_t* w, size_t w_stride,
                         const int32_t* bias, int32_t input_zero_point, int16_t* packed,
                         int32_t* packed_bias) {
  const size_t kb_count = (k + 7) / 8;
  const size_t np = qs8_gemm_2x4c8_padded_n(n);
  int16_t* out = packed;
  for (size_t j0 = 0; j0 < np; j0 += 4) {
    for (size_t kb = 0; kb < kb_count; ++kb) {
      for (size_t jj = 0; jj < 4; ++jj) {
        const size_t j = j0 + jj;
        for (size_t t = 0; t < 8; ++t) {
          const size_t kk = kb * 8 + t;
          *out++ = (j < n && kk < k) ? w[j * w_stride + kk] : 0;
        }
      }
    }
  }
  for (size_t j = 0; j < np; ++j) {
    uint32_t b = 0;
    if (j < n) {
      b = bias ? static_cast<uint32_t>(bias[j]) : 0u;
      uint32_t wsum = 0;
      for (size_t kk = 0; kk < k; ++kk) wsum += static_cast<uint32_t>(w[j * w_stride + kk]);
      b -= static_cast<uint32_t>(input_zero_point) * wsum;
    }
    packed_bias[j] = static_cast<int32_t>(b);
  }
}

void qs8_widen_int8(size_t count, const int8_t* src, int16_t* dst) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8) wasm_v128_store(dst + i, wasm_i16x8_load8x8(src + i));
  if (i < count && count >= 8) {
    // The tail as one overlapping block of the last 8 (rewrites a few values with themselves).
    wasm_v128_store(dst + count - 8, wasm_i16x8_load8x8(src + count - 8));
    return;
  }
  for (; i < count; ++i) dst[i] = src[i];
}

void qs8_gemm_2x4c8_widen_rows(size_t rows, size_t k, const int8_t* a, size_t a_stride,
                               int16_t* dst) {
  const size_t kp = qs8_gemm_2x4c8_padded_k(k);
  for (size_t r = 0; r < rows; ++r) {
    qs8_widen_int8(k, a + r * a_stride, dst + r * kp);
    std::fill(dst + r * kp + k, dst + (r + 1) * kp, int16_t{0});
  }
}

namespace {

// [sum(a), sum(b), sum(c), sum(d)] of four i32x4.
inline v128_t HorizontalSums(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 2, 4, 6),
                                   wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
  const v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 2, 4, 6),
                                   wasm_i32x4_shuffle(c, d, 1, 3, 5, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 2, 4, 6),
                        wasm_i32x4_shuffle(ab, cd, 1, 3, 5, 7));
}

// Requantizes 4 channel sums of one row and stores the first nc (1..4) bytes.
inline void Store4(v128_t acc, const quant::RequantChannel* rq, const quant::OutputQuant& out,
                   const Fp32RequantConsts& consts, int8_t* c, size_t nc) {
  const v128_t q = Requant4(acc, rq, out, consts);
  const v128_t b = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q, q), q);
  const int32_t bytes = wasm_i32x4_extract_lane(b, 0);
  if (nc >= 4) {
    std::memcpy(c, &bytes, 4);
  } else {
    int8_t tmp[4];
    std::memcpy(tmp, &bytes, 4);
    std::memcpy(c, tmp, nc);
  }
}

// Two rows x 4 channels over kb blocks of 8: the main tile. w is one 4-channel panel.
inline void Tile2x4(size_t kb, const int16_t* a0, const int16_t* a1, const int16_t* w,
                    v128_t* sums0, v128_t* sums1) {
  v128_t c00 = wasm_i32x4_splat(0), c01 = c00, c02 = c00, c03 = c00;
  v128_t c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  for (; kb != 0; --kb) {
    const v128_t va0 = wasm_v128_load(a0);
    const v128_t va1 = wasm_v128_load(a1);
    a0 += 8;
    a1 += 8;
    const v128_t b0 = wasm_v128_load(w);
    const v128_t b1 = wasm_v128_load(w + 8);
    const v128_t b2 = wasm_v128_load(w + 16);
    const v128_t b3 = wasm_v128_load(w + 24);
    w += 32;
    c00 = wasm_i32x4_add(c00, wasm_i32x4_dot_i16x8(va0, b0));
    c01 = wasm_i32x4_add(c01, wasm_i32x4_dot_i16x8(va0, b1));
    c02 = wasm_i32x4_add(c02, wasm_i32x4_dot_i16x8(va0, b2));
    c03 = wasm_i32x4_add(c03, wasm_i32x4_dot_i16x8(va0, b3));
    c10 = wasm_i32x4_add(c10, wasm_i32x4_dot_i16x8(va1, b0));
    c11 = wasm_i32x4_add(c11, wasm_i32x4_dot_i16x8(va1, b1));
    c12 = wasm_i32x4_add(c12, wasm_i32x4_dot_i16x8(va1, b2));
    c13 = wasm_i32x4_add(c13, wasm_i32x4_dot_i16x8(va1, b3));
  }
  *sums0 = HorizontalSums(c00, c01, c02, c03);
  *sums1 = HorizontalSums(c10, c11, c12, c13);
}

// One row x 8 channels (two adjacent panels w0, w1): the tile for a lone last row.
inline void Tile1x8(size_t kb, const int16_t* a0, const int16_t* w0, const int16_t* w1,
                    v128_t* sums_lo, v128_t* sums_hi) {
  v128_t c0 = wasm_i32x4_splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (; kb != 0; --kb) {
    const v128_t va = wasm_v128_load(a0);
    a0 += 8;
    c0 = wasm_i32x4_add(c0, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w0)));
    c1 = wasm_i32x4_add(c1, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w0 + 8)));
    c2 = wasm_i32x4_add(c2, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w0 + 16)));
    c3 = wasm_i32x4_add(c3, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w0 + 24)));
    c4 = wasm_i32x4_add(c4, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w1)));
    c5 = wasm_i32x4_add(c5, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w1 + 8)));
    c6 = wasm_i32x4_add(c6, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w1 + 16)));
    c7 = wasm_i32x4_add(c7, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w1 + 24)));
    w0 += 32;
    w1 += 32;
  }
  *sums_lo = HorizontalSums(c0, c1, c2, c3);
  *sums_hi = HorizontalSums(c4, c5, c6, c7);
}

inline void Tile1x4(size_t kb, const int16_t* a0, const int16_t* w, v128_t* sums) {
  v128_t c0 = wasm_i32x4_splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (; kb != 0; --kb) {
    const v128_t va = wasm_v128_load(a0);
    a0 += 8;
    c0 = wasm_i32x4_add(c0, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w)));
    c1 = wasm_i32x4_add(c1, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w + 8)));
    c2 = wasm_i32x4_add(c2, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w + 16)));
    c3 = wasm_i32x4_add(c3, wasm_i32x4_dot_i16x8(va, wasm_v128_load(w + 24)));
    w += 32;
  }
  *sums = HorizontalSums(c0, c1, c2, c3);
}

}  // namespace

void qs8_gemm_2x4c8_compute(size_t m, size_t n, size_t k, const int16_t* a, size_t a_stride,
                            const int16_t* packed, const int32_t* packed_bias,
                            const quant::RequantChannel* requant, const quant::OutputQuant& out,
                            int8_t* c, size_t c_stride) {
  const size_t kb = (k + 7) / 8;
  const size_t panel = kb * 32;  // int16 elements per 4-channel panel
  const Fp32RequantConsts consts(out);
  size_t i = 0;
  for (; i + 2 <= m; i += 2) {
    const int16_t* a0 = a + i * a_stride;
    const int16_t* a1 = a0 + a_stride;
    int8_t* c0 = c + i * c_stride;
    int8_t* c1 = c0 + c_stride;
    for (size_t j = 0; j < n; j += 4) {
      v128_t s0, s1;
      Tile2x4(kb, a0, a1, packed + (j / 4) * panel, &s0, &s1);
      const v128_t bias = wasm_v128_load(packed_bias + j);
      const size_t nc = std::min<size_t>(4, n - j);
      Store4(wasm_i32x4_add(s0, bias), requant + j, out, consts, c0 + j, nc);
      Store4(wasm_i32x4_add(s1, bias), requant + j, out, consts, c1 + j, nc);
    }
  }
  if (i < m) {
    const int16_t* a0 = a + i * a_stride;
    int8_t* c0 = c + i * c_stride;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
      v128_t lo, hi;
      Tile1x8(kb, a0, packed + (j / 4) * panel, packed + (j / 4 + 1) * panel, &lo, &hi);
      Store4(wasm_i32x4_add(lo, wasm_v128_load(packed_bias + j)), requant + j, out, consts,
             c0 + j, 4);
      Store4(wasm_i32x4_add(hi, wasm_v128_load(packed_bias + j + 4)), requant + j + 4, out,
             consts, c0 + j + 4, 4);
    }
    for (; j < n; j += 4) {
      v128_t s;
      Tile1x4(kb, a0, packed + (j / 4) * panel, &s);
      Store4(wasm_i32x4_add(s, wasm_v128_load(packed_bias + j)), requant + j, out, consts, c0 + j,
             std::min<size_t>(4, n - j));
    }
  }
}

Status qs8_gemm_minmax_2x4c8_create(const QS8GemmParams& params, QS8GemmOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8GemmParams(params));
  InitQS8GemmOp(params, op);
  const size_t np = qs8_gemm_2x4c8_padded_n(params.n);
  op->weights.resize(qs8_gemm_2x4c8_packed_size(params.n, params.k) * sizeof(int16_t));
  op->bias.resize(np);
  op->requant.resize(np, op->requant.back());  // padded lanes are computed, never stored
  std::vector<int16_t> packed(qs8_gemm_2x4c8_packed_size(params.n, params.k));
  qs8_gemm_2x4c8_pack(params.n, params.k, params.weights, params.k, params.bias,
                      params.input_zero_point, packed.data(), op->bias.data());
  std::memcpy(op->weights.data(), packed.data(), op->weights.size());
  return Status::Ok();
}

Status qs8_gemm_minmax_2x4c8_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c) {
  const QS8GemmParams& p = op.params;
  const size_t kp = qs8_gemm_2x4c8_padded_k(p.k);
  // A is widened in blocks of rows: an even count, about 32 KB of int16 scratch.
  const size_t block = std::max<size_t>(2, std::min<size_t>(64, (16384 / kp) & ~size_t{1}));
  std::vector<int16_t> a16(std::min(m, block) * kp);
  const auto* packed = reinterpret_cast<const int16_t*>(op.weights.data());
  for (size_t i = 0; i < m; i += block) {
    const size_t rows = std::min(block, m - i);
    qs8_gemm_2x4c8_widen_rows(rows, p.k, a + i * p.a_stride, p.a_stride, a16.data());
    qs8_gemm_2x4c8_compute(rows, p.n, p.k, a16.data(), kp, packed, op.bias.data(),
                           op.requant.data(), p.output, c + i * p.c_stride, p.c_stride);
  }
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
