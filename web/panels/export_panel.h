// "Export" panel: downloads of what the session holds: the quantized model as QDQ ONNX (ONNX
// Runtime layout, or TensorRT's: zero points 0, weights in [-127, 127]; needs the trt_w8a8
// preset), the float model with its current (e.g. QAT-trained) weights, the quantization config
// and the quantization parameters as JSON. Everything is produced by core/session; the page's
// session files (model, config, history) are page_state.js's (qplay.page).
#pragma once

#include <functional>
#include <string>

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class ExportPanel : public Panel {
 public:
  explicit ExportPanel(Session* session);
  const char* Title() const override { return "Export"; }
  const char* StateKey() const override { return "export"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  // A button that produces the file only when clicked, then hands it to the browser; errors go to
  // the Errors panel.
  void Offer(FrameContext& ctx, const char* label, const char* what,
             const std::function<Result<std::string>()>& make, const std::string& file, const char* mime);

  Session& session_;
  long long exports_ = 0;
  std::string last_file_;
  long long last_bytes_ = 0;
};

}  // namespace qp::web
