// Bad-input corpus, generated here (no hand-edited binaries): malformed ONNX models built with the
// generated protobuf classes or as raw bytes. Each must give a clear Status naming the node/tensor
// and the rule, never crash, and never allocate more than the caps allow. Runs natively, under
// ASan+UBSan (native-asan preset) and as wasm.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include "core/graph/executor.h"
#include "core/onnx/onnx.h"
#include "onnx.pb.h"
#include "tests/test_util.h"

namespace qp {
namespace {

namespace pb = ::onnx;

// A valid model: x [N, 2, 4, 4] -> Conv(w [3, 2, 3, 3], pads 1) -> Relu -> y.
pb::ModelProto ValidModel() {
  pb::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(13);
  pb::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  auto add_io = [](pb::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(pb::TensorProto::FLOAT);
    for (int64_t d : dims) {
      if (d < 0) tt->mutable_shape()->add_dim()->set_dim_param("N");
      else tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
  };
  add_io(g->add_input(), "x", {-1, 2, 4, 4});
  add_io(g->add_output(), "y", {-1, 3, 4, 4});
  pb::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(pb::TensorProto::FLOAT);
  for (int64_t d : {3, 2, 3, 3}) w->add_dims(d);
  for (int i = 0; i < 54; ++i) w->add_float_data(0.01f * i);
  pb::NodeProto* conv = g->add_node();
  conv->set_name("conv");
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("w");
  conv->add_output("c");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(pb::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  pb::NodeProto* relu = g->add_node();
  relu->set_name("relu");
  relu->set_op_type("Relu");
  relu->add_input("c");
  relu->add_output("y");
  return m;
}

std::string Bytes(const pb::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

// Import, and if that succeeds prepare and run with a batch-1 input of the declared shape: the
// whole pipeline must report the error, whichever stage finds it.
Status Load(const std::string& bytes, const onnx::ImportOptions& opt = {}) {
  Result<Graph> g = onnx::ImportModel(bytes.data(), bytes.size(), opt);
  if (!g.ok()) return g.status();
  Result<Executor> ex = Executor::Create(*g);
  if (!ex.ok()) return ex.status();
  std::vector<Tensor> inputs;
  for (const ValueInfo& v : ex->graph().inputs) {
    Shape s = v.shape;
    for (int64_t& d : s) d = d < 0 ? 1 : d;
    Result<Tensor> t = Tensor::Create(v.dtype, s, int64_t{1} << 22);
    if (!t.ok()) return t.status();
    inputs.push_back(std::move(t).value());
  }
  return ex->Run(inputs).status();
}

struct Case {
  const char* name;
  std::function<void(pb::ModelProto*)> mutate;
  const char* expect;  // substring of the error message
};

TEST(OnnxBadInput, ValidBaseModelLoadsAndRuns) { EXPECT_TRUE(Load(Bytes(ValidModel())).ok()); }

TEST(OnnxBadInput, EachMalformedModelGivesAClearStatus) {
  auto tensor_type = [](pb::ModelProto* m) { return m->mutable_graph()->mutable_initializer(0); };
  const Case cases[] = {
      {"unknown op", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(1)->set_op_type("FooBar"); },
       "unsupported op FooBar (domain ai.onnx, opset 13) at node 'relu'"},
      {"ml domain", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(1)->set_domain("ai.onnx.ml"); },
       "unsupported op Relu (domain ai.onnx.ml, opset 13) at node 'relu'"},
      {"opset 99", [](pb::ModelProto* m) { m->mutable_opset_import(0)->set_version(99); },
       "opset 99 of the default domain is not supported"},
      {"opset 1 conv", [](pb::ModelProto* m) { m->mutable_opset_import(0)->set_version(1); },
       "unsupported op Conv (domain ai.onnx, opset 1) at node 'conv'"},
      {"no default opset", [](pb::ModelProto* m) { m->mutable_opset_import(0)->set_domain("com.x"); },
       "imports no opset of the default domain"},
      {"ir_version 0", [](pb::ModelProto* m) { m->set_ir_version(0); }, "ir_version 0"},
      {"negative initializer dim", [&](pb::ModelProto* m) { tensor_type(m)->set_dims(0, -3); },
       "tensor 'w': dim 0 is -3; dims must be >= 0"},
      {"negative input dim",
       [](pb::ModelProto* m) {
         m->mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
             ->mutable_dim(1)->set_dim_value(-5);
       },
       "graph input 'x': dim 1 is -5"},
      {"overflowing element count",
       [&](pb::ModelProto* m) {
         auto* t = tensor_type(m);
         t->clear_dims();
         for (int i = 0; i < 4; ++i) t->add_dims(int64_t{1} << 40);
       },
       "overflows"},
      {"huge claimed initializer, no data",
       [&](pb::ModelProto* m) {
         auto* t = tensor_type(m);
         t->clear_dims();
         t->add_dims(int64_t{1} << 14);
         t->add_dims(int64_t{1} << 14);
         t->clear_float_data();
       },
       "tensor 'w': has 0 values but shape [16384, 16384] needs 268435456"},
      {"over the element cap",
       [&](pb::ModelProto* m) {
         auto* t = tensor_type(m);
         t->clear_dims();
         t->add_dims(int64_t{1} << 20);
         t->add_dims(int64_t{1} << 20);
       },
       "more than the cap"},
      {"raw_data length mismatch",
       [&](pb::ModelProto* m) {
         auto* t = tensor_type(m);
         t->clear_float_data();
         t->set_raw_data(std::string(53 * 4, '\0'));
       },
       "tensor 'w': raw_data has 212 bytes but shape [3, 2, 3, 3] of float32 needs 216"},
      {"typed data count mismatch", [&](pb::ModelProto* m) { tensor_type(m)->add_float_data(1.f); },
       "tensor 'w': has 55 values but shape [3, 2, 3, 3] needs 54"},
      {"external data",
       [&](pb::ModelProto* m) {
         auto* t = tensor_type(m);
         t->clear_float_data();
         t->set_data_location(pb::TensorProto::EXTERNAL);
         auto* e = t->add_external_data();
         e->set_key("location");
         e->set_value("../../etc/passwd");
       },
       "tensor 'w': external data is not supported"},
      {"undefined dtype", [&](pb::ModelProto* m) { tensor_type(m)->set_data_type(0); }, "UNDEFINED"},
      {"unknown dtype", [&](pb::ModelProto* m) { tensor_type(m)->set_data_type(99); }, "unknown (99)"},
      {"double dtype", [&](pb::ModelProto* m) { tensor_type(m)->set_data_type(pb::TensorProto::DOUBLE); },
       "element type DOUBLE is not supported"},
      {"cycle",
       [](pb::ModelProto* m) {
         m->mutable_graph()->mutable_node(0)->set_input(0, "y");
         m->mutable_graph()->clear_input();
       },
       "cycle"},
      {"dangling input", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(1)->set_input(0, "ghost"); },
       "node 'relu' (Relu): input 'ghost' is not a graph input, an initializer or any node's output"},
      {"duplicate output", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(1)->set_output(0, "c"); },
       "output 'c' is already produced by node 'conv' (Conv)"},
      {"duplicate initializer", [](pb::ModelProto* m) { *m->mutable_graph()->add_initializer() = m->graph().initializer(0); },
       "initializer 'w' is defined twice"},
      {"missing graph output", [](pb::ModelProto* m) { m->mutable_graph()->mutable_output(0)->set_name("zz"); },
       "graph output 'zz' is not produced"},
      {"missing required input", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(0)->mutable_input()->RemoveLast(); },
       "node 'conv' (Conv): has 1 inputs; Conv takes 2 to 3"},
      {"empty required input", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(0)->set_input(1, ""); },
       "node 'conv' (Conv): has 1 inputs"},
      {"bad attribute type",
       [](pb::ModelProto* m) {
         auto* a = m->mutable_graph()->mutable_node(0)->add_attribute();
         a->set_name("group");
         a->set_type(pb::AttributeProto::FLOAT);
         a->set_f(2.f);
       },
       "attribute 'group' is float; expected int"},
      {"subgraph attribute",
       [](pb::ModelProto* m) {
         auto* a = m->mutable_graph()->mutable_node(1)->add_attribute();
         a->set_name("body");
         a->set_type(pb::AttributeProto::GRAPH);
         a->mutable_g()->set_name("inner");
       },
       "holds a subgraph"},
      {"wrong channel count",
       [](pb::ModelProto* m) {
         m->mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
             ->mutable_dim(1)->set_dim_value(5);
       },
       "input has 5 channels; weight expects 2"},
      {"declared output shape differs",
       [](pb::ModelProto* m) {
         m->mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()
             ->mutable_dim(1)->set_dim_value(7);
       },
       "graph output 'y' is declared"},
      {"huge pads blow up the output",
       [](pb::ModelProto* m) {
         auto* pads = m->mutable_graph()->mutable_node(0)->mutable_attribute(0);
         for (int i = 0; i < 4; ++i) pads->set_ints(i, int64_t{1} << 20);
       },
       "more than the cap"},
      {"negative pads", [](pb::ModelProto* m) { m->mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_ints(0, -2); },
       "pads must be in [0, 2^31]"},
      {"sequence input type",
       [](pb::ModelProto* m) {
         m->mutable_graph()->mutable_input(0)->mutable_type()->mutable_sequence_type();
       },
       "only tensor types are supported"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    pb::ModelProto m = ValidModel();
    c.mutate(&m);
    Status s = Load(Bytes(m));
    ASSERT_FALSE(s.ok()) << c.name << " was accepted";
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << "got: " << s.ToString();
  }
}

TEST(OnnxBadInput, RunTimeInputsMissingOrWrongShape) {
  const std::string bytes = Bytes(ValidModel());
  Result<Graph> g = onnx::ImportModel(bytes.data(), bytes.size());
  ASSERT_TRUE(g.ok());
  Result<Executor> ex = Executor::Create(*g);
  ASSERT_TRUE(ex.ok());
  Status s = ex->Run(std::map<std::string, Tensor>{}).status();
  EXPECT_NE(s.message().find("input 'x' is missing"), std::string::npos) << s.ToString();
  s = ex->Run(std::vector<Tensor>{Tensor(DType::kFloat32, {1, 2, 4, 5})}).status();
  EXPECT_NE(s.message().find("input 'x': dim 3 is 5; the model expects 4"), std::string::npos) << s.ToString();
}

TEST(OnnxBadInput, RawByteCorruptionsAreRejectedOrHandled) {
  SCOPED_TRACE(testing::SeedTrace());
  const std::string good = Bytes(ValidModel());
  // Empty, non-ONNX (PNG signature), and truncations at every 1/8 of the file.
  EXPECT_NE(Load("").message().find("empty"), std::string::npos);
  EXPECT_FALSE(Load(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)).ok());
  for (int k = 1; k < 8; ++k) {
    SCOPED_TRACE(k);
    EXPECT_FALSE(Load(good.substr(0, good.size() * k / 8)).ok());
  }
  // Random bit flips: anything may happen except a crash or an unbounded allocation (ASan and
  // the caps watch that); the bytes that still parse run through preparation and execution.
  auto rng = testing::Rng(31);
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8));
    rejected += !Load(b).ok();
  }
  EXPECT_GT(rejected, 0);
}

TEST(OnnxBadInput, HugeLengthPrefixDeepNestingAndSizeCap) {
  // Field 7 (graph), wire type 2, claiming a ~4 GiB length: protobuf must refuse before reading.
  const std::string huge_len = std::string("\x08\x08\x3a\xff\xff\xff\xff\x0f", 8) + "abc";
  Status s = Load(huge_len);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  // 200 nested GraphProtos through node attributes (If-style): beyond the recursion limit of 64.
  pb::GraphProto inner;
  inner.set_name("leaf");
  for (int depth = 0; depth < 200; ++depth) {
    pb::GraphProto outer;
    auto* n = outer.add_node();
    n->set_op_type("If");
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(pb::AttributeProto::GRAPH);
    *a->mutable_g() = std::move(inner);
    inner = std::move(outer);
  }
  pb::ModelProto deep = ValidModel();
  *deep.mutable_graph()->mutable_node(1)->add_attribute()->mutable_g() = inner;
  s = Load(Bytes(deep));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("nested deeper than 64"), std::string::npos) << s.ToString();
  // A file larger than the configured cap is refused before parsing.
  onnx::ImportOptions small;
  small.max_bytes = 100;
  s = Load(Bytes(ValidModel()), small);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("larger than the cap of 100 bytes"), std::string::npos) << s.ToString();
}

TEST(OnnxBadInput, QuantizationParamsAreChecked) {
  // QuantizeLinear with scale 0, then with a per-axis scale of the wrong length.
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant);
    pb::ModelProto m = ValidModel();
    pb::GraphProto* g = m.mutable_graph();
    g->mutable_node(1)->set_op_type("QuantizeLinear");
    g->mutable_node(1)->add_input("s");
    g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(pb::TensorProto::UINT8);
    pb::TensorProto* s = g->add_initializer();
    s->set_name("s");
    s->set_data_type(pb::TensorProto::FLOAT);
    if (variant == 0) {
      s->add_float_data(0.f);
    } else {
      s->add_dims(2);
      s->add_float_data(0.1f);
      s->add_float_data(0.2f);
    }
    Status st = Load(Bytes(m));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(variant == 0 ? "scales must be finite and > 0" : "scale has 2 values"),
              std::string::npos) << st.ToString();
  }
}

TEST(OnnxBadInput, TensorFilesAreCheckedToo) {
  pb::TensorProto t;
  t.set_name("t");
  t.set_data_type(pb::TensorProto::FLOAT);
  t.add_dims(-1);
  std::string b;
  t.SerializeToString(&b);
  Result<Tensor> r = onnx::ParseTensor(b.data(), b.size());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor 't': dim 0 is -1"), std::string::npos) << r.status().ToString();
  Result<Tensor> missing = onnx::ParseTensorFile("/nonexistent/qplay/file.pb");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace qp
