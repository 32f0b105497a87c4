// bench_quant: how fast core/quant's calibrators are. Prints JSON lines
//   {"bench":"quant","case":...,"variant":...,"metric":...,"value":...}
// Plain std::chrono timing, median of repeats, so the same source runs natively, under node and in
// Chromium (scripts/bench.sh). Each figure is reported twice: wall time (metric as named) and
// process CPU time from std::clock (metric + "_cpu"), which stays meaningful on a loaded machine.
// Usage: bench_quant [--quick]  (--quick: 1M values only, 3 repeats).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "core/quant/histogram.h"
#include "core/quant/observers.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
  double wall = 0.0;  // seconds, median
  double cpu = 0.0;   // seconds, median
};

template <typename F>
Timing MedianSeconds(int repeats, F&& f) {
  std::vector<double> w, c;
  for (int r = 0; r < repeats; ++r) {
    const auto a = Clock::now();
    const std::clock_t ca = std::clock();
    f();
    c.push_back(static_cast<double>(std::clock() - ca) / CLOCKS_PER_SEC);
    w.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

void Emit1(const char* c, const char* variant, const char* metric, double value, long long n) {
  std::printf(
      "{\"bench\":\"quant\",\"case\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\",\"value\":%.6g,"
      "\"n\":%lld}\n",
      c, variant, metric, value, n);
  std::fflush(stdout);
}

void Check(const qp::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench_quant: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

// Heavy-tailed activations with outliers: the data calibrators exist for.
std::vector<float> Data(size_t n) {
  std::mt19937_64 rng(12345);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> x(n);
  for (auto& v : x) {
    do {  // libc++'s float exponential_distribution can return +inf (when its uniform draw is 1)
      v = (rng() & 1 ? 1.0f : -1.0f) * e(rng);
    } while (!std::isfinite(v));
  }
  for (size_t i = 0; i < n / 5000; ++i) x[rng() % n] *= 10.0f;
  return x;
}

// Throughput (values / second / 1e6) or time (ms) from a Timing, wall and CPU.
void EmitRate(const char* c, const char* variant, size_t n, const Timing& t) {
  Emit1(c, variant, "Mvalues_per_s", n / t.wall / 1e6, static_cast<long long>(n));
  if (t.cpu > 0) Emit1(c, variant, "Mvalues_per_s_cpu", n / t.cpu / 1e6, static_cast<long long>(n));
}
void EmitMs(const char* c, const char* variant, const Timing& t) {
  Emit1(c, variant, "ms", t.wall * 1e3, 2048);
  Emit1(c, variant, "ms_cpu", t.cpu * 1e3, 2048);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qp::quant;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int repeats = quick ? 3 : 7;
  std::vector<size_t> sizes = {size_t{1} << 20, size_t{4} << 20, size_t{16} << 20};
  if (quick) sizes.resize(1);
  const std::vector<float> all = Data(sizes.back());

  for (size_t n : sizes) {
    char c[32];
    std::snprintf(c, sizeof c, "collect_%zuM", n >> 20);
    const Timing th = MedianSeconds(repeats, [&] {
      auto cal = HistogramCalibrator::Create();
      Check(cal->Observe(all.data(), static_cast<int64_t>(n)));
    });
    EmitRate(c, "histogram_2048", n, th);
    // The same data in 16 batches with a growing range (re-binning on the way).
    const Timing tb = MedianSeconds(repeats, [&] {
      auto cal = HistogramCalibrator::Create();
      const size_t step = n / 16;
      for (size_t s = 0; s < n; s += step) {
        Check(cal->Observe(all.data() + s, static_cast<int64_t>(std::min(step, n - s))));
      }
    });
    EmitRate(c, "histogram_2048_16_batches", n, tb);
    const Timing tm = MedianSeconds(repeats, [&] {
      MinMaxObserver mm;
      Check(mm.Observe(all.data(), static_cast<int64_t>(n)));
    });
    EmitRate(c, "minmax", n, tm);
  }

  // The four amax methods from ONE collected 2048-bin histogram (1M values).
  auto cal = HistogramCalibrator::Create();
  if (!cal->Observe(all.data(), int64_t{1} << 20).ok()) return 1;
  const Histogram& h = cal->histogram();
  const int amax_repeats = quick ? 3 : 11;
  struct M {
    const char* name;
    AmaxMethod m;
  };
  for (const M& m : {M{"max", AmaxMethod::kMax}, M{"percentile", AmaxMethod::kPercentile},
                     M{"mse", AmaxMethod::kMse}, M{"entropy", AmaxMethod::kEntropy}}) {
    float amax = 0.0f;
    const Timing t = MedianSeconds(amax_repeats, [&] { amax = *ComputeAmax(h, m.m); });
    EmitMs("amax_2048_bins", m.name, t);
    Emit1("amax_2048_bins", m.name, "amax", amax, 2048);
  }
  const Timing ta = MedianSeconds(amax_repeats, [&] { Check(ComputeAllAmax(h).status()); });
  EmitMs("amax_2048_bins", "all_four", ta);
  return 0;
}
