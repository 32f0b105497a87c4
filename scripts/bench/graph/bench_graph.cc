// bench_graph: latency of the fp32 reference executor (core/graph/executor.h) on ONNX files, batch 1
// and 64 (files with a fixed batch: their own). Prints JSON lines
//   {"bench":"graph","case":<model>/b<batch>,"variant":"qplay-fp32","metric":"ms","value":...}
// Median of repeats, wall clock. Peers on the same files: scripts/bench/graph/ort_node.mjs.
// QDQ files (name containing ".qdq") also run on the Int8Executor (best backend: xnnpack natively,
// wasmsimd in wasm) with per-step timing: "int8 ms" is the whole Run, "int8 steps ms" the sum of
// the timed steps (kernel calls plus their own buffers), "int8 overhead" = Run / sum(steps) - 1
// (medians over runs), i.e. what the graph runtime adds around the steps.
// Usage: bench_graph MODEL.onnx... [--runs N]   (e.g. build/bench/models/cnn.fp32.onnx)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/onnx/onnx.h"

namespace {
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The Int8Executor on a QDQ file: whole-Run time vs the sum of its step times.
int BenchInt8(const qp::Graph& g, const std::string& name, int runs) {
  qp::int8::Int8Options opt;
  opt.backend = qp::int8::AvailableBackends().back();
  qp::Result<qp::int8::Int8Executor> ex = qp::int8::Int8Executor::Create(g, opt);
  if (!ex.ok()) {
    std::fprintf(stderr, "bench_graph: %s\n", ex.status().ToString().c_str());
    return 1;
  }
  const qp::ValueInfo& in = g.inputs[0];
  for (int64_t batch : {1, 64}) {
    if (in.shape[0] >= 0 && in.shape[0] != batch) continue;
    qp::Shape s = in.shape;
    s[0] = batch;
    qp::Tensor x(qp::DType::kFloat32, s);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(0.f, 1.f);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = d(rng);
    const int n = batch == 1 ? runs : std::max(3, runs / 4);
    std::vector<double> plain, profiled, steps_sum, ratio;
    std::vector<double> step_us;
    for (int r = 0; r < n + 1; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      auto y = ex->Run({x});
      auto t1 = std::chrono::steady_clock::now();
      if (!y.ok()) {
        std::fprintf(stderr, "bench_graph: %s\n", y.status().ToString().c_str());
        return 1;
      }
      t0 = std::chrono::steady_clock::now();
      y = ex->RunProfiled({x}, &step_us, nullptr);
      const auto t2 = std::chrono::steady_clock::now();
      if (r == 0) continue;  // warm-up
      plain.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      const double whole = std::chrono::duration<double, std::milli>(t2 - t0).count();
      double sum = 0;
      for (double u : step_us) sum += u / 1000;
      profiled.push_back(whole);
      steps_sum.push_back(sum);
      ratio.push_back(whole / sum - 1);
    }
    const char* be = qp::kernels::IsaName(ex->backend());
    auto emit = [&](const char* metric, double v) {
      std::printf("{\"bench\":\"graph\",\"case\":\"%s/b%lld\",\"variant\":\"qplay-int8-%s\",\"metric\":\"%s\","
                  "\"value\":%.4g,\"runs\":%d,\"steps\":%zu}\n",
                  name.c_str(), static_cast<long long>(batch), be, metric, v, n, step_us.size());
    };
    emit("ms", Median(profiled));
    emit("steps_ms", Median(steps_sum));
    emit("overhead", Median(ratio));
    std::fflush(stdout);
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::atoi(argv[++i]);
    else models.push_back(argv[i]);
  }
  if (models.empty()) {
    std::fprintf(stderr, "usage: bench_graph MODEL.onnx... [--runs N]\n");
    return 2;
  }
  for (const std::string& path : models) {
    qp::Result<qp::Graph> g = qp::onnx::ImportModelFile(path);
    if (!g.ok()) {
      std::fprintf(stderr, "bench_graph: %s\n", g.status().ToString().c_str());
      return 1;
    }
    qp::Result<qp::Executor> ex = qp::Executor::Create(*g);
    if (!ex.ok()) {
      std::fprintf(stderr, "bench_graph: %s\n", ex.status().ToString().c_str());
      return 1;
    }
    std::string name = path.substr(path.find_last_of('/') + 1);
    if (name.find(".qdq") != std::string::npos) {
      name = name.substr(0, name.find(".onnx"));
      if (BenchInt8(*g, name, runs) != 0) return 1;
      continue;
    }
    name = name.substr(0, name.find('.'));
    const qp::ValueInfo& in = ex->graph().inputs[0];
    for (int64_t batch : {1, 64}) {
      if (in.shape[0] >= 0 && in.shape[0] != batch) continue;
      qp::Shape s = in.shape;
      s[0] = batch;
      qp::Tensor x(qp::DType::kFloat32, s);
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> d(0.f, 1.f);
      for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = d(rng);
      std::vector<double> ms;
      const int n = batch == 1 ? runs : std::max(3, runs / 4);
      for (int r = 0; r < n + 1; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        qp::Result<std::vector<qp::Tensor>> y = ex->Run({x});
        const auto t1 = std::chrono::steady_clock::now();
        if (!y.ok()) {
          std::fprintf(stderr, "bench_graph: %s\n", y.status().ToString().c_str());
          return 1;
        }
        if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // r=0 warms up
      }
      std::sort(ms.begin(), ms.end());
      std::printf("{\"bench\":\"graph\",\"case\":\"%s/b%lld\",\"variant\":\"qplay-fp32\",\"metric\":\"ms\","
                  "\"value\":%.4g,\"runs\":%d}\n",
                  name.c_str(), static_cast<long long>(batch), ms[ms.size() / 2], n);
      std::fflush(stdout);
    }
  }
  return 0;
}
