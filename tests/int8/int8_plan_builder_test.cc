// Int8PlanBuilder: the plan built a node per Step gives the one-shot Int8Executor::Create's output
// bits, kernel counts and notes on the benchmark QDQ models for every backend, in several bounded
// steps (never more than one fused region per step); a bad graph fails with Create's Status. The
// session's stepped runner preparation gives the synchronous runner's int8 bits on the demo CNN.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/int8/int8_executor.h"
#include "core/onnx/onnx.h"
#include "core/session/session.h"
#include "tests/test_util.h"

namespace qp::int8 {
namespace {

Tensor UnitInput(const Shape& shape, uint64_t salt) {
  auto rng = qp::testing::Rng(salt);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Tensor x(DType::kFloat32, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = u(rng);
  return x;
}

void ExpectSameBits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    ASSERT_EQ(a[i].dtype(), b[i].dtype()) << "output " << i;
    ASSERT_EQ(0, std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes())) << "output " << i << " differs";
  }
}

struct Stepped {
  Result<Int8Executor> exec = Internal("not built");
  int steps = 0;
  double max_step_ms = 0, total_ms = 0;
};

// Steps to the end, moving the builder to a new object halfway (the plan's state must survive).
Stepped BuildStepped(const Graph& g, const Int8Options& o) {
  Stepped r;
  auto t = [] { return std::chrono::steady_clock::now(); };
  const auto t0 = t();
  Result<Int8PlanBuilder> started = Int8PlanBuilder::Start(g, o);
  if (!started.ok()) {
    r.exec = started.status();
    return r;
  }
  Int8PlanBuilder b = std::move(started).value();
  EXPECT_DOUBLE_EQ(b.progress(), 0.0);
  double last = 0;
  while (!b.done()) {
    const auto s0 = t();
    Result<double> p = b.Step();
    r.max_step_ms = std::max(r.max_step_ms, std::chrono::duration<double, std::milli>(t() - s0).count());
    if (!p.ok()) {
      r.exec = p.status();
      EXPECT_EQ(b.Step().status().code(), StatusCode::kFailedPrecondition) << "a failed builder stays failed";
      return r;
    }
    EXPECT_GT(*p, last) << "every step makes progress";
    EXPECT_LE(*p, 1.0);
    last = *p;
    if (++r.steps == 3) {
      Int8PlanBuilder moved = std::move(b);
      b = std::move(moved);
    }
  }
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_EQ(b.Step().status().code(), StatusCode::kFailedPrecondition) << "stepping a finished plan";
  r.exec = b.Finish();
  r.total_ms = std::chrono::duration<double, std::milli>(t() - t0).count();
  return r;
}

int FusableNodes(const Graph& g) {
  int n = 0;
  for (const Node& nd : g.nodes)
    n += nd.op_type == "Conv" || nd.op_type == "Gemm" || nd.op_type == "MatMul" || nd.op_type == "Add";
  return n;
}

TEST(Int8PlanBuilder, SteppedPlanEqualsOneShotOnBenchmarkQdqModels) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  const std::string dir = QP_INT8_MODELS_DIR;
  struct Case {
    const char* name;
    Shape shape;
  };
  for (const Case& c : {Case{"mlp", {3, 784}}, Case{"cnn", {2, 1, 28, 28}}, Case{"mbv2", {1, 3, 224, 224}}}) {
    for (const char* kind : {"qdq_u8", "qdq_s8"}) {
      const std::string file = dir + "/" + c.name + "." + kind + ".onnx";
      SCOPED_TRACE(file);
      Result<Graph> g = onnx::ImportModelFile(file);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      const Tensor x = UnitInput(c.shape, 23);
      for (Backend backend : AvailableBackends()) {
        SCOPED_TRACE(IsaName(backend));
        Int8Options o;
        o.backend = backend;
        Result<Int8Executor> once = Int8Executor::Create(*g, o);
        ASSERT_TRUE(once.ok()) << once.status().ToString();
        Stepped st = BuildStepped(*g, o);
        ASSERT_TRUE(st.exec.ok()) << st.exec.status().ToString();
        EXPECT_EQ(st.exec->Summary(), once->Summary());
        EXPECT_EQ(st.exec->notes(), once->notes());
        EXPECT_EQ(st.exec->int8_kernel_steps(), once->int8_kernel_steps());
        // At most one node (one fused region) per step: at least as many steps as compute nodes.
        EXPECT_GE(st.steps, FusableNodes(*g) + 1);
        Result<std::vector<Tensor>> a = st.exec->Run({x});
        Result<std::vector<Tensor>> b = once->Run({x});
        ASSERT_TRUE(a.ok() && b.ok());
        ExpectSameBits(*a, *b);
        std::printf("  %s %s %s: %d steps, longest %.2f ms of %.2f ms\n", c.name, kind, IsaName(backend),
                    st.steps, st.max_step_ms, st.total_ms);
      }
    }
  }
}

TEST(Int8PlanBuilder, BadGraphFailsWithCreatesStatus) {
  Result<Graph> g = onnx::ImportModelFile(std::string(QP_INT8_MODELS_DIR) + "/cnn.qdq_s8.onnx");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // The scale of the last activation DequantizeLinear (not an initializer's) becomes zero: the
  // lowering reaches it after several good nodes.
  std::string scale;
  for (const Node& n : g->nodes)
    if (n.op_type == "DequantizeLinear" && !g->initializers.count(n.inputs[0])) scale = n.inputs[1];
  ASSERT_FALSE(scale.empty());
  g->initializers[scale] = Tensor::Scalar(0.f);
  Result<Int8Executor> once = Int8Executor::Create(*g);
  ASSERT_FALSE(once.ok());
  Stepped st = BuildStepped(*g, {});
  ASSERT_FALSE(st.exec.ok());
  EXPECT_EQ(st.exec.status().ToString(), once.status().ToString());
  EXPECT_GT(st.steps, 1) << "the bad node is not the first";
}

data::Dataset Synthetic(int64_t n, uint64_t salt) {
  const Tensor x = UnitInput({n, 1, 28, 28}, salt);
  auto rng = qp::testing::Rng(salt + 1);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t& v : y) v = static_cast<int64_t>(rng() % 10);
  Result<data::Dataset> ds = data::MakeDataset(x, Tensor::FromVector<int64_t>({n}, y), 10, "synthetic");
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return *ds;
}

void QuantizeDemoCnn(Session* s) {
  ASSERT_TRUE(s->LoadDemoModel(DemoModel::kCnn, 7).ok());
  ASSERT_TRUE(s->SetData(DataRole::kCalibration, Synthetic(32, 5)).ok());
  ASSERT_TRUE(s->SetQuantPreset("int8").ok());
  ASSERT_TRUE(s->StartCalibration().ok());
  for (;;) {
    Result<double> p = s->CalibrateStep();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    if (*p >= 1.0) break;
  }
  ASSERT_TRUE(s->Quantize().ok());
}

TEST(Int8PlanBuilder, SessionSteppedRunnerEqualsSynchronousRunnerOnDemoCnn) {
  Session stepped, direct;
  QuantizeDemoCnn(&stepped);
  QuantizeDemoCnn(&direct);
  EXPECT_EQ(stepped.QuantizedPrepStep().status().code(), StatusCode::kFailedPrecondition) << "not started";
  ASSERT_TRUE(stepped.StartQuantizedPrep().ok());
  ASSERT_TRUE(stepped.quantized_prep_running());
  int steps = 0;
  while (stepped.quantized_prep_running()) {
    Result<double> p = stepped.QuantizedPrepStep();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_DOUBLE_EQ(stepped.quantized_prep_progress(), stepped.quantized_prep_running() ? *p : 1.0);
    ++steps;
  }
  // The CNN's int8 graph: 5 Conv/Gemm regions plus pools, flatten and the boundary Q/DQ.
  EXPECT_GE(steps, 6);
  const Tensor x = Synthetic(5, 9).images;
  Result<std::vector<Tensor>> a = stepped.RunQuantized(workflows::ExecMode::kInt8, x);
  Result<std::vector<Tensor>> b = direct.RunQuantized(workflows::ExecMode::kInt8, x);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ExpectSameBits(*a, *b);
  // Started again with the runner built: nothing to step.
  ASSERT_TRUE(stepped.StartQuantizedPrep().ok());
  EXPECT_FALSE(stepped.quantized_prep_running());
}

TEST(Int8PlanBuilder, SessionPreparationEndsWhenTheQuantizedModelChanges) {
  Session s;
  QuantizeDemoCnn(&s);
  ASSERT_TRUE(s.StartQuantizedPrep().ok());
  ASSERT_TRUE(s.QuantizedPrepStep().ok());
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());  // drops the quantized model
  EXPECT_FALSE(s.quantized_prep_running());
  EXPECT_EQ(s.QuantizedPrepStep().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.StartQuantizedPrep().code(), StatusCode::kFailedPrecondition) << "no quantized model";
}

}  // namespace
}  // namespace qp::int8
