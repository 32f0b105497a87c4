// "Quantize a tensor" panel (see quant_explorer.h): controls, the histogram drawn with ImDrawList
// (bars, clip shading, grid of representable levels, calibrator thresholds), metrics and the
// SQNR-versus-bits curve. All sizes are CSS pixels times ctx.dpr.
#include "web/panels/quant_explorer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/data/npy.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace qp::web {
namespace {

// Sizes whose full recomputation (calibration, 7 error passes) stays near one frame on a slow
// machine; larger tensors wait for the Session's stepped jobs.
constexpr int kSizes[] = {4096, 65536, 262144};
constexpr const char* kSizeNames[] = {"4 096", "65 536", "262 144"};
constexpr int kNumSizes = 3;
constexpr int kCurveMinBits = 2;
constexpr int kCurveMaxBits = 8;
constexpr int kMetricRows = 11;  // rows of DrawMetrics' table
// Largest tensor the explorer studies (a file beyond it is refused before any allocation).
constexpr int64_t kMaxFileValues = int64_t{1} << 24;

const QuantExplorerPanel* g_current = nullptr;

// Colours (RGBA) of the calibrator threshold markers, in CalibratorKind order.
constexpr ImU32 kCalibratorColors[] = {
    IM_COL32(240, 240, 240, 230),  // max
    IM_COL32(255, 200, 60, 230),   // percentile
    IM_COL32(120, 230, 120, 230),  // mse
    IM_COL32(230, 120, 230, 230),  // entropy
};

// A combo whose frame is registered with the test hooks under `label` (BeginCombo in 1.86
// reports no label to them, and its popup replaces the last item once open).
bool TaggedCombo(const char* label, int* index, const char* const* names, int count) {
  const ImVec2 pos = ImGui::GetCursorScreenPos();
  const float w = ImGui::CalcItemWidth();
  const float h = ImGui::GetFrameHeight();
  bool changed = false;
  if (ImGui::BeginCombo(label, names[*index])) {
    for (int i = 0; i < count; ++i) {
      const bool selected = i == *index;
      if (ImGui::Selectable(names[i], selected)) {
        changed = *index != i;
        *index = i;
      }
      if (selected) ImGui::SetItemDefaultFocus();
    }
    ImGui::EndCombo();
  }
  TagRect(label, pos.x, pos.y, pos.x + w, pos.y + h);
  return changed;
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

// Axis ticks at 1, 2 or 5 times a power of ten, about `target` of them across [lo, hi].
std::vector<double> NiceTicks(double lo, double hi, int target) {
  std::vector<double> ticks;
  const double span = hi - lo;
  if (!(span > 0) || target < 1) return ticks;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.5 ? 2.0 : norm < 7.5 ? 5.0 : 10.0) * mag;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

}  // namespace

QuantExplorerPanel::QuantExplorerPanel() { g_current = this; }
QuantExplorerPanel::~QuantExplorerPanel() {
  if (g_current == this) g_current = nullptr;
}

const std::vector<float>* QuantExplorerPanel::CurrentValues() {
  return g_current != nullptr && g_current->data_ ? &g_current->data_->values : nullptr;
}

void QuantExplorerPanel::Recompute(FrameContext& ctx) {
  if (!tensor_dirty_ && !study_dirty_ && !curve_dirty_) return;
  const double start = NowMs();
  auto fail = [&](const Status& status) {
    result_.reset();
    curve_.clear();
    error_ = status.ToString();
    if (ctx.report_error != nullptr) ctx.report_error(status, "quantize a tensor");
  };
  if (tensor_dirty_) {
    tensor_dirty_ = false;
    study_dirty_ = curve_dirty_ = true;
    Result<StudyData> d =
        PrepareStudy(use_file_ ? file_values_
                               : MakeDemoTensor(distribution_, static_cast<uint32_t>(seed_),
                                                kSizes[size_index_]));
    if (!d.ok()) {
      data_.reset();
      fail(d.status());
      return;
    }
    data_ = std::move(d).value();
  }
  if (!data_) return;
  if (study_dirty_) {
    study_dirty_ = false;
    Result<StudyResult> r = RunStudy(*data_, config_);
    if (!r.ok()) {
      fail(r.status());
      return;
    }
    result_ = std::move(r).value();
    error_.clear();
  }
  if (curve_dirty_) {
    curve_dirty_ = false;
    Result<std::vector<double>> c = SqnrByBits(*data_, config_, kCurveMinBits, kCurveMaxBits);
    if (!c.ok()) {
      fail(c.status());
      return;
    }
    curve_ = std::move(c).value();
  }
  recompute_ms_ = NowMs() - start;
  ++recomputes_;
}

void QuantExplorerPanel::Draw(FrameContext& ctx) {
  DrawControls(ctx);
  Recompute(ctx);
  const float dpr = ctx.dpr;
  if (!result_) {
    ImGui::Spacing();
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.6f, 0.5f, 1.0f));
    ImGui::TextWrapped("Cannot quantize with these settings: %s", error_.c_str());
    ImGui::PopStyleColor();
    ImGui::TextWrapped("Pick another calibrator or bit width; nothing else is affected.");
    return;
  }
  // The metrics table sets the lower part's height (kMetricRows rows); the histogram and the
  // line under it take the rest, so nothing scrolls at ordinary window sizes.
  const ImGuiStyle& style = ImGui::GetStyle();
  const float row_h = ImGui::GetTextLineHeight() + 2.0f * style.CellPadding.y;
  const float lower_h =
      kMetricRows * row_h + ImGui::GetTextLineHeightWithSpacing() + 3.0f * style.ItemSpacing.y;
  const float avail_h = ImGui::GetContentRegionAvail().y;
  DrawHistogram(ctx, std::max(160.0f * dpr, avail_h - lower_h));

  if (ImGui::BeginTable("lower", 2, ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("metrics", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("curve", ImGuiTableColumnFlags_WidthStretch, 1.2f);
    ImGui::TableNextRow();
    ImGui::TableSetColumnIndex(0);
    DrawMetrics(ctx);
    ImGui::TableSetColumnIndex(1);
    DrawSqnrCurve(ctx, std::max(120.0f * dpr, ImGui::GetContentRegionAvail().y - 4.0f * dpr));
    ImGui::EndTable();
  }
}

void QuantExplorerPanel::DrawControls(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  const int num_demo = static_cast<int>(DemoDistribution::kCount);
  const char* dist_names[static_cast<int>(DemoDistribution::kCount) + 1];
  for (int i = 0; i < num_demo; ++i) {
    dist_names[i] = DemoDistributionName(static_cast<DemoDistribution>(i));
  }
  dist_names[num_demo] = file_label_.c_str();
  int dist = use_file_ ? num_demo : static_cast<int>(distribution_);
  ImGui::SetNextItemWidth(260.0f * dpr);
  if (TaggedCombo("Distribution", &dist, dist_names,
                  file_values_.empty() ? num_demo : num_demo + 1)) {
    use_file_ = dist == num_demo;
    if (!use_file_) distribution_ = static_cast<DemoDistribution>(dist);
    tensor_dirty_ = true;
  }
  ImGui::SameLine(0, 20.0f * dpr);
  ImGui::SetNextItemWidth(110.0f * dpr);
  if (ImGui::InputInt("Seed", &seed_)) {
    seed_ = std::max(seed_, 0);
    tensor_dirty_ = true;
  }
  TagLastItem("Seed");  // InputInt's text field reports an empty label; tag the whole group
  ImGui::SameLine(0, 20.0f * dpr);
  ImGui::SetNextItemWidth(120.0f * dpr);
  if (TaggedCombo("Values", &size_index_, kSizeNames, kNumSizes)) tensor_dirty_ = true;
  ImGui::SameLine(0, 20.0f * dpr);
  if (ImGui::Button("Open .npy...")) OpenFilePicker(".npy");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Or drop a .npy file anywhere on the page.");

  ImGui::SetNextItemWidth(260.0f * dpr);
  if (ImGui::SliderInt("Bits", &config_.bits, 2, 8)) study_dirty_ = true;
  ImGui::SameLine(0, 20.0f * dpr);
  static const char* calib_names[] = {"max", "percentile", "mse", "entropy", "manual"};
  int calib = static_cast<int>(config_.calibrator);
  ImGui::SetNextItemWidth(140.0f * dpr);
  if (TaggedCombo("Calibrator", &calib, calib_names, 5)) {
    // "manual" starts from the clip value in use.
    if (calib == static_cast<int>(CalibratorKind::kManual) && result_) {
      config_.manual_amax = std::max(std::fabs(result_->clip_lo), std::fabs(result_->clip_hi));
    }
    config_.calibrator = static_cast<CalibratorKind>(calib);
    study_dirty_ = curve_dirty_ = true;
  }
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Or drag on the histogram to set the clip value.");
  ImGui::SameLine(0, 20.0f * dpr);
  if (ImGui::RadioButton("Symmetric", config_.symmetric)) {
    study_dirty_ |= !config_.symmetric;
    curve_dirty_ |= !config_.symmetric;
    config_.symmetric = true;
  }
  ImGui::SameLine();
  if (ImGui::RadioButton("Affine", !config_.symmetric)) {
    study_dirty_ |= config_.symmetric;
    curve_dirty_ |= config_.symmetric;
    config_.symmetric = false;
  }
  ImGui::SameLine(0, 20.0f * dpr);
  ImGui::Checkbox("Log scale", &log_scale_);
  if (config_.calibrator == CalibratorKind::kPercentile) {
    ImGui::SetNextItemWidth(260.0f * dpr);
    float pct = static_cast<float>(config_.percentile);
    if (ImGui::SliderFloat("Percentile", &pct, 99.0f, 100.0f, "%.3f")) {
      config_.percentile = pct;
      study_dirty_ = curve_dirty_ = true;
    }
  }
  ImGui::Spacing();
}

void QuantExplorerPanel::DrawHistogram(FrameContext& ctx, float height) {
  const StudyResult& r = *result_;
  const float dpr = ctx.dpr;
  const ImVec2 size(ImGui::GetContentRegionAvail().x, height);
  ImGui::InvisibleButton("histogram", size);
  TagLastItem("histogram");
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 a = ImGui::GetItemRectMin();
  const ImVec2 b = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, b, IM_COL32(24, 26, 32, 255), 3.0f * dpr);
  dl->PushClipRect(a, b, true);

  const float font_h = ImGui::GetFontSize();
  const float pad = 10.0f * dpr;
  const ImVec2 p0(a.x + pad, a.y + pad + 1.6f * font_h);        // room for the legend
  const ImVec2 p1(b.x - pad, b.y - pad - font_h - 4.0f * dpr);  // room for the x ticks
  const float w = p1.x - p0.x;
  const double lo = r.hist.lo, hi = r.hist.hi;
  auto X = [&](double v) { return static_cast<float>(p0.x + (v - lo) / (hi - lo) * w); };

  // Dragging on the plot sets a manual clip value |x| (the error and grid follow live; the
  // per-bit curve is recomputed on release).
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f * dpr)) {
    const double v = lo + (ImGui::GetIO().MousePos.x - p0.x) / w * (hi - lo);
    const float amax = std::max(static_cast<float>(std::fabs(v)), 1e-6f);
    if (config_.calibrator != CalibratorKind::kManual || amax != config_.manual_amax) {
      config_.calibrator = CalibratorKind::kManual;
      config_.manual_amax = amax;
      study_dirty_ = true;
      dragging_clip_ = true;
    }
  }
  if (dragging_clip_ && ImGui::IsItemDeactivated()) {
    dragging_clip_ = false;
    curve_dirty_ = true;
  }

  // Clipped regions.
  const ImU32 clip_fill = IM_COL32(200, 70, 60, 45);
  if (r.clip_lo > lo) dl->AddRectFilled(ImVec2(p0.x, p0.y), ImVec2(X(r.clip_lo), p1.y), clip_fill);
  if (r.clip_hi < hi) dl->AddRectFilled(ImVec2(X(r.clip_hi), p0.y), ImVec2(p1.x, p1.y), clip_fill);

  // Grid of representable levels; when they are closer than 4 CSS px, every k-th is drawn.
  const double step_px = r.params.scale / (hi - lo) * w;
  const int levels = r.params.qmax - r.params.qmin + 1;
  const int stride =
      step_px > 0 ? std::max(1, static_cast<int>(std::ceil(4.0 * dpr / step_px))) : levels;
  // Sparse grids (few bits) are the point of the picture: draw them brighter.
  const ImU32 grid_col =
      step_px * stride > 12.0 * dpr ? IM_COL32(170, 180, 210, 120) : IM_COL32(150, 160, 190, 55);
  for (int q = r.params.qmin; q <= r.params.qmax; q += stride) {
    const float x = X(quant::DequantizeValue(q, r.params));
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), grid_col, 1.0f * dpr);
  }

  // Bars.
  int64_t max_count = 1;
  for (int64_t c : r.hist.counts) max_count = std::max(max_count, c);
  const int bins = r.hist.num_bins();
  const double denom =
      log_scale_ ? std::log1p(static_cast<double>(max_count)) : static_cast<double>(max_count);
  int hovered_bin = -1;
  for (int i = 0; i < bins; ++i) {
    const int64_t c = r.hist.counts[static_cast<size_t>(i)];
    const float x0 = p0.x + w * i / bins;
    const float x1 = p0.x + w * (i + 1) / bins;
    if (hovered && ImGui::GetIO().MousePos.x >= x0 && ImGui::GetIO().MousePos.x < x1)
      hovered_bin = i;
    if (c == 0) continue;
    const double f =
        (log_scale_ ? std::log1p(static_cast<double>(c)) : static_cast<double>(c)) / denom;
    const float y = p1.y - static_cast<float>(f) * (p1.y - p0.y);
    const double centre = lo + (i + 0.5) * (hi - lo) / bins;
    const bool clipped = centre < r.clip_lo || centre > r.clip_hi;
    const ImU32 col = clipped ? IM_COL32(240, 110, 90, 255) : IM_COL32(90, 160, 250, 255);
    dl->AddRectFilled(ImVec2(x0, y), ImVec2(std::max(x0 + 1.0f, x1 - 1.0f), p1.y), col);
  }
  dl->AddLine(ImVec2(p0.x, p1.y), ImVec2(p1.x, p1.y), IM_COL32(200, 200, 210, 160), 1.0f * dpr);
  if (lo < 0 && hi > 0) {
    dl->AddLine(ImVec2(X(0), p0.y), ImVec2(X(0), p1.y), IM_COL32(200, 200, 210, 90), 1.0f * dpr);
  }

  // Calibrator thresholds: dashed lines at +-amax (the chosen one thicker), and a legend with
  // each calibrator's amax in the top-left corner (labels at the lines collide when close).
  float legend_x = p0.x;
  const float legend_y = a.y + pad * 0.6f;
  for (int k = 0; k < kNumCalibrators; ++k) {
    const size_t ki = static_cast<size_t>(k);
    const bool chosen = k == static_cast<int>(config_.calibrator);
    char text[64];
    if (r.threshold_ok[ki]) {
      const float amax = r.thresholds[ki];
      const float thick = (chosen ? 2.5f : 1.2f) * dpr;
      for (int sign = -1; sign <= 1; sign += 2) {
        if (sign < 0 && data_->data_min >= 0) continue;  // one-sided data: no negative threshold
        const double v = sign * static_cast<double>(amax);
        if (v < lo || v > hi) continue;
        const float x = X(v);
        for (float y = p0.y; y < p1.y; y += 8.0f * dpr) {
          dl->AddLine(ImVec2(x, y), ImVec2(x, std::min(p1.y, y + 5.0f * dpr)), kCalibratorColors[k],
                      thick);
        }
      }
      std::snprintf(text, sizeof(text), "%s %.4g", CalibratorName(static_cast<CalibratorKind>(k)),
                    amax);
    } else {
      std::snprintf(text, sizeof(text), "%s n/a", CalibratorName(static_cast<CalibratorKind>(k)));
    }
    const float sw = 14.0f * dpr;
    const float cy = legend_y + font_h * 0.5f;
    dl->AddLine(ImVec2(legend_x, cy), ImVec2(legend_x + sw, cy), kCalibratorColors[k],
                (chosen ? 3.0f : 1.5f) * dpr);
    dl->AddText(ImVec2(legend_x + sw + 4.0f * dpr, legend_y), kCalibratorColors[k], text);
    if (chosen) {
      const float tw = ImGui::CalcTextSize(text).x;
      dl->AddLine(ImVec2(legend_x + sw + 4.0f * dpr, legend_y + font_h + 1.0f * dpr),
                  ImVec2(legend_x + sw + 4.0f * dpr + tw, legend_y + font_h + 1.0f * dpr),
                  kCalibratorColors[k], 1.0f * dpr);
    }
    legend_x += sw + 4.0f * dpr + ImGui::CalcTextSize(text).x + 18.0f * dpr;
  }
  {
    const char* note = "red: clipped (outside the representable range)";
    dl->AddText(ImVec2(std::max(legend_x, p1.x - ImGui::CalcTextSize(note).x), legend_y),
                IM_COL32(240, 130, 110, 255), note);
  }

  if (config_.calibrator == CalibratorKind::kManual) {
    const ImU32 col = IM_COL32(90, 230, 230, 255);
    for (int sign = -1; sign <= 1; sign += 2) {
      if (sign < 0 && data_->data_min >= 0) continue;
      const double v = sign * static_cast<double>(config_.manual_amax);
      if (v < lo || v > hi) continue;
      const float x = X(v);
      dl->AddLine(ImVec2(x, p0.y), ImVec2(x, p1.y), col, 2.0f * dpr);
      dl->AddTriangleFilled(ImVec2(x - 6.0f * dpr, p0.y), ImVec2(x + 6.0f * dpr, p0.y),
                            ImVec2(x, p0.y + 9.0f * dpr), col);
    }
  }

  // X axis ticks at round values.
  for (double v : NiceTicks(lo, hi, std::max(2, static_cast<int>(w / (90.0f * dpr))))) {
    const std::string t = FormatValue(v);
    const float tw = ImGui::CalcTextSize(t.c_str()).x;
    const float x = std::clamp(X(v) - tw * 0.5f, p0.x, p1.x - tw);
    dl->AddLine(ImVec2(X(v), p1.y), ImVec2(X(v), p1.y + 3.0f * dpr), IM_COL32(200, 200, 210, 160));
    dl->AddText(ImVec2(x, p1.y + 3.0f * dpr), IM_COL32(180, 180, 190, 255), t.c_str());
  }
  dl->PopClipRect();

  if (hovered_bin >= 0) {
    const double b0 = lo + hovered_bin * (hi - lo) / bins;
    const double b1 = lo + (hovered_bin + 1) * (hi - lo) / bins;
    ImGui::BeginTooltip();
    ImGui::Text("[%.4g, %.4g): %lld values", b0, b1,
                static_cast<long long>(r.hist.counts[static_cast<size_t>(hovered_bin)]));
    ImGui::Text("grid step %.4g, %d levels, clip [%.4g, %.4g]", r.params.scale, levels, r.clip_lo,
                r.clip_hi);
    ImGui::EndTooltip();
  }
  if (stride > 1) {
    ImGui::TextDisabled("Grid: 1 in %d of the %d levels drawn (step %.3g).", stride, levels,
                        r.params.scale);
  } else {
    ImGui::TextDisabled("Grid: all %d levels drawn (step %.3g).", levels, r.params.scale);
  }
}

void QuantExplorerPanel::DrawMetrics(FrameContext& ctx) {
  const StudyResult& r = *result_;
  if (!ImGui::BeginTable("metrics", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV))
    return;
  ImGui::TableSetupColumn("quantity", ImGuiTableColumnFlags_WidthStretch, 1.3f);
  ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch, 1.0f);
  auto row = [](const char* name, const char* fmt, auto... args) {
    ImGui::TableNextRow();
    ImGui::TableSetColumnIndex(0);
    ImGui::TextUnformatted(name);
    ImGui::TableSetColumnIndex(1);
    ImGui::Text(fmt, args...);
  };
  const std::string spec = quant::SpecToString(r.spec);
  row("Format", "%s", spec.c_str());
  row("Scale (step) / zero point", "%.5g / %d", r.params.scale, r.params.zero_point);
  row("Representable range", "[%.4g, %.4g]", r.clip_lo, r.clip_hi);
  row("SQNR", "%.2f dB", r.sqnr_db);
  row("MSE", "%.4g", r.error.total());
  row("  from clipping", "%.4g (%.1f%%)", r.error.clipping,
      r.error.total() > 0 ? 100.0 * r.error.clipping / r.error.total() : 0.0);
  row("  from rounding", "%.4g (%.1f%%)", r.error.rounding,
      r.error.total() > 0 ? 100.0 * r.error.rounding / r.error.total() : 0.0);
  // The split as a bar: clipping (red) against rounding (blue), the trade-off calibrators make.
  ImGui::TableNextRow();
  ImGui::TableSetColumnIndex(0);
  ImGui::TextUnformatted("  clipping | rounding");
  ImGui::TableSetColumnIndex(1);
  {
    const float dpr = ctx.dpr;
    const ImVec2 a = ImGui::GetCursorScreenPos();
    const float w = ImGui::GetContentRegionAvail().x - 4.0f * dpr;
    const float h = ImGui::GetTextLineHeight();
    const double total = r.error.total();
    const float clip_w = total > 0 ? static_cast<float>(w * r.error.clipping / total) : 0.0f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(a, ImVec2(a.x + w, a.y + h), IM_COL32(90, 160, 250, 255));
    if (clip_w > 0)
      dl->AddRectFilled(a, ImVec2(a.x + clip_w, a.y + h), IM_COL32(240, 110, 90, 255));
    ImGui::Dummy(ImVec2(w, h));
  }
  row("Max |error|", "%.4g", r.max_abs_error);
  row("Clipped values", "%.4f%% (%lld)", 100.0 * r.clipped_fraction,
      static_cast<long long>(r.error.clipped_count));
  row("Data range", "[%.4g, %.4g]", data_->data_min, data_->data_max);
  ImGui::EndTable();
}

void QuantExplorerPanel::DrawSqnrCurve(FrameContext& ctx, float height) {
  const float dpr = ctx.dpr;
  ImGui::TextUnformatted("SQNR (dB) by bit width, same calibrator and scheme");
  const ImVec2 size(ImGui::GetContentRegionAvail().x,
                    std::max(80.0f * dpr, height - ImGui::GetTextLineHeightWithSpacing()));
  ImGui::InvisibleButton("sqnr curve", size);
  TagLastItem("sqnr curve");
  const ImVec2 a = ImGui::GetItemRectMin();
  const ImVec2 b = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, b, IM_COL32(24, 26, 32, 255), 3.0f * dpr);
  const int n = static_cast<int>(curve_.size());
  if (n == 0) return;
  double top = 1.0;
  for (double s : curve_) {
    if (std::isfinite(s)) top = std::max(top, s);
  }
  top *= 1.15;
  const float font_h = ImGui::GetFontSize();
  const float base_y = b.y - font_h - 6.0f * dpr;
  const float top_y = a.y + font_h + 6.0f * dpr;
  const float slot = (b.x - a.x) / n;
  for (int i = 0; i < n; ++i) {
    const int bits = kCurveMinBits + i;
    const double s = curve_[static_cast<size_t>(i)];
    const double f = std::isfinite(s) ? std::max(0.0, s) / top : 1.0;
    const float x0 = a.x + slot * i + slot * 0.2f;
    const float x1 = a.x + slot * (i + 1) - slot * 0.2f;
    const float y = base_y - static_cast<float>(f) * (base_y - top_y);
    const bool current = bits == config_.bits;
    dl->AddRectFilled(ImVec2(x0, y), ImVec2(x1, base_y),
                      current ? IM_COL32(90, 160, 250, 255) : IM_COL32(90, 110, 150, 255));
    char label[32];
    std::snprintf(label, sizeof(label), std::isfinite(s) ? "%.1f" : "exact", s);
    const float tw = ImGui::CalcTextSize(label).x;
    dl->AddText(ImVec2((x0 + x1 - tw) * 0.5f, y - font_h - 2.0f * dpr),
                IM_COL32(220, 220, 230, 255), label);
    std::snprintf(label, sizeof(label), "%d", bits);
    const float bw = ImGui::CalcTextSize(label).x;
    dl->AddText(ImVec2((x0 + x1 - bw) * 0.5f, base_y + 3.0f * dpr), IM_COL32(180, 180, 190, 255),
                label);
  }
}

bool QuantExplorerPanel::AcceptsFile(const std::string& name) const {
  const size_t n = name.size();
  if (n < 4) return false;
  std::string ext = name.substr(n - 4);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != ".npy") return false;
  // Labelled data ("images" / "labels" in the name) is the Data panel's.
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("image") == std::string::npos && lower.find("label") == std::string::npos;
}

Status QuantExplorerPanel::LoadFile(const std::string& name, const std::string& bytes) {
  QP_ASSIGN_OR_RETURN(Tensor t, data::ParseNpy(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               bytes.size(), name, kMaxFileValues));
  if (t.numel() == 0) return InvalidArgument("file '", name, "': the tensor has no values");
  std::vector<float> values = t.ToFloatVector();
  // Validate (finite values) before replacing anything: a bad file leaves the panel as it was.
  QP_ASSIGN_OR_RETURN(StudyData probe, PrepareStudy(values));
  (void)probe;
  file_values_ = std::move(values);
  file_label_ = "File: " + name + " " + ShapeToString(t.shape());
  use_file_ = true;
  tensor_dirty_ = true;
  return Status::Ok();
}

void QuantExplorerPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("distribution", use_file_ ? file_label_.c_str() : DemoDistributionName(distribution_));
  j.Field("source", use_file_ ? "file" : "demo");
  j.Field("seed", seed_);
  j.Field("numel", data_ ? static_cast<int>(data_->values.size()) : 0);
  j.Field("bits", config_.bits);
  j.Field("calibrator", CalibratorName(config_.calibrator));
  j.Field("scheme", config_.symmetric ? "symmetric" : "affine");
  j.Field("percentile", config_.percentile);
  j.Field("manualAmax", static_cast<double>(config_.manual_amax));
  j.Field("logScale", log_scale_);
  j.Field("recomputeMs", recompute_ms_);
  j.Field("recomputes", recomputes_);
  if (!error_.empty())
    j.Field("error", error_);
  else
    j.Key("error").Null();
  if (result_) {
    const StudyResult& r = *result_;
    j.Key("data")
        .BeginObject()
        .Field("min", static_cast<double>(data_->data_min))
        .Field("max", static_cast<double>(data_->data_max))
        .Field("meanSquare", data_->mean_square)
        .EndObject();
    j.Key("qparams")
        .BeginObject()
        .Field("scale", static_cast<double>(r.params.scale))
        .Field("zeroPoint", r.params.zero_point)
        .Field("qmin", r.params.qmin)
        .Field("qmax", r.params.qmax)
        .Field("signed", r.spec.is_signed)
        .Field("clipLo", static_cast<double>(r.clip_lo))
        .Field("clipHi", static_cast<double>(r.clip_hi))
        .EndObject();
    j.Key("thresholds").BeginObject();
    for (int k = 0; k < kNumCalibrators; ++k) {
      j.Key(CalibratorName(static_cast<CalibratorKind>(k)));
      if (r.threshold_ok[static_cast<size_t>(k)]) {
        j.Value(static_cast<double>(r.thresholds[static_cast<size_t>(k)]));
      } else {
        j.Null();
      }
    }
    j.EndObject();
    j.Key("metrics")
        .BeginObject()
        .Field("mse", r.error.total())
        .Field("clipMse", r.error.clipping)
        .Field("roundMse", r.error.rounding)
        .Field("sqnrDb", r.sqnr_db)
        .Field("maxAbsErr", r.max_abs_error)
        .Field("clippedFraction", r.clipped_fraction)
        .Field("clippedCount", static_cast<long long>(r.error.clipped_count))
        .EndObject();
    j.Key("sqnrByBits").BeginArray();
    for (double s : curve_) j.Value(s);
    j.EndArray();
    j.Key("histogram")
        .BeginObject()
        .Field("lo", r.hist.lo)
        .Field("hi", r.hist.hi)
        .Key("counts")
        .BeginArray();
    for (int64_t c : r.hist.counts) j.Value(static_cast<long long>(c));
    j.EndArray().EndObject();
  } else {
    j.Key("metrics").Null();
  }
  j.EndObject();
}

}  // namespace qp::web
