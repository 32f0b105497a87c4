// WebAssembly SIMD128 qs8/qc8 GEMM, 4 rows x 2 output channels per tile, k in blocks of 8.
// Inner step: wasm_i16x8_load8x8 (sign-extending load) + wasm_i32x4_dot_i16x8 (the fast form of
// perf-anchors.md). Must equal the scalar reference bit for bit: same int32 sums (mod 2^32) and,
// per output, the same fp32 requantization (convert, one multiply, clamp, magic-bias round).
#include <wasm_simd128.h>

#include <cstring>

#include "kernels/qs8-gemm/qs8-gemm.h"

namespace qp::kernels::wasmsimd {

void qs8_gemm_4x2c8_pack(size_t n, size_t k, const int8_t* w, size_t w_stride,
                         const int32_t* bias, int32_t input_zero_point, int8_t* packed,
                         int32_t* packed_bias) {
  const size_t kb_count = (k + 7) / 8;
  const size_t np = (n + 1) / 2 * 2;
  int8_t* out = packed;
  for (size_t j0 = 0; j0 < np; j0 += 2) {
    for (size_t kb = 0; kb < kb_count; ++kb) {
      for (size_t jj = 0; jj < 2; ++jj) {
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

namespace {

// Loads 8 int8 of a row as int16x8; the k tail (k % 8 bytes) goes through a zeroed copy so no
// byte past the row is read.
inline v128_t LoadA(const int8_t* p, size_t valid) {
  if (valid >= 8) return wasm_i16x8_load8x8(p);
  int8_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(tmp, p, valid);
  return wasm_i16x8_load8x8(tmp);
}

// Sum of the 4 lanes of x and of y, as lanes {x, y} of a pair: [x0+x1, x2+x3, y0+y1, y2+y3].
inline v128_t PairSums(v128_t x, v128_t y) {
  return wasm_i32x4_add(wasm_i32x4_shuffle(x, y, 0, 2, 4, 6), wasm_i32x4_shuffle(x, y, 1, 3, 5, 7));
}

// Requantizes 4 accumulators [r0c0, r0c1, r1c0, r1c1] and stores the valid ones.
inline void Store2x2(v128_t acc, const quant::RequantChannel* rq, const quant::OutputQuant& out,
                     int8_t* c0, int8_t* c1, size_t nc, bool row1_valid) {
  int32_t v[4];
  if (out.scheme == quant::RequantScheme::kFp32) {
    const float s0 = rq[0].scale, s1 = nc > 1 ? rq[1].scale : rq[0].scale;
    v128_t f = wasm_f32x4_convert_i32x4(acc);
    f = wasm_f32x4_mul(f, wasm_f32x4_make(s0, s1, s0, s1));
    f = wasm_f32x4_max(f, wasm_f32x4_splat(static_cast<float>(out.qmin - out.zero_point)));
    f = wasm_f32x4_min(f, wasm_f32x4_splat(static_cast<float>(out.qmax - out.zero_point)));
    f = wasm_f32x4_add(f, wasm_f32x4_splat(12582912.0f));
    const v128_t q = wasm_i32x4_sub(f, wasm_i32x4_splat(INT32_C(0x4B400000) - out.zero_point));
    wasm_v128_store(v, q);
  } else {
    // Q31: the scalar arithmetic per lane (identical by construction).
    wasm_v128_store(v, acc);
    for (int l = 0; l < 4; ++l) {
      const quant::RequantChannel& ch = rq[(l & 1) && nc > 1 ? 1 : 0];
      v[l] = quant::RequantizeQ31(v[l], ch.multiplier, ch.shift, out);
    }
  }
  c0[0] = static_cast<int8_t>(v[0]);
  if (nc > 1) c0[1] = static_cast<int8_t>(v[1]);
  if (row1_valid) {
    c1[0] = static_cast<int8_t>(v[2]);
    if (nc > 1) c1[1] = static_cast<int8_t>(v[3]);
  }
}

// MR rows (1 or 4) x 2 channels over the whole k. Rows of a beyond `rows` alias the last valid
// row (computed, not stored), as XNNPACK does.
template <int MR>
void Tile(size_t rows, size_t k, const int8_t* a, size_t a_stride, const int8_t* w,
          const int32_t* bias, const quant::RequantChannel* rq, const quant::OutputQuant& out,
          int8_t* c, size_t c_stride, size_t nc) {
  const int8_t* ap[MR];
  for (int r = 0; r < MR; ++r) ap[r] = a + (r < static_cast<int>(rows) ? r : rows - 1) * a_stride;
  v128_t acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) {
    acc0[r] = wasm_i32x4_make(bias[0], 0, 0, 0);
    acc1[r] = wasm_i32x4_make(bias[1], 0, 0, 0);
  }
  size_t kk = 0;
  // Two k-blocks per iteration with pointers bumped once: fewer loop and address instructions.
  for (; kk + 16 <= k; kk += 16) {
    const v128_t b0 = wasm_i16x8_load8x8(w);
    const v128_t b1 = wasm_i16x8_load8x8(w + 8);
    const v128_t b2 = wasm_i16x8_load8x8(w + 16);
    const v128_t b3 = wasm_i16x8_load8x8(w + 24);
    w += 32;
    for (int r = 0; r < MR; ++r) {
      const v128_t av0 = wasm_i16x8_load8x8(ap[r]);
      const v128_t av1 = wasm_i16x8_load8x8(ap[r] + 8);
      ap[r] += 16;
      acc0[r] = wasm_i32x4_add(acc0[r], wasm_i32x4_dot_i16x8(av0, b0));
      acc1[r] = wasm_i32x4_add(acc1[r], wasm_i32x4_dot_i16x8(av0, b1));
      acc0[r] = wasm_i32x4_add(acc0[r], wasm_i32x4_dot_i16x8(av1, b2));
      acc1[r] = wasm_i32x4_add(acc1[r], wasm_i32x4_dot_i16x8(av1, b3));
    }
  }
  for (; kk + 8 <= k; kk += 8) {
    const v128_t b0 = wasm_i16x8_load8x8(w);
    const v128_t b1 = wasm_i16x8_load8x8(w + 8);
    w += 16;
    for (int r = 0; r < MR; ++r) {
      const v128_t av = wasm_i16x8_load8x8(ap[r]);
      ap[r] += 8;
      acc0[r] = wasm_i32x4_add(acc0[r], wasm_i32x4_dot_i16x8(av, b0));
      acc1[r] = wasm_i32x4_add(acc1[r], wasm_i32x4_dot_i16x8(av, b1));
    }
  }
  if (kk < k) {
    const v128_t b0 = wasm_i16x8_load8x8(w);
    const v128_t b1 = wasm_i16x8_load8x8(w + 8);
    for (int r = 0; r < MR; ++r) {
      const v128_t av = LoadA(ap[r], k - kk);
      acc0[r] = wasm_i32x4_add(acc0[r], wasm_i32x4_dot_i16x8(av, b0));
      acc1[r] = wasm_i32x4_add(acc1[r], wasm_i32x4_dot_i16x8(av, b1));
    }
  }
  for (int r = 0; r < MR; r += 2) {
    const int r1 = MR > 1 ? r + 1 : r;
    const v128_t p0 = PairSums(acc0[r], acc1[r]);    // [c0 a, c0 b, c1 a, c1 b] of row r
    const v128_t p1 = PairSums(acc0[r1], acc1[r1]);  // same for row r1
    const v128_t sums = wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 2, 4, 6),
                                       wasm_i32x4_shuffle(p0, p1, 1, 3, 5, 7));
    if (static_cast<size_t>(r) >= rows) break;
    Store2x2(sums, rq, out, c + r * c_stride, c + r1 * c_stride, nc,
             MR > 1 && static_cast<size_t>(r1) < rows);
  }
}

}  // namespace

void qs8_gemm_4x2c8_compute(size_t m, size_t n, size_t k, const int8_t* a, size_t a_stride,
                            const int8_t* packed, const int32_t* packed_bias,
                            const quant::RequantChannel* requant, const quant::OutputQuant& out,
                            int8_t* c, size_t c_stride) {
  const size_t panel = ((k + 7) / 8) * 16;  // bytes per pair of channels
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    for (size_t j = 0; j < n; j += 2) {
      Tile<4>(4, k, a + i * a_stride, a_stride, packed + (j / 2) * panel, packed_bias + j,
              requant + j, out, c + i * c_stride + j, c_stride, n - j > 1 ? 2 : 1);
    }
  }
  for (; i < m; ++i) {
    for (size_t j = 0; j < n; j += 2) {
      Tile<1>(1, k, a + i * a_stride, a_stride, packed + (j / 2) * panel, packed_bias + j,
              requant + j, out, c + i * c_stride + j, c_stride, n - j > 1 ? 2 : 1);
    }
  }
}

Status qs8_gemm_minmax_4x2c8_create(const QS8GemmParams& params, QS8GemmOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8GemmParams(params));
  InitQS8GemmOp(params, op);
  op->weights.resize(qs8_gemm_4x2c8_packed_size(params.n, params.k));
  op->bias.resize((params.n + 1) / 2 * 2);
  qs8_gemm_4x2c8_pack(params.n, params.k, params.weights, params.k, params.bias,
                      params.input_zero_point, op->weights.data(), op->bias.data());
  return Status::Ok();
}

Status qs8_gemm_minmax_4x2c8_run(const QS8GemmOp& op, size_t m, const int8_t* a, int8_t* c) {
  const QS8GemmParams& p = op.params;
  qs8_gemm_4x2c8_compute(m, p.n, p.k, a, p.a_stride, op.weights.data(), op.bias.data(),
                         op.requant.data(), p.output, c, p.c_stride);
  return Status::Ok();
}

}  // namespace qp::kernels::wasmsimd
