// "Model" panel: the Session's current model (a built-in demo architecture or a dropped .onnx
// file) and its layer list with op, output shape, parameter count and MACs. Drawing only; the
// model, its validation and the description come from core/session.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/session/model_info.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class ModelPanel : public Panel {
 public:
  ModelPanel();
  const char* Title() const override { return "Model"; }
  const char* StateKey() const override { return "model"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;
  // .onnx files go to Session::LoadModel (size-capped, validated; a bad file keeps the model).
  bool AcceptsFile(const std::string& name) const override;
  Status LoadFile(const std::string& name, const std::string& bytes) override;

 private:
  Status LoadDemo(DemoModel m);
  Status Describe();

  Session session_;
  std::optional<ModelInfo> info_;
  int demo_index_ = 1;  // cnn
  int seed_ = 1;
  double load_ms_ = 0;
};

}  // namespace qp::web
