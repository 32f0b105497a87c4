// core/quant quantize / dequantize / fake-quant: rounding modes, saturation, round-trip error
// bound, per-axis == per-tensor slice by slice (index math re-derived in the test), error split.
#include "core/quant/quantize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/test_util.h"

namespace qp::quant {
namespace {

using ::testing::HasSubstr;

TEST(QuantQuantize, RoundingModesAtTies) {
  QParams p{1.0f, 0, -128, 127};
  // Definitions: half-to-even sends x.5 to the even neighbour; half-away sends it away from 0.
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, -2.6f};
  const std::vector<int32_t> even = {0, 2, 2, 0, -2, -2, 2, -3};
  const std::vector<int32_t> away = {1, 2, 3, -1, -2, -3, 2, -3};
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(QuantizeValue(x[i], p), even[i]) << x[i];
    EXPECT_EQ(QuantizeValue(x[i], p, RoundingMode::kHalfAwayFromZero), away[i]) << x[i];
  }
  // A zero point shifts after rounding (round(x/s) + zp), so ties stay ties: 2.5 + 3 -> 5.
  QParams z{1.0f, 3, 0, 255};
  EXPECT_EQ(QuantizeValue(2.5f, z), 5);
  EXPECT_EQ(QuantizeValue(2.5f, z, RoundingMode::kHalfAwayFromZero), 6);
}

TEST(QuantQuantize, SaturatesInfinitiesAndMapsNanToZeroPoint) {
  QParams p{0.1f, 10, 0, 255};
  EXPECT_EQ(QuantizeValue(INFINITY, p), 255);
  EXPECT_EQ(QuantizeValue(-INFINITY, p), 0);
  EXPECT_EQ(QuantizeValue(1e30f, p), 255);
  EXPECT_EQ(QuantizeValue(-1e30f, p), 0);
  EXPECT_EQ(QuantizeValue(NAN, p), 10);
  EXPECT_EQ(FakeQuantValue(NAN, p), 0.0f);
}

TEST(QuantQuantize, StorageAndParamsAreChecked) {
  std::vector<float> x(4, 0.0f);
  std::vector<int8_t> q8(4);
  QParams u8{1.0f, 0, 0, 255};
  auto s = QuantizeInt8(x.data(), 4, u8, q8.data());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("does not fit int8"));
  std::vector<int32_t> q(4);
  EXPECT_FALSE(Quantize(x.data(), 4, QParams{-1.0f, 0, -128, 127}, q.data()).ok());
  EXPECT_FALSE(Quantize(x.data(), -1, QParams{}, q.data()).ok());
  // An empty tensor is a valid no-op for the element-wise functions.
  EXPECT_TRUE(Quantize(x.data(), 0, QParams{}, q.data()).ok());
}

// Random specs, params and values, inside and outside the representable range.
TEST(QuantQuantize, RoundTripBoundSaturationAndZero) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(202);
  std::uniform_int_distribution<int> bits_d(kMinBits, kMaxBits);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int trial = 0; trial < 300; ++trial) {
    QuantSpec spec{bits_d(rng), rng() % 2 == 0, rng() % 2 == 0,
                   rng() % 2 == 0 ? Scheme::kAffine : Scheme::kSymmetric};
    const float scale_mag = std::pow(10.0f, 3.0f * u(rng));
    float a = u(rng) * scale_mag, b = u(rng) * scale_mag;
    auto p = ParamsFromMinMax(std::min(a, b), std::max(a, b), spec);
    ASSERT_TRUE(p.ok());
    SCOPED_TRACE(SpecToString(spec));
    const float lo = p->RealMin(), hi = p->RealMax();
    std::vector<float> x(257);
    for (auto& v : x) v = lo + (hi - lo) * (0.5f + 0.75f * u(rng));  // ~25% outside each side
    x[0] = 0.0f;
    std::vector<int32_t> q(x.size());
    std::vector<float> y(x.size()), fq(x.size());
    ASSERT_TRUE(Quantize(x.data(), x.size(), *p, q.data()).ok());
    ASSERT_TRUE(Dequantize(q.data(), q.size(), *p, y.data()).ok());
    ASSERT_TRUE(FakeQuant(x.data(), x.size(), *p, fq.data()).ok());
    EXPECT_EQ(q[0], p->zero_point);
    EXPECT_EQ(y[0], 0.0f);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(fq[i], y[i]) << "fake-quant must equal dequantize(quantize(x)) bit for bit";
      ASSERT_GE(q[i], p->qmin);
      ASSERT_LE(q[i], p->qmax);
      if (x[i] < lo) {
        EXPECT_EQ(q[i], p->qmin) << x[i];
      } else if (x[i] > hi) {
        EXPECT_EQ(q[i], p->qmax) << x[i];
      } else {
        // Exact rounding error is <= scale/2; the float division x/scale and the product
        // (q - zp) * scale each add <= 2^-24 relative of |x|, hence the |x| * 2^-22 slack.
        EXPECT_LE(std::abs(y[i] - x[i]), 0.5 * p->scale + std::abs(x[i]) * std::ldexp(1.0, -22))
            << "x=" << x[i] << " q=" << q[i] << " scale=" << p->scale;
      }
    }
  }
}

// Per-axis quantization equals per-tensor quantization of each channel's slice, where the slice is
// gathered with strides computed here from the dims (independent of AxisLayout).
TEST(QuantQuantize, PerAxisEqualsPerTensorSliceBySlice) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(303);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims dims(rank);
    for (auto& d : dims) d = 1 + static_cast<int64_t>(rng() % 5);
    const int axis_in = static_cast<int>(rng() % (2 * rank)) - rank;  // negative allowed
    const int axis = axis_in < 0 ? axis_in + rank : axis_in;
    const int64_t channels = dims[axis];
    int64_t n = 1;
    for (auto d : dims) n *= d;
    std::vector<float> x(n);
    for (auto& v : x) v = u(rng);
    QuantSpec spec{2 + static_cast<int>(rng() % 7), rng() % 2 == 0, false, Scheme::kAffine};
    std::vector<float> mins(channels), maxs(channels);
    for (int64_t c = 0; c < channels; ++c) {
      float a = u(rng), b = u(rng);
      mins[c] = std::min(a, b);
      maxs[c] = std::max(a, b);
    }
    auto p = ParamsFromMinMaxPerAxis(mins, maxs, axis_in, spec);  // negative axes resolve at use
    ASSERT_TRUE(p.ok());
    std::vector<int32_t> q(n);
    std::vector<float> fq(n);
    ASSERT_TRUE(Quantize(x.data(), dims, *p, q.data()).ok());
    ASSERT_TRUE(FakeQuant(x.data(), dims, *p, fq.data()).ok());
    // Strides and the channel of every flat index, from the dims.
    std::vector<int64_t> stride(rank, 1);
    for (int d = rank - 2; d >= 0; --d) stride[d] = stride[d + 1] * dims[d + 1];
    for (int64_t c = 0; c < channels; ++c) {
      std::vector<float> slice;
      std::vector<int64_t> where;
      for (int64_t i = 0; i < n; ++i) {
        if ((i / stride[axis]) % dims[axis] == c) {
          slice.push_back(x[i]);
          where.push_back(i);
        }
      }
      std::vector<int32_t> qs(slice.size());
      ASSERT_TRUE(Quantize(slice.data(), slice.size(), p->Channel(c), qs.data()).ok());
      for (size_t k = 0; k < slice.size(); ++k) {
        ASSERT_EQ(q[where[k]], qs[k]) << "channel " << c << " flat index " << where[k];
        ASSERT_EQ(fq[where[k]], DequantizeValue(qs[k], p->Channel(c)));
      }
    }
  }
  // Per-axis params applied to the wrong shape or axis are errors, not crashes.
  auto p = ParamsFromAmaxPerAxis({1.0f, 2.0f}, 0, QuantSpec{});
  ASSERT_TRUE(p.ok());
  std::vector<float> x(6);
  std::vector<int32_t> q(6);
  EXPECT_THAT(Quantize(x.data(), Dims{3, 2}, *p, q.data()).message(), HasSubstr("extent 3"));
  TensorQParams bad_axis = *p;
  bad_axis.axis = 5;
  EXPECT_EQ(Quantize(x.data(), Dims{2, 3}, bad_axis, q.data()).code(), StatusCode::kOutOfRange);
}

TEST(QuantQuantize, ErrorSplitSeparatesClippingFromRounding) {
  QParams p{0.5f, 0, -4, 3};  // representable [-2, 1.5]
  const std::vector<float> x = {0.1f, -0.3f, 2.0f, -3.0f};
  auto e = QuantErrorSplit(x.data(), 4, p);
  ASSERT_TRUE(e.ok());
  // Hand computation: 0.1 -> 0 (err 0.01), -0.3 -> -0.5 (0.04); 2.0 -> 1.5 (0.25), -3 -> -2 (1).
  EXPECT_NEAR(e->rounding, (0.01 + 0.04) / 4, 1e-7);  // float inputs 0.1f/0.3f: ~1e-8 error
  EXPECT_NEAR(e->clipping, (0.25 + 1.0) / 4, 1e-12);
  EXPECT_EQ(e->clipped_count, 2);
}

}  // namespace
}  // namespace qp::quant
