// "Model" panel (see model_panel.h): demo model picker, "Open .onnx", totals and a layer table.
#include "web/panels/model_panel.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/session/session_io.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

std::string ShapeText(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += s[i] == kDynamicDim ? std::string("?") : std::to_string(s[i]);
  }
  return out + "]";
}

// "1.23 M" style counts for the table.
std::string Count(int64_t n) {
  char buf[32];
  if (n >= 1000000000)
    std::snprintf(buf, sizeof(buf), "%.2f G", n / 1e9);
  else if (n >= 1000000)
    std::snprintf(buf, sizeof(buf), "%.2f M", n / 1e6);
  else if (n >= 10000)
    std::snprintf(buf, sizeof(buf), "%.1f k", n / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
  return buf;
}

constexpr const char* kModelsDir = "/models";  // models/*.onnx, embedded by web/CMakeLists.txt
constexpr int64_t kHealthSamples = 4;  // calibration samples for the per-layer SQNR (one frame)

// Health colours by the layer's worst SQNR (dB): the thresholds are rules of thumb (8-bit
// quantization of a well-behaved tensor gives ~35-45 dB; below 20 dB accuracy usually suffers).
constexpr double kGoodDb = 30.0, kFairDb = 20.0;
ImU32 HealthColor(double db) {
  if (std::isnan(db)) return 0;
  if (db >= kGoodDb) return IM_COL32(40, 120, 60, 110);
  if (db >= kFairDb) return IM_COL32(150, 120, 30, 120);
  return IM_COL32(160, 50, 45, 130);
}

std::string Db(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return "exact";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f dB", v);
  return buf;
}

}  // namespace

ModelPanel::ModelPanel(Session* session) : session_(*session) {
  // The panel opens with a model: the trained CNN when the bundle has it, else the untrained CNN
  // architecture. A failure here is shown by Draw (no info).
  trained_ = ListBuiltinModels(kModelsDir);
  const bool have_cnn = std::find(trained_.begin(), trained_.end(), "cnn") != trained_.end();
  if (!have_cnn || !LoadTrained("cnn").ok()) (void)LoadDemo(AllDemoModels()[static_cast<size_t>(demo_index_)]);
}

Status ModelPanel::Describe() {
  QP_ASSIGN_OR_RETURN(ModelInfo info, session_.Info(1));
  info_ = std::move(info);
  described_generation_ = session_.model_generation();
  return Status::Ok();
}

Status ModelPanel::LoadDemo(DemoModel m) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(session_.LoadDemoModel(m, static_cast<uint64_t>(seed_)));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_.clear();
  demo_selected_ = true;
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

Status ModelPanel::LoadTrained(const std::string& name) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(LoadBuiltinModel(session_, kModelsDir, name));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_ = name;
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

Status ModelPanel::ComputeHealth() {
  health_.clear();
  health_samples_ = 0;
  const workflows::QuantizedModel* qm = session_.quantized_model();
  if (!qm || !info_) return Status::Ok();
  const data::Dataset* ds = session_.dataset(DataRole::kCalibration);
  if (!ds || ds->size() == 0) ds = session_.dataset(DataRole::kTest);
  if (!ds || ds->size() == 0) return FailedPrecondition("layer health: no calibration or test data");
  const int64_t n = std::min<int64_t>(kHealthSamples, ds->size());
  QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(*ds, 0, n));
  QP_ASSIGN_OR_RETURN(Tensor x, workflows::AdaptInput(qm->plan.graph, part.images));
  QP_ASSIGN_OR_RETURN(std::vector<workflows::LayerSqnr> rows, workflows::PerLayerSqnr(*qm, x, /*with_int8=*/false));
  std::vector<Health> out(info_->layers.size());
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (size_t i = 0; i < info_->layers.size(); ++i) {
    const LayerInfo& l = info_->layers[i];
    for (const workflows::LayerSqnr& r : rows) {
      if (r.role == quant::QuantRole::kWeight) {
        // By the weight's name, or by the consumer's (preparation renames weights it folds
        // BatchNormalization into).
        if (has(l.inputs, r.tensor) || r.layer == l.name) out[i].weight_db = r.fake_quant_db;
      } else if (has(l.outputs, r.tensor)) {
        out[i].act_db = r.fake_quant_db;
        const workflows::QuantSite* site = qm->plan.FindSite(r.tensor);
        auto amax = qm->amax.find(r.tensor);
        if (site && amax != qm->amax.end()) {
          Result<workflows::TensorClipReport> c = workflows::AnalyzeTensorClip(
              qm->stats, r.tensor, amax->second, site->spec.bits, !site->spec.is_signed);
          if (c.ok() && c->split.count > 0)
            out[i].clip_fraction = static_cast<double>(c->split.clipped_count) / static_cast<double>(c->split.count);
        }
      }
    }
  }
  health_ = std::move(out);
  health_samples_ = n;
  return Status::Ok();
}

void ModelPanel::Tick(FrameContext& ctx, double) {
  // Once per quantized model (a few calibration samples through float, fake-quant and int8).
  const uint64_t fp = session_.quantized_model() ? session_.quantized_generation() : 0;
  if (fp == health_fingerprint_) return;
  if (session_.has_model() && described_generation_ != session_.model_generation()) {
    const Status st = Describe();
    if (!st.ok()) return;
  }
  health_fingerprint_ = fp;
  health_error_.clear();
  const double start = NowMs();
  const Status st = ComputeHealth();
  health_ms_ = NowMs() - start;
  if (!st.ok()) {
    health_.clear();
    health_error_ = st.ToString();
    if (ctx.report_error) ctx.report_error(st, "layer health");
  }
}

bool ModelPanel::AcceptsFile(const std::string& name) const {
  if (name.size() < 5) return false;
  std::string ext = name.substr(name.size() - 5);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".onnx";
}

Status ModelPanel::LoadFile(const std::string& name, const std::string& bytes) {
  const double start = NowMs();
  QP_RETURN_IF_ERROR(session_.LoadModel(bytes.data(), bytes.size(), name));
  QP_RETURN_IF_ERROR(Describe());
  trained_selected_.clear();
  demo_selected_ = false;
  load_ms_ = NowMs() - start;
  return Status::Ok();
}

void ModelPanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  const std::vector<DemoModel>& demos = AllDemoModels();
  if (!trained_.empty()) {
    ImGui::TextUnformatted("Trained on Fashion-MNIST");
    for (const std::string& name : trained_) {
      ImGui::SameLine();
      const std::string label = name + " (trained)";
      if (ImGui::RadioButton(label.c_str(), trained_selected_ == name)) {
        const Status st = LoadTrained(name);
        if (!st.ok() && ctx.report_error) ctx.report_error(st, "load built-in model");
      }
    }
  }
  ImGui::TextUnformatted("Untrained architecture");
  ImGui::SameLine();
  for (size_t i = 0; i < demos.size(); ++i) {
    if (i > 0) ImGui::SameLine();
    const bool selected = trained_selected_.empty() && demo_selected_ && demo_index_ == static_cast<int>(i);
    if (ImGui::RadioButton(DemoModelName(demos[i]), selected)) {
      demo_index_ = static_cast<int>(i);
      const Status st = LoadDemo(demos[i]);
      if (!st.ok() && ctx.report_error) ctx.report_error(st, "load demo model");
    }
  }
  ImGui::SameLine(0, 24.0f * dpr);
  if (ImGui::Button("Open .onnx...")) OpenFilePicker(".onnx");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Or drop an .onnx file anywhere on the page.");

  // The model may have changed elsewhere (the JS API, training): describe it again, and select the
  // radio button of a built-in loaded by name ("cnn.onnx" for a trained one, as page_state.js
  // names them) or of a demo architecture; none for anything else.
  if (session_.has_model() && described_generation_ != session_.model_generation()) {
    const std::string& name = session_.model_name();
    if (std::find(trained_.begin(), trained_.end(), name.size() > 5 ? name.substr(0, name.size() - 5) : "") !=
            trained_.end() &&
        name.compare(name.size() - 5, 5, ".onnx") == 0) {
      trained_selected_ = name.substr(0, name.size() - 5);
    } else {
      trained_selected_.clear();
      demo_selected_ = false;
      for (size_t i = 0; i < demos.size(); ++i) {
        if (name != DemoModelName(demos[i])) continue;
        demo_index_ = static_cast<int>(i);
        demo_selected_ = true;
      }
    }
    const Status st = Describe();
    if (!st.ok() && ctx.report_error) ctx.report_error(st, "describe model");
  }
  if (!info_ || !session_.has_model()) {
    ImGui::TextDisabled("No model loaded.");
    return;
  }
  const ModelInfo& m = *info_;
  ImGui::Text(
      "%s  |  %zu layers  |  %s parameters  |  %s MACs (batch 1)  |  opset %lld  |  "
      "loaded in %.0f ms",
      session_.model_name().c_str(), m.layers.size(), Count(m.total_params).c_str(),
      Count(m.total_macs).c_str(), static_cast<long long>(m.opset), load_ms_);
  const bool health = health_.size() == m.layers.size() && !health_.empty();
  if (health) {
    // Legend: what the row colours mean.
    ImGui::TextUnformatted("Quantization health (worst SQNR of the layer's weights / output):");
    const float sw = ImGui::GetTextLineHeight();
    auto swatch = [&](double db, const char* text) {
      ImGui::SameLine();
      const ImVec2 p = ImGui::GetCursorScreenPos();
      ImGui::GetWindowDrawList()->AddRectFilled(p, ImVec2(p.x + sw * 1.6f, p.y + sw), HealthColor(db), 2.0f * dpr);
      ImGui::Dummy(ImVec2(sw * 1.6f, sw));
      ImGui::SameLine();
      ImGui::TextUnformatted(text);
    };
    swatch(kGoodDb, ">= 30 dB good");
    swatch(kFairDb, "20-30 dB fair");
    swatch(0.0, "< 20 dB poor");
    ImGui::TextDisabled("SQNR: fake-quant vs float on %lld calibration samples.  Clip %%: calibration values beyond the "
                        "output's amax.",
                        static_cast<long long>(health_samples_));
  } else if (session_.quantized_model() && !health_error_.empty()) {
    ImGui::TextColored(ImVec4(1, 0.55f, 0.45f, 1), "layer health: %s", health_error_.c_str());
  } else if (!session_.quantized_model()) {
    ImGui::TextDisabled("Quantize the model (Quantize tab) to colour the layers by SQNR and clipping.");
  }
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  if (ImGui::BeginTable("layers", health ? 8 : 5, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Layer", ImGuiTableColumnFlags_WidthStretch, 2.2f);
    ImGui::TableSetupColumn("Op", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("Output shape", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableSetupColumn("Params", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableSetupColumn("MACs", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    if (health) {
      ImGui::TableSetupColumn("W SQNR", ImGuiTableColumnFlags_WidthStretch, 0.8f);
      ImGui::TableSetupColumn("Out SQNR", ImGuiTableColumnFlags_WidthStretch, 0.8f);
      ImGui::TableSetupColumn("Clip %", ImGuiTableColumnFlags_WidthStretch, 0.7f);
    }
    ImGui::TableHeadersRow();
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(m.layers.size()));
    while (clipper.Step()) {
      for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
        const LayerInfo& l = m.layers[static_cast<size_t>(i)];
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        ImGui::TextUnformatted(l.name.c_str());
        ImGui::TableSetColumnIndex(1);
        ImGui::TextUnformatted(l.op.c_str());
        ImGui::TableSetColumnIndex(2);
        ImGui::TextUnformatted(ShapeText(l.output_shape).c_str());
        ImGui::TableSetColumnIndex(3);
        ImGui::TextUnformatted(l.params ? Count(l.params).c_str() : "");
        ImGui::TableSetColumnIndex(4);
        ImGui::TextUnformatted(l.macs ? Count(l.macs).c_str() : "");
        if (health) {
          const Health& hl = health_[static_cast<size_t>(i)];
          const double worst = std::isnan(hl.weight_db) ? hl.act_db
                               : std::isnan(hl.act_db)  ? hl.weight_db
                                                        : std::min(hl.weight_db, hl.act_db);
          if (!std::isnan(worst)) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, HealthColor(worst));
          ImGui::TableSetColumnIndex(5);
          ImGui::TextUnformatted(Db(hl.weight_db).c_str());
          ImGui::TableSetColumnIndex(6);
          ImGui::TextUnformatted(Db(hl.act_db).c_str());
          ImGui::TableSetColumnIndex(7);
          if (!std::isnan(hl.clip_fraction)) ImGui::Text("%.3f%%", 100.0 * hl.clip_fraction);
        }
      }
    }
    ImGui::EndTable();
  }
}

void ModelPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("loaded", session_.has_model());
  j.Field("name", session_.model_name());
  j.Field("demo", DemoModelName(AllDemoModels()[static_cast<size_t>(demo_index_)]));
  j.Field("trained", trained_selected_);
  // The radio button shown as selected: "trained:<name>", "demo:<name>", or "" (a file).
  j.Field("selected", !trained_selected_.empty() ? "trained:" + trained_selected_
                      : demo_selected_ ? std::string("demo:") + DemoModelName(AllDemoModels()[static_cast<size_t>(demo_index_)])
                                       : std::string());
  j.Key("builtin").BeginArray();
  for (const std::string& name : trained_) j.Value(name);
  j.EndArray();
  j.Field("loadMs", load_ms_);
  if (info_) {
    j.Field("layers", static_cast<long long>(info_->layers.size()));
    j.Field("params", static_cast<long long>(info_->total_params));
    j.Field("macs", static_cast<long long>(info_->total_macs));
    j.Key("ops").BeginArray();
    for (const LayerInfo& l : info_->layers) j.Value(l.op);
    j.EndArray();
  } else {
    j.Key("layers").Null();
  }
  // Per-layer quantization health (ModelInfo order); empty until the model is quantized.
  j.Key("health").BeginArray();
  if (info_ && health_.size() == info_->layers.size()) {
    for (size_t i = 0; i < health_.size(); ++i) {
      const Health& h = health_[i];
      if (std::isnan(h.weight_db) && std::isnan(h.act_db)) continue;
      j.BeginObject().Field("layer", info_->layers[i].name).Field("op", info_->layers[i].op);
      j.Key("weightSqnr");
      if (std::isnan(h.weight_db)) j.Null(); else j.Value(h.weight_db);
      j.Key("outputSqnr");
      if (std::isnan(h.act_db)) j.Null(); else j.Value(h.act_db);
      j.Key("clipFraction");
      if (std::isnan(h.clip_fraction)) j.Null(); else j.Value(h.clip_fraction);
      j.EndObject();
    }
  }
  j.EndArray();
  j.Field("healthSamples", static_cast<long long>(health_samples_));
  j.Field("healthMs", health_ms_);
  j.Field("healthError", health_error_);
  j.EndObject();
}

}  // namespace qp::web
