#include "web/panels/quantize_panel.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/workflows/quant_config.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"

namespace qp::web {
namespace {

const char* kCalibNames[] = {"max", "percentile", "mse", "entropy", "minmax"};
constexpr int kCalibBatch = 8;   // samples per calibration step
constexpr int kEvalChunk = 4;    // samples per evaluation step

bool AllEightBit(const workflows::QuantPlan& plan) {
  for (const workflows::QuantSite& s : plan.sites)
    if (s.spec.bits != 8) return false;
  return true;
}

}  // namespace

QuantizePanel::QuantizePanel(Session* session) : session_(*session) {}

void QuantizePanel::SyncWithModel() {
  if (generation_ == session_.model_generation()) return;
  generation_ = session_.model_generation();
  figures_.clear();
  running_figure_ = 0;
  quantize_when_done_ = false;
  preparing_ = false;
  // A new model starts from the selected preset so the table is never empty.
  if (session_.has_model() && !session_.quant_config()) {
    const Status st = session_.SetQuantPreset(workflows::PresetNames()[static_cast<size_t>(preset_index_)]);
    last_status_ = st.ok() ? "" : st.ToString();
  }
}

Status QuantizePanel::ApplyPreset(FrameContext&) {
  figures_.clear();
  return session_.SetQuantPreset(workflows::PresetNames()[static_cast<size_t>(preset_index_)]);
}

Status QuantizePanel::EditLayer(const std::string& layer, int weight_bits, int act_bits, bool skip,
                                int calib) {
  const workflows::QuantConfig* current = session_.quant_config();
  if (!current) return FailedPrecondition("quantize: choose a preset first");
  workflows::QuantConfig c = *current;
  workflows::LayerQuantConfig& l = c.layers[layer];
  l.skip = skip;
  workflows::TensorQuantConfig w = c.WeightsFor(layer), a = c.ActivationsFor(layer);
  w.bits = weight_bits;
  a.bits = act_bits;
  a.calibrator = static_cast<workflows::CalibMethod>(calib);
  l.weights = w;
  l.activations = a;
  c.preset.clear();  // custom now
  figures_.clear();
  return session_.SetQuantConfig(c);
}

Status QuantizePanel::StartCalibration() {
  workflows::CalibrationOptions o;
  // Small batches keep each step (one batch through the model, histograms of every site) well
  // inside the frame budget in wasm; the statistics do not depend on the batch size.
  o.batch_size = kCalibBatch;
  o.max_batches = calib_batches_;
  QP_RETURN_IF_ERROR(session_.StartCalibration(o));
  figures_.clear();
  quantize_when_done_ = true;
  calib_ms_ = 0;
  return Status::Ok();
}

void QuantizePanel::StartEvaluations() {
  figures_.clear();
  running_figure_ = 0;
  const workflows::QuantizedModel* qm = session_.quantized_model();
  if (!qm) return;
  // A failure here shows again (with its Status) when the figures run the quantized model.
  preparing_ = session_.StartQuantizedPrep().ok() && session_.quantized_prep_running();
  prep_steps_ = 0;
  prep_ms_ = 0;
  std::vector<EvalTarget> targets = {EvalTarget::kModel, EvalTarget::kSimulated};
  if (AllEightBit(qm->plan)) targets.push_back(EvalTarget::kInt8);
  for (EvalTarget t : targets) {
    Figure f;
    f.target = t;
    figures_.push_back(std::move(f));
  }
}

bool QuantizePanel::Busy() const {
  if (session_.calibrating() && quantize_when_done_) return true;
  return preparing_ || running_figure_ < figures_.size();
}

void QuantizePanel::Tick(FrameContext& ctx, double budget_ms) {
  SyncWithModel();
  const double start = NowMs();
  auto fail = [&](const Status& st, const char* where) {
    last_status_ = st.ToString();
    if (ctx.report_error) ctx.report_error(st, where);
  };
  // Calibration: batches until the budget is spent.
  while (session_.calibrating() && quantize_when_done_ && NowMs() - start < budget_ms) {
    const double t0 = NowMs();
    Result<double> p = session_.CalibrateStep();
    calib_ms_ += NowMs() - t0;
    max_step_ms_ = std::max(max_step_ms_, NowMs() - t0);
    max_calib_ms_ = std::max(max_calib_ms_, NowMs() - t0);
    if (!p.ok()) {
      session_.CancelCalibration();
      quantize_when_done_ = false;
      fail(p.status(), "calibrate");
      return;
    }
    if (*p >= 1.0) {
      quantize_when_done_ = false;
      const double q0 = NowMs();
      const Status st = session_.Quantize();
      quantize_ms_ = NowMs() - q0;
      if (!st.ok()) {
        fail(st, "quantize");
        return;
      }
      last_status_ = "";
      StartEvaluations();
      break;
    }
  }
  // The quantized runner's int8 plan, a node per step. A config edit or new quantized model drops
  // the session's preparation: then there is nothing to step (and nothing to report).
  if (preparing_ && !session_.quantized_prep_running()) preparing_ = false;
  while (preparing_ && NowMs() - start < budget_ms) {
    const double t0 = NowMs();
    Result<double> p = session_.QuantizedPrepStep();
    prep_ms_ += NowMs() - t0;
    ++prep_steps_;
    max_step_ms_ = std::max(max_step_ms_, NowMs() - t0);
    max_prep_ms_ = std::max(max_prep_ms_, NowMs() - t0);
    if (!p.ok() || !session_.quantized_prep_running()) preparing_ = false;
    if (!p.ok()) fail(p.status(), "prepare int8 plan");
  }
  // Evaluations, one figure after another, in chunks (after the plan: the quantized figures use it).
  if (preparing_) return;
  while (running_figure_ < figures_.size() && NowMs() - start < budget_ms) {
    Figure& f = figures_[running_figure_];
    if (!f.job) {
      Result<EvalJob> job = EvalJob::Start(session_, DataRole::kTest, f.target, eval_samples_, kEvalChunk);
      if (!job.ok()) {
        f.failed = true;
        ++running_figure_;
        fail(job.status(), "evaluate");
        continue;
      }
      f.job = std::move(job).value();
    }
    const double t0 = NowMs();
    Result<double> p = f.job->Step();
    max_step_ms_ = std::max(max_step_ms_, NowMs() - t0);
    max_eval_ms_ = std::max(max_eval_ms_, NowMs() - t0);
    if (!p.ok()) {
      f.failed = true;
      ++running_figure_;
      fail(p.status(), "evaluate");
      continue;
    }
    if (f.job->done()) {
      f.result = f.job->summary();
      ++running_figure_;
    }
  }
}

void QuantizePanel::Draw(FrameContext& ctx) {
  SyncWithModel();
  const float dpr = ctx.dpr;
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  auto report = [&](const Status& st, const char* where) {
    if (!st.ok() && ctx.report_error) ctx.report_error(st, where);
  };
  const std::vector<std::string>& presets = workflows::PresetNames();
  ImGui::SetNextItemWidth(160.0f * dpr);
  if (ImGui::BeginCombo("Preset", presets[static_cast<size_t>(preset_index_)].c_str())) {
    for (size_t i = 0; i < presets.size(); ++i)
      if (ImGui::Selectable(presets[i].c_str(), static_cast<int>(i) == preset_index_)) {
        preset_index_ = static_cast<int>(i);
        report(ApplyPreset(ctx), "apply preset");
      }
    ImGui::EndCombo();
  }
  const workflows::QuantConfig* cfg = session_.quant_config();
  ImGui::SameLine();
  ImGui::TextDisabled("config: %s", cfg ? (cfg->preset.empty() ? "custom" : cfg->preset.c_str()) : "none");

  // Calibration controls.
  const bool calibrating = session_.calibrating() && quantize_when_done_;
  ImGui::SetNextItemWidth(140.0f * dpr);
  ImGui::SliderInt("calibration batches of 8", &calib_batches_, 1, 256);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(140.0f * dpr);
  ImGui::SliderInt("test samples", &eval_samples_, 100, 10000);
  ImGui::SameLine();
  if (!calibrating) {
    if (ImGui::Button("Calibrate")) report(StartCalibration(), "calibrate");
  } else {
    if (ImGui::Button("Cancel")) {
      session_.CancelCalibration();
      quantize_when_done_ = false;
    }
  }
  if (calibrating) {
    char label[64];
    std::snprintf(label, sizeof(label), "calibrating %.0f%%", 100.0 * session_.calibration_progress());
    ImGui::ProgressBar(static_cast<float>(session_.calibration_progress()), ImVec2(-1, 0), label);
  }

  // Accuracy figures.
  if (!figures_.empty()) {
    ImGui::Separator();
    if (preparing_) {
      char label[64];
      std::snprintf(label, sizeof(label), "preparing int8 plan %.0f%%", 100.0 * session_.quantized_prep_progress());
      ImGui::ProgressBar(static_cast<float>(session_.quantized_prep_progress()), ImVec2(300.0f * dpr, 0), label);
    }
    for (const Figure& f : figures_) {
      const char* name = f.target == EvalTarget::kModel ? "float model" : EvalTargetName(f.target);
      if (f.result)
        ImGui::Text("%-12s top-1 %.2f%%  (%lld samples, loss %.4f)", name, 100.0 * f.result->accuracy,
                    static_cast<long long>(f.result->samples), f.result->loss);
      else if (f.failed)
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%-12s failed (see Errors)", name);
      else if (f.job)
        ImGui::ProgressBar(static_cast<float>(f.job->progress()), ImVec2(300.0f * dpr, 0), name);
      else
        ImGui::TextDisabled("%-12s waiting", name);
    }
  }
  if (!last_status_.empty()) ImGui::TextColored(ImVec4(1, 0.6f, 0.3f, 1), "%s", last_status_.c_str());

  // Per-layer table.
  const workflows::QuantPlan* plan = session_.quant_plan();
  if (!plan || !cfg) return;
  ImGui::Separator();
  std::vector<std::string> layers = plan->quantized_layers;
  layers.insert(layers.end(), plan->skipped_layers.begin(), plan->skipped_layers.end());
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  if (ImGui::BeginTable("qlayers", 6, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Layer", ImGuiTableColumnFlags_WidthStretch, 2.0f);
    ImGui::TableSetupColumn("Keep float", ImGuiTableColumnFlags_WidthStretch, 0.6f);
    ImGui::TableSetupColumn("W bits", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("A bits", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("Calibrator (A)", ImGuiTableColumnFlags_WidthStretch, 1.2f);
    ImGui::TableSetupColumn("Weight scheme", ImGuiTableColumnFlags_WidthStretch, 1.2f);
    ImGui::TableHeadersRow();
    for (const std::string& layer : layers) {
      // What this layer owns: a weight quantizer, an activation quantizer of its own (pass-through
      // layers such as MaxPool or Flatten reuse their input's).
      bool has_weights = false, has_activation = false;
      for (const workflows::QuantSite& site : plan->sites) {
        if (site.layer != layer) continue;
        if (site.role == quant::QuantRole::kWeight) has_weights = true;
        else if (site.shared_from.empty()) has_activation = true;
      }
      ImGui::PushID(layer.c_str());
      ImGui::TableNextRow();
      bool skip = cfg->Skipped(layer);
      int wb = cfg->WeightsFor(layer).bits, ab = cfg->ActivationsFor(layer).bits;
      int calib = static_cast<int>(cfg->ActivationsFor(layer).calibrator);
      bool changed = false;
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(layer.c_str());
      ImGui::TableSetColumnIndex(1);
      changed |= ImGui::Checkbox("##skip", &skip);
      ImGui::TableSetColumnIndex(2);
      if (has_weights && !skip) {
        ImGui::SetNextItemWidth(-1);
        changed |= ImGui::SliderInt("##wb", &wb, 2, 8);
      } else {
        ImGui::TextDisabled("-");
      }
      if (has_activation && !skip) {
        ImGui::TableSetColumnIndex(3);
        ImGui::SetNextItemWidth(-1);
        changed |= ImGui::SliderInt("##ab", &ab, 2, 8);
        ImGui::TableSetColumnIndex(4);
        ImGui::SetNextItemWidth(-1);
        changed |= ImGui::Combo("##calib", &calib, kCalibNames, IM_ARRAYSIZE(kCalibNames));
      } else {
        ImGui::TableSetColumnIndex(3);
        ImGui::TextDisabled(skip ? "float" : "as input");
      }
      ImGui::TableSetColumnIndex(5);
      if (has_weights && !skip) {
        const workflows::TensorQuantConfig& w = cfg->WeightsFor(layer);
        ImGui::Text("%s, %s", w.per_channel ? "per channel" : "per tensor",
                    w.symmetric ? "symmetric" : "affine");
      }
      ImGui::PopID();
      if (changed) {
        report(EditLayer(layer, wb, ab, skip, calib), "edit layer");
        break;  // the config (and cfg) changed: draw the rest next frame
      }
    }
    ImGui::EndTable();
  }
}

void QuantizePanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  const workflows::QuantConfig* cfg = session_.quant_config();
  j.Key("config");
  if (cfg)
    j.Value(cfg->preset.empty() ? "custom" : cfg->preset);
  else
    j.Null();
  const workflows::QuantPlan* plan = session_.quant_plan();
  j.Field("sites", static_cast<long long>(plan ? plan->sites.size() : 0));
  j.Field("quantizedLayers", static_cast<long long>(plan ? plan->quantized_layers.size() : 0));
  j.Field("calibrating", session_.calibrating());
  j.Field("calibrationProgress", session_.calibration_progress());
  j.Field("calibrationMs", calib_ms_);
  j.Field("maxStepMs", max_step_ms_);  // longest single calibration / plan / evaluation step
  j.Field("preparing", preparing_);
  j.Field("prepSteps", static_cast<long long>(prep_steps_));
  j.Field("prepMs", prep_ms_);
  j.Key("maxStepMsBy").BeginObject();
  j.Field("calibration", max_calib_ms_);
  j.Field("quantize", quantize_ms_);
  j.Field("plan", max_prep_ms_);
  j.Field("evaluation", max_eval_ms_);
  j.EndObject();
  j.Field("quantized", session_.quantized_model() != nullptr);
  j.Field("busy", Busy());
  j.Key("accuracy").BeginObject();
  for (const Figure& f : figures_) {
    j.Key(EvalTargetName(f.target));
    if (f.result)
      j.Value(f.result->accuracy);
    else
      j.Null();
  }
  j.EndObject();
  j.Field("error", last_status_);
  j.EndObject();
}

}  // namespace qp::web
