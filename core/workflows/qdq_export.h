// QDQ graphs from a QuantizedModel, opset 13, in ONNX Runtime's static-quantizer layout or
// TensorRT's. Both lower onto core/int8 (Int8Executor) and run in onnxruntime.
//   kOrt:      weights stored int8 (per channel along the site axis, zero point 0) ->
//              DequantizeLinear; bias int32 with scale = input scale x weight scale, zero point 0
//              -> DequantizeLinear; QuantizeLinear -> DequantizeLinear on every activation site
//              (uint8 or int8 as the spec says).
//   kTensorRt: weights stay float -> QuantizeLinear -> DequantizeLinear (int8, zero point 0, values
//              in [-127, 127]); bias float; activations int8 with zero point 0. Requires symmetric
//              signed activation specs (the "trt_w8a8" preset).
// Only 8-bit specs export (opset 13 has int8/uint8 only; 4-bit needs opset 21's int4 types).
#pragma once

#include <string>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/workflows/calibrate.h"

namespace qp::workflows {

enum class QdqLayout { kOrt, kTensorRt };
const char* QdqLayoutName(QdqLayout l);  // "ort", "trt"
Result<QdqLayout> ParseQdqLayout(const std::string& name);

// Errors: a site with bits != 8 (names the layer and says 4-bit needs opset 21), an unsigned or
// asymmetric weight spec, a TensorRT layout with a nonzero activation zero point.
Result<Graph> BuildQdqGraph(const QuantizedModel& model, QdqLayout layout);
// BuildQdqGraph + onnx::ExportModel.
Result<std::string> ExportQdqOnnx(const QuantizedModel& model, QdqLayout layout);

}  // namespace qp::workflows
