// "Histograms" panel (see histograms_panel.h).
#include "web/panels/histograms_panel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "core/quant/histogram.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

constexpr int kDisplayBins = 160;  // per side of the plot
// One colour per sweep calibrator, in DefaultSweepCalibrators() order.
const ImU32 kThresholdColors[] = {IM_COL32(250, 200, 80, 255),  IM_COL32(120, 220, 120, 255),
                                  IM_COL32(80, 200, 170, 255),   IM_COL32(60, 170, 230, 255),
                                  IM_COL32(220, 120, 240, 255),  IM_COL32(250, 140, 180, 255)};
constexpr ImU32 kHandleColor = IM_COL32(90, 230, 230, 255);
constexpr ImU32 kClipColor = IM_COL32(240, 110, 90, 255);
constexpr ImU32 kKeepColor = IM_COL32(90, 160, 250, 255);

std::string ShortName(const std::string& calibrator) {
  if (calibrator.rfind("percentile_", 0) == 0) return "p" + calibrator.substr(11);
  return calibrator;
}

}  // namespace

HistogramsPanel::HistogramsPanel(Session* session) : session_(*session) {}

void HistogramsPanel::Tick(FrameContext& ctx, double budget_ms) {
  Sync(ctx, budget_ms);       // state() follows the quantized model even while another tab shows
  handles_visible_ = false;   // until this frame's Draw places them
}

const workflows::CalibrationStats* HistogramsPanel::StatsFor(const Entry& e) const {
  if (e.weight) return &weight_stats_;
  const workflows::QuantizedModel* m = session_.quantized_model();
  return m ? &m->stats : nullptr;
}

void HistogramsPanel::Sync(FrameContext& ctx, double budget_ms) {
  const uint64_t fp = session_.quantized_model() ? session_.quantized_generation() : 0;
  if (fp != fingerprint_) {
    fingerprint_ = fp;
    if (selected_ < entries_.size()) previous_tensor_ = entries_[selected_].tensor;
    entries_.clear();
    weight_stats_ = {};
    report_.reset();
    thresholds_.clear();
    error_.clear();
    weight_site_ = 0;
    weights_pending_ = session_.quantized_model() != nullptr;
  }
  const workflows::QuantizedModel* m = session_.quantized_model();
  if (!weights_pending_ || !m) return;
  // A weight histogram per site and frame at least; more while the budget lasts.
  const double start = NowMs();
  do {
    if (weight_site_ >= m->plan.sites.size()) break;
    Status st = workflows::AddWeightClipStats(*m, m->plan.sites[weight_site_++], 2048, &weight_stats_);
    if (!st.ok()) {
      error_ = st.ToString();
      if (ctx.report_error) ctx.report_error(st, "weight histograms");
      weight_stats_ = {};
      weight_site_ = m->plan.sites.size();
    }
  } while (NowMs() - start < budget_ms * 0.5);
  if (weight_site_ < m->plan.sites.size()) return;
  weights_pending_ = false;
  BuildEntries();
}

void HistogramsPanel::BuildEntries() {
  const workflows::QuantizedModel* m = session_.quantized_model();
  if (!m) return;
  // Activations first (the calibration's subject), then weights, each in plan order.
  for (int pass = 0; pass < 2; ++pass) {
    for (const workflows::QuantSite& s : m->plan.sites) {
      const bool weight = s.role == quant::QuantRole::kWeight;
      if (weight != (pass == 1) || !s.shared_from.empty()) continue;
      const workflows::CalibrationStats& st = weight ? weight_stats_ : m->stats;
      if (!st.histograms.count(s.tensor)) continue;  // e.g. after QAT, stats may be gone
      Entry e;
      e.tensor = s.tensor;
      e.weight = weight;
      e.is_unsigned = !s.spec.is_signed;
      e.bits = s.spec.bits;
      if (weight) {
        e.calibrated_amax = st.histograms.at(s.tensor).histogram().max_abs;
      } else {
        auto a = m->amax.find(s.tensor);
        e.calibrated_amax = a != m->amax.end() ? a->second : st.histograms.at(s.tensor).histogram().max_abs;
      }
      entries_.push_back(e);
    }
  }
  size_t pick = 0;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].tensor == previous_tensor_) pick = i;
  if (!entries_.empty()) Select(pick);
}

void HistogramsPanel::Select(size_t index) {
  selected_ = index;
  const Entry& e = entries_[index];
  bits_ = e.bits;
  amax_ = e.calibrated_amax;
  const workflows::CalibrationStats* st = StatsFor(e);
  const quant::HistogramCalibrator& cal = st->histograms.at(e.tensor);
  data_min_ = cal.min();
  data_max_ = cal.max();
  Recompute();
}

void HistogramsPanel::Recompute() {
  report_.reset();
  thresholds_.clear();
  error_.clear();
  if (selected_ >= entries_.size()) return;
  const Entry& e = entries_[selected_];
  const workflows::CalibrationStats* st = StatsFor(e);
  ++recomputes_;
  Result<std::vector<std::pair<std::string, float>>> th =
      workflows::CalibratorThresholds(*st, e.tensor, bits_, e.is_unsigned);
  if (th.ok()) thresholds_ = std::move(*th);
  else error_ = th.status().ToString();
  Result<workflows::TensorClipReport> r = workflows::AnalyzeTensorClip(*st, e.tensor, amax_, bits_, e.is_unsigned);
  if (r.ok()) report_ = std::move(*r);
  else error_ = r.status().ToString();
}

void HistogramsPanel::Draw(FrameContext& ctx) {
  Sync(ctx, 0.0);  // a new quantized model since Tick (or Tick skipped): never draw stale entries
  const float dpr = ctx.dpr;
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  if (!session_.quantized_model()) {
    ImGui::TextDisabled("Quantize the model first (Quantize tab: Calibrate). The histograms are the calibration's.");
    handles_visible_ = false;
    return;
  }
  if (weights_pending_) {
    const workflows::QuantizedModel* m = session_.quantized_model();
    const size_t n = m ? m->plan.sites.size() : 0;
    ImGui::TextDisabled("Computing weight histograms: site %zu of %zu...", weight_site_, n);
    handles_visible_ = false;
    return;
  }
  if (entries_.empty()) {
    ImGui::TextDisabled("The quantized model has no calibration statistics (e.g. after QAT): calibrate again.");
    handles_visible_ = false;
    return;
  }

  // Tensor selector (a combo; its frame is tagged "Tensor" for tests, entries by tensor name).
  const Entry& cur = entries_[selected_];
  auto label_of = [](const Entry& e) { return std::string(e.weight ? "weight  " : "activation  ") + e.tensor; };
  {
    ImGui::SetNextItemWidth(320.0f * dpr);
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    const float w = ImGui::CalcItemWidth();
    if (ImGui::BeginCombo("Tensor", label_of(cur).c_str(), ImGuiComboFlags_HeightLarge)) {
      for (size_t i = 0; i < entries_.size(); ++i) {
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::Selectable(label_of(entries_[i]).c_str(), i == selected_) && i != selected_) Select(i);
        TagLastItem(entries_[i].tensor.c_str());
        ImGui::PopID();
      }
      ImGui::EndCombo();
    }
    TagRect("Tensor", pos.x, pos.y, pos.x + w, pos.y + ImGui::GetFrameHeight());
  }
  ImGui::SameLine(0, 16.0f * dpr);
  ImGui::SetNextItemWidth(140.0f * dpr);
  if (ImGui::SliderInt("Clip bits", &bits_, 2, 8)) Recompute();
  ImGui::SameLine(0, 16.0f * dpr);
  ImGui::Checkbox("Log counts", &log_scale_);
  ImGui::SameLine(0, 16.0f * dpr);
  if (ImGui::Button("Reset to calibrated")) {
    amax_ = entries_[selected_].calibrated_amax;
    bits_ = entries_[selected_].bits;
    Recompute();
  }
  const Entry& e = entries_[selected_];
  ImGui::TextDisabled("%s, %s %d-bit symmetric; calibrated amax %.4g; values seen in [%.4g, %.4g]",
                      e.weight ? "weight (all channels together)" : "activation (calibration data)",
                      e.is_unsigned ? "unsigned" : "signed", e.bits, e.calibrated_amax, data_min_, data_max_);

  const float avail = ImGui::GetContentRegionAvail().y;
  const float plot_h = std::max(200.0f * dpr, avail - 5.0f * ImGui::GetFrameHeightWithSpacing());
  DrawPlot(ctx, plot_h);

  // Calibrator thresholds: click one to move the handles there.
  ImGui::TextUnformatted("Calibrators (click to clip there):");
  for (size_t k = 0; k < thresholds_.size(); ++k) {
    ImGui::SameLine();
    char label[64];
    std::snprintf(label, sizeof(label), "%s %.4g##th%zu", ShortName(thresholds_[k].first).c_str(),
                  thresholds_[k].second, k);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::ColorConvertU32ToFloat4(kThresholdColors[k % 6]));
    if (ImGui::SmallButton(label)) {
      amax_ = thresholds_[k].second;
      Recompute();
    }
    ImGui::PopStyleColor();
  }

  // The split at the handles.
  if (report_) {
    const quant::ErrorSplit& s = report_->split;
    const double total = s.total();
    ImGui::Text("Clip at +-%.4g, %d bits:  MSE %.4g  =  clipping %.4g (%.1f%%)  +  rounding %.4g (%.1f%%);  "
                "%lld of %lld values clipped (%.3f%%)",
                amax_, bits_, total, s.clipping, total > 0 ? 100.0 * s.clipping / total : 0.0, s.rounding,
                total > 0 ? 100.0 * s.rounding / total : 0.0, static_cast<long long>(s.clipped_count),
                static_cast<long long>(s.count), s.count ? 100.0 * s.clipped_count / s.count : 0.0);
    const ImVec2 a = ImGui::GetCursorScreenPos();
    const float w = std::min(ImGui::GetContentRegionAvail().x, 600.0f * dpr);
    const float h = ImGui::GetTextLineHeight();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float clip_w = total > 0 ? static_cast<float>(w * s.clipping / total) : 0.0f;
    dl->AddRectFilled(a, ImVec2(a.x + w, a.y + h), kKeepColor);
    if (clip_w > 0) dl->AddRectFilled(a, ImVec2(a.x + clip_w, a.y + h), kClipColor);
    ImGui::Dummy(ImVec2(w, h));
    ImGui::SameLine();
    ImGui::TextDisabled("red: clipping error, blue: rounding error");
    if (!report_->outliers.empty()) {
      std::string line = e.weight ? "Largest elements (flat index, |w|): " : "Calibration samples that set the max (sample, max |x|): ";
      for (const workflows::OutlierSample& o : report_->outliers) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "#%lld %.4g   ", static_cast<long long>(o.sample), o.max_abs);
        line += buf;
      }
      ImGui::TextUnformatted(line.c_str());
    }
  }
  if (!error_.empty()) ImGui::TextColored(ImVec4(1, 0.55f, 0.45f, 1), "%s", error_.c_str());
}

void HistogramsPanel::DrawPlot(FrameContext& ctx, float height) {
  const float dpr = ctx.dpr;
  const Entry& e = entries_[selected_];
  const quant::Histogram& h = StatsFor(e)->histograms.at(e.tensor).histogram();
  float range = std::max(h.max_abs, amax_);
  for (const auto& t : thresholds_) range = std::max(range, t.second);
  range = std::max(range * 1.04f, 1e-6f);

  const ImVec2 size(ImGui::GetContentRegionAvail().x, height);
  ImGui::InvisibleButton("clip histogram", size);
  TagLastItem("clip histogram");
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, b, IM_COL32(24, 26, 32, 255), 3.0f * dpr);
  dl->PushClipRect(a, b, true);
  const float font_h = ImGui::GetFontSize();
  const float pad = 10.0f * dpr;
  const ImVec2 p0(a.x + pad, a.y + pad + 1.4f * font_h);
  const ImVec2 p1(b.x - pad, b.y - pad - font_h - 4.0f * dpr);
  const float w = p1.x - p0.x;
  // Axis [-range, range]: the handles sit at -amax and +amax.
  auto X = [&](double v) { return static_cast<float>(p0.x + (v + range) / (2.0 * range) * w); };

  // Dragging anywhere on the plot moves the nearer handle; both follow |x| (symmetric).
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f)) {
    const double v = (ImGui::GetIO().MousePos.x - p0.x) / w * (2.0 * range) - range;
    const float next = std::clamp(static_cast<float>(std::fabs(v)), range * 1e-4f, range);
    if (next != amax_) {
      amax_ = next;
      dragging_ = true;
      Recompute();
    }
  }
  if (dragging_ && ImGui::IsItemDeactivated()) dragging_ = false;

  // Clipped regions.
  const ImU32 clip_fill = IM_COL32(200, 70, 60, 40);
  dl->AddRectFilled(ImVec2(p0.x, p0.y), ImVec2(X(-amax_), p1.y), clip_fill);
  dl->AddRectFilled(ImVec2(X(amax_), p0.y), ImVec2(p1.x, p1.y), clip_fill);

  // Bars: the |x| histogram regrouped into kDisplayBins bins over [0, range] on the right; weights
  // also show their negative values on the left (from the values, through core/quant).
  std::vector<int64_t> right(kDisplayBins, 0), left(kDisplayBins, 0);
  for (int i = 0; i < h.num_bins(); ++i) {
    const double c = h.center(i);
    const int k = std::min(kDisplayBins - 1, static_cast<int>(c / range * kDisplayBins));
    if (k >= 0) right[static_cast<size_t>(k)] += h.counts[static_cast<size_t>(i)];
  }
  bool signed_split = false;
  if (e.weight) {
    const workflows::QuantizedModel* m = session_.quantized_model();
    auto wt = m->plan.graph.initializers.find(e.tensor);
    if (wt != m->plan.graph.initializers.end()) {
      Result<quant::Histogram> sh = quant::ComputeHistogram(wt->second.f32(), wt->second.numel(),
                                                            2 * kDisplayBins, -range, range);
      if (sh.ok()) {
        for (int k = 0; k < kDisplayBins; ++k) {
          left[static_cast<size_t>(kDisplayBins - 1 - k)] = sh->counts[static_cast<size_t>(k)];
          right[static_cast<size_t>(k)] = sh->counts[static_cast<size_t>(kDisplayBins + k)];
        }
        signed_split = true;
      }
    }
  }
  int64_t max_count = 1;
  for (int k = 0; k < kDisplayBins; ++k)
    max_count = std::max({max_count, left[static_cast<size_t>(k)], right[static_cast<size_t>(k)]});
  const double denom = log_scale_ ? std::log1p(static_cast<double>(max_count)) : static_cast<double>(max_count);
  for (int side = 0; side < 2; ++side) {
    const std::vector<int64_t>& bins = side ? right : left;
    for (int k = 0; k < kDisplayBins; ++k) {
      const int64_t c = bins[static_cast<size_t>(k)];
      if (c == 0) continue;
      const double v0 = range * k / kDisplayBins, v1 = range * (k + 1) / kDisplayBins;
      float x0 = side ? X(v0) : X(-v1), x1 = side ? X(v1) : X(-v0);
      const double f = (log_scale_ ? std::log1p(static_cast<double>(c)) : static_cast<double>(c)) / denom;
      const float y = p1.y - static_cast<float>(f) * (p1.y - p0.y);
      const bool clipped = (v0 + v1) * 0.5 > amax_;
      dl->AddRectFilled(ImVec2(x0, y), ImVec2(std::max(x0 + 1.0f, x1 - 1.0f), p1.y), clipped ? kClipColor : kKeepColor);
    }
  }
  dl->AddLine(ImVec2(p0.x, p1.y), ImVec2(p1.x, p1.y), IM_COL32(200, 200, 210, 160), 1.0f * dpr);
  dl->AddLine(ImVec2(X(0), p0.y), ImVec2(X(0), p1.y), IM_COL32(200, 200, 210, 90), 1.0f * dpr);

  // Thresholds: dashed lines at +-amax per calibrator, legend along the top.
  float legend_x = p0.x;
  const float legend_y = a.y + pad * 0.6f;
  for (size_t k = 0; k < thresholds_.size(); ++k) {
    const ImU32 col = kThresholdColors[k % 6];
    for (int sign = -1; sign <= 1; sign += 2) {
      if (sign < 0 && data_min_ >= 0) continue;  // one-sided data: the thresholds on the right only
      const float x = X(sign * static_cast<double>(thresholds_[k].second));
      for (float y = p0.y; y < p1.y; y += 8.0f * dpr)
        dl->AddLine(ImVec2(x, y), ImVec2(x, std::min(p1.y, y + 5.0f * dpr)), col, 1.3f * dpr);
    }
    const std::string text = ShortName(thresholds_[k].first);
    const float sw = 14.0f * dpr, cy = legend_y + font_h * 0.5f;
    dl->AddLine(ImVec2(legend_x, cy), ImVec2(legend_x + sw, cy), col, 2.0f * dpr);
    dl->AddText(ImVec2(legend_x + sw + 4.0f * dpr, legend_y), col, text.c_str());
    legend_x += sw + 4.0f * dpr + ImGui::CalcTextSize(text.c_str()).x + 14.0f * dpr;
  }
  {
    const char* note = signed_split ? "weight values (signed); handles: clip at -amax / +amax (drag)"
                       : data_min_ >= 0 ? "|x| = x (no negative values at this site); handles: clip at -amax / +amax (drag)"
                                        : "|x| (calibration folds the sign); handles: clip at -amax / +amax (drag)";
    dl->AddText(ImVec2(std::max(legend_x, p1.x - ImGui::CalcTextSize(note).x), legend_y),
                IM_COL32(190, 190, 200, 255), note);
  }

  // The two handles.
  for (int sign = -1; sign <= 1; sign += 2) {
    const float x = X(sign * static_cast<double>(amax_));
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), kHandleColor, 2.5f * dpr);
    dl->AddRectFilled(ImVec2(x - 5.0f * dpr, (p0.y + p1.y) * 0.5f - 14.0f * dpr),
                      ImVec2(x + 5.0f * dpr, (p0.y + p1.y) * 0.5f + 14.0f * dpr), kHandleColor, 2.0f * dpr);
  }
  handle_lo_x_ = X(-amax_) / dpr;
  handle_hi_x_ = X(amax_) / dpr;
  handle_y_ = (p0.y + p1.y) * 0.5f / dpr;
  handles_visible_ = true;

  // X ticks: -range, -range/2, 0, range/2, range.
  for (int t = -2; t <= 2; ++t) {
    const double v = range * t / 2.0;
    char txt[32];
    std::snprintf(txt, sizeof(txt), "%.3g", v);
    const float tw = ImGui::CalcTextSize(txt).x;
    const float x = std::clamp(X(v) - tw * 0.5f, p0.x, p1.x - tw);
    dl->AddLine(ImVec2(X(v), p1.y), ImVec2(X(v), p1.y + 3.0f * dpr), IM_COL32(200, 200, 210, 160));
    dl->AddText(ImVec2(x, p1.y + 3.0f * dpr), IM_COL32(180, 180, 190, 255), txt);
  }
  dl->PopClipRect();
  if (ImGui::IsItemHovered() && !dragging_)
    ImGui::SetTooltip("Drag to move the clip handles (amax %.4g); counts %s", amax_, log_scale_ ? "log scale" : "linear");
}

void HistogramsPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("tensors", static_cast<long long>(entries_.size()));
  j.Field("weightsPending", weights_pending_);
  if (selected_ < entries_.size()) {
    const Entry& e = entries_[selected_];
    j.Field("tensor", e.tensor);
    j.Field("role", e.weight ? "weight" : "activation");
    j.Field("siteBits", e.bits);
    j.Field("unsigned", e.is_unsigned);
    j.Field("calibratedAmax", static_cast<double>(e.calibrated_amax));
  } else {
    j.Key("tensor").Null();
  }
  j.Key("names").BeginArray();
  for (const Entry& e : entries_) j.Value(e.tensor);
  j.EndArray();
  j.Field("bits", bits_);
  j.Field("amax", static_cast<double>(amax_));
  j.Field("clipLo", -static_cast<double>(amax_));
  j.Field("clipHi", static_cast<double>(amax_));
  j.Field("logScale", log_scale_);
  j.Field("dragging", dragging_);
  j.Field("recomputes", recomputes_);
  j.Key("dataRange").BeginObject().Field("min", static_cast<double>(data_min_)).Field("max", static_cast<double>(data_max_)).EndObject();
  j.Key("thresholds").BeginObject();
  for (const auto& t : thresholds_) j.Field(t.first.c_str(), static_cast<double>(t.second));
  j.EndObject();
  j.Key("split");
  if (report_) {
    const quant::ErrorSplit& s = report_->split;
    j.BeginObject()
        .Field("clipping", s.clipping)
        .Field("rounding", s.rounding)
        .Field("total", s.total())
        .Field("clippedCount", static_cast<long long>(s.clipped_count))
        .Field("count", static_cast<long long>(s.count))
        .EndObject();
    j.Key("outliers").BeginArray();
    for (const workflows::OutlierSample& o : report_->outliers)
      j.BeginObject().Field("sample", static_cast<long long>(o.sample)).Field("maxAbs", static_cast<double>(o.max_abs)).EndObject();
    j.EndArray();
  } else {
    j.Null();
    j.Key("outliers").BeginArray().EndArray();
  }
  j.Key("handles");
  if (handles_visible_)
    j.BeginObject().Field("loX", static_cast<double>(handle_lo_x_)).Field("hiX", static_cast<double>(handle_hi_x_)).Field("y", static_cast<double>(handle_y_)).EndObject();
  else
    j.Null();
  j.Field("error", error_);
  j.EndObject();
}

}  // namespace qp::web
