// qp_int8_run: runs an ONNX model on raw little-endian float32 input with the int8 executor (a
// backend) or the fp32 reference executor, writing raw float32 outputs; used by tests/js/int8_ort.
//   qp_int8_run <model.onnx> <input.f32> <output.f32> <scalar|wasmsimd|xnnpack|fp32>
// The input's dim 0 (batch) is inferred from the file size; outputs are concatenated in order.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/onnx/onnx.h"

namespace {
// "quantum <output> <scale>" on stdout for each graph output produced (through Identity nodes) by a
// DequantizeLinear with a constant scalar scale: the output's quantization step.
void PrintQuanta(const qp::Graph& g) {
  for (const qp::ValueInfo& o : g.outputs) {
    std::string name = o.name;
    for (int hops = 0; hops < 16; ++hops) {
      const qp::Node* producer = nullptr;
      for (const qp::Node& n : g.nodes)
        if (!n.outputs.empty() && n.outputs[0] == name) producer = &n;
      if (producer == nullptr) break;
      if (producer->op_type == "Identity") {
        name = producer->inputs[0];
        continue;
      }
      if (producer->op_type == "DequantizeLinear" && producer->has_input(1)) {
        auto it = g.initializers.find(producer->inputs[1]);
        if (it != g.initializers.end() && it->second.numel() == 1 && it->second.dtype() == qp::DType::kFloat32)
          std::cout << "quantum " << o.name << " " << std::setprecision(9) << it->second.f32()[0] << "\n";
      }
      break;
    }
  }
}

int Fail(const qp::Status& s) {
  std::cerr << "qp_int8_run: " << s.ToString() << "\n";
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: qp_int8_run <model.onnx> <input.f32> <output.f32> <scalar|wasmsimd|xnnpack|fp32>\n";
    return 2;
  }
  auto graph = qp::onnx::ImportModelFile(argv[1]);
  if (!graph.ok()) return Fail(graph.status());
  PrintQuanta(*graph);
  if (graph->inputs.size() != 1) return Fail(qp::InvalidArgument("the tool takes models with one input"));
  auto bytes = qp::onnx::ReadFileCapped(argv[2], size_t{1} << 30);
  if (!bytes.ok()) return Fail(bytes.status());
  qp::Shape shape = graph->inputs[0].shape;
  int64_t rest = 1;
  for (size_t i = 1; i < shape.size(); ++i) rest *= shape[i] < 0 ? 1 : shape[i];
  const int64_t count = static_cast<int64_t>(bytes->size() / 4);
  if (shape.empty() || rest <= 0 || count % rest != 0 || bytes->size() % 4 != 0) {
    return Fail(qp::InvalidArgument("input file of ", bytes->size(), " bytes does not fit the model input ",
                                    qp::ShapeToString(shape)));
  }
  shape[0] = count / rest;
  std::vector<float> values(static_cast<size_t>(count));
  std::memcpy(values.data(), bytes->data(), bytes->size());
  std::vector<qp::Tensor> inputs{qp::Tensor::FromVector<float>(shape, values)};
  qp::Result<std::vector<qp::Tensor>> out = std::vector<qp::Tensor>{};
  const std::string backend = argv[4];
  if (backend == "fp32") {
    auto ex = qp::Executor::Create(std::move(*graph));
    if (!ex.ok()) return Fail(ex.status());
    out = ex->Run(inputs);
  } else {
    auto b = qp::int8::ParseBackend(backend);
    if (!b.ok()) return Fail(b.status());
    qp::int8::Int8Options opt;
    opt.backend = *b;
    auto ex = qp::int8::Int8Executor::Create(std::move(*graph), opt);
    if (!ex.ok()) return Fail(ex.status());
    std::cerr << ex->Summary() << "\n";
    for (const std::string& n : ex->notes()) std::cerr << "  " << n << "\n";
    out = ex->Run(inputs);
  }
  if (!out.ok()) return Fail(out.status());
  std::ofstream f(argv[3], std::ios::binary);
  for (const qp::Tensor& t : *out) {
    std::vector<float> v = t.ToFloatVector();
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  }
  if (!f) return Fail(qp::Internal("cannot write ", argv[3]));
  return 0;
}
