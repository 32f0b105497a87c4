// Our engine in the end-to-end browser benchmark: plain C entry points over core/onnx +
// core/graph (fp32 Executor) and core/int8 (Int8Executor on the best compiled backend: wasmsimd
// in the SIMD build), called from peers.js through the Emscripten module (no Embind). Each engine
// is a handle; the page writes float input into qp_e2e_input(), times qp_e2e_run() and reads
// qp_e2e_output0(), as it does for the peer engines.
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/onnx/onnx.h"

namespace {

struct Engine {
  std::optional<qp::Executor> fp32;
  std::optional<qp::int8::Int8Executor> int8;
  qp::Shape input_shape;
  std::vector<float> input;
  float output0 = 0;
  std::string summary;
};

std::vector<std::unique_ptr<Engine>> g_engines;
std::string g_error;

Engine* Get(int handle) {
  if (handle < 0 || static_cast<size_t>(handle) >= g_engines.size()) return nullptr;
  return g_engines[static_cast<size_t>(handle)].get();
}

}  // namespace

extern "C" {

// mode 0: fp32 Executor; mode 1: Int8Executor (wasmsimd when compiled in, else scalar).
// Returns a handle >= 0, or -1 with qp_e2e_error() set.
int qp_e2e_load(const uint8_t* bytes, int size, int mode) {
  auto graph = qp::onnx::ImportModel(bytes, static_cast<size_t>(size));
  if (!graph.ok()) {
    g_error = graph.status().ToString();
    return -1;
  }
  if (graph->inputs.size() != 1) {
    g_error = "qp_e2e: models with exactly one input only";
    return -1;
  }
  auto e = std::make_unique<Engine>();
  e->input_shape = graph->inputs[0].shape;
  if (mode == 0) {
    auto ex = qp::Executor::Create(std::move(*graph));
    if (!ex.ok()) {
      g_error = ex.status().ToString();
      return -1;
    }
    e->fp32.emplace(std::move(*ex));
    e->summary = "fp32 executor";
  } else {
    qp::int8::Int8Options opt;
    opt.backend = qp::int8::AvailableBackends().back();
    auto ex = qp::int8::Int8Executor::Create(std::move(*graph), opt);
    if (!ex.ok()) {
      g_error = ex.status().ToString();
      return -1;
    }
    e->int8.emplace(std::move(*ex));
    e->summary = e->int8->Summary();
  }
  g_engines.push_back(std::move(e));
  return static_cast<int>(g_engines.size() - 1);
}

const char* qp_e2e_error() { return g_error.c_str(); }

const char* qp_e2e_summary(int handle) {
  Engine* e = Get(handle);
  return e ? e->summary.c_str() : "";
}

// A float buffer for `batch` inputs (dim 0 of the model input replaced by batch).
float* qp_e2e_input(int handle, int batch) {
  Engine* e = Get(handle);
  if (e == nullptr || batch <= 0 || e->input_shape.empty()) return nullptr;
  size_t n = static_cast<size_t>(batch);
  for (size_t i = 1; i < e->input_shape.size(); ++i) {
    n *= static_cast<size_t>(e->input_shape[i] < 0 ? 1 : e->input_shape[i]);
  }
  e->input.resize(n);
  return e->input.data();
}

// Runs once on the buffer of qp_e2e_input(handle, batch). 0 on success, -1 with the error set.
int qp_e2e_run(int handle, int batch) {
  Engine* e = Get(handle);
  if (e == nullptr) {
    g_error = "qp_e2e: bad handle";
    return -1;
  }
  qp::Shape shape = e->input_shape;
  shape[0] = batch;
  std::vector<qp::Tensor> inputs{qp::Tensor::FromVector<float>(shape, e->input)};
  auto out = e->fp32 ? e->fp32->Run(inputs) : e->int8->Run(inputs);
  if (!out.ok()) {
    g_error = out.status().ToString();
    return -1;
  }
  if (out->empty() || out->front().numel() == 0) {
    g_error = "qp_e2e: empty output";
    return -1;
  }
  e->output0 = out->front().f32()[0];
  return 0;
}

float qp_e2e_output0(int handle) {
  Engine* e = Get(handle);
  return e ? e->output0 : 0.0f;
}

}  // extern "C"
