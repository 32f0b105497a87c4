// The playground's demo architectures (issue: "Demo models"), built as Graphs with PyTorch-default
// initialisation from a seed; `qplay train` trains them and models/ keeps the exported results.
// Every one takes "input" float32 [N, 1, 28, 28] (Fashion-MNIST, pixels / 255) and gives "logits"
// float32 [N, 10].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace qp {

enum class DemoModel {
  kMlp,        // Flatten, Gemm 784-256, ReLU, Gemm 256-128, ReLU, Gemm 128-10
  kCnn,        // 3 x (Conv3x3 + BatchNorm + ReLU + MaxPool2), Flatten, Gemm 576-128, ReLU, Gemm 128-10
  kMobileNet,  // stem, depthwise-separable and inverted-residual blocks (ReLU6 as Clip, residual
               // Adds), 1x1 head, GlobalAveragePool, Gemm 128-10
};

const std::vector<DemoModel>& AllDemoModels();
const char* DemoModelName(DemoModel m);  // "mlp", "cnn", "mobilenet"
Result<DemoModel> ParseDemoModel(const std::string& name);

// The architecture with freshly initialised parameters (deterministic for `seed`).
Result<Graph> BuildDemoModel(DemoModel m, uint64_t seed);

}  // namespace qp
