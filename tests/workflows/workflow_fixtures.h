// Small deterministic models and data for the QAT and analysis tests (identical natively and in
// wasm: data from data::SplitMix64 with Box-Muller, no std:: distributions).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/plan.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"

namespace qp::testing::wf {

inline float Gauss(data::SplitMix64& r) {
  const float u1 = std::max(r.Uniform01(), 1e-7f), u2 = r.Uniform01();
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
}

// 10 Gaussian blobs in 16 dims: fixed class means (|mean| ~ 1.2 per dim) plus unit noise; one
// feature per class carries a rare large outlier so max calibration wastes range.
inline data::Dataset BlobDataset(int64_t n, uint64_t seed, int64_t dims = 16, int64_t classes = 10) {
  data::SplitMix64 mr(1234);
  std::vector<float> means(static_cast<size_t>(classes * dims));
  for (float& m : means) m = 1.2f * Gauss(mr);
  data::SplitMix64 r(seed);
  data::Dataset ds;
  ds.num_classes = classes;
  ds.images = Tensor(DType::kFloat32, {n, dims});
  ds.labels = Tensor(DType::kInt64, {n});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = static_cast<int64_t>(r.Below(static_cast<uint64_t>(classes)));
    ds.labels.data<int64_t>()[i] = c;
    for (int64_t d = 0; d < dims; ++d) {
      float v = means[static_cast<size_t>(c * dims + d)] + Gauss(r);
      if (r.Below(500) == 0) v *= 6.0f;  // rare outliers
      ds.images.f32()[i * dims + d] = v;
    }
  }
  return ds;
}

// x [N, in] -> (Gemm + Relu) x (layers - 1) -> Gemm -> logits [N, classes]; PyTorch init.
inline Graph MakeMlp(int64_t in, int64_t hidden, int64_t classes, int layers, uint64_t seed = 5) {
  Graph g;
  g.name = "mlp";
  ValueInfo x;
  x.name = "x";
  x.shape = {kDynamicDim, in};
  g.inputs.push_back(x);
  std::string h = "x";
  int64_t width = in;
  for (int l = 1; l <= layers; ++l) {
    const bool last = l == layers;
    const int64_t out = last ? classes : hidden;
    const std::string name = "fc" + std::to_string(l);
    g.initializers[name + ".weight"] = Tensor(DType::kFloat32, {out, width});
    g.initializers[name + ".bias"] = Tensor(DType::kFloat32, {out});
    Node n;
    n.name = name;
    n.op_type = "Gemm";
    n.inputs = {h, name + ".weight", name + ".bias"};
    n.outputs = {name + "_out"};
    n.attrs["transB"] = Attribute::Int(1);
    g.nodes.push_back(n);
    h = name + "_out";
    if (!last) {
      Node r;
      r.name = "relu" + std::to_string(l);
      r.op_type = "Relu";
      r.inputs = {h};
      r.outputs = {r.name + "_out"};
      g.nodes.push_back(r);
      h = r.outputs[0];
    }
    width = out;
  }
  ValueInfo y;
  y.name = h;
  y.shape = {kDynamicDim, classes};
  g.outputs.push_back(y);
  EXPECT_TRUE(train::InitializeParameters(&g, seed).ok());
  return g;
}

inline Graph TrainFloat(Graph g, const data::Dataset& ds, int steps) {
  train::TrainerOptions o;
  o.optimizer = train::TrainerOptions::Opt::kAdam;
  o.schedule.base_lr = 5e-3f;
  o.batch_size = 64;
  Result<std::unique_ptr<train::Trainer>> t = train::Trainer::Create(std::move(g), &ds, o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  for (int i = 0; i < steps; ++i) EXPECT_TRUE((*t)->Step().ok());
  return (*t)->graph();
}

// A float MLP (16 features, 48 hidden, 10 classes) trained on Gaussian blobs, with its data.
struct BlobWorld {
  data::Dataset train, test;
  Graph float_graph;
};

// The QAT tests' world (2,048 training and 1,024 test blobs, 400 Adam steps), built once per test
// binary and shared by qat_test.cc and qat_lsqplus_test.cc.
inline const BlobWorld& QatBlobWorld() {
  static const BlobWorld* w = [] {
    auto* b = new BlobWorld();
    b->train = BlobDataset(2048, 7);
    b->test = BlobDataset(1024, 8);
    b->float_graph = TrainFloat(MakeMlp(16, 48, 10, 3), b->train, 400);
    return b;
  }();
  return *w;
}

inline double FloatAccuracy(const Graph& g, const data::Dataset& ds) {
  Result<std::vector<Tensor>> y = workflows::RunWithHook(g, {ds.images}, nullptr);
  EXPECT_TRUE(y.ok()) << y.status().ToString();
  if (!y.ok()) return -1;
  const Tensor& logits = (*y)[0];
  const int64_t n = logits.dim(0), k = logits.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (logits.f32()[i * k + j] > logits.f32()[i * k + best]) best = j;
    correct += best == ds.labels.data<int64_t>()[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

inline workflows::QuantizedModel Calibrate(const Graph& g, const workflows::QuantConfig& cfg,
                                           const data::Dataset& ds) {
  Result<workflows::QuantPlan> plan = workflows::PrepareAndPlan(g, cfg);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  workflows::CalibrationOptions co;
  co.batch_size = 256;
  Result<std::unique_ptr<workflows::Calibrator>> c = workflows::Calibrator::Create(*plan, &ds, co);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return {};
  while (!(*c)->done()) {
    Result<double> p = (*c)->Step();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return {};
  }
  Result<workflows::QuantizedModel> m = (*c)->Finish();
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : workflows::QuantizedModel{};
}

}  // namespace qp::testing::wf
