// bench_kernels: times every available variant of every int8 kernel family (the .inc lists) on
// fixed shapes; prints one JSON line per (case, variant, metric): GOPS, microseconds, and the
// ratio to the scalar reference. Plain std::chrono, median of repeats. Not a test.
//   bench_kernels [--quick] [--family=<name>]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/qs8-gemm/qs8-gemm.h"

namespace {

using Clock = std::chrono::steady_clock;
bool g_quick = false;
std::string g_family;

// Median over `reps` samples; each sample runs fn enough times to last >= min_ms.
double MedianMicros(const std::function<void()>& fn, double min_ms) {
  fn();  // warm-up (also pages in packed weights)
  int iters = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (ms >= min_ms || iters > (1 << 24)) break;
    iters *= 2;
  }
  const int reps = g_quick ? 3 : 7;
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

void Emit(const std::string& kase, const char* variant, const char* metric, double value) {
  std::printf("{\"bench\":\"kernels\",\"case\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\",\"value\":%.6g}\n",
              kase.c_str(), variant, metric, value);
  std::fflush(stdout);
}

// Reports every variant of one case; `run(variant_index)` returns false if the variant declined.
template <typename Variants>
void BenchCase(const std::string& kase, const Variants& variants, double ops,
               const std::function<std::function<void()>(size_t)>& make) {
  double scalar_us = 0;
  for (size_t vi = 0; vi < variants.size(); ++vi) {
    if (!variants[vi].available()) continue;
    std::function<void()> fn = make(vi);
    if (!fn) continue;
    // The scalar oracle is slow by design: shorter samples keep the run short.
    const double us = MedianMicros(fn, variants[vi].isa == qp::kernels::Isa::kScalar ? 20 : 50);
    if (variants[vi].isa == qp::kernels::Isa::kScalar) scalar_us = us;
    Emit(kase, variants[vi].name, "us", us);
    Emit(kase, variants[vi].name, "gops", ops / us * 1e-3);
    if (scalar_us > 0) Emit(kase, variants[vi].name, "speedup_vs_scalar", scalar_us / us);
  }
}

std::mt19937_64 g_rng(20261122);
std::vector<int8_t> RandomInt8(size_t n) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(g_rng));
  return v;
}

// ---- qs8/qc8 GEMM: ops = 2*M*N*K ----------------------------------------------------------------
void BenchGemm() {
  using namespace qp::kernels;
  struct Shape { size_t m, n, k; bool per_channel; };
  std::vector<Shape> shapes = {{1, 256, 256, false}, {1, 1024, 1024, false}, {64, 256, 256, false},
                               {64, 256, 256, true}, {64, 1024, 1024, false}, {1, 512, 784, true}};
  if (g_quick) shapes = {{1, 256, 256, false}, {64, 256, 256, false}};
  for (const Shape& s : shapes) {
    auto a = RandomInt8(s.m * s.k);
    auto w = RandomInt8(s.n * s.k);
    std::vector<int32_t> bias(s.n, 100);
    std::vector<qp::quant::RequantChannel> rq(s.n);
    for (auto& r : rq) r = *qp::quant::MakeRequantChannel(0.02f, 0.01f, 0.5f);
    QS8GemmParams p;
    p.n = s.n;
    p.k = s.k;
    p.weights = w.data();
    p.bias = bias.data();
    p.input_zero_point = 3;
    p.requant = rq.data();
    p.per_channel = s.per_channel;
    std::vector<int8_t> c(s.m * s.n);
    std::vector<QS8GemmOp> ops(QS8GemmVariants().size());
    char kase[96];
    std::snprintf(kase, sizeof kase, "%s gemm %zux%zux%zu", s.per_channel ? "qc8" : "qs8", s.m,
                  s.n, s.k);
    BenchCase(kase, QS8GemmVariants(), 2.0 * s.m * s.n * s.k, [&](size_t vi) -> std::function<void()> {
      const QS8GemmVariant& v = QS8GemmVariants()[vi];
      if (!v.create(p, &ops[vi]).ok()) return nullptr;
      return [&, vi] { (void)v.run(ops[vi], s.m, a.data(), c.data()); };
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) g_quick = true;
    if (!std::strncmp(argv[i], "--family=", 9)) g_family = argv[i] + 9;
  }
  const std::map<std::string, void (*)()> families = {{"qs8_gemm", BenchGemm}};
  for (const auto& [name, fn] : families) {
    if (g_family.empty() || g_family == name) fn();
  }
  return 0;
}
