// "Benchmark" panel: fp32 vs int8 latency of the current model in this browser, per layer and total.
#pragma once

#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class BenchmarkPanel : public Panel {
 public:
  explicit BenchmarkPanel(Session* session);
  const char* Title() const override { return "Benchmark"; }
  const char* StateKey() const override { return "benchmark"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;

 private:
  Session& session_;
};

}  // namespace qp::web
