// "Range x precision" panel (see range_panel.h).
#include "web/panels/range_panel.h"

#include <algorithm>
#include <tuple>
#include <cmath>
#include <cstdio>

#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

// Evaluation samples per step: one chunk of the trained CNN's simulation stays well inside the
// frame budget in wasm (the planning step of a configuration is the longer one).
constexpr int64_t kChunkSamples = 2;
constexpr double kReferenceShare = 0.05;  // of the progress bar: the float reference outputs

const char* kCalibLabels[] = {"max", "p99.9", "p99.99", "p99.999", "mse", "entropy"};
const ImU32 kCurveColors[] = {IM_COL32(250, 200, 80, 255),  IM_COL32(120, 220, 120, 255),
                              IM_COL32(80, 200, 170, 255),  IM_COL32(60, 170, 230, 255),
                              IM_COL32(220, 120, 240, 255), IM_COL32(250, 140, 180, 255)};

std::string ShortName(const std::string& calibrator) {
  if (calibrator.rfind("percentile_", 0) == 0) return "p" + calibrator.substr(11);
  return calibrator;
}

// Red (worst) -> amber -> green (best) for t in [0, 1].
ImU32 Ramp(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const double r = t < 0.5 ? 200 : 200 - (t - 0.5) * 2 * 150;
  const double g = t < 0.5 ? 60 + t * 2 * 120 : 180;
  return IM_COL32(static_cast<int>(r), static_cast<int>(g), 60, 200);
}

}  // namespace

RangePanel::RangePanel(Session* session) : session_(*session) {}

Status RangePanel::Start() {
  const workflows::QuantizedModel* qm = session_.quantized_model();
  const workflows::QuantConfig* cfg = session_.quant_config();
  if (!qm || !cfg) return FailedPrecondition("range x precision: quantize the model first (Quantize tab)");
  if (qm->stats.histograms.empty())
    return FailedPrecondition("range x precision: the quantized model has no calibration statistics; calibrate again");
  const data::Dataset* test = session_.dataset(DataRole::kTest);
  if (!test || test->size() == 0) return FailedPrecondition("range x precision: no test data (Data tab)");
  workflows::SweepOptions o;
  o.bits.clear();
  for (int b = 2; b <= 8; ++b)
    if (bits_on_[b - 2]) o.bits.push_back(b);
  const std::vector<workflows::CalibChoice> all = workflows::DefaultSweepCalibrators();
  o.calibrators.clear();
  for (size_t k = 0; k < all.size(); ++k)
    if (calib_on_[k]) o.calibrators.push_back(all[k]);
  if (o.bits.empty()) return InvalidArgument("range x precision: choose at least one bit width");
  if (o.calibrators.empty()) return InvalidArgument("range x precision: choose at least one calibrator");
  o.global = global_;
  o.per_layer = per_layer_;
  if (!o.global && !o.per_layer) return InvalidArgument("range x precision: choose end to end and/or per layer");

  QP_ASSIGN_OR_RETURN(builder_, workflows::AnalysisContextBuilder::Start(session_.graph(), qm->stats, *test,
                                                                          samples_, kChunkSamples));
  // The sweep is created once the context exists; its options wait here.
  run_bits_ = o.bits;
  run_calibrators_.clear();
  for (const auto& c : o.calibrators) run_calibrators_.push_back(c.Name());
  pending_options_ = o;
  base_ = *cfg;
  ctx_.reset();
  sweep_.reset();
  rows_.clear();
  scopes_.clear();
  scope_index_ = 0;
  total_ = 0;
  progress_ = 0;
  run_ms_ = 0;
  max_step_ms_ = 0;
  steps_ = 0;
  status_.clear();
  error_.clear();
  running_ = true;
  return Status::Ok();
}

void RangePanel::Stop(const std::string& why) {
  running_ = false;
  builder_.reset();
  sweep_.reset();
  ctx_.reset();
  status_ = why;
}

void RangePanel::Tick(FrameContext& ctx, double budget_ms) {
  if (!running_) return;
  const double start = NowMs();
  auto fail = [&](const Status& st) {
    error_ = st.ToString();
    if (ctx.report_error) ctx.report_error(st, "range x precision");
    Stop("failed");
  };
  double step_ms = 0;
  // At least one step per frame; more while the last step's time still fits in the budget.
  do {
    const double t0 = NowMs();
    if (builder_) {
      const Status st = builder_->Step();
      if (!st.ok()) return fail(st);
      progress_ = kReferenceShare * builder_->progress();
      if (builder_->done()) {
        Result<workflows::AnalysisContext> c = builder_->Take();
        if (!c.ok()) return fail(c.status());
        ctx_ = std::make_unique<workflows::AnalysisContext>(std::move(*c));
        builder_.reset();
        Result<std::unique_ptr<workflows::RangePrecisionSweep>> s =
            workflows::RangePrecisionSweep::Create(ctx_.get(), base_, pending_options_);
        if (!s.ok()) return fail(s.status());
        sweep_ = std::move(*s);
        const Status cs = sweep_->set_chunk_samples(kChunkSamples);
        if (!cs.ok()) return fail(cs);
        total_ = sweep_->total();
        if (pending_options_.global) scopes_.push_back("all");
        if (pending_options_.per_layer)
          for (const std::string& l : sweep_->layers()) scopes_.push_back(l);
      }
    } else if (sweep_) {
      Result<double> p = sweep_->Step();
      if (!p.ok()) return fail(p.status());
      progress_ = kReferenceShare + (1.0 - kReferenceShare) * *p;
      if (sweep_->rows().size() != rows_.size()) rows_ = sweep_->rows();
    }
    step_ms = NowMs() - t0;
    run_ms_ += step_ms;
    max_step_ms_ = std::max(max_step_ms_, step_ms);
    ++steps_;
    if (sweep_ && sweep_->done()) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "done: %zu configurations in %.1f s of work", rows_.size(), run_ms_ / 1000.0);
      progress_ = 1.0;
      Stop(buf);
      return;
    }
  } while (NowMs() - start + step_ms < budget_ms);
}

void RangePanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  if (!session_.quantized_model() && rows_.empty()) {
    ImGui::TextDisabled("Quantize the model first (Quantize tab: Calibrate). The sweep reuses its calibration statistics.");
    return;
  }
  // Options.
  ImGui::TextUnformatted("Bits");
  for (int b = 2; b <= 8; ++b) {
    ImGui::SameLine();
    char label[16];
    std::snprintf(label, sizeof(label), "%d-bit", b);
    ImGui::Checkbox(label, &bits_on_[b - 2]);
  }
  ImGui::SameLine(0, 24.0f * dpr);
  ImGui::Checkbox("End to end", &global_);
  ImGui::SameLine();
  ImGui::Checkbox("Per layer", &per_layer_);
  ImGui::TextUnformatted("Calibrators");
  for (int k = 0; k < 6; ++k) {
    ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(kCurveColors[k]));
    ImGui::Checkbox(kCalibLabels[k], &calib_on_[k]);
    ImGui::PopStyleColor();
  }
  ImGui::SameLine(0, 24.0f * dpr);
  ImGui::SetNextItemWidth(140.0f * dpr);
  ImGui::SliderInt("sweep samples", &samples_, 16, 2000);
  ImGui::SameLine();
  if (!running_) {
    if (ImGui::Button("Run sweep")) {
      const Status st = Start();
      if (!st.ok()) {
        error_ = st.ToString();
        if (ctx.report_error) ctx.report_error(st, "range x precision");
      }
    }
  } else if (ImGui::Button("Cancel")) {
    Stop("cancelled");
  }
  {
    char label[96];
    if (running_)
      std::snprintf(label, sizeof(label), "%s %.0f%% (%zu / %zu configurations)",
                    builder_ ? "float reference" : "sweeping", 100.0 * progress_, rows_.size(), total_);
    else
      std::snprintf(label, sizeof(label), "%s", status_.empty() ? "not run" : status_.c_str());
    ImGui::ProgressBar(static_cast<float>(progress_), ImVec2(-1, 0), label);
  }
  if (!error_.empty()) ImGui::TextColored(ImVec4(1, 0.55f, 0.45f, 1), "%s", error_.c_str());
  if (scopes_.empty()) {
    ImGui::TextDisabled("Each configuration: weights and activations at the bit width, activations with the calibrator;\n"
                        "simulated (fake-quant) top-1 accuracy on the first test samples, output SQNR vs the float model.");
    return;
  }
  ImGui::Separator();
  scope_index_ = std::clamp(scope_index_, 0, static_cast<int>(scopes_.size()) - 1);
  ImGui::SetNextItemWidth(220.0f * dpr);
  {
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    const float w = ImGui::CalcItemWidth();
    const std::string cur = scopes_[static_cast<size_t>(scope_index_)] == "all" ? "all layers (end to end)"
                                                                               : scopes_[static_cast<size_t>(scope_index_)];
    if (ImGui::BeginCombo("Scope", cur.c_str())) {
      for (size_t i = 0; i < scopes_.size(); ++i) {
        const std::string name = scopes_[i] == "all" ? "all layers (end to end)" : "only " + scopes_[i];
        if (ImGui::Selectable(name.c_str(), static_cast<int>(i) == scope_index_)) scope_index_ = static_cast<int>(i);
      }
      ImGui::EndCombo();
    }
    TagRect("Scope", pos.x, pos.y, pos.x + w, pos.y + ImGui::GetFrameHeight());
  }
  ImGui::SameLine(0, 24.0f * dpr);
  if (ImGui::RadioButton("Accuracy", !show_sqnr_)) show_sqnr_ = false;
  ImGui::SameLine();
  if (ImGui::RadioButton("Output SQNR", show_sqnr_)) show_sqnr_ = true;
  const std::string& scope = scopes_[static_cast<size_t>(scope_index_)];
  const float table_w = ImGui::GetContentRegionAvail().x * 0.48f;
  ImGui::BeginChild("heatmap", ImVec2(table_w, 0), false);
  DrawHeatmap(ctx, scope);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("curves", ImVec2(0, 0), false);
  DrawCurves(ctx, scope, ImGui::GetContentRegionAvail().y);
  ImGui::EndChild();
}

double RangePanel::Shown(const workflows::SweepRow& r) const {
  return show_sqnr_ ? r.output_sqnr : r.accuracy;
}

std::pair<double, double> RangePanel::ShownRange(const std::string& scope) const {
  double lo = INFINITY, hi = -INFINITY;
  for (const workflows::SweepRow& r : rows_)
    if (r.scope == scope && r.error.empty() && std::isfinite(Shown(r))) {
      lo = std::min(lo, Shown(r));
      hi = std::max(hi, Shown(r));
    }
  return {lo, hi};
}

void RangePanel::DrawHeatmap(FrameContext& ctx, const std::string& scope) {
  (void)ctx;
  auto value = [&](const workflows::SweepRow& r) { return Shown(r); };
  double lo = 0, hi = 0;
  std::tie(lo, hi) = ShownRange(scope);
  const int cols = 1 + static_cast<int>(run_calibrators_.size());
  const ImGuiTableFlags flags = ImGuiTableFlags_BordersInner | ImGuiTableFlags_BordersOuter | ImGuiTableFlags_SizingStretchSame;
  if (!ImGui::BeginTable("heat", cols, flags)) return;
  ImGui::TableSetupColumn("bits", ImGuiTableColumnFlags_WidthFixed, ImGui::CalcTextSize("8-bit ").x);
  for (const std::string& c : run_calibrators_) ImGui::TableSetupColumn(ShortName(c).c_str());
  ImGui::TableHeadersRow();
  for (int b : run_bits_) {
    ImGui::TableNextRow(0, ImGui::GetTextLineHeight() * 1.6f);
    ImGui::TableSetColumnIndex(0);
    ImGui::Text("%d-bit", b);
    for (size_t k = 0; k < run_calibrators_.size(); ++k) {
      ImGui::TableSetColumnIndex(static_cast<int>(k) + 1);
      const workflows::SweepRow* row = nullptr;
      for (const workflows::SweepRow& r : rows_)
        if (r.scope == scope && r.bits == b && r.calibrator == run_calibrators_[k]) row = &r;
      if (!row) {
        ImGui::TextDisabled(running_ ? "..." : "-");
        continue;
      }
      if (!row->error.empty()) {
        ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, IM_COL32(90, 60, 60, 200));
        ImGui::TextDisabled("n/a");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", row->error.c_str());
        continue;
      }
      const double v = value(*row);
      ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, Ramp(hi > lo ? (v - lo) / (hi - lo) : 1.0));
      if (show_sqnr_)
        ImGui::Text("%.1f dB", v);
      else
        ImGui::Text("%.1f%%", 100.0 * v);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%d-bit, %s: accuracy %.2f%%, output SQNR %.2f dB", b, row->calibrator.c_str(),
                          100.0 * row->accuracy, row->output_sqnr);
    }
  }
  ImGui::EndTable();
  ImGui::TextDisabled("Cell colour: red = worst, green = best of this table.");
}

void RangePanel::DrawCurves(FrameContext& ctx, const std::string& scope, float height) {
  const float dpr = ctx.dpr;
  const ImVec2 size(ImGui::GetContentRegionAvail().x, std::max(160.0f * dpr, height));
  ImGui::InvisibleButton("range curves", size);
  TagLastItem("range curves");
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, b, IM_COL32(24, 26, 32, 255), 3.0f * dpr);
  const float font_h = ImGui::GetFontSize();
  const float pad = 10.0f * dpr;
  const float axis_w = ImGui::CalcTextSize("100.0%").x + 6.0f * dpr;
  const ImVec2 p0(a.x + pad + axis_w, a.y + pad + 1.6f * font_h);
  const ImVec2 p1(b.x - pad, b.y - pad - font_h - 4.0f * dpr);
  auto value = [&](const workflows::SweepRow& r) { return Shown(r); };
  // Y range: the values with a margin, on round numbers (accuracy: 5-point steps up to 100%).
  double lo = 0, hi = 0;
  std::tie(lo, hi) = ShownRange(scope);
  if (!(hi >= lo)) {
    lo = 0;
    hi = show_sqnr_ ? 40 : 1;
  }
  if (show_sqnr_) {
    lo = std::floor((lo - 2) / 5) * 5;
    hi = std::ceil((hi + 2) / 5) * 5;
  } else {
    lo = std::max(0.0, std::floor((lo - 0.02) * 20) / 20);
    hi = std::min(1.0, std::ceil((hi + 0.02) * 20) / 20);
  }
  if (!(hi > lo)) hi = lo + 1;
  const int bmin = run_bits_.empty() ? 2 : run_bits_.front(), bmax = run_bits_.empty() ? 8 : run_bits_.back();
  auto X = [&](int bits) {
    return bmax > bmin ? p0.x + (p1.x - p0.x) * (bits - bmin) / static_cast<float>(bmax - bmin) : (p0.x + p1.x) * 0.5f;
  };
  auto Y = [&](double v) { return static_cast<float>(p1.y - (v - lo) / (hi - lo) * (p1.y - p0.y)); };
  // Grid and axes.
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4.0;
    const float y = Y(v);
    dl->AddLine(ImVec2(p0.x, y), ImVec2(p1.x, y), IM_COL32(120, 120, 140, 60), 1.0f * dpr);
    char txt[32];
    if (show_sqnr_)
      std::snprintf(txt, sizeof(txt), "%.0f dB", v);
    else
      std::snprintf(txt, sizeof(txt), hi - lo < 0.2 ? "%.1f%%" : "%.0f%%", 100.0 * v);
    dl->AddText(ImVec2(a.x + pad, y - font_h * 0.5f), IM_COL32(180, 180, 190, 255), txt);
  }
  for (int bits : run_bits_) {
    char txt[16];
    std::snprintf(txt, sizeof(txt), "%d", bits);
    const float tw = ImGui::CalcTextSize(txt).x;
    dl->AddLine(ImVec2(X(bits), p0.y), ImVec2(X(bits), p1.y), IM_COL32(120, 120, 140, 40), 1.0f * dpr);
    dl->AddText(ImVec2(X(bits) - tw * 0.5f, p1.y + 3.0f * dpr), IM_COL32(180, 180, 190, 255), txt);
  }
  {
    const char* xl = "bits";
    dl->AddText(ImVec2(a.x + pad, p1.y + 3.0f * dpr), IM_COL32(150, 150, 160, 255), xl);
  }
  // One polyline per calibrator, legend along the top.
  const std::vector<workflows::CalibChoice> all = workflows::DefaultSweepCalibrators();
  float legend_x = p0.x;
  for (size_t k = 0; k < run_calibrators_.size(); ++k) {
    size_t ci = 0;
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].Name() == run_calibrators_[k]) ci = i;
    const ImU32 col = kCurveColors[ci];
    std::vector<ImVec2> pts;
    for (int bits : run_bits_)
      for (const workflows::SweepRow& r : rows_)
        if (r.scope == scope && r.bits == bits && r.calibrator == run_calibrators_[k] && r.error.empty() &&
            std::isfinite(value(r)))
          pts.push_back(ImVec2(X(bits), Y(value(r))));
    if (pts.size() > 1) dl->AddPolyline(pts.data(), static_cast<int>(pts.size()), col, 0, 2.0f * dpr);
    for (const ImVec2& p : pts) dl->AddCircleFilled(p, 3.5f * dpr, col);
    const std::string name = ShortName(run_calibrators_[k]);
    const float sw = 14.0f * dpr, cy = a.y + pad * 0.6f + font_h * 0.5f;
    dl->AddLine(ImVec2(legend_x, cy), ImVec2(legend_x + sw, cy), col, 2.0f * dpr);
    dl->AddText(ImVec2(legend_x + sw + 4.0f * dpr, a.y + pad * 0.6f), col, name.c_str());
    legend_x += sw + 4.0f * dpr + ImGui::CalcTextSize(name.c_str()).x + 12.0f * dpr;
  }
}

void RangePanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("running", running_);
  j.Field("progress", progress_);
  j.Field("total", static_cast<long long>(total_));
  j.Field("done", static_cast<long long>(rows_.size()));
  j.Field("samples", samples_);
  j.Field("steps", steps_);
  j.Field("runMs", run_ms_);
  j.Field("maxStepMs", max_step_ms_);
  j.Field("status", status_);
  j.Field("error", error_);
  j.Key("bits").BeginArray();
  for (int b : run_bits_) j.Value(b);
  j.EndArray();
  j.Key("calibrators").BeginArray();
  for (const std::string& c : run_calibrators_) j.Value(c);
  j.EndArray();
  j.Key("scopes").BeginArray();
  for (const std::string& s : scopes_) j.Value(s);
  j.EndArray();
  j.Key("rows").BeginArray();
  for (const workflows::SweepRow& r : rows_) {
    j.BeginObject().Field("scope", r.scope).Field("bits", r.bits).Field("calibrator", r.calibrator);
    if (r.error.empty())
      j.Field("accuracy", r.accuracy).Field("outputSqnr", r.output_sqnr);
    else
      j.Field("error", r.error);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
}

}  // namespace qp::web
