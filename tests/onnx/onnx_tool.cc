// qp_onnx_tool OUT_DIR: exports the float test models (tests/onnx/test_models.h) as ONNX and writes
// for each an input and our executor's outputs as raw little-endian float32, plus manifest.json.
// tests/js/onnx_export.test.mjs checks the files with the onnx checker and onnxruntime-node.
#include <cstdio>
#include <random>
#include <string>

#include "core/graph/executor.h"
#include "core/onnx/onnx.h"
#include "tests/onnx/test_models.h"

namespace {

bool WriteRaw(const std::string& path, const qp::Tensor& t) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(t.raw(), 1, t.nbytes(), f) == t.nbytes();
  return std::fclose(f) == 0 && ok;
}

std::string ShapeJson(const qp::Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

int Fail(const std::string& what, const qp::Status& s) {
  std::fprintf(stderr, "qp_onnx_tool: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qp_onnx_tool OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::string manifest = "{\"models\":[";
  bool first = true;
  for (qp::testing::TestModel& m : qp::testing::ExportTestModels(20261122)) {
    qp::Result<qp::Executor> ex = qp::Executor::Create(m.graph);
    if (!ex.ok()) return Fail(m.name, ex.status());
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    qp::Tensor x(qp::DType::kFloat32, m.input_shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = d(rng);
    qp::Result<std::vector<qp::Tensor>> out = ex->Run({x});
    if (!out.ok()) return Fail(m.name, out.status());
    const std::string base = dir + "/" + m.name;
    qp::Status s = qp::onnx::ExportModelFile(m.graph, base + ".onnx");
    if (!s.ok()) return Fail(m.name, s);
    if (!WriteRaw(base + ".input.bin", x)) return Fail(m.name, qp::DataLoss("cannot write input"));
    manifest += std::string(first ? "" : ",") + "{\"name\":\"" + m.name + "\",\"input\":\"" +
                m.graph.inputs[0].name + "\",\"input_shape\":" + ShapeJson(x.shape()) + ",\"outputs\":[";
    first = false;
    for (size_t i = 0; i < out->size(); ++i) {
      if (!WriteRaw(base + ".output" + std::to_string(i) + ".bin", (*out)[i]))
        return Fail(m.name, qp::DataLoss("cannot write output"));
      manifest += std::string(i ? "," : "") + "{\"name\":\"" + m.graph.outputs[i].name +
                  "\",\"shape\":" + ShapeJson((*out)[i].shape()) + "}";
    }
    manifest += "]}";
  }
  manifest += "]}\n";
  std::FILE* f = std::fopen((dir + "/manifest.json").c_str(), "wb");
  if (!f || std::fputs(manifest.c_str(), f) < 0 || std::fclose(f) != 0)
    return Fail("manifest", qp::DataLoss("cannot write manifest.json"));
  return 0;
}
