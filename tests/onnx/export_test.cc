// Export round trip: our graph -> ONNX bytes -> import -> run gives bit-identical outputs (same ops,
// same order), and the imported graph keeps every node, attribute and initializer. The outside
// check (onnx checker + onnxruntime-node) is tests/js/onnx_export.test.mjs.
#include <gtest/gtest.h>

#include <random>

#include "core/graph/executor.h"
#include "core/onnx/onnx.h"
#include "tests/onnx/test_models.h"
#include "tests/test_util.h"

namespace qp {
namespace {

TEST(OnnxExport, RoundTripIsBitExactForEveryTestModel) {
  SCOPED_TRACE(testing::SeedTrace());
  for (testing::TestModel& m : testing::ExportTestModels(testing::Seed())) {
    SCOPED_TRACE(m.name);
    Result<std::string> bytes = onnx::ExportModel(m.graph);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Result<Graph> back = onnx::ImportModel(bytes->data(), bytes->size());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->opset, 13);
    // Opset 13 has no HardSwish: the exporter writes it as HardSigmoid + Mul (one extra node).
    size_t hardswish = 0;
    for (const Node& n : m.graph.nodes) hardswish += n.op_type == "HardSwish";
    ASSERT_EQ(back->nodes.size(), m.graph.nodes.size() + hardswish);
    for (size_t i = 0, j = 0; i < m.graph.nodes.size(); ++i, ++j) {
      if (m.graph.nodes[i].op_type == "HardSwish") {
        EXPECT_EQ(back->nodes[j].op_type, "HardSigmoid");
        EXPECT_EQ(back->nodes[++j].op_type, "Mul");
        continue;
      }
      EXPECT_EQ(back->nodes[j].op_type, m.graph.nodes[i].op_type);
      EXPECT_EQ(back->nodes[j].inputs, m.graph.nodes[i].inputs);
      EXPECT_EQ(back->nodes[j].attrs.size(), m.graph.nodes[i].attrs.size());
    }
    ASSERT_EQ(back->initializers.size(), m.graph.initializers.size());
    for (const auto& [name, t] : m.graph.initializers) {
      const Tensor& u = back->initializers.at(name);
      ASSERT_EQ(u.shape(), t.shape());
      ASSERT_EQ(0, std::memcmp(u.raw(), t.raw(), t.nbytes())) << name;
    }
    ASSERT_EQ(back->inputs[0].shape[0], kDynamicDim) << "the batch stays symbolic";
    EXPECT_EQ(back->inputs[0].dim_names[0], "N");
    Result<Executor> a = Executor::Create(m.graph), b = Executor::Create(*back);
    ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
    auto rng = testing::Rng(21);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    Tensor x(DType::kFloat32, m.input_shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = d(rng);
    Result<std::vector<Tensor>> ya = a->Run({x}), yb = b->Run({x});
    ASSERT_TRUE(ya.ok()) << ya.status().ToString();
    ASSERT_TRUE(yb.ok()) << yb.status().ToString();
    ASSERT_EQ(ya->size(), yb->size());
    for (size_t o = 0; o < ya->size(); ++o) {
      ASSERT_EQ((*ya)[o].shape(), (*yb)[o].shape());
      ASSERT_EQ(0, std::memcmp((*ya)[o].raw(), (*yb)[o].raw(), (*ya)[o].nbytes())) << "output " << o;
    }
  }
}

TEST(OnnxExport, TensorProtoRoundTripKeepsDtypeShapeAndBytes) {
  Tensor t = Tensor::FromVector<int8_t>({2, 3}, {-128, -1, 0, 1, 2, 127});
  Result<std::string> bytes = onnx::SerializeTensor(t, "q");
  ASSERT_TRUE(bytes.ok());
  Result<Tensor> back = onnx::ParseTensor(bytes->data(), bytes->size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dtype(), DType::kInt8);
  EXPECT_EQ(back->shape(), t.shape());
  EXPECT_EQ(0, std::memcmp(back->raw(), t.raw(), t.nbytes()));
}

}  // namespace
}  // namespace qp
