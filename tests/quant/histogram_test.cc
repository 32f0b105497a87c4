// core/quant histogram calibrator against brute force: growth vs direct binning, percentile vs
// sorting the raw values, MSE vs an exhaustive search written here, entropy vs a plain O(B^2) port
// of pytorch-quantization's _compute_amax_entropy written here, error split vs raw data.
#include "core/quant/histogram.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "tests/test_util.h"

namespace qp::quant {
namespace {

using ::testing::HasSubstr;

std::vector<float> Gaussian(std::mt19937_64& rng, int n, float sigma) {
  std::normal_distribution<float> g(0.0f, sigma);
  std::vector<float> x(n);
  for (auto& v : x) v = g(rng);
  return x;
}

// Laplace-like heavy tail with a few outliers, the case calibrators exist for.
std::vector<float> HeavyTail(std::mt19937_64& rng, int n) {
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> x(n);
  for (auto& v : x) {
    do {  // libc++'s float exponential_distribution (wasm) can return +inf
      v = (rng() % 2 ? 1.0f : -1.0f) * e(rng);
    } while (!std::isfinite(v));
  }
  for (int i = 0; i < n / 2000; ++i) x[rng() % n] *= 8.0f;
  return x;
}

HistogramCalibrator Collect(const std::vector<float>& x, int batches, int bins = 2048) {
  HistogramOptions o;
  o.num_bins = bins;
  auto cal = HistogramCalibrator::Create(o);
  EXPECT_TRUE(cal.ok());
  const size_t step = (x.size() + batches - 1) / batches;
  for (size_t s = 0; s < x.size(); s += step) {
    EXPECT_TRUE(cal->Observe(x.data() + s, std::min(step, x.size() - s)).ok());
  }
  return std::move(*cal);
}

TEST(QuantHistogram, BadInput) {
  auto cal = HistogramCalibrator::Create();
  ASSERT_TRUE(cal.ok());
  std::vector<float> x = {1.0f, NAN, 2.0f, NAN};
  Status s = cal->Observe(x.data(), 4);
  EXPECT_THAT(s.message(), HasSubstr("2 of 4 values are not finite"));
  EXPECT_THAT(s.message(), HasSubstr("first at index 1"));
  EXPECT_FALSE(cal->has_data());
  EXPECT_THAT(cal->Observe(x.data(), 0).message(), HasSubstr("empty tensor"));
  EXPECT_EQ(cal->ComputeAmax(AmaxMethod::kMse, {}).status().code(),
            StatusCode::kFailedPrecondition);
  HistogramOptions bad;
  bad.num_bins = 1;
  EXPECT_FALSE(HistogramCalibrator::Create(bad).ok());
  EXPECT_FALSE(ParseAmaxMethod("kl").ok());
  EXPECT_EQ(*ParseAmaxMethod("entropy"), AmaxMethod::kEntropy);
  std::vector<float> ok = {1.0f, -2.0f};
  ASSERT_TRUE(cal->Observe(ok.data(), 2).ok());
  AmaxOptions o;
  o.percentile = 0.0;
  EXPECT_FALSE(cal->ComputeAmax(AmaxMethod::kPercentile, o).ok());
  o = AmaxOptions{};
  o.bits = 17;
  EXPECT_EQ(cal->ComputeAmax(AmaxMethod::kEntropy, o).status().code(), StatusCode::kOutOfRange);
}

TEST(QuantHistogram, AllZeroDataGivesFinitePositiveScaleForEveryMethod) {
  std::vector<float> z(5000, 0.0f);
  HistogramCalibrator cal = Collect(z, 2);
  for (AmaxMethod m :
       {AmaxMethod::kMax, AmaxMethod::kPercentile, AmaxMethod::kMse, AmaxMethod::kEntropy}) {
    HistogramOptions o;
    o.method = m;
    auto c = HistogramCalibrator::Create(o);
    ASSERT_TRUE(c->Observe(z.data(), 5000).ok());
    auto q = c->ComputeQParams(QuantSpec{});
    ASSERT_TRUE(q.ok()) << AmaxMethodName(m) << ": " << q.status().ToString();
    EXPECT_TRUE(std::isfinite(q->scales[0]) && q->scales[0] > 0.0f);
  }
  // Zeros first, then data: the zeros stay in bin 0.
  std::vector<float> d = {0.5f, -1.0f};
  ASSERT_TRUE(cal.Observe(d.data(), 2).ok());
  EXPECT_EQ(cal.histogram().counts[0], 5000);
  EXPECT_EQ(cal.histogram().total(), 5002);
}

// The grown histogram equals binning every value directly into the final range. The expected bin
// is floor(|v| * bins / hi) in double; values within 1e-4 bins of an edge may land on either side
// because the calibrator bins in float, so each such value may move one count between two bins.
TEST(QuantHistogram, GrowthByRebinningLosesNothing) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(606);
  HistogramOptions o;
  o.num_bins = 256;
  auto cal = HistogramCalibrator::Create(o);
  std::vector<float> all;
  const float spreads[] = {0.1f, 0.05f, 1.0f, 0.3f, 7.5f, 2.0f, 40.0f};
  for (float sigma : spreads) {
    auto x = Gaussian(rng, 3001, sigma);
    all.insert(all.end(), x.begin(), x.end());
    ASSERT_TRUE(cal->Observe(x.data(), x.size()).ok());
  }
  const Histogram& h = cal->histogram();
  float mx = 0.0f;
  for (float v : all) mx = std::max(mx, std::abs(v));
  EXPECT_EQ(h.max_abs, mx);
  EXPECT_GE(h.hi, mx);
  EXPECT_LT(h.hi, 2.0 * mx);  // grown by doublings of the first batch's max, never more than needed
  std::vector<int64_t> expect(256, 0);
  int64_t near_edge = 0;
  for (float v : all) {
    const double t = std::abs(static_cast<double>(v)) * 256 / h.hi;
    const int b = std::min(255, static_cast<int>(t));
    ++expect[b];
    if (std::abs(t - std::round(t)) < 1e-4 && std::round(t) > 0 && std::round(t) < 256) ++near_edge;
  }
  int64_t diff = 0;
  for (int b = 0; b < 256; ++b) diff += std::abs(expect[b] - h.counts[b]);
  EXPECT_LE(diff, 2 * near_edge);
  EXPECT_EQ(h.total(), static_cast<int64_t>(all.size()));
}

// Percentile vs the sorted raw values: the k-th smallest |x| (k = ceil(p/100 n)) lies in the bin
// where the cumulative count first reaches p/100 n, and amax is that bin's upper edge, so
// 0 <= amax - v_k <= bin width (plus 1e-6 relative for float edge rounding).
TEST(QuantHistogram, PercentileWithinOneBinOfSortedValues) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(707);
  auto x = HeavyTail(rng, 200000);
  HistogramCalibrator cal = Collect(x, 7);
  std::vector<float> a(x.size());
  for (size_t i = 0; i < x.size(); ++i) a[i] = std::abs(x[i]);
  std::sort(a.begin(), a.end());
  for (double p : {50.0, 99.0, 99.9, 99.99, 100.0}) {
    AmaxOptions o;
    o.percentile = p;
    auto amax = cal.ComputeAmax(AmaxMethod::kPercentile, o);
    ASSERT_TRUE(amax.ok());
    const size_t k = static_cast<size_t>(std::ceil(p / 100.0 * a.size())) - 1;
    const double w = cal.histogram().bin_width();
    EXPECT_GE(*amax, a[k] - 1e-6 * a[k]) << "p=" << p;
    EXPECT_LE(*amax - a[k], w * (1 + 1e-6)) << "p=" << p;
  }
  auto mx = cal.ComputeAmax(AmaxMethod::kMax, {});
  EXPECT_EQ(*mx, a.back());
}

// Exhaustive search written here: every bin center from start_bin as threshold, the error of
// symmetric fake-quant applied to every bin center weighted by its count.
double MseAt(const Histogram& h, double amax, int bits, bool is_unsigned) {
  const double levels = std::pow(2.0, bits - 1 + (is_unsigned ? 1 : 0)) - 1;
  double err = 0.0;
  for (int b = 0; b < h.num_bins(); ++b) {
    const double c = (b + 0.5) * h.hi / h.num_bins();
    double q = std::nearbyint(c * levels / amax);
    q = std::max(0.0, std::min(q, levels));
    const double d = q * amax / levels - c;
    err += h.counts[b] * d * d;
  }
  return err / h.total();
}

TEST(QuantHistogram, MseMatchesExhaustiveSearch) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(808);
  for (int bits : {8, 4}) {
    for (bool is_unsigned : {false, true}) {
      auto x = HeavyTail(rng, 50000);
      HistogramCalibrator cal = Collect(x, 3, 1024);
      AmaxOptions o;
      o.bits = bits;
      o.is_unsigned = is_unsigned;
      auto amax = cal.ComputeAmax(AmaxMethod::kMse, o);
      ASSERT_TRUE(amax.ok());
      const Histogram& h = cal.histogram();
      double best = std::numeric_limits<double>::infinity();
      double best_amax = 0.0;
      for (int i = o.start_bin; i < h.num_bins(); ++i) {
        const double t = (i + 0.5) * h.hi / h.num_bins();
        const double e = MseAt(h, t, bits, is_unsigned);
        if (e < best) {
          best = e;
          best_amax = t;
        }
      }
      // Equal, or an equally good threshold: the sums are evaluated in a different order here
      // (double, relative 1e-12 is far below the gap between distinct candidates' errors).
      auto s = MseSearch(h, o);
      ASSERT_TRUE(s.ok());
      const double chosen =
          s->amax[s->best];  // the double threshold; ComputeAmax rounds it to float
      EXPECT_EQ(*amax, static_cast<float>(chosen));
      const double ours = MseAt(h, chosen, bits, is_unsigned);
      EXPECT_LE(ours, best * (1 + 1e-12)) << "bits " << bits << " unsigned " << is_unsigned;
      EXPECT_NEAR(chosen, best_amax, 1e-9 * best_amax);
      // The search's own objective agrees with the test's at the winner (same model, 1e-9
      // relative).
      EXPECT_NEAR(s->objective[s->best], best, 1e-9 * best);
    }
  }
}

// A plain port of pytorch-quantization's _compute_amax_entropy (numpy + scipy.stats.entropy):
// O(B^2), digitize against linspace(0, i, nbins + 1), KL of the normalized distributions.
struct PlainEntropy {
  std::vector<double> divergence;  // per candidate i = start..bins
  double amax = 0.0;
};

PlainEntropy PlainTensorRtEntropy(const Histogram& h, int bits, bool is_unsigned, int start_bin) {
  std::vector<double> bins(h.counts.begin(), h.counts.end());
  bins[0] = bins[1];
  double total_data = 0.0;
  for (double b : bins) total_data += b;
  const int nbins = 1 << (bits - 1 + (is_unsigned ? 1 : 0));
  const int stop = static_cast<int>(bins.size());
  PlainEntropy r;
  std::vector<int> args;
  for (int i = start_bin; i <= stop; ++i) {
    std::vector<double> space(nbins + 1);
    for (int j = 0; j <= nbins; ++j) space[j] = static_cast<double>(i) * j / nbins;
    std::vector<int> digitized(i);
    for (int idx = 0; idx < i; ++idx) {
      // np.digitize(idx, space) - 1: number of edges <= idx, minus one.
      const int k = static_cast<int>(
          std::upper_bound(space.begin(), space.end(), static_cast<double>(idx)) - space.begin());
      digitized[idx] = bins[idx] == 0 ? -1 : k - 1;
    }
    std::vector<double> counts(nbins, 0.0), members(nbins, 0.0);
    for (int idx = 0; idx < i; ++idx) {
      if (digitized[idx] != -1) {
        counts[digitized[idx]] += bins[idx];
        members[digitized[idx]] += 1;
      }
    }
    std::vector<double> q(i, 0.0), p(bins.begin(), bins.begin() + i);
    for (int idx = 0; idx < i; ++idx) {
      if (digitized[idx] != -1) q[idx] = counts[digitized[idx]] / members[digitized[idx]];
    }
    for (int idx = i; idx < stop; ++idx) p[i - 1] += bins[idx];
    double sp = 0.0, sq = 0.0;
    for (int idx = 0; idx < i; ++idx) {
      sp += p[idx];
      sq += q[idx];
    }
    // The original's sanity check: Q keeps the in-range mass, P all of it.
    double beyond = 0.0;
    for (int idx = i; idx < stop; ++idx) beyond += bins[idx];
    EXPECT_EQ(std::round(sq + beyond), total_data);
    EXPECT_EQ(std::round(sp), total_data);
    double kl = 0.0;
    for (int idx = 0; idx < i; ++idx) {
      const double pn = p[idx] / sp, qn = q[idx] / sq;
      if (pn > 0 && qn == 0) {
        kl = std::numeric_limits<double>::infinity();
        break;
      }
      if (pn > 0) kl += pn * std::log(pn / qn);
    }
    r.divergence.push_back(kl);
    args.push_back(i);
  }
  // Last argmin.
  size_t best = 0;
  for (size_t k = 0; k < r.divergence.size(); ++k) {
    if (r.divergence[k] <= r.divergence[best]) best = k;
  }
  r.amax = h.edge(args[best]);
  return r;
}

TEST(QuantHistogram, EntropyMatchesPlainTensorRtReimplementation) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(909);
  struct Case {
    int bins, bits;
    bool is_unsigned;
    bool relu;
  };
  for (const Case& c :
       {Case{2048, 8, false, false}, Case{512, 8, false, false}, Case{512, 8, true, true},
        Case{384, 4, false, false}, Case{300, 6, false, true}}) {
    auto x = HeavyTail(rng, 60000);
    if (c.relu) {
      for (auto& v : x) v = std::max(v, 0.0f);
    }
    HistogramCalibrator cal = Collect(x, 4, c.bins);
    AmaxOptions o;
    o.bits = c.bits;
    o.is_unsigned = c.is_unsigned;
    auto s = EntropySearch(cal.histogram(), o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    PlainEntropy plain = PlainTensorRtEntropy(cal.histogram(), c.bits, c.is_unsigned, o.start_bin);
    ASSERT_EQ(s->objective.size(), plain.divergence.size());
    for (size_t k = 0; k < plain.divergence.size(); ++k) {
      // Prefix sums of c*log(c) vs direct sums: both in double, absolute error well below 1e-9
      // for divergences of order 1 (sums of 1e5 counts, log values < 20).
      if (std::isinf(plain.divergence[k])) {
        EXPECT_TRUE(std::isinf(s->objective[k])) << "candidate " << k;
      } else {
        EXPECT_NEAR(s->objective[k], plain.divergence[k], 1e-9) << "candidate " << k;
      }
    }
    auto amax = cal.ComputeAmax(AmaxMethod::kEntropy, o);
    // The same threshold, unless two candidates tie within 1e-9 (then either is a minimum).
    if (*amax != static_cast<float>(plain.amax)) {
      const size_t ours = static_cast<size_t>(s->best);
      double mn = plain.divergence[0];
      for (double d : plain.divergence) mn = std::min(mn, d);
      EXPECT_NEAR(plain.divergence[ours], mn, 1e-9);
    }
    EXPECT_EQ(*amax, static_cast<float>(plain.amax)) << "bins " << c.bins << " bits " << c.bits;
  }
}

TEST(QuantHistogram, AllFourFromOneHistogram) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1001);
  auto x = HeavyTail(rng, 100000);
  HistogramCalibrator cal = Collect(x, 5);
  const Histogram before = cal.histogram();
  auto all = ComputeAllAmax(cal.histogram(), {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->max, *cal.ComputeAmax(AmaxMethod::kMax, {}));
  EXPECT_EQ(all->percentile, *cal.ComputeAmax(AmaxMethod::kPercentile, {}));
  EXPECT_EQ(all->mse, *cal.ComputeAmax(AmaxMethod::kMse, {}));
  EXPECT_EQ(all->entropy, *cal.ComputeAmax(AmaxMethod::kEntropy, {}));
  EXPECT_EQ(cal.histogram().counts, before.counts);  // computing never changes what was collected
  // On a heavy tail every clipping method clips below the max.
  EXPECT_LT(all->percentile, all->max);
  EXPECT_LT(all->mse, all->max);
  EXPECT_LT(all->entropy, all->max);
}

// On data that sit exactly at bin centers, the histogram split equals the raw-data split.
TEST(QuantHistogram, ErrorSplitMatchesRawDataAtBinCenters) {
  Histogram h;
  h.counts.assign(64, 0);
  h.hi = 8.0;  // bin width 1/8: centers are exact in float
  std::vector<float> raw;
  auto rng = qp::testing::Rng(1102);
  for (int b = 0; b < 64; ++b) {
    const int n = static_cast<int>(rng() % 5);
    h.counts[b] = n;
    for (int k = 0; k < n; ++k) raw.push_back(static_cast<float>(h.center(b)));
  }
  const float amax = 5.03f;  // not at a center
  auto e = HistogramErrorSplit(h, amax, 4, false);
  auto p = ParamsFromAmax(amax, QuantSpec{4, true, false, Scheme::kSymmetric});
  auto r = QuantErrorSplit(raw.data(), raw.size(), *p);
  ASSERT_TRUE(e.ok() && r.ok());
  // Float (raw) vs double (histogram) fake-quant: relative 1e-5 covers float rounding of the step.
  EXPECT_NEAR(e->clipping, r->clipping, 1e-5 * (r->clipping + 1e-12));
  EXPECT_NEAR(e->rounding, r->rounding, 1e-5 * (r->rounding + 1e-12));
  EXPECT_EQ(e->clipped_count, r->clipped_count);
}

TEST(QuantHistogram, PerChannelEqualsPerTensorOnSlices) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1203);
  const Dims dims = {2, 3, 500};
  HistogramOptions o;
  o.num_bins = 256;
  o.method = AmaxMethod::kMse;
  auto pc = PerChannelHistogramCalibrator::Create(1, o);
  ASSERT_TRUE(pc.ok());
  std::vector<HistogramCalibrator> ref;
  for (int c = 0; c < 3; ++c) ref.push_back(*HistogramCalibrator::Create(o));
  for (int batch = 0; batch < 2; ++batch) {
    auto x = Gaussian(rng, 3000, 1.0f + batch);
    for (int i = 0; i < 500; ++i) {  // channel 1 (both outer indices) is 5x wider
      x[500 + i] *= 5.0f;
      x[2000 + i] *= 5.0f;
    }
    ASSERT_TRUE(pc->Observe(x.data(), dims).ok());
    for (int c = 0; c < 3; ++c) {
      std::vector<float> slice;
      for (int o2 = 0; o2 < 2; ++o2) {
        slice.insert(slice.end(), x.begin() + (o2 * 3 + c) * 500,
                     x.begin() + (o2 * 3 + c + 1) * 500);
      }
      ASSERT_TRUE(ref[c].Observe(slice.data(), slice.size()).ok());
    }
  }
  auto q = pc->ComputeQParams(QuantSpec{});
  ASSERT_TRUE(q.ok());
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(pc->channel(c).histogram().counts, ref[c].histogram().counts);
    auto rq = ref[c].ComputeQParams(QuantSpec{});
    EXPECT_EQ(q->scales[c], rq->scales[0]);
  }
  EXPECT_GT(q->scales[1], q->scales[0]);
}

}  // namespace
}  // namespace qp::quant
