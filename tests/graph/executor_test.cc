// Graph validator, shape inference, constant folding and the executor on graphs built in code.
// The oracle for executor outputs is the chain of ops.h calls (each checked in ops_test.cc and by
// the ONNX conformance data), plus batch consistency: row i of a batch equals a batch-1 run.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "core/graph/executor.h"
#include "core/graph/ops.h"
#include "tests/test_util.h"

namespace qp {
namespace {

Tensor Rand(Shape s, std::mt19937_64& rng) {
  Tensor t(DType::kFloat32, std::move(s));
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(rng);
  return t;
}

Node MakeNode(std::string op, std::vector<std::string> in, std::vector<std::string> out,
              std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.name = op + "_" + out[0];
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// x [N, 2, 8, 8] -> Conv(3x3, pad 1, 4 ch) -> Relu -> MaxPool 2 -> Flatten -> Gemm(transB) -> y [N, 5]
Graph SmallCnn(std::mt19937_64& rng) {
  Graph g;
  g.opset = 13;
  ValueInfo x;
  x.name = "x";
  x.shape = {kDynamicDim, 2, 8, 8};
  x.dim_names = {"N", "", "", ""};
  g.inputs.push_back(x);
  ValueInfo y;
  y.name = "y";
  y.shape = {kDynamicDim, 5};
  g.outputs.push_back(y);
  g.initializers["w"] = Rand({4, 2, 3, 3}, rng);
  g.initializers["b"] = Rand({4}, rng);
  g.initializers["fc_w"] = Rand({5, 64}, rng);
  g.initializers["fc_b"] = Rand({5}, rng);
  g.nodes.push_back(MakeNode("Conv", {"x", "w", "b"}, {"c"}, {{"pads", Attribute::Ints({1, 1, 1, 1})}}));
  g.nodes.push_back(MakeNode("Relu", {"c"}, {"r"}));
  g.nodes.push_back(MakeNode("MaxPool", {"r"}, {"p"},
                             {{"kernel_shape", Attribute::Ints({2, 2})}, {"strides", Attribute::Ints({2, 2})}}));
  g.nodes.push_back(MakeNode("Flatten", {"p"}, {"f"}));
  g.nodes.push_back(MakeNode("Gemm", {"f", "fc_w", "fc_b"}, {"y"}, {{"transB", Attribute::Int(1)}}));
  return g;
}

TEST(GraphExecutor, RunsChainWithSymbolicBatchLikeTheOpsChain) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(11);
  Graph g = SmallCnn(rng);
  Result<Executor> ex = Executor::Create(g);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  // Shape inference keeps the batch symbolic.
  const ValueInfo* p = ex->graph().FindValueInfo("p");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->shape, (Shape{kDynamicDim, 4, 4, 4}));
  Tensor x = Rand({3, 2, 8, 8}, rng);
  Result<std::vector<Tensor>> out = ex->Run({x});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ((*out)[0].shape(), (Shape{3, 5}));
  // Oracle: the same chain through ops.h.
  ops::ConvAttrs ca;
  ca.pads = {1, 1, 1, 1};
  ops::PoolAttrs pa;
  pa.kernel_shape = {2, 2};
  pa.strides = {2, 2};
  Tensor t = *ops::Conv(x, g.initializers["w"], &g.initializers["b"], ca);
  t = *ops::Relu(t);
  t = *ops::MaxPool(t, pa);
  t = *ops::Flatten(t, 1);
  ops::GemmAttrs ga;
  ga.trans_b = true;
  t = *ops::Gemm(t, g.initializers["fc_w"], &g.initializers["fc_b"], ga);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.f32()[i], (*out)[0].f32()[i]);
  // Batch consistency: sample 1 alone gives row 1.
  Tensor x1(DType::kFloat32, {1, 2, 8, 8});
  std::copy(x.f32() + 128, x.f32() + 256, x1.f32());
  Result<std::vector<Tensor>> o1 = ex->Run({x1});
  ASSERT_TRUE(o1.ok());
  for (int j = 0; j < 5; ++j) EXPECT_FLOAT_EQ((*o1)[0].f32()[j], (*out)[0].f32()[5 + j]);
}

TEST(GraphExecutor, RunTimeInputErrorsNameTheInputAndRule) {
  auto rng = testing::Rng(12);
  Result<Executor> ex = Executor::Create(SmallCnn(rng));
  ASSERT_TRUE(ex.ok());
  Status s = ex->Run(std::vector<Tensor>{Rand({1, 3, 8, 8}, rng)}).status();
  EXPECT_NE(s.message().find("input 'x': dim 1 is 3; the model expects 2"), std::string::npos) << s.ToString();
  s = ex->Run(std::vector<Tensor>{Rand({2, 8, 8}, rng)}).status();
  EXPECT_NE(s.message().find("rank"), std::string::npos) << s.ToString();
  s = ex->Run(std::vector<Tensor>{}).status();
  EXPECT_FALSE(s.ok());
  s = ex->Run(std::map<std::string, Tensor>{}).status();
  EXPECT_NE(s.message().find("input 'x' is missing"), std::string::npos) << s.ToString();
  s = ex->Run(std::vector<Tensor>{Tensor(DType::kInt8, {1, 2, 8, 8})}).status();
  EXPECT_NE(s.message().find("int8"), std::string::npos) << s.ToString();
}

// RunProfiled (the Benchmark panel's per-layer fp32 times): the same outputs as Run bit for bit,
// one record per executed node in a valid execution order, and the node times (disjoint intervals
// inside the call) sum to at most the call's own wall time.
TEST(GraphExecutor, RunProfiledMatchesRunAndTimesEveryNode) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(14);
  Result<Executor> ex = Executor::Create(SmallCnn(rng));
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  Tensor x = Rand({4, 2, 8, 8}, rng);
  Result<std::vector<Tensor>> plain = ex->Run({x});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  std::vector<NodeTime> times = {{"stale", "Stale", 1e9}};  // replaced, not appended to
  const auto t0 = std::chrono::steady_clock::now();
  Result<std::vector<Tensor>> prof = ex->RunProfiled({x}, &times);
  const double total_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(prof.ok()) << prof.status().ToString();
  ASSERT_EQ(prof->size(), plain->size());
  ASSERT_EQ((*prof)[0].shape(), (*plain)[0].shape());
  for (int64_t i = 0; i < (*plain)[0].numel(); ++i) EXPECT_EQ((*prof)[0].f32()[i], (*plain)[0].f32()[i]) << i;
  // Every node once, producers before consumers (this graph is a chain: graph order).
  const std::vector<std::string> expect_ops = {"Conv", "Relu", "MaxPool", "Flatten", "Gemm"};
  ASSERT_EQ(times.size(), ex->graph().nodes.size());
  double sum = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(times[i].op, expect_ops[i]);
    EXPECT_EQ(times[i].node, ex->graph().nodes[i].name);
    EXPECT_GE(times[i].us, 0.0);
    sum += times[i].us;
  }
  EXPECT_LE(sum, total_us);
  EXPECT_GT(sum, 0.0) << "a 4-image conv takes measurable time";
  // Errors are those of Run.
  Status s = ex->RunProfiled({Rand({1, 3, 8, 8}, rng)}, &times).status();
  EXPECT_NE(s.message().find("input 'x': dim 1 is 3"), std::string::npos) << s.ToString();
  // Null sink: a plain run.
  Result<std::vector<Tensor>> none = ex->RunProfiled({x}, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)[0].f32()[0], (*plain)[0].f32()[0]);
}

TEST(GraphExecutor, FoldsInitializerOnlySubgraphsWithIdenticalResults) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(13);
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::kFloat32, {kDynamicDim, 6}, true, {}});
  g.outputs.push_back(ValueInfo{"y", DType::kFloat32, {kDynamicDim, 4}, true, {}});
  g.initializers["wt"] = Rand({4, 6}, rng);
  g.initializers["scale"] = Tensor::Scalar(0.5f);
  g.nodes.push_back(MakeNode("Transpose", {"wt"}, {"w"}));       // initializer-only
  g.nodes.push_back(MakeNode("Mul", {"w", "scale"}, {"w2"}));    // initializer-only (after folding)
  g.nodes.push_back(MakeNode("MatMul", {"x", "w2"}, {"y"}));
  ExecutorOptions no_fold;
  no_fold.fold_constants = false;
  Result<Executor> a = Executor::Create(g), b = Executor::Create(g, no_fold);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
  EXPECT_EQ(a->folded_nodes(), 2);
  EXPECT_EQ(a->graph().nodes.size(), 1u);
  EXPECT_EQ(a->graph().initializers.count("wt"), 0u) << "inputs of folded nodes are dropped";
  Tensor x = Rand({3, 6}, rng);
  Result<std::vector<Tensor>> ya = a->Run({x}), yb = b->Run({x});
  ASSERT_TRUE(ya.ok() && yb.ok());
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ((*ya)[0].f32()[i], (*yb)[0].f32()[i]);
}

TEST(GraphValidator, StructuralErrorsNameTheCulprit) {
  auto rng = testing::Rng(14);
  auto expect_error = [](const Graph& g, const std::string& needle) {
    Status s = ValidateGraph(g);
    EXPECT_FALSE(s.ok()) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
  };
  Graph dup = SmallCnn(rng);
  dup.nodes[1].outputs = {"c"};  // Relu writes Conv's output name again
  expect_error(dup, "output 'c' is already produced");
  Graph dangling = SmallCnn(rng);
  dangling.nodes[2].inputs = {"nope"};
  expect_error(dangling, "input 'nope' is not a graph input");
  Graph cycle = SmallCnn(rng);
  cycle.nodes[0].inputs[0] = "p";  // Conv reads MaxPool's output
  cycle.inputs.clear();
  expect_error(cycle, "cycle");
  Graph neg = SmallCnn(rng);
  neg.inputs[0].shape[1] = -5;
  expect_error(neg, "dim 1 is -5");
  Graph no_out = SmallCnn(rng);
  no_out.outputs[0].name = "ghost";
  expect_error(no_out, "graph output 'ghost'");
  Graph huge = SmallCnn(rng);
  huge.inputs[0].shape = {int64_t{1} << 40, int64_t{1} << 40, 8, 8};
  expect_error(huge, "overflows");
}

TEST(GraphValidator, PreparationRejectsUnsupportedAndMissingAttributes) {
  auto rng = testing::Rng(15);
  Graph g = SmallCnn(rng);
  g.nodes[1].op_type = "Gelu";
  Status s = Executor::Create(g).status();
  EXPECT_NE(s.message().find("unsupported op Gelu (domain ai.onnx, opset 13) at node 'Relu_r'"),
            std::string::npos) << s.ToString();
  Graph ml = SmallCnn(rng);
  ml.nodes[1].domain = "ai.onnx.ml";
  s = Executor::Create(ml).status();
  EXPECT_NE(s.message().find("domain ai.onnx.ml"), std::string::npos) << s.ToString();
  Graph pool = SmallCnn(rng);
  pool.nodes[2].attrs.erase("kernel_shape");
  s = Executor::Create(pool).status();
  EXPECT_NE(s.message().find("'kernel_shape' is missing"), std::string::npos) << s.ToString();
  Graph arity = SmallCnn(rng);
  arity.nodes[4].inputs = {"f"};
  s = Executor::Create(arity).status();
  EXPECT_NE(s.message().find("has 1 inputs; Gemm takes 2 to 3"), std::string::npos) << s.ToString();
  Graph shape = SmallCnn(rng);
  shape.initializers["fc_w"] = Rand({5, 63}, rng);
  s = Executor::Create(shape).status();
  EXPECT_NE(s.message().find("Gemm inner dims differ"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace qp
