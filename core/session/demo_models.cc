// Demo architectures (see demo_models.h). Built node by node with a small local builder so the
// graph is exactly what the exporter writes: opset 13, named parameters, BatchNormalization kept
// as its own node (folding into Conv is a quantization-preparation step, not an architecture).
#include "core/session/demo_models.h"

#include "core/train/trainer.h"

namespace qp {
namespace {

class Builder {
 public:
  explicit Builder(std::string name) { g_.name = std::move(name); }

  std::string Conv(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                   int64_t group, const std::string& name) {
    Param(name + ".weight", {cout, cin / group, k, k});
    Param(name + ".bias", {cout});
    const int64_t pad = k / 2;
    return Add(name, "Conv", {x, name + ".weight", name + ".bias"},
               {{"kernel_shape", Attribute::Ints({k, k})},
                {"strides", Attribute::Ints({stride, stride})},
                {"pads", Attribute::Ints({pad, pad, pad, pad})},
                {"group", Attribute::Int(group)}});
  }
  std::string BatchNorm(const std::string& x, int64_t c, const std::string& name) {
    for (const char* p : {".scale", ".bias", ".mean", ".var"}) Param(name + p, {c});
    return Add(name, "BatchNormalization",
               {x, name + ".scale", name + ".bias", name + ".mean", name + ".var"},
               {{"epsilon", Attribute::Float(1e-5f)}, {"momentum", Attribute::Float(0.9f)}});
  }
  std::string Gemm(const std::string& x, int64_t cin, int64_t cout, const std::string& name) {
    Param(name + ".weight", {cout, cin});
    Param(name + ".bias", {cout});
    return Add(name, "Gemm", {x, name + ".weight", name + ".bias"}, {{"transB", Attribute::Int(1)}});
  }
  std::string Relu(const std::string& x, const std::string& name) { return Add(name, "Relu", {x}, {}); }
  std::string Relu6(const std::string& x, const std::string& name) {
    if (!g_.initializers.count("relu6.min")) {
      g_.initializers["relu6.min"] = Tensor::Scalar(0.f);
      g_.initializers["relu6.max"] = Tensor::Scalar(6.f);
    }
    return Add(name, "Clip", {x, "relu6.min", "relu6.max"}, {});
  }
  std::string MaxPool2(const std::string& x, const std::string& name) {
    return Add(name, "MaxPool", {x}, {{"kernel_shape", Attribute::Ints({2, 2})},
                                      {"strides", Attribute::Ints({2, 2})}});
  }
  std::string Op(const std::string& op, const std::vector<std::string>& in, const std::string& name,
                 std::map<std::string, Attribute> attrs = {}) {
    return Add(name, op, in, std::move(attrs));
  }

  Result<Graph> Finish(const std::string& logits, uint64_t seed) {
    // The last node writes the graph output "logits".
    g_.nodes.back().outputs[0] = "logits";
    (void)logits;
    ValueInfo in;
    in.name = "input";
    in.shape = {kDynamicDim, 1, 28, 28};
    in.dim_names = {"N", "", "", ""};
    ValueInfo out;
    out.name = "logits";
    out.shape = {kDynamicDim, 10};
    out.dim_names = {"N", ""};
    g_.inputs = {in};
    g_.outputs = {out};
    g_.opset = 13;
    QP_RETURN_IF_ERROR(train::InitializeParameters(&g_, seed));
    QP_RETURN_IF_ERROR(ValidateGraph(g_));
    return g_;
  }

 private:
  void Param(const std::string& name, Shape shape) { g_.initializers[name] = Tensor(DType::kFloat32, std::move(shape)); }
  std::string Add(const std::string& name, const std::string& op, std::vector<std::string> in,
                  std::map<std::string, Attribute> attrs) {
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {name + ".out"};
    n.attrs = std::move(attrs);
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back().outputs[0];
  }
  Graph g_;
};

Result<Graph> BuildMlp(uint64_t seed) {
  Builder b("mlp");
  std::string h = b.Op("Flatten", {"input"}, "flatten", {{"axis", Attribute::Int(1)}});
  h = b.Relu(b.Gemm(h, 784, 256, "fc1"), "relu1");
  h = b.Relu(b.Gemm(h, 256, 128, "fc2"), "relu2");
  h = b.Gemm(h, 128, 10, "fc3");
  return b.Finish(h, seed);
}

Result<Graph> BuildCnn(uint64_t seed) {
  Builder b("cnn");
  std::string h = "input";
  const int64_t ch[4] = {1, 32, 64, 64};
  for (int i = 1; i <= 3; ++i) {
    const std::string s = std::to_string(i);
    h = b.Conv(h, ch[i - 1], ch[i], 3, 1, 1, "conv" + s);
    h = b.BatchNorm(h, ch[i], "bn" + s);
    h = b.Relu(h, "relu" + s);
    h = b.MaxPool2(h, "pool" + s);  // 28 -> 14 -> 7 -> 3
  }
  h = b.Op("Flatten", {h}, "flatten", {{"axis", Attribute::Int(1)}});
  h = b.Relu(b.Gemm(h, 64 * 3 * 3, 128, "fc1"), "relu4");
  h = b.Gemm(h, 128, 10, "fc2");
  return b.Finish(h, seed);
}

// Conv + BN (+ ReLU6), the MobileNet unit.
std::string ConvBn(Builder& b, const std::string& x, int64_t cin, int64_t cout, int64_t k,
                   int64_t stride, int64_t group, bool relu6, const std::string& name) {
  std::string h = b.Conv(x, cin, cout, k, stride, group, name + ".conv");
  h = b.BatchNorm(h, cout, name + ".bn");
  return relu6 ? b.Relu6(h, name + ".relu6") : h;
}

// Inverted residual (MobileNetV2): expand 1x1 (if t > 1), depthwise 3x3, linear project 1x1,
// residual Add when the shape is kept.
std::string InvertedResidual(Builder& b, const std::string& x, int64_t cin, int64_t cout,
                             int64_t stride, int64_t t, const std::string& name) {
  const int64_t hid = cin * t;
  std::string h = x;
  if (t > 1) h = ConvBn(b, h, cin, hid, 1, 1, 1, true, name + ".expand");
  h = ConvBn(b, h, hid, hid, 3, stride, hid, true, name + ".dw");
  h = ConvBn(b, h, hid, cout, 1, 1, 1, false, name + ".project");
  if (stride == 1 && cin == cout) h = b.Op("Add", {x, h}, name + ".add");
  return h;
}

Result<Graph> BuildMobileNet(uint64_t seed) {
  Builder b("mobilenet");
  std::string h = ConvBn(b, "input", 1, 16, 3, 1, 1, true, "stem");           // 28x28x16
  h = InvertedResidual(b, h, 16, 16, 1, 1, "block1");                          // dw-separable, residual
  h = InvertedResidual(b, h, 16, 24, 2, 3, "block2");                          // 14x14x24
  h = InvertedResidual(b, h, 24, 24, 1, 3, "block3");                          // residual
  h = InvertedResidual(b, h, 24, 40, 2, 3, "block4");                          // 7x7x40
  h = InvertedResidual(b, h, 40, 40, 1, 3, "block5");                          // residual
  h = ConvBn(b, h, 40, 128, 1, 1, 1, true, "head");
  h = b.Op("GlobalAveragePool", {h}, "gap");
  h = b.Op("Flatten", {h}, "flatten", {{"axis", Attribute::Int(1)}});
  h = b.Gemm(h, 128, 10, "fc");
  return b.Finish(h, seed);
}

}  // namespace

const std::vector<DemoModel>& AllDemoModels() {
  static const std::vector<DemoModel> all = {DemoModel::kMlp, DemoModel::kCnn, DemoModel::kMobileNet};
  return all;
}

const char* DemoModelName(DemoModel m) {
  switch (m) {
    case DemoModel::kMlp: return "mlp";
    case DemoModel::kCnn: return "cnn";
    case DemoModel::kMobileNet: return "mobilenet";
  }
  return "unknown";
}

Result<DemoModel> ParseDemoModel(const std::string& name) {
  for (DemoModel m : AllDemoModels())
    if (name == DemoModelName(m)) return m;
  return NotFound("demo model '", name, "' does not exist; choose mlp, cnn or mobilenet");
}

Result<Graph> BuildDemoModel(DemoModel m, uint64_t seed) {
  switch (m) {
    case DemoModel::kMlp: return BuildMlp(seed);
    case DemoModel::kCnn: return BuildCnn(seed);
    case DemoModel::kMobileNet: return BuildMobileNet(seed);
  }
  return InvalidArgument("demo model ", static_cast<int>(m), " is not known");
}

}  // namespace qp
