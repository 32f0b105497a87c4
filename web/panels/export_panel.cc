#include "web/panels/export_panel.h"

#include "core/workflows/quant_config.h"
#include "imgui.h"
#include "web/download.h"
#include "web/json_writer.h"

namespace qp::web {
namespace {

// "cnn.onnx" -> "cnn"
std::string Stem(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

ExportPanel::ExportPanel(Session* session) : session_(*session) {}

void ExportPanel::Offer(FrameContext& ctx, const char* label, const char* what,
                        const std::function<Result<std::string>()>& make, const std::string& file,
                        const char* mime) {
  if (ImGui::Button(label)) {
    Result<std::string> bytes = make();
    if (!bytes.ok()) {
      if (ctx.report_error) ctx.report_error(bytes.status(), label);
    } else {
      DownloadFile(file, *bytes, mime);
      ++exports_;
      last_file_ = file;
      last_bytes_ = static_cast<long long>(bytes->size());
    }
  }
  ImGui::SameLine();
  ImGui::TextDisabled("%s", what);
}

void ExportPanel::Draw(FrameContext& ctx) {
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  const std::string stem = Stem(session_.model_name());
  const char* onnx = "application/octet-stream";
  const char* json = "application/json";
  ImGui::TextUnformatted("Quantized model (after Calibrate, or QAT's Finish):");
  const bool quantized = session_.quantized_model() != nullptr;
  ImGui::BeginDisabled(!quantized);
  Offer(ctx, "QDQ ONNX, ONNX Runtime layout",
        "int8 weights per channel + DequantizeLinear, int32 bias, Q/DQ pairs on activations",
        [&] { return session_.ExportQdq(workflows::QdqLayout::kOrt); }, stem + ".qdq.onnx", onnx);
  Offer(ctx, "QDQ ONNX, TensorRT layout", "zero points 0, weights in [-127, 127] (quantize with trt_w8a8)",
        [&] { return session_.ExportQdq(workflows::QdqLayout::kTensorRt); }, stem + ".trt.qdq.onnx", onnx);
  Offer(ctx, "Quantization parameters (JSON)", "every quantizer: role, bits, axis, scales, zero points",
        [&] { return session_.QuantParamsJson(); }, stem + ".qparams.json", json);
  ImGui::EndDisabled();
  if (!quantized) ImGui::TextDisabled("(quantize the model first)");
  ImGui::Separator();
  if (const workflows::QuantConfig* cfg = session_.quant_config())
    Offer(ctx, "Quantization config (JSON)", "the per-layer configuration (qplay.setConfig reads it)",
          [cfg] { return Result<std::string>(workflows::QuantConfigToJson(*cfg)); },
          stem + ".qconfig.json", json);
  Offer(ctx, "Float ONNX (current weights)", "opset 13, as loaded or trained",
        [&] { return session_.ExportOnnx(); }, stem + ".fp32.onnx", onnx);
  if (exports_ > 0) ImGui::Text("Last download: %s (%lld bytes)", last_file_.c_str(), last_bytes_);
}

void ExportPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("exports", exports_);
  j.Field("lastFile", last_file_);
  j.Field("lastBytes", last_bytes_);
  j.EndObject();
}

}  // namespace qp::web
