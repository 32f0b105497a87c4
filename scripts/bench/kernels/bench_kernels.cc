// bench_kernels: times every available variant of every int8 kernel family (the .inc lists) on
// fixed shapes; prints one JSON line per (case, variant, metric): GOPS, microseconds, and the
// ratio to the scalar reference. Plain std::chrono. Not a test.
//   bench_kernels [--quick] [--family=qs8_gemm|qs8_conv|qs8_dwconv|qs8_elementwise|qs8_pool|qs8_quant]
// GOPS counts 2 ops per multiply-accumulate (GEMM, conv) and 1 per element or tap elsewhere.
// Two timings per variant: "gops" from the median of 7 long samples (>= 50 ms each: what a
// loaded machine gives, descheduling included) and "gops_best" from the fastest of 200 short
// samples (~0.5 ms each: on a shared machine some short samples run undisturbed, so this
// estimates the kernel's own speed). In the wasm SIMD build every case is preceded by the SIMD128
// ceiling probe (simd-ceiling-wasmsimd.cc) timed the same way, and "ratio_to_ceiling" is
// gops_best / ceiling gops_best of that same moment.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "kernels/qs8-gemm/qs8-gemm.h"
#include "kernels/qs8-pool/qs8-pool.h"
#include "kernels/qs8-quant/qs8-quant.h"
#include "kernels/qs8-vadd/qs8-vadd.h"
#include "kernels/qs8-vcvt/qs8-vcvt.h"
#include "kernels/qs8-vmul/qs8-vmul.h"
#if defined(QP_BENCH_HAVE_SIMD_CEILING)
#include "scripts/bench/kernels/simd-ceiling.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;
bool g_quick = false;
std::string g_family;

struct Timing {
  double median_us;  // median of long samples
  double best_us;    // fastest short sample
};

// Runs fn `iters` times per sample: 7 samples lasting >= min_ms (median) and 200 samples of about
// 0.5 ms (fastest).
Timing TimeIt(const std::function<void()>& fn, double min_ms) {
  fn();  // warm-up (also pages in packed weights)
  auto iters_for = [&](double ms_target) {
    int iters = 1;
    for (;;) {
      const auto t0 = Clock::now();
      for (int i = 0; i < iters; ++i) fn();
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (ms >= ms_target || iters > (1 << 24)) return iters;
      iters *= 2;
    }
  };
  auto sample = [&](int iters) {
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters;
  };
  const int long_iters = iters_for(min_ms);
  const int reps = g_quick ? 3 : 7;
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) samples.push_back(sample(long_iters));
  std::sort(samples.begin(), samples.end());
  const int short_iters = iters_for(0.5);
  double best = samples.front();
  // At most ~200 ms of short samples (the slow scalar oracle gets few).
  const double short_us = samples.front() * short_iters;
  const int count = static_cast<int>(std::clamp(2e5 / std::max(short_us, 1.0), 3.0, g_quick ? 50.0 : 200.0));
  for (int r = 0; r < count; ++r) {
    const double us = sample(short_iters);
    if (us > 0) best = std::min(best, us);
  }
  return {samples[samples.size() / 2], best};
}

void Emit(const std::string& kase, const char* variant, const char* metric, double value) {
  std::printf("{\"bench\":\"kernels\",\"case\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\",\"value\":%.6g}\n",
              kase.c_str(), variant, metric, value);
  std::fflush(stdout);
}

// The SIMD128 ceiling probe timed now (0 when this build has none).
double CeilingGopsBest() {
#if defined(QP_BENCH_HAVE_SIMD_CEILING)
  static std::vector<int8_t> a(24 * 256, 3), b(24 * 256, -5);
  static std::vector<int32_t> c(24 * 24);
  return 2.0 * 24 * 24 * 256 / TimeIt([] { qp::bench::SimdCeilingKernel(a.data(), b.data(), c.data()); }, 5).best_us * 1e-3;
#else
  return 0;
#endif
}

// Reports every variant of one case; `make(variant_index)` returns nullptr if the variant declined.
template <typename Variants>
void BenchCase(const std::string& kase, const Variants& variants, double ops,
               const std::function<std::function<void()>(size_t)>& make) {
  double scalar_us = 0;
  const double ceiling = CeilingGopsBest();
  if (ceiling > 0) Emit(kase, "simd128_ceiling", "gops_best", ceiling);
  for (size_t vi = 0; vi < variants.size(); ++vi) {
    if (!variants[vi].available()) continue;
    std::function<void()> fn = make(vi);
    if (!fn) continue;
    // The scalar oracle is slow by design: shorter samples keep the run short.
    const bool scalar = variants[vi].isa == qp::kernels::Isa::kScalar;
    const Timing t = TimeIt(fn, scalar ? 20 : 50);
    if (scalar) scalar_us = t.median_us;
    Emit(kase, variants[vi].name, "us", t.median_us);
    Emit(kase, variants[vi].name, "gops", ops / t.median_us * 1e-3);
    Emit(kase, variants[vi].name, "gops_best", ops / t.best_us * 1e-3);
    if (scalar_us > 0) Emit(kase, variants[vi].name, "speedup_vs_scalar", scalar_us / t.median_us);
    if (ceiling > 0 && variants[vi].isa == qp::kernels::Isa::kWasmSimd) {
      Emit(kase, variants[vi].name, "ratio_to_ceiling", ops / t.best_us * 1e-3 / ceiling);
    }
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

// ---- convolution: ops = 2 * output pixels * output channels * kh * kw * gic ---------------------
void BenchConv() {
  using namespace qp::kernels;
  struct Shape { const char* name; size_t h, w, cin, cout, k, s, pad, groups; };
  std::vector<Shape> shapes = {
      {"3x3 56x56x64->64", 56, 56, 64, 64, 3, 1, 1, 1},
      {"1x1 28x28x128->256", 28, 28, 128, 256, 1, 1, 0, 1},
      {"3x3 28x28x32->64 (cnn)", 28, 28, 32, 64, 3, 1, 0, 1},
      {"3x3 s2 112x112x3->32 (mbv2 stem)", 112, 112, 3, 32, 3, 2, 1, 1},
      {"dw3x3 56x56x144 (via conv)", 56, 56, 144, 144, 3, 1, 1, 144}};
  if (g_quick) shapes.resize(2);
  for (const Shape& s : shapes) {
    const size_t gic = s.cin / s.groups, goc = s.cout / s.groups;
    auto x = RandomInt8(s.h * s.w * s.cin);
    auto w = RandomInt8(s.cout * s.k * s.k * gic);
    std::vector<int32_t> bias(s.cout, 7);
    const auto rq = *qp::quant::MakeRequantChannel(0.02f, 0.01f, 0.5f);
    QS8ConvParams p;
    p.kernel_h = p.kernel_w = s.k;
    p.stride_h = p.stride_w = s.s;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
    p.groups = s.groups;
    p.group_input_channels = gic;
    p.group_output_channels = goc;
    p.weights = w.data();
    p.bias = bias.data();
    p.requant = &rq;
    const size_t oh = (s.h + 2 * s.pad - s.k) / s.s + 1, ow = (s.w + 2 * s.pad - s.k) / s.s + 1;
    std::vector<int8_t> y(oh * ow * s.cout);
    std::vector<QS8ConvOp> ops(QS8ConvVariants().size());
    BenchCase(std::string("conv ") + s.name, QS8ConvVariants(), 2.0 * oh * ow * s.cout * s.k * s.k * gic,
              [&](size_t vi) -> std::function<void()> {
                const QS8ConvVariant& v = QS8ConvVariants()[vi];
                if (!v.create(p, &ops[vi]).ok()) return nullptr;
                return [&, vi] { (void)v.run(ops[vi], 1, s.h, s.w, x.data(), y.data()); };
              });
  }
}

void BenchDwConv() {
  using namespace qp::kernels;
  struct Shape { size_t h, c, k, s; };
  std::vector<Shape> shapes = {{56, 144, 3, 1}, {56, 144, 3, 2}, {14, 576, 5, 1}, {28, 192, 5, 2}};
  if (g_quick) shapes.resize(1);
  for (const Shape& s : shapes) {
    auto x = RandomInt8(s.h * s.h * s.c);
    auto w = RandomInt8(s.k * s.k * s.c);
    std::vector<int32_t> bias(s.c, 7);
    const auto rq = *qp::quant::MakeRequantChannel(0.02f, 0.01f, 0.1f);
    QS8DwConvParams p;
    p.channels = s.c;
    p.kernel_h = p.kernel_w = s.k;
    p.stride_h = p.stride_w = s.s;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.k / 2;
    p.weights = w.data();
    p.bias = bias.data();
    p.requant = &rq;
    const size_t o = (s.h + 2 * (s.k / 2) - s.k) / s.s + 1;
    std::vector<int8_t> y(o * o * s.c);
    std::vector<QS8DwConvOp> ops(QS8DwConvVariants().size());
    char kase[96];
    std::snprintf(kase, sizeof kase, "dwconv %zux%zu s%zu %zux%zux%zu", s.k, s.k, s.s, s.h, s.h, s.c);
    BenchCase(kase, QS8DwConvVariants(), 2.0 * o * o * s.c * s.k * s.k, [&](size_t vi) -> std::function<void()> {
      const QS8DwConvVariant& v = QS8DwConvVariants()[vi];
      if (!v.create(p, &ops[vi]).ok()) return nullptr;
      return [&, vi] { (void)v.run(ops[vi], 1, s.h, s.h, x.data(), y.data()); };
    });
  }
}

// ---- elementwise: ops = elements (one add or multiply each) -------------------------------------
void BenchElementwise() {
  using namespace qp::kernels;
  const size_t n = g_quick ? 65536 : 56 * 56 * 24 * 4;
  auto a = RandomInt8(n), b = RandomInt8(n);
  std::vector<int8_t> y(n);
  QS8AddParams ap;
  ap.requant = *qp::quant::MakeAddRequant(qp::quant::AddScheme::kXnnpackFixedPoint, 0.05f, 1, 0.04f, -2, 0.07f);
  std::vector<QS8AddOp> aops(QS8AddVariants().size());
  BenchCase("add " + std::to_string(n), QS8AddVariants(), double(n), [&](size_t vi) -> std::function<void()> {
    const QS8AddVariant& v = QS8AddVariants()[vi];
    if (!v.create(ap, &aops[vi]).ok()) return nullptr;
    return [&, vi] { (void)v.run(aops[vi], n, a.data(), b.data(), false, y.data()); };
  });
  QS8MulParams mp;
  mp.requant = *qp::quant::MakeMulRequant(0.05f, 0.04f, 0.07f);
  std::vector<QS8MulOp> mops(QS8MulVariants().size());
  BenchCase("mul " + std::to_string(n), QS8MulVariants(), double(n), [&](size_t vi) -> std::function<void()> {
    const QS8MulVariant& v = QS8MulVariants()[vi];
    if (!v.create(mp, &mops[vi]).ok()) return nullptr;
    return [&, vi] { (void)v.run(mops[vi], n, a.data(), b.data(), false, y.data()); };
  });
  // Requantizing copy as a channel concat uses it: 64-channel bands of 96-channel pixels.
  const size_t pix = n / 96;
  auto cp = qp::kernels::MakeQS8CvtParams(0.05f, 3, 0.07f, qp::quant::OutputQuant{});
  std::vector<QS8CvtOp> cops(QS8CvtVariants().size());
  BenchCase("requant copy " + std::to_string(pix) + "x64 of 96", QS8CvtVariants(), double(pix * 64),
            [&](size_t vi) -> std::function<void()> {
              const QS8CvtVariant& v = QS8CvtVariants()[vi];
              if (!cp.ok() || !v.create(*cp, &cops[vi]).ok()) return nullptr;
              return [&, vi] { (void)v.run(cops[vi], pix, 64, a.data(), 96, y.data(), 96); };
            });
}

// ---- pooling: ops = input taps read (one compare or add each) ---------------------------------
void BenchPool() {
  using namespace qp::kernels;
  const size_t h = 56, c = 64;
  auto x = RandomInt8(h * h * c);
  std::vector<int8_t> y(h * h * c);
  PoolGeometry g;
  g.channels = c;
  QS8MaxPoolParams mp{g, -128, 127};
  std::vector<QS8MaxPoolOp> mops(QS8MaxPoolVariants().size());
  const double taps = double(h / 2) * (h / 2) * c * 4;
  BenchCase("maxpool 2x2 s2 56x56x64", QS8MaxPoolVariants(), taps, [&](size_t vi) -> std::function<void()> {
    const QS8MaxPoolVariant& v = QS8MaxPoolVariants()[vi];
    if (!v.create(mp, &mops[vi]).ok()) return nullptr;
    return [&, vi] { (void)v.run(mops[vi], 1, h, h, x.data(), y.data()); };
  });
  QS8AvgPoolParams ap;
  ap.geometry = g;
  ap.input_scale = 0.05f;
  ap.output_scale = 0.05f;
  std::vector<QS8AvgPoolOp> aops(QS8AvgPoolVariants().size());
  BenchCase("avgpool 2x2 s2 56x56x64", QS8AvgPoolVariants(), taps, [&](size_t vi) -> std::function<void()> {
    const QS8AvgPoolVariant& v = QS8AvgPoolVariants()[vi];
    if (!v.create(ap, &aops[vi]).ok()) return nullptr;
    return [&, vi] { (void)v.run(aops[vi], 1, h, h, x.data(), y.data()); };
  });
  const size_t gw = 7 * 7, gc = 1280;
  auto gx = RandomInt8(gw * gc);
  QS8GlobalAvgPoolParams gp;
  gp.channels = gc;
  gp.width = gw;
  gp.input_output_ratio = 1.5f;
  gp.requant = *qp::quant::MakeAvgPoolRequant(1.5f, 1.0f, gw);
  std::vector<QS8GlobalAvgPoolOp> gops(QS8GlobalAvgPoolVariants().size());
  BenchCase("global avgpool 7x7x1280", QS8GlobalAvgPoolVariants(), double(gw * gc), [&](size_t vi) -> std::function<void()> {
    const QS8GlobalAvgPoolVariant& v = QS8GlobalAvgPoolVariants()[vi];
    if (!v.create(gp, &gops[vi]).ok()) return nullptr;
    return [&, vi] { (void)v.run(gops[vi], 1, gx.data(), y.data()); };
  });
}

// ---- quantize / convert: ops = elements ---------------------------------------------------------
void BenchQuant() {
  using namespace qp::kernels;
  const size_t n = 224 * 224 * 3;
  std::vector<float> x(n), f(n);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (auto& v : x) v = d(g_rng);
  std::vector<int8_t> q(n);
  for (QuantKind kind : {QuantKind::kQuantizeS8, QuantKind::kDequantizeS8, QuantKind::kConvertU8ToS8}) {
    QS8QuantParams p;
    p.kind = kind;
    p.qparams.scale = 0.01f;
    p.qparams.zero_point = kind == QuantKind::kConvertU8ToS8 ? 0 : 3;
    const void* in = kind == QuantKind::kQuantizeS8 ? static_cast<const void*>(x.data()) : q.data();
    void* out = kind == QuantKind::kDequantizeS8 ? static_cast<void*>(f.data()) : static_cast<void*>(q.data());
    std::vector<QS8QuantOp> ops(QS8QuantVariants().size());
    BenchCase(std::string(QuantKindName(kind)) + " " + std::to_string(n), QS8QuantVariants(), double(n),
              [&](size_t vi) -> std::function<void()> {
                const QS8QuantVariant& v = QS8QuantVariants()[vi];
                if (!v.create(p, &ops[vi]).ok()) return nullptr;
                return [&, vi] { (void)v.run(ops[vi], n, in, out); };
              });
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) g_quick = true;
    if (!std::strncmp(argv[i], "--family=", 9)) g_family = argv[i] + 9;
  }
  const std::map<std::string, void (*)()> families = {
      {"qs8_gemm", BenchGemm},   {"qs8_conv", BenchConv}, {"qs8_dwconv", BenchDwConv},
      {"qs8_elementwise", BenchElementwise}, {"qs8_pool", BenchPool}, {"qs8_quant", BenchQuant}};
  for (const auto& [name, fn] : families) {
    if (g_family.empty() || g_family == name) fn();
  }
  return 0;
}
