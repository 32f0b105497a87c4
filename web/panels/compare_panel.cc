#include "web/panels/compare_panel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/workflows/quant_config.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

const char* kCalibNames[] = {"max", "percentile", "mse", "entropy", "minmax"};
constexpr int kChunk = 2;          // samples per model run: one run per step, well inside a frame
constexpr int kCalibBatch = 8;     // samples per calibration step (when nothing can be reused)
constexpr int kCalibBatches = 64;  // 512 calibration images, as the Quantize tab's default

const ImVec4 kWorse(1.0f, 0.45f, 0.40f, 1.0f);
const ImVec4 kBetter(0.45f, 0.85f, 0.45f, 1.0f);
const ImVec4 kSame(0.70f, 0.70f, 0.75f, 1.0f);

// A combo whose frame is registered with the test hooks under `tag` (BeginCombo in 1.86 reports
// no label to them).
bool TaggedCombo(const char* label, const char* tag, int* index, const std::vector<std::string>& names) {
  const ImVec2 pos = ImGui::GetCursorScreenPos();
  const float w = ImGui::CalcItemWidth();
  const float h = ImGui::GetFrameHeight();
  bool changed = false;
  if (ImGui::BeginCombo(label, names[static_cast<size_t>(*index)].c_str())) {
    for (int i = 0; i < static_cast<int>(names.size()); ++i) {
      const bool selected = i == *index;
      if (ImGui::Selectable(names[static_cast<size_t>(i)].c_str(), selected)) {
        changed = *index != i;
        *index = i;
      }
      if (selected) ImGui::SetItemDefaultFocus();
    }
    ImGui::EndCombo();
  }
  TagRect(tag, pos.x, pos.y, pos.x + w, pos.y + h);
  return changed;
}

std::vector<std::string> SourceNames() {
  std::vector<std::string> n = {"current config"};
  for (const std::string& p : workflows::PresetNames()) n.push_back(p);
  return n;
}

void WriteNumber(JsonWriter& j, const char* key, double v) {
  j.Key(key);
  if (std::isfinite(v)) j.Value(v);
  else j.Null();
}

}  // namespace

ComparePanel::ComparePanel(Session* session) : session_(*session) {
  // The usual question first: 8-bit against 4-bit.
  const std::vector<std::string>& presets = workflows::PresetNames();
  for (int i = 0; i < 2; ++i) {
    const char* want = i == 0 ? "int8" : "w4a4";
    for (size_t p = 0; p < presets.size(); ++p)
      if (presets[p] == want) side_[i].source = static_cast<int>(p) + 1;
    LoadSide(&side_[i]);
  }
}

Result<workflows::QuantConfig> ComparePanel::BaseConfig(const Side& s) const {
  if (s.source == 0) {
    const workflows::QuantConfig* c = session_.quant_config();
    if (!c) return FailedPrecondition("compare: 'current config' needs a config (choose a preset in the Quantize tab)");
    return *c;
  }
  return workflows::PresetConfig(workflows::PresetNames()[static_cast<size_t>(s.source - 1)]);
}

void ComparePanel::LoadSide(Side* s) {
  Result<workflows::QuantConfig> c = BaseConfig(*s);
  if (!c.ok()) return;  // keep the fields; Run reports the error
  s->weight_bits = c->weights.bits;
  s->act_bits = c->activations.bits;
  s->calibrator = static_cast<int>(c->activations.calibrator);
  s->per_channel = c->weights.per_channel;
}

Result<workflows::QuantConfig> ComparePanel::Config(const Side& s) const {
  QP_ASSIGN_OR_RETURN(workflows::QuantConfig c, BaseConfig(s));
  const workflows::QuantConfig base = c;
  c.weights.bits = s.weight_bits;
  c.activations.bits = s.act_bits;
  c.activations.calibrator = static_cast<workflows::CalibMethod>(s.calibrator);
  // minmax is the observed [min, max]: affine only (the histogram methods take either).
  if (c.activations.calibrator == workflows::CalibMethod::kMinMax) c.activations.symmetric = false;
  c.weights.per_channel = s.per_channel;
  if (!(c == base)) c.preset.clear();
  QP_RETURN_IF_ERROR(workflows::ValidateQuantConfig(c, nullptr));
  return c;
}

std::string ComparePanel::SourceName(const Side& s) const {
  std::string name = SourceNames()[static_cast<size_t>(s.source)];
  Result<workflows::QuantConfig> c = Config(s);
  if (c.ok() && c->preset.empty() && s.source != 0) name += " (edited)";
  return name;
}

Status ComparePanel::Start() {
  if (!session_.has_model()) return FailedPrecondition("compare: no model is loaded");
  workflows::QuantConfig cfg[2];
  for (int i = 0; i < 2; ++i) {
    Result<workflows::QuantConfig> c = Config(side_[i]);
    if (!c.ok()) return c.status().WithContext(i == 0 ? "configuration A" : "configuration B");
    cfg[i] = std::move(c).value();
  }
  workflows::CompareOptions o;
  o.eval_samples = eval_samples_;
  o.sqnr_samples = sqnr_samples_;
  o.chunk = kChunk;
  o.sqnr_chunk = 1;  // the SQNR runs keep every intermediate tensor: one sample per step
  o.calibration.batch_size = kCalibBatch;
  o.calibration.max_batches = kCalibBatches;
  // The statistics of the session's last calibration, if any (not after QAT: empty).
  const workflows::QuantizedModel* qm = session_.quantized_model();
  const workflows::CalibrationStats* stats = qm && !qm->stats.histograms.empty() ? &qm->stats : nullptr;
  QP_ASSIGN_OR_RETURN(job_, workflows::CompareJob::Create(session_.graph(), cfg[0], cfg[1], stats,
                                                          session_.dataset(DataRole::kCalibration),
                                                          session_.dataset(DataRole::kTest), o));
  for (int i = 0; i < 2; ++i) names_[i] = SourceName(side_[i]);
  run_ms_ = 0;
  max_step_ms_ = 0;
  max_step_phase_ = "";
  error_.clear();
  return Status::Ok();
}

void ComparePanel::Tick(FrameContext& ctx, double budget_ms) {
  if (generation_ != session_.model_generation()) {
    generation_ = session_.model_generation();
    job_.reset();  // the figures were of another model
  }
  if (!job_ || job_->done()) return;
  const double start = NowMs();
  // At least one step per frame; another only while one as long as the last still fits.
  double last_ms = 0;
  while (!job_->done() && NowMs() - start + last_ms < budget_ms) {
    const double t0 = NowMs();
    const char* phase = workflows::CompareJob::PhaseName(job_->phase());
    Result<double> p = job_->Step();
    const double ms = NowMs() - t0;
    last_ms = ms;
    run_ms_ += ms;
    if (ms > max_step_ms_) {
      max_step_ms_ = ms;
      max_step_phase_ = phase;
    }
    if (!p.ok()) {
      error_ = p.status().ToString();
      if (ctx.report_error) ctx.report_error(p.status(), "compare");
      job_.reset();
      return;
    }
  }
}

void ComparePanel::DrawSide(Side* s, const char* id, float dpr) {
  ImGui::PushID(id);
  char tag[32];
  ImGui::AlignTextToFramePadding();  // both cells' first lines on the same baseline
  ImGui::Text("Configuration %s", id);
  ImGui::SetNextItemWidth(170.0f * dpr);
  std::snprintf(tag, sizeof(tag), "%s source", id);
  if (TaggedCombo("source", tag, &s->source, SourceNames())) LoadSide(s);
  ImGui::SetNextItemWidth(170.0f * dpr);
  std::snprintf(tag, sizeof(tag), "W bits##%s", id);
  ImGui::SliderInt(tag, &s->weight_bits, 2, 8);
  ImGui::SetNextItemWidth(170.0f * dpr);
  std::snprintf(tag, sizeof(tag), "A bits##%s", id);
  ImGui::SliderInt(tag, &s->act_bits, 2, 8);
  ImGui::SetNextItemWidth(170.0f * dpr);
  std::snprintf(tag, sizeof(tag), "%s calibrator", id);
  std::vector<std::string> calib(std::begin(kCalibNames), std::end(kCalibNames));
  TaggedCombo("activation calibrator", tag, &s->calibrator, calib);
  std::snprintf(tag, sizeof(tag), "per-channel weights##%s", id);
  ImGui::Checkbox(tag, &s->per_channel);
  Result<workflows::QuantConfig> c = Config(*s);
  if (!c.ok()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(kWorse, "%s", c.status().message().c_str());
    ImGui::PopTextWrapPos();
  } else if (s->source == 0 && !c->layers.empty()) {
    ImGui::TextDisabled("%zu per-layer override(s) kept", c->layers.size());
  }
  ImGui::PopID();
}

void ComparePanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  if (ImGui::BeginTable("sides", 2, ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableNextRow();
    ImGui::TableSetColumnIndex(0);
    DrawSide(&side_[0], "A", dpr);
    ImGui::TableSetColumnIndex(1);
    DrawSide(&side_[1], "B", dpr);
    ImGui::EndTable();
  }
  ImGui::Separator();
  ImGui::SetNextItemWidth(150.0f * dpr);
  ImGui::SliderInt("test samples", &eval_samples_, 100, 2000);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120.0f * dpr);
  ImGui::SliderInt("SQNR samples", &sqnr_samples_, 4, 256);
  ImGui::SameLine(0, 20.0f * dpr);
  if (Busy()) {
    if (ImGui::Button("Cancel")) job_.reset();
  } else if (ImGui::Button("Run comparison")) {
    const Status st = Start();
    if (!st.ok()) {
      error_ = st.ToString();
      if (ctx.report_error) ctx.report_error(st, "compare");
    }
  }
  if (Busy()) {
    char label[96];
    std::snprintf(label, sizeof(label), "%s %.0f%%", workflows::CompareJob::PhaseName(job_->phase()),
                  100.0 * job_->progress());
    ImGui::ProgressBar(static_cast<float>(job_->progress()), ImVec2(-1, 0), label);
  }
  if (!error_.empty()) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(kWorse, "%s", error_.c_str());
    ImGui::PopTextWrapPos();
  }
  if (job_ && job_->done()) DrawResults(dpr);
  else if (!job_)
    ImGui::TextDisabled("Choose A and B, then Run comparison: simulated (fake-quant) accuracy on the test "
                        "data and per-layer SQNR against the float model.");
}

void ComparePanel::DrawResults(float dpr) {
  const workflows::CompareJob& j = *job_;
  ImGui::Separator();
  ImGui::Text("Simulated top-1 on %lld test samples%s", static_cast<long long>(j.evaluated()),
              j.reused_stats() ? " (calibration statistics reused from the Quantize tab)" : "");
  const double acc[2] = {j.accuracy_a(), j.accuracy_b()};
  for (int i = 0; i < 2; ++i) {
    char overlay[96];
    std::snprintf(overlay, sizeof(overlay), "%.2f%%", 100.0 * acc[i]);
    ImGui::Text("%s  %-22s", i == 0 ? "A" : "B", names_[i].c_str());
    ImGui::SameLine(260.0f * dpr);
    ImGui::PushStyleColor(ImGuiCol_PlotHistogram, i == 0 ? ImVec4(0.35f, 0.55f, 0.90f, 1) : ImVec4(0.85f, 0.60f, 0.25f, 1));
    ImGui::ProgressBar(static_cast<float>(acc[i]), ImVec2(320.0f * dpr, 0), overlay);
    ImGui::PopStyleColor();
  }
  const double d = 100.0 * (acc[1] - acc[0]);
  ImGui::TextColored(std::fabs(d) < 0.5 ? kSame : (d < 0 ? kWorse : kBetter), "B - A: %+.2f points", d);

  ImGui::Separator();
  ImGui::TextDisabled("Per site: SQNR against the float model (weights: W vs fake-quant W; activations: "
                      "on %d samples). Delta = B - A; red: B loses more than 1 dB, green: B gains more.",
                      sqnr_samples_);
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  if (ImGui::BeginTable("compare rows", 7, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Layer", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableSetupColumn("Tensor", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableSetupColumn("Bits A / B", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableSetupColumn("SQNR A (dB)", ImGuiTableColumnFlags_WidthStretch, 0.9f);
    ImGui::TableSetupColumn("SQNR B (dB)", ImGuiTableColumnFlags_WidthStretch, 0.9f);
    ImGui::TableSetupColumn("Delta (dB)", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableSetupColumn("Delta", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableHeadersRow();
    double max_abs = 1;
    for (const workflows::CompareRow& r : j.rows())
      if (std::isfinite(r.sqnr_b - r.sqnr_a)) max_abs = std::max(max_abs, std::fabs(r.sqnr_b - r.sqnr_a));
    for (const workflows::CompareRow& r : j.rows()) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(r.layer.c_str());
      ImGui::TableSetColumnIndex(1);
      ImGui::Text("%s %s", r.role == quant::QuantRole::kWeight ? "W" : "A", r.tensor.c_str());
      ImGui::TableSetColumnIndex(2);
      ImGui::Text("%s / %s", r.bits_a ? std::to_string(r.bits_a).c_str() : "-",
                  r.bits_b ? std::to_string(r.bits_b).c_str() : "-");
      // +inf: the quantization reproduced the values exactly (e.g. 8-bit pixels at 8 bits).
      auto cell = [](double v) {
        if (std::isfinite(v)) ImGui::Text("%.2f", v);
        else if (v > 0) ImGui::TextDisabled("exact");
        else ImGui::TextDisabled("-");
      };
      ImGui::TableSetColumnIndex(3);
      cell(r.sqnr_a);
      ImGui::TableSetColumnIndex(4);
      cell(r.sqnr_b);
      const double delta = r.sqnr_b - r.sqnr_a;
      ImGui::TableSetColumnIndex(5);
      if (!std::isfinite(delta)) {
        ImGui::TextDisabled("-");
        continue;
      }
      const ImVec4 col = std::fabs(delta) <= 1.0 ? kSame : (delta < 0 ? kWorse : kBetter);
      ImGui::TextColored(col, "%+.2f", delta);
      // A centred bar: left for B worse, right for B better.
      ImGui::TableSetColumnIndex(6);
      const ImVec2 p = ImGui::GetCursorScreenPos();
      const float w = ImGui::GetContentRegionAvail().x, h = ImGui::GetTextLineHeight();
      const float mid = p.x + w * 0.5f;
      const float len = static_cast<float>(delta / max_abs) * w * 0.5f;
      ImDrawList* dl = ImGui::GetWindowDrawList();
      dl->AddRectFilled(ImVec2(std::min(mid, mid + len), p.y + h * 0.2f),
                        ImVec2(std::max(mid, mid + len), p.y + h * 0.8f), ImGui::ColorConvertFloat4ToU32(col));
      dl->AddLine(ImVec2(mid, p.y), ImVec2(mid, p.y + h), IM_COL32(140, 140, 150, 255));
      ImGui::Dummy(ImVec2(w, h));
    }
    ImGui::EndTable();
  }
}

void ComparePanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  const char* keys[2] = {"a", "b"};
  for (int i = 0; i < 2; ++i) {
    const Side& s = side_[i];
    j.Key(keys[i]).BeginObject();
    j.Field("source", SourceNames()[static_cast<size_t>(s.source)]);
    j.Field("weightBits", s.weight_bits);
    j.Field("actBits", s.act_bits);
    j.Field("calibrator", kCalibNames[s.calibrator]);
    j.Field("perChannel", s.per_channel);
    j.EndObject();
  }
  j.Field("running", Busy());
  j.Field("phase", job_ ? workflows::CompareJob::PhaseName(job_->phase()) : "idle");
  j.Field("progress", job_ ? job_->progress() : 0.0);
  j.Field("runMs", run_ms_);
  j.Field("maxStepMs", max_step_ms_);
  j.Field("maxStepPhase", max_step_phase_);
  j.Field("error", error_);
  const bool done = job_ && job_->done();
  j.Key("result");
  if (!done) {
    j.Null();
  } else {
    j.BeginObject();
    j.Field("a", names_[0]);
    j.Field("b", names_[1]);
    j.Field("reusedStats", job_->reused_stats());
    j.Field("samples", static_cast<long long>(job_->evaluated()));
    j.Field("accuracyA", job_->accuracy_a());
    j.Field("accuracyB", job_->accuracy_b());
    j.Key("rows").BeginArray();
    for (const workflows::CompareRow& r : job_->rows()) {
      j.BeginObject();
      j.Field("layer", r.layer);
      j.Field("tensor", r.tensor);
      j.Field("role", r.role == quant::QuantRole::kWeight ? "weight" : "activation");
      j.Field("bitsA", r.bits_a);
      j.Field("bitsB", r.bits_b);
      WriteNumber(j, "sqnrA", r.sqnr_a);
      WriteNumber(j, "sqnrB", r.sqnr_b);
      WriteNumber(j, "delta", r.sqnr_b - r.sqnr_a);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndObject();
}

}  // namespace qp::web
