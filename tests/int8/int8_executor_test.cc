// Int8Executor: every backend of this build gives the scalar backend's output bits (benchmark QDQ
// models and synthetic QDQ graphs with odd channels, padding, strides, depthwise, residual Add);
// single-region graphs agree with the fp32 Executor running the same QDQ graph within one output
// step; bad quantization parameters give a Status naming the node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <tuple>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/onnx/onnx.h"
#include "onnx.pb.h"
#include "tests/test_util.h"

namespace qp::int8 {
namespace {

// ---- a small builder for ORT-style QDQ graphs ----------------------------------------------------
struct QdqBuilder {
  Graph g;
  std::mt19937_64 rng;
  bool u8 = true;
  int n = 0;
  explicit QdqBuilder(uint64_t salt, bool unsigned_acts) : rng(qp::testing::Rng(salt)), u8(unsigned_acts) {
    g.opset = 13;
  }
  std::string Name(const std::string& p) { return p + std::to_string(++n); }
  void Input(const std::string& name, Shape shape) {
    ValueInfo vi;
    vi.name = name;
    vi.shape = std::move(shape);
    g.inputs.push_back(vi);
  }
  void Output(const std::string& name) {
    ValueInfo vi;
    vi.name = name;
    vi.has_shape = false;
    g.outputs.push_back(vi);
  }
  void AddNode(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
               std::map<std::string, Attribute> attrs = {}) {
    Node nd;
    nd.name = Name(op);
    nd.op_type = op;
    nd.inputs = std::move(in);
    nd.outputs = std::move(out);
    nd.attrs = std::move(attrs);
    g.nodes.push_back(std::move(nd));
  }
  // Q -> DQ on an activation; zp in the model's type. Returns the DQ output.
  std::string Qdq(const std::string& x, float scale, int zp) {
    const std::string s = Name("s"), z = Name("zp"), q = Name("q"), dq = Name("dq");
    g.initializers[s] = Tensor::Scalar(scale);
    if (u8) {
      g.initializers[z] = Tensor::FromVector<uint8_t>({}, {static_cast<uint8_t>(zp)});
    } else {
      g.initializers[z] = Tensor::FromVector<int8_t>({}, {static_cast<int8_t>(zp)});
    }
    AddNode("QuantizeLinear", {x, s, z}, {q});
    AddNode("DequantizeLinear", {q, s, z}, {dq});
    return dq;
  }
  // Activation params for a range [lo, hi] (lo <= 0 <= hi), as ORT's MinMax calibration.
  std::pair<float, int> Params(float lo, float hi) {
    const float scale = (hi - lo) / 255.f;
    int zp = static_cast<int>(std::nearbyint(-lo / scale)) + (u8 ? 0 : -128);
    return {scale, zp};
  }
  std::string QdqRange(const std::string& x, float lo, float hi) {
    auto p = Params(lo, hi);
    return Qdq(x, p.first, p.second);
  }
  // DQ(int8 weights, per channel along axis 0 when per_channel) and DQ(int32 bias).
  std::pair<std::string, std::string> Weights(Shape wshape, float in_scale, bool per_channel, bool bias = true) {
    const int64_t o = wshape[0];
    int64_t numel = 1;
    for (int64_t d : wshape) numel *= d;
    std::uniform_int_distribution<int> wd(-127, 127);
    std::vector<int8_t> wq(static_cast<size_t>(numel));
    for (auto& v : wq) v = static_cast<int8_t>(wd(rng));
    std::uniform_real_distribution<float> sd(0.002f, 0.02f);
    std::vector<float> ws(per_channel ? static_cast<size_t>(o) : 1);
    for (auto& v : ws) v = sd(rng);
    const std::string wn = Name("wq"), wsn = Name("ws"), wz = Name("wzp"), w = Name("w");
    g.initializers[wn] = Tensor::FromVector<int8_t>(wshape, wq);
    g.initializers[wsn] = per_channel ? Tensor::FromVector<float>({o}, ws) : Tensor::Scalar(ws[0]);
    g.initializers[wz] = per_channel ? Tensor::FromVector<int8_t>({o}, std::vector<int8_t>(static_cast<size_t>(o), 0))
                                     : Tensor::FromVector<int8_t>({}, {0});
    AddNode("DequantizeLinear", {wn, wsn, wz}, {w}, {{"axis", Attribute::Int(0)}});
    if (!bias) return {w, ""};
    std::uniform_int_distribution<int> bd(-2000, 2000);
    std::vector<int32_t> bq(static_cast<size_t>(o));
    std::vector<float> bs(static_cast<size_t>(o));
    for (int64_t c = 0; c < o; ++c) {
      bq[static_cast<size_t>(c)] = bd(rng);
      bs[static_cast<size_t>(c)] = in_scale * ws[per_channel ? static_cast<size_t>(c) : 0];
    }
    const std::string bn = Name("bq"), bsn = Name("bs"), bz = Name("bzp"), b = Name("b");
    g.initializers[bn] = Tensor::FromVector<int32_t>({o}, bq);
    g.initializers[bsn] = Tensor::FromVector<float>({o}, bs);
    g.initializers[bz] = Tensor::FromVector<int32_t>({o}, std::vector<int32_t>(static_cast<size_t>(o), 0));
    AddNode("DequantizeLinear", {bn, bsn, bz}, {b}, {{"axis", Attribute::Int(0)}});
    return {w, b};
  }
  float InScale(const std::string& dq) const {
    for (const Node& nd : g.nodes)
      if (nd.op_type == "DequantizeLinear" && nd.outputs[0] == dq) return g.initializers.at(nd.inputs[1]).f32()[0];
    return 0;
  }
  std::string Conv(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                   std::vector<int64_t> pads, int64_t group, bool per_channel, int64_t dilation = 1) {
    auto wb = Weights({cout, cin / group, k, k}, InScale(x), per_channel);
    const std::string y = Name("conv");
    AddNode("Conv", {x, wb.first, wb.second}, {y},
            {{"kernel_shape", Attribute::Ints({k, k})}, {"strides", Attribute::Ints({stride, stride})},
             {"pads", Attribute::Ints(pads)}, {"group", Attribute::Int(group)},
             {"dilations", Attribute::Ints({dilation, dilation})}});
    return y;
  }
  std::string Op(const std::string& op, std::vector<std::string> in, std::map<std::string, Attribute> attrs = {}) {
    const std::string y = Name(op);
    AddNode(op, std::move(in), {y}, std::move(attrs));
    return y;
  }
  std::string Identity(const std::string& x, const std::string& out) {
    AddNode("Identity", {x}, {out});
    Output(out);
    return out;
  }
};

Tensor RandomInput(Shape shape, uint64_t salt) {
  Tensor t(DType::kFloat32, shape);
  auto rng = qp::testing::Rng(salt);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(rng);
  return t;
}

// The output DequantizeLinear scale (through Identity), i.e. one output step.
float OutputQuantum(const Graph& g) {
  std::string name = g.outputs[0].name;
  for (int hop = 0; hop < 8; ++hop) {
    for (const Node& nd : g.nodes) {
      if (nd.outputs[0] != name) continue;
      if (nd.op_type == "DequantizeLinear") return g.initializers.at(nd.inputs[1]).f32()[0];
      name = nd.inputs[0];
      break;
    }
  }
  return 0;
}

// Runs every backend of the build; expects zero fp32 fallbacks and identical bits to scalar.
std::vector<Tensor> RunAllBackendsBitExact(const Graph& g, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> scalar_out;
  for (Backend b : AvailableBackends()) {
    SCOPED_TRACE(IsaName(b));
    Int8Options opt;
    opt.backend = b;
    auto ex = Int8Executor::Create(g, opt);
    EXPECT_TRUE(ex.ok()) << ex.status().ToString();
    if (!ex.ok()) return {};
    EXPECT_EQ(ex->fallback_nodes(), 0) << ex->Summary();
    EXPECT_GT(ex->int8_kernel_steps(), 0);
    auto out = ex->Run(inputs);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    if (b == Backend::kScalar) {
      scalar_out = *out;
      continue;
    }
    EXPECT_EQ(out->size(), scalar_out.size());
    for (size_t i = 0; i < out->size() && i < scalar_out.size(); ++i) {
      const Tensor& a = (*out)[i];
      const Tensor& s = scalar_out[i];
      EXPECT_EQ(a.shape(), s.shape());
      if (a.shape() != s.shape() || a.dtype() != s.dtype()) return {};
      const float* x = a.f32();
      const float* y = s.f32();
      for (int64_t j = 0; j < a.numel(); ++j) {
        uint32_t bx, by;
        std::memcpy(&bx, &x[j], 4);
        std::memcpy(&by, &y[j], 4);
        EXPECT_EQ(bx, by) << "output " << i << " element " << j << ": " << x[j] << " vs scalar " << y[j];
        if (bx != by) return {};
      }
    }
  }
  return scalar_out;
}

// The fp32 Executor on the same QDQ graph is the float oracle: it dequantizes, runs the op in
// float and QuantizeLinear rounds once. The int8 kernels accumulate exactly in int32 and round once
// with one fp32 multiply; both round the same real number, so they can differ only where the
// float sum's rounding error crosses a rounding boundary: at most one output step.
void ExpectWithinOneStepOfFloat(const Graph& g, const std::vector<Tensor>& inputs, const std::vector<Tensor>& ours) {
  auto ref_ex = Executor::Create(g);
  ASSERT_TRUE(ref_ex.ok()) << ref_ex.status().ToString();
  auto ref = ref_ex->Run(inputs);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const float q = OutputQuantum(g);
  ASSERT_GT(q, 0.f);
  ASSERT_EQ(ref->size(), ours.size());
  int off_by_one = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ((*ref)[i].shape(), ours[i].shape());
    for (int64_t j = 0; j < ours[i].numel(); ++j) {
      const float d = std::fabs(ours[i].f32()[j] - (*ref)[i].f32()[j]) / q;
      ASSERT_LE(d, 1.001f) << "element " << j << ": int8 " << ours[i].f32()[j] << " float " << (*ref)[i].f32()[j];
      if (d > 0.5f && ++off_by_one <= 3) {
        std::printf("  off by one step at %lld: int8 %.7g float %.7g (step %.7g)\n", static_cast<long long>(j),
                    ours[i].f32()[j], (*ref)[i].f32()[j], q);
      }
    }
  }
  // Ties are rare: most elements must agree exactly (a systematic offset would show here).
  EXPECT_LE(off_by_one, static_cast<int>(ours[0].numel() / 20 + 1));
}

class Int8Synthetic : public ::testing::TestWithParam<bool> {};  // true: uint8 activations

TEST_P(Int8Synthetic, ConvOddChannelsAsymmetricPaddingStrideRelu) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  QdqBuilder b(1, GetParam());
  b.Input("x", {kDynamicDim, 5, 9, 11});
  auto x = b.QdqRange("x", -1.f, 1.f);
  auto c = b.Conv(x, 5, 7, 3, 2, {1, 0, 2, 1}, 1, true);
  auto r = b.Op("Relu", {c});
  auto y = b.QdqRange(r, 0.f, 3.f);
  b.Identity(y, "y");
  std::vector<Tensor> in{RandomInput({2, 5, 9, 11}, 11)};
  auto out = RunAllBackendsBitExact(b.g, in);
  ASSERT_FALSE(out.empty());
  ExpectWithinOneStepOfFloat(b.g, in, out);
}

TEST_P(Int8Synthetic, DepthwiseAndGroupedAndDilatedConvClip) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    QdqBuilder b(2 + variant, GetParam());
    b.Input("x", {1, 12, 10, 7});
    auto x = b.QdqRange("x", -1.f, 1.f);
    std::string c;
    if (variant == 0) c = b.Conv(x, 12, 12, 5, 2, {2, 2, 2, 2}, 12, true);       // depthwise 5x5 s2
    if (variant == 1) c = b.Conv(x, 12, 9, 3, 1, {1, 1, 1, 1}, 3, false);       // grouped, per tensor
    if (variant == 2) c = b.Conv(x, 12, 12, 3, 1, {2, 2, 2, 2}, 12, true, 2);  // depthwise dilated
    b.g.initializers["lo"] = Tensor::Scalar(0.f);
    b.g.initializers["hi"] = Tensor::Scalar(0.75f);
    auto r = b.Op("Clip", {c, "lo", "hi"});
    auto y = b.QdqRange(r, 0.f, 1.f);
    b.Identity(y, "y");
    std::vector<Tensor> in{RandomInput({1, 12, 10, 7}, 12)};
    auto out = RunAllBackendsBitExact(b.g, in);
    ASSERT_FALSE(out.empty());
    ExpectWithinOneStepOfFloat(b.g, in, out);
  }
}

TEST_P(Int8Synthetic, ResidualAdd) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  QdqBuilder b(5, GetParam());
  b.Input("x", {kDynamicDim, 13, 6, 5});
  auto x = b.QdqRange("x", -1.f, 1.f);
  auto c = b.Conv(x, 13, 13, 1, 1, {0, 0, 0, 0}, 1, true);
  auto cq = b.QdqRange(c, -2.f, 2.f);
  auto s = b.Op("Add", {x, cq});
  auto y = b.QdqRange(s, -2.5f, 2.5f);
  b.Identity(y, "y");
  std::vector<Tensor> in{RandomInput({3, 13, 6, 5}, 13)};
  RunAllBackendsBitExact(b.g, in);
  // The Add alone against float: inputs already on their grids, one rounding.
  QdqBuilder a(6, GetParam());
  a.Input("x", {2, 13, 6, 5});
  a.Input("z", {2, 13, 6, 5});
  // Scales with no simple ratio: XNNPACK's fixed-point add rounds ties up where QuantizeLinear
  // rounds them to even, so scales whose ratios make many exact ties (e.g. 0.5) would differ by
  // one step on about a quarter of the elements, legitimately.
  auto ax = a.QdqRange("x", -1.f, 1.1f);
  auto az = a.QdqRange("z", -0.53f, 1.5f);
  auto ay = a.QdqRange(a.Op("Add", {ax, az}), -1.5f, 2.7f);
  a.Identity(ay, "y");
  std::vector<Tensor> in2{RandomInput({2, 13, 6, 5}, 14), RandomInput({2, 13, 6, 5}, 15)};
  auto out = RunAllBackendsBitExact(a.g, in2);
  ASSERT_FALSE(out.empty());
  ExpectWithinOneStepOfFloat(a.g, in2, out);
}

TEST_P(Int8Synthetic, PoolsFlattenGemmMatMul) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    QdqBuilder b(7 + variant, GetParam());
    b.Input("x", {kDynamicDim, 6, 7, 9});
    auto x = b.QdqRange("x", -1.f, 1.f);
    std::string y;
    if (variant == 0) {  // MaxPool keeps the grid; Flatten of NHWC data feeds a Gemm (K permuted)
      auto m = b.Op("MaxPool", {x}, {{"kernel_shape", Attribute::Ints({3, 3})}, {"strides", Attribute::Ints({2, 2})},
                                     {"pads", Attribute::Ints({1, 1, 1, 1})}});
      auto mq = b.QdqRange(m, -1.f, 1.f);
      auto f = b.Op("Flatten", {mq}, {{"axis", Attribute::Int(1)}});
      auto fq = b.QdqRange(f, -1.f, 1.f);
      auto wb = b.Weights({11, 6 * 4 * 5}, b.InScale(fq), true);
      y = b.QdqRange(b.Op("Gemm", {fq, wb.first, wb.second}, {{"transB", Attribute::Int(1)}}), -3.f, 3.f);
    } else if (variant == 1) {
      y = b.QdqRange(b.Op("AveragePool", {x}, {{"kernel_shape", Attribute::Ints({3, 2})},
                                               {"strides", Attribute::Ints({2, 1})},
                                               {"pads", Attribute::Ints({1, 0, 1, 1})}}),
                     -0.7f, 0.7f);
    } else if (variant == 2) {
      y = b.QdqRange(b.Op("GlobalAveragePool", {x}), -0.3f, 0.3f);
    } else {  // MatMul with per-tensor weights [K, N]
      auto f = b.Op("Flatten", {x}, {{"axis", Attribute::Int(1)}});
      auto wb = b.Weights({6 * 7 * 9, 17}, b.InScale(x), false, false);
      y = b.QdqRange(b.Op("MatMul", {f, wb.first}), -2.f, 2.f);
    }
    b.Identity(y, "y");
    std::vector<Tensor> in{RandomInput({2, 6, 7, 9}, 16)};
    auto out = RunAllBackendsBitExact(b.g, in);
    ASSERT_FALSE(out.empty());
    ExpectWithinOneStepOfFloat(b.g, in, out);
  }
}

// TensorRT QAT exports: float weights -> QuantizeLinear -> DequantizeLinear (zero point 0, per
// channel), float bias. The weight Q is folded at prepare and the bias quantized at sx * sw.
TEST_P(Int8Synthetic, TensorRtStyleFloatWeightsAndBias) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  QdqBuilder b(30, GetParam());
  b.Input("x", {kDynamicDim, 4, 8, 8});
  auto x = b.QdqRange("x", -1.f, 1.f);
  auto rng = qp::testing::Rng(31);
  std::normal_distribution<float> nd(0.f, 0.2f);
  std::vector<float> w(6 * 4 * 3 * 3), bias(6), ws(6);
  for (auto& v : w) v = nd(rng);
  for (auto& v : bias) v = nd(rng);
  for (int o = 0; o < 6; ++o) {
    float m = 0;
    for (int i = 0; i < 36; ++i) m = std::max(m, std::fabs(w[static_cast<size_t>(o * 36 + i)]));
    ws[static_cast<size_t>(o)] = m / 127.f;
  }
  b.g.initializers["W"] = Tensor::FromVector<float>({6, 4, 3, 3}, w);
  b.g.initializers["B"] = Tensor::FromVector<float>({6}, bias);
  b.g.initializers["Ws"] = Tensor::FromVector<float>({6}, ws);
  b.g.initializers["Wz"] = Tensor::FromVector<int8_t>({6}, std::vector<int8_t>(6, 0));
  b.AddNode("QuantizeLinear", {"W", "Ws", "Wz"}, {"Wq"}, {{"axis", Attribute::Int(0)}});
  b.AddNode("DequantizeLinear", {"Wq", "Ws", "Wz"}, {"Wdq"}, {{"axis", Attribute::Int(0)}});
  auto c = b.Op("Conv", {x, "Wdq", "B"}, {{"kernel_shape", Attribute::Ints({3, 3})}, {"pads", Attribute::Ints({1, 1, 1, 1})}});
  b.Identity(b.QdqRange(c, -2.f, 2.f), "y");
  std::vector<Tensor> in{RandomInput({2, 4, 8, 8}, 32)};
  auto out = RunAllBackendsBitExact(b.g, in);
  ASSERT_FALSE(out.empty());
  ExpectWithinOneStepOfFloat(b.g, in, out);
}

// QOperator form: Q -> QLinearConv -> QLinearMatMul -> DQ. The oracle is the fp32 executor's
// reference QLinearConv / QLinearMatMul (core/graph/ops_quant.cc) on the same graph.
TEST_P(Int8Synthetic, QOperatorQLinearConvAndMatMul) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  QdqBuilder b(40, GetParam());
  b.Input("x", {1, 3, 7, 6});
  auto rng = qp::testing::Rng(41);
  std::uniform_int_distribution<int> wd(-127, 127);
  auto p_in = b.Params(-1.f, 1.f), p_mid = b.Params(-1.5f, 2.f), p_out = b.Params(-3.f, 3.f);
  auto zp = [&](int v) {
    return GetParam() ? Tensor::FromVector<uint8_t>({}, {static_cast<uint8_t>(v)})
                      : Tensor::FromVector<int8_t>({}, {static_cast<int8_t>(v)});
  };
  b.g.initializers["xs"] = Tensor::Scalar(p_in.first);
  b.g.initializers["xz"] = zp(p_in.second);
  b.g.initializers["ms"] = Tensor::Scalar(p_mid.first);
  b.g.initializers["mz"] = zp(p_mid.second);
  b.g.initializers["ys"] = Tensor::Scalar(p_out.first);
  b.g.initializers["yz"] = zp(p_out.second);
  std::vector<int8_t> w(5 * 3 * 3 * 3), w2(5 * 4 * 2 * 9);  // conv output 5 x 4 x 2
  for (auto& v : w) v = static_cast<int8_t>(wd(rng));
  for (auto& v : w2) v = static_cast<int8_t>(wd(rng));
  b.g.initializers["w"] = Tensor::FromVector<int8_t>({5, 3, 3, 3}, w);
  b.g.initializers["ws"] = Tensor::FromVector<float>({5}, {0.004f, 0.006f, 0.005f, 0.003f, 0.007f});
  b.g.initializers["wz"] = Tensor::FromVector<int8_t>({5}, std::vector<int8_t>(5, 0));
  b.g.initializers["B"] = Tensor::FromVector<int32_t>({5}, {100, -250, 17, 0, 999});
  b.g.initializers["w2"] = Tensor::FromVector<int8_t>({5 * 4 * 2, 9}, w2);
  b.g.initializers["w2s"] = Tensor::Scalar(0.0011f);
  b.g.initializers["w2z"] = Tensor::FromVector<int8_t>({}, {0});
  b.AddNode("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.AddNode("QLinearConv", {"xq", "xs", "xz", "w", "ws", "wz", "ms", "mz", "B"}, {"cq"},
            {{"kernel_shape", Attribute::Ints({3, 3})}, {"strides", Attribute::Ints({2, 2})},
             {"pads", Attribute::Ints({1, 0, 1, 0})}});
  b.AddNode("DequantizeLinear", {"cq", "ms", "mz"}, {"cdq"});
  b.AddNode("Flatten", {"cdq"}, {"f"}, {{"axis", Attribute::Int(1)}});
  b.AddNode("QuantizeLinear", {"f", "ms", "mz"}, {"fq"});
  b.AddNode("QLinearMatMul", {"fq", "ms", "mz", "w2", "w2s", "w2z", "ys", "yz"}, {"yq"});
  b.AddNode("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  b.Output("y");
  std::vector<Tensor> in{RandomInput({1, 3, 7, 6}, 42)};
  auto out = RunAllBackendsBitExact(b.g, in);
  ASSERT_FALSE(out.empty());
  ExpectWithinOneStepOfFloat(b.g, in, out);
}

TEST_P(Int8Synthetic, QdqConcatRequantizesEachInput) {
  // DQ(x_i) -> Concat -> Q with a different scale per input (one on the output's own grid: the
  // copy path), along channels, height and width of NHWC data and along dim 1 of rank-2 data.
  SCOPED_TRACE(qp::testing::SeedTrace());
  struct Case {
    int64_t axis;
    Shape a, b;
  };
  for (const Case& c : {Case{1, {kDynamicDim, 5, 4, 3}, {kDynamicDim, 3, 4, 3}}, Case{2, {2, 5, 4, 3}, {2, 5, 1, 3}},
                        Case{-1, {2, 5, 4, 3}, {2, 5, 4, 19}}, Case{1, {kDynamicDim, 7}, {kDynamicDim, 33}}}) {
    SCOPED_TRACE(c.axis);
    QdqBuilder b(31, GetParam());
    b.Input("x", c.a);
    b.Input("z", c.b);
    auto x = b.QdqRange("x", -1.f, 1.1f);
    auto z = b.QdqRange("z", -0.3f, 0.9f);
    auto same = b.QdqRange("x", -1.3f, 1.2f);  // the output's grid below
    auto cat = b.Op("Concat", {x, z, same}, {{"axis", Attribute::Int(c.axis)}});
    b.Identity(b.QdqRange(cat, -1.3f, 1.2f), "y");
    Shape sa = c.a, sb = c.b;
    sa[0] = sb[0] = 2;
    std::vector<Tensor> in{RandomInput(sa, 32), RandomInput(sb, 33)};
    auto out = RunAllBackendsBitExact(b.g, in);
    ASSERT_FALSE(out.empty());
    ExpectWithinOneStepOfFloat(b.g, in, out);
  }
}

// ONNX Runtime's contrib QOperators as its quantizer writes them (domain com.microsoft):
// x -> Q -> QLinearConv -> QLinearAdd(conv, x) -> QLinearConcat(add, x, conv) -> DQ. The oracle is
// the fp32 Executor on the same graph written with the ops' definitions (DQ -> Add / Concat -> Q).
TEST_P(Int8Synthetic, ContribQLinearAddAndConcatRunOnInt8Kernels) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  const bool u8 = GetParam();
  auto build = [u8](bool contrib) {
    QdqBuilder b(34, u8);
    b.Input("x", {kDynamicDim, 6, 5, 4});
    auto put = [&](const std::string& name, float lo, float hi) {
      auto p = b.Params(lo, hi);
      b.g.initializers[name + "s"] = Tensor::Scalar(p.first);
      b.g.initializers[name + "z"] = u8 ? Tensor::FromVector<uint8_t>({}, {static_cast<uint8_t>(p.second)})
                                        : Tensor::FromVector<int8_t>({}, {static_cast<int8_t>(p.second)});
      return std::vector<std::string>{name + "s", name + "z"};
    };
    auto xq = put("x", -1.f, 1.f), cq = put("c", -2.f, 2.1f), aq = put("a", -2.3f, 2.6f), yq = put("y", -2.4f, 2.6f);
    b.AddNode("QuantizeLinear", {"x", xq[0], xq[1]}, {"xq"});
    // The conv as QDQ (lowered the same either way); its output is quantized tensor "cq".
    b.AddNode("DequantizeLinear", {"xq", xq[0], xq[1]}, {"xd"});
    const std::string conv = b.Conv("xd", 6, 6, 3, 1, {1, 1, 1, 1}, 1, true);
    b.AddNode("QuantizeLinear", {conv, cq[0], cq[1]}, {"cq"});
    if (contrib) {
      b.AddNode("QLinearAdd", {"cq", cq[0], cq[1], "xq", xq[0], xq[1], aq[0], aq[1]}, {"aq"});
      b.g.nodes.back().domain = "com.microsoft";
      b.AddNode("QLinearConcat", {yq[0], yq[1], "aq", aq[0], aq[1], "xq", xq[0], xq[1], "cq", cq[0], cq[1]}, {"yq"},
                {{"axis", Attribute::Int(1)}});
      b.g.nodes.back().domain = "com.microsoft";
    } else {
      b.AddNode("DequantizeLinear", {"cq", cq[0], cq[1]}, {"cd"});
      b.AddNode("Add", {"cd", "xd"}, {"ad"});
      b.AddNode("QuantizeLinear", {"ad", aq[0], aq[1]}, {"aq"});
      b.AddNode("DequantizeLinear", {"aq", aq[0], aq[1]}, {"ad2"});
      b.AddNode("Concat", {"ad2", "xd", "cd"}, {"yd"}, {{"axis", Attribute::Int(1)}});
      b.AddNode("QuantizeLinear", {"yd", yq[0], yq[1]}, {"yq"});
    }
    b.AddNode("DequantizeLinear", {"yq", yq[0], yq[1]}, {"y"});
    b.Output("y");
    return b.g;
  };
  const Graph contrib = build(true);
  std::vector<Tensor> in{RandomInput({2, 6, 5, 4}, 35)};
  auto out = RunAllBackendsBitExact(contrib, in);  // zero fp32 fallbacks on every backend
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0].shape(), (Shape{2, 18, 5, 4}));
  ExpectWithinOneStepOfFloat(build(false), in, out);
}

INSTANTIATE_TEST_SUITE_P(Activations, Int8Synthetic, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "u8" : "s8"; });

// ---- the benchmark models (scripts/bench/make_models.py, written at build time) -----------------
TEST(Int8Models, EveryBackendBitExactOnBenchmarkQdqModels) {
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
      auto g = onnx::ImportModelFile(file);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      Tensor x = RandomInput(c.shape, 17);
      for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = 0.5f * (x.f32()[i] + 1.f);  // [0, 1)
      RunAllBackendsBitExact(*g, {x});
    }
  }
}

// ---- bad input ----------------------------------------------------------------------------------
Graph OneConv(bool u8) {
  QdqBuilder b(20, u8);
  b.Input("x", {1, 3, 5, 5});
  auto x = b.QdqRange("x", -1.f, 1.f);
  auto c = b.Conv(x, 3, 4, 3, 1, {1, 1, 1, 1}, 1, true);
  b.Identity(b.QdqRange(c, -2.f, 2.f), "y");
  return b.g;
}

Status CreateStatus(const Graph& g) {
  auto ex = Int8Executor::Create(g);
  return ex.ok() ? Status::Ok() : ex.status();
}

TEST(Int8BadInput, ActivationScalesZeroNegativeNanDenormal) {
  for (float s : {0.f, -0.1f, NAN, INFINITY, 1e-40f}) {
    SCOPED_TRACE(s);
    Graph g = OneConv(true);
    g.initializers["s1"] = Tensor::Scalar(s);  // the input Q/DQ scale
    Status st = CreateStatus(g);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find("QuantizeLinear"), std::string::npos) << st.message();
  }
}

TEST(Int8BadInput, WeightScalesAndPerAxisCount) {
  Graph g = OneConv(false);
  std::string ws;
  for (auto& kv : g.initializers)
    if (kv.first.rfind("ws", 0) == 0) ws = kv.first;
  ASSERT_FALSE(ws.empty());
  Tensor good = g.initializers[ws];
  g.initializers[ws].f32()[2] = -0.01f;
  Status st = CreateStatus(g);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("channel 2"), std::string::npos) << st.message();
  g.initializers[ws] = Tensor::FromVector<float>({3}, {0.01f, 0.01f, 0.01f});  // 3 scales, 4 channels
  st = CreateStatus(g);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("3 scales for 4 channels"), std::string::npos) << st.message();
}

TEST(Int8BadInput, ZeroPointOfWrongTypeIsRejected) {
  Graph g = OneConv(true);
  g.initializers["zp2"] = Tensor::FromVector<int32_t>({}, {300});  // activation zero point, int32
  Status st = CreateStatus(g);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("(QuantizeLinear)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("zero point 300 has dtype int32"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("must be uint8 [0, 255] or int8 [-128, 127]"), std::string::npos) << st.message();
}

TEST(Int8BadInput, ContribQOperatorsThatCannotBeLoweredAreAStatus) {
  auto make = [](const std::string& op, std::vector<std::string> in, bool with_axis) {
    QdqBuilder b(36, true);
    b.Input("x", {1, 2, 3, 3});
    b.g.initializers["s"] = Tensor::Scalar(0.01f);
    b.g.initializers["z"] = Tensor::FromVector<uint8_t>({}, {128});
    b.AddNode("QuantizeLinear", {"x", "s", "z"}, {"xq"});
    std::map<std::string, Attribute> attrs;
    if (with_axis) attrs["axis"] = Attribute::Int(1);
    b.AddNode(op, std::move(in), {"yq"}, attrs);
    b.g.nodes.back().name = "bad";
    b.g.nodes.back().domain = "com.microsoft";
    b.AddNode("DequantizeLinear", {"yq", "s", "z"}, {"y"});
    b.Output("y");
    return b.g;
  };
  struct Case {
    Graph g;
    StatusCode code;
    const char* rule;
  };
  const std::vector<Case> cases = {
      // A scale that is a graph value, not a constant: there is no fp32 QLinearAdd to fall back to.
      {make("QLinearAdd", {"xq", "x", "z", "xq", "s", "z", "s", "z"}, false), StatusCode::kUnimplemented,
       "(scale) must be a constant initializer"},
      {make("QLinearAdd", {"xq", "s", "z", "xq", "s", "z", "s"}, false), StatusCode::kInvalidArgument,
       "QLinearAdd takes 8 inputs"},
      {make("QLinearConcat", {"s", "z", "xq", "s", "z", "xq", "s"}, true), StatusCode::kInvalidArgument,
       "(X, X_scale, X_zero_point) triples"},
      {make("QLinearConcat", {"s", "z", "xq", "s", "z", "xq", "s", "z"}, false), StatusCode::kInvalidArgument,
       "requires the attribute 'axis'"},
      // A missing zero point would change the quantized type: rejected, not guessed.
      {make("QLinearConcat", {"s", "z", "xq", "s", "", "xq", "s", "z"}, true), StatusCode::kUnimplemented,
       "(zero point) must be a constant initializer"},
  };
  for (const Case& c : cases) {
    Status st = CreateStatus(c.g);
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    EXPECT_NE(st.message().find("node 'bad'"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(c.rule), std::string::npos) << st.message();
  }
  // The fp32 executor has no reference for them: a clear unsupported-op Status, not a crash.
  auto ref = Executor::Create(cases[0].g);
  ASSERT_FALSE(ref.ok());
  EXPECT_NE(ref.status().message().find("QLinearAdd (domain com.microsoft"), std::string::npos)
      << ref.status().ToString();
}

// A stored value that does not fit its declared element type: ONNX keeps uint8/int8 tensors
// widened in int32_data, so a uint8 zero point of 300 can be written; the import names the tensor
// and the type's range instead of wrapping it to 44.
TEST(Int8BadInput, ZeroPointValueOutsideItsStoredTypeIsRejectedAtImport) {
  for (auto [type, value, rule] : {std::tuple{::onnx::TensorProto::UINT8, 300, "does not fit its type uint8 [0, 255]"},
                                   std::tuple{::onnx::TensorProto::UINT8, -1, "does not fit its type uint8 [0, 255]"},
                                   std::tuple{::onnx::TensorProto::INT8, 128, "does not fit its type int8 [-128, 127]"}}) {
    ::onnx::ModelProto m;
    m.set_ir_version(8);
    auto* os = m.add_opset_import();
    os->set_domain("");
    os->set_version(13);
    ::onnx::GraphProto* g = m.mutable_graph();
    g->set_name("g");
    for (auto* v : {g->add_input(), g->add_output()}) {
      v->set_name(v == &g->input(0) ? "x" : "y");
      auto* tt = v->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(::onnx::TensorProto::FLOAT);
      tt->mutable_shape()->add_dim()->set_dim_value(4);
    }
    auto* s = g->add_initializer();
    s->set_name("s");
    s->set_data_type(::onnx::TensorProto::FLOAT);
    s->add_float_data(0.1f);
    auto* z = g->add_initializer();
    z->set_name("zp");
    z->set_data_type(type);
    z->add_int32_data(value);
    for (auto [op, in, out] : {std::tuple{"QuantizeLinear", "x", "q"}, std::tuple{"DequantizeLinear", "q", "y"}}) {
      auto* n = g->add_node();
      n->set_op_type(op);
      n->add_input(in);
      n->add_input("s");
      n->add_input("zp");
      n->add_output(out);
    }
    std::string bytes;
    ASSERT_TRUE(m.SerializeToString(&bytes));
    auto r = onnx::ImportModel(bytes.data(), bytes.size());
    ASSERT_FALSE(r.ok()) << "zero point " << value;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("tensor 'zp': value " + std::to_string(value)), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(rule), std::string::npos) << r.status().message();
  }
}

TEST(Int8BadInput, BiasScaleInconsistentWarnsOrRejects) {
  Graph g = OneConv(true);
  std::string bs;
  for (auto& kv : g.initializers)
    if (kv.first.rfind("bs", 0) == 0) bs = kv.first;
  ASSERT_FALSE(bs.empty());
  // 10% off: requantized to input x weight scale, with a warning naming the node.
  Graph warn = g;
  for (int64_t i = 0; i < warn.initializers[bs].numel(); ++i) warn.initializers[bs].f32()[i] *= 1.1f;
  auto ex = Int8Executor::Create(warn);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_FALSE(ex->notes().empty());
  EXPECT_NE(ex->notes()[0].find("bias scale"), std::string::npos) << ex->notes()[0];
  EXPECT_NE(ex->notes()[0].find("Conv"), std::string::npos) << ex->notes()[0];
  // The requantized bias must give the same result as the float oracle on the warned graph.
  std::vector<Tensor> in{RandomInput({1, 3, 5, 5}, 21)};
  auto out = ex->Run(in);
  ASSERT_TRUE(out.ok());
  ExpectWithinOneStepOfFloat(warn, in, *out);
  // 3x off: rejected.
  Graph bad = g;
  for (int64_t i = 0; i < bad.initializers[bs].numel(); ++i) bad.initializers[bs].f32()[i] *= 3.f;
  Status st = CreateStatus(bad);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("bias scale"), std::string::npos) << st.message();
}

TEST(Int8BadInput, UnsupportedPatternFallsBackToFp32WithANote) {
  // Weight zero point != 0: the kernels take symmetric weights, so the Conv runs on the reference.
  Graph g = OneConv(true);
  for (auto& kv : g.initializers)
    if (kv.first.rfind("wzp", 0) == 0) kv.second.data<int8_t>()[1] = 3;
  auto ex = Int8Executor::Create(g);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->fallback_nodes(), 1);
  std::vector<Tensor> in{RandomInput({1, 3, 5, 5}, 22)};
  auto out = ex->Run(in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto ref = Executor::Create(g);
  ASSERT_TRUE(ref.ok());
  auto r = ref->Run(in);
  ASSERT_TRUE(r.ok());
  // The fallback IS the reference node on the same dequantized values: identical bits.
  for (int64_t j = 0; j < r->at(0).numel(); ++j) EXPECT_EQ((*out)[0].f32()[j], (*r)[0].f32()[j]);
}

TEST(Int8BadInput, WrongInputShapeIsAStatus) {
  auto ex = Int8Executor::Create(OneConv(true));
  ASSERT_TRUE(ex.ok());
  auto out = ex->Run({RandomInput({1, 3, 6, 5}, 23)});
  EXPECT_FALSE(out.ok());
  EXPECT_FALSE(ParseBackend("gpu").ok());
}

}  // namespace
}  // namespace qp::int8
