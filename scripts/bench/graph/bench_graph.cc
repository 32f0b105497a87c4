// bench_graph: latency of the fp32 reference executor (core/graph/executor.h) on ONNX files, batch 1
// and 64 (files with a fixed batch: their own). Prints JSON lines
//   {"bench":"graph","case":<model>/b<batch>,"variant":"qplay-fp32","metric":"ms","value":...}
// Median of repeats, wall clock. Peers on the same files: scripts/bench/graph/ort_node.mjs.
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
#include "core/onnx/onnx.h"

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
