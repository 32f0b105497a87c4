// "Model" panel: the Session's current model (a built-in demo architecture or a dropped .onnx
// file) and its layer list with op, output shape, parameter count and MACs. Drawing only; the
// model, its validation and the description come from core/session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/session/model_info.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class ModelPanel : public Panel {
 public:
  // The session is the app's (shared with the JS API and the other panels); not owned.
  explicit ModelPanel(Session* session);
  const char* Title() const override { return "Model"; }
  const char* StateKey() const override { return "model"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;
  // .onnx files go to Session::LoadModel (size-capped, validated; a bad file keeps the model).
  bool AcceptsFile(const std::string& name) const override;
  Status LoadFile(const std::string& name, const std::string& bytes) override;

 private:
  Status LoadDemo(DemoModel m);
  Status LoadTrained(const std::string& name);
  Status Describe();

  Session& session_;
  uint64_t described_generation_ = 0;  // the model generation info_ describes
  std::optional<ModelInfo> info_;
  int demo_index_ = 1;  // cnn
  // Trained built-in models (models/*.onnx embedded at /models), names without ".onnx"; the
  // selected one ("" when an untrained architecture or a dropped file is loaded).
  std::vector<std::string> trained_;
  std::string trained_selected_;
  int seed_ = 1;
  double load_ms_ = 0;
};

}  // namespace qp::web
