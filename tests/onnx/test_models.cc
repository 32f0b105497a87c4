// Builders of the float test graphs (see test_models.h).
#include "tests/onnx/test_models.h"

#include <random>

namespace qp::testing {

namespace {

class Builder {
 public:
  Builder(uint64_t seed, Shape input) : rng_(seed) {
    g_.opset = 13;
    ValueInfo x;
    x.name = "input";
    x.shape = input;
    x.shape[0] = kDynamicDim;
    x.dim_names.assign(input.size(), "");
    x.dim_names[0] = "N";
    g_.inputs.push_back(x);
  }
  std::string Weight(Shape s, float scale = 0.5f) {
    Tensor t(DType::kFloat32, std::move(s));
    std::uniform_real_distribution<float> d(-scale, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(rng_);
    return Init(std::move(t));
  }
  std::string Positive(Shape s) {
    Tensor t(DType::kFloat32, std::move(s));
    std::uniform_real_distribution<float> d(0.5f, 1.5f);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(rng_);
    return Init(std::move(t));
  }
  std::string Init(Tensor t) {
    const std::string name = "init" + std::to_string(g_.initializers.size());
    g_.initializers[name] = std::move(t);
    return name;
  }
  std::string Ints(std::vector<int64_t> v) {
    return Init(Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  std::vector<std::string> Op(const std::string& op, std::vector<std::string> in,
                              std::map<std::string, Attribute> attrs = {}, int outs = 1) {
    Node n;
    n.op_type = op;
    n.name = op + "_" + std::to_string(g_.nodes.size());
    n.inputs = std::move(in);
    for (int i = 0; i < outs; ++i) n.outputs.push_back(n.name + "_out" + std::to_string(i));
    n.attrs = std::move(attrs);
    g_.nodes.push_back(n);
    return n.outputs;
  }
  std::string Op1(const std::string& op, std::vector<std::string> in, std::map<std::string, Attribute> attrs = {}) {
    return Op(op, std::move(in), std::move(attrs))[0];
  }
  Graph Finish(std::vector<std::string> outputs) {
    for (const std::string& o : outputs) {
      ValueInfo v;
      v.name = o;
      v.has_shape = false;
      g_.outputs.push_back(v);
    }
    return g_;
  }

 private:
  std::mt19937_64 rng_;
  Graph g_;
};

using A = Attribute;

// Conv stack: strided asymmetric-pad conv, BN, ReLU, ceil-mode MaxPool, grouped dilated conv, SAME_LOWER conv,
// ReLU6 (Clip inputs), AveragePool with count_include_pad, GlobalAveragePool, Flatten, Gemm, Softmax.
TestModel Cnn(uint64_t seed) {
  Builder b(seed, {2, 3, 13, 11});
  std::string x = b.Op1("Conv", {"input", b.Weight({8, 3, 3, 3}), b.Weight({8})},
                        {{"strides", A::Ints({2, 1})}, {"pads", A::Ints({1, 0, 2, 1})}});
  x = b.Op1("BatchNormalization", {x, b.Positive({8}), b.Weight({8}), b.Weight({8}), b.Positive({8})},
            {{"epsilon", A::Float(1e-3f)}});
  x = b.Op1("Relu", {x});
  x = b.Op1("MaxPool", {x}, {{"kernel_shape", A::Ints({2, 2})}, {"strides", A::Ints({2, 2})},
                             {"ceil_mode", A::Int(1)}});
  x = b.Op1("Conv", {x, b.Weight({8, 4, 3, 3}), b.Weight({8})},
            {{"group", A::Int(2)}, {"dilations", A::Ints({2, 1})}, {"pads", A::Ints({2, 1, 2, 1})}});
  // onnxruntime rejects dilations together with SAME_*; auto_pad gets its own undilated conv.
  x = b.Op1("Conv", {x, b.Weight({8, 8, 2, 3})}, {{"auto_pad", A::String("SAME_LOWER")}});
  x = b.Op1("Clip", {x, b.Init(Tensor::Scalar(0.f)), b.Init(Tensor::Scalar(6.f))});
  x = b.Op1("AveragePool", {x}, {{"kernel_shape", A::Ints({3, 2})}, {"pads", A::Ints({1, 1, 1, 0})},
                                 {"count_include_pad", A::Int(1)}});
  std::string gap = b.Op1("GlobalAveragePool", {x});
  std::string f = b.Op1("Flatten", {gap});
  std::string y = b.Op1("Gemm", {f, b.Weight({10, 8}), b.Weight({10})},
                        {{"transB", A::Int(1)}, {"alpha", A::Float(0.75f)}, {"beta", A::Float(1.5f)}});
  std::string s = b.Op1("Softmax", {y});
  return {"cnn", b.Finish({s, y}), {2, 3, 13, 11}};
}

// MobileNet-style block: depthwise conv, HardSwish, residual Add, reflect/edge Pad, activations,
// elementwise ops with broadcasting, Concat, Transpose, Reshape 0/-1, Squeeze/Unsqueeze (inputs),
// MatMul, LogSoftmax, Identity, Dropout, Constant.
TestModel Mobile(uint64_t seed) {
  Builder b(seed, {2, 4, 6, 6});
  std::string dw = b.Op1("Conv", {"input", b.Weight({4, 1, 3, 3}), b.Weight({4})},
                         {{"group", A::Int(4)}, {"pads", A::Ints({1, 1, 1, 1})}});
  dw = b.Op1("HardSwish", {dw});
  std::string pw = b.Op1("Conv", {dw, b.Weight({4, 4, 1, 1})});
  std::string res = b.Op1("Add", {pw, "input"});
  std::string pr = b.Op1("Pad", {res, b.Ints({0, 0, 1, 2, 0, 0, 2, 1})}, {{"mode", A::String("reflect")}});
  std::string pe = b.Op1("Pad", {res, b.Ints({0, 0, 1, 0, 0, 0, 2, 3})}, {{"mode", A::String("edge")}});
  std::string pc = b.Op1("Pad", {res, b.Ints({0, 0, 3, 0, 0, 0, 0, 3}), b.Init(Tensor::Scalar(0.25f))});
  std::string a1 = b.Op1("LeakyRelu", {pr}, {{"alpha", A::Float(0.1f)}});
  std::string a2 = b.Op1("Sigmoid", {pe});
  std::string a3 = b.Op1("Tanh", {pc});
  std::string m = b.Op1("Mul", {a1, b.Weight({1, 4, 1, 1})});
  std::string s = b.Op1("Sub", {a2, b.Weight({9})});
  std::string d = b.Op1("Div", {a3, b.Positive({1, 1, 9, 1})});
  std::string h = b.Op1("HardSigmoid", {d}, {{"alpha", A::Float(0.3f)}, {"beta", A::Float(0.4f)}});
  std::string cat = b.Op1("Concat", {m, s, h}, {{"axis", A::Int(1)}});          // [N, 12, 9, 9]
  std::string t = b.Op1("Transpose", {cat}, {{"perm", A::Ints({0, 2, 3, 1})}});  // [N, 9, 9, 12]
  std::string r = b.Op1("Reshape", {t, b.Ints({0, -1, 12})});                    // [N, 81, 12]
  std::string u = b.Op1("Unsqueeze", {r, b.Ints({1})});                          // [N, 1, 81, 12]
  std::string q = b.Op1("Squeeze", {u, b.Ints({1})});                            // [N, 81, 12]
  std::string mm = b.Op1("MatMul", {q, b.Weight({12, 5})});                      // [N, 81, 5]
  std::string k = b.Op1("Constant", {}, {{"value", A::FromTensor(Tensor::FromVector<float>({5}, {1, -1, 2, -2, 0.5f}))}});
  std::string mk = b.Op1("Add", {mm, k});
  std::string id = b.Op1("Identity", {mk});
  std::string dr = b.Op("Dropout", {id}, {}, 1)[0];
  std::string ls = b.Op1("LogSoftmax", {dr}, {{"axis", A::Int(1)}});
  return {"mobile", b.Finish({ls}), {2, 4, 6, 6}};
}

// MLP: Flatten, Gemm, ReLU, Transpose, then Gemm with transA and transB and a [1, N] bias.
TestModel Mlp(uint64_t seed) {
  Builder b(seed, {2, 1, 28, 28});
  std::string f = b.Op1("Flatten", {"input"});
  std::string h = b.Op1("Gemm", {f, b.Weight({784, 64}, 0.05f), b.Weight({64})});
  h = b.Op1("Relu", {h});
  std::string ht = b.Op1("Transpose", {h});
  std::string o = b.Op1("Gemm", {ht, b.Weight({10, 64}, 0.2f), b.Weight({1, 10})},
                        {{"transA", A::Int(1)}, {"transB", A::Int(1)}});
  return {"mlp", b.Finish({o}), {2, 1, 28, 28}};
}

}  // namespace

std::vector<TestModel> ExportTestModels(uint64_t seed) {
  return {Cnn(seed), Mobile(seed + 1), Mlp(seed + 2)};
}

}  // namespace qp::testing
