#include "web/panels/qat_panel.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/quant/quantizer.h"
#include "core/workflows/qat.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"

namespace qp::web {
namespace {

const char* kMethods[] = {"STE (fixed ranges)", "LSQ (learned step size)", "PACT (learned clip)"};
constexpr size_t kPlotPoints = 400;  // most recent steps drawn

// The last kPlotPoints values of one field of the history.
template <typename F>
std::vector<float> Series(const std::vector<workflows::QatStepRecord>& h, F field) {
  const size_t start = h.size() > kPlotPoints ? h.size() - kPlotPoints : 0;
  std::vector<float> v;
  v.reserve(h.size() - start);
  for (size_t i = start; i < h.size(); ++i) v.push_back(static_cast<float>(field(h[i])));
  return v;
}

}  // namespace

QatPanel::QatPanel(Session* session) : session_(*session) {}

void QatPanel::Fail(FrameContext& ctx, const Status& st, const char* where) {
  last_error_ = st.ToString();
  playing_ = false;
  pending_steps_ = 0;
  if (ctx.report_error) ctx.report_error(st, where);
}

Status QatPanel::Start() {
  workflows::QatOptions o;
  o.method = static_cast<workflows::QatMethod>(method_);
  o.lr = lr_;
  o.range_lr = range_lr_;
  o.total_steps = total_steps_;
  o.batch_size = batch_;
  QP_RETURN_IF_ERROR(session_.StartQat(o));
  last_error_.clear();
  return Status::Ok();
}

void QatPanel::Tick(FrameContext& ctx, double budget_ms) {
  if (!session_.qat()) {
    playing_ = false;
    pending_steps_ = 0;
    return;
  }
  if (!playing_ && pending_steps_ == 0) return;
  const double start = NowMs();
  // One node pass (a layer's forward or backward) at a time while the budget lasts: a minibatch
  // step spans frames when it does not fit one. At least one pass per frame.
  do {
    const double t0 = NowMs();
    Result<std::optional<workflows::QatStepRecord>> r = session_.QatAdvance(1);
    const double dt = NowMs() - t0;
    step_work_ms_ += dt;
    step_worst_pass_ms_ = std::max(step_worst_pass_ms_, dt);
    if (!r.ok()) {
      step_work_ms_ = 0;
      step_worst_pass_ms_ = 0;
      return Fail(ctx, r.status(), "QAT step");
    }
    if (r->has_value()) {
      step_ms_ = step_work_ms_;
      worst_pass_ms_ = step_worst_pass_ms_;
      step_work_ms_ = 0;
      step_worst_pass_ms_ = 0;
      if (pending_steps_ > 0) --pending_steps_;
    }
    // The next pass may be the step's slowest: keep room for it.
  } while ((playing_ || pending_steps_ > 0) &&
           NowMs() - start + std::max(worst_pass_ms_, step_worst_pass_ms_) < budget_ms);
}

void QatPanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  if (!session_.quantized_model()) {
    ImGui::TextDisabled("Quantize the model first (Quantize tab: Calibrate). QAT starts from it.");
    return;
  }
  const workflows::QatTrainer* qat = session_.qat();
  auto report = [&](const Status& st, const char* where) {
    if (!st.ok()) Fail(ctx, st, where);
  };
  // Options (apply on Start / Reset).
  ImGui::SetNextItemWidth(220.0f * dpr);
  ImGui::Combo("Method", &method_, kMethods, IM_ARRAYSIZE(kMethods));
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120.0f * dpr);
  ImGui::InputFloat("lr", &lr_, 0, 0, "%.1e");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120.0f * dpr);
  ImGui::InputFloat("range lr", &range_lr_, 0, 0, "%.1e");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120.0f * dpr);
  ImGui::InputInt("schedule steps", &total_steps_, 50, 500);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100.0f * dpr);
  ImGui::InputInt("batch", &batch_, 1, 8);
  total_steps_ = std::clamp(total_steps_, 1, 1000000);
  batch_ = std::clamp(batch_, 1, 1024);
  lr_ = std::clamp(lr_, 1e-7f, 1.0f);
  range_lr_ = std::clamp(range_lr_, 1e-7f, 10.0f);

  if (!qat) {
    if (ImGui::Button("Start")) report(Start(), "start QAT");
  } else {
    if (ImGui::Button(playing_ ? "Pause" : "Play")) playing_ = !playing_;
    ImGui::SameLine();
    if (ImGui::Button("Step")) ++pending_steps_;
    ImGui::SameLine();
    if (ImGui::Button("Reset")) {
      playing_ = false;
      pending_steps_ = 0;
      report(Start(), "reset QAT");  // a new trainer from the quantized model
    }
    ImGui::SameLine();
    if (ImGui::Button("Finish")) {
      playing_ = false;
      report(session_.FinishQat(), "finish QAT");
    }
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("The trained weights and ranges become the quantized model (Quantize tab, export).");
  }
  qat = session_.qat();
  if (!last_error_.empty()) ImGui::TextColored(ImVec4(1, 0.5f, 0.4f, 1), "%s", last_error_.c_str());
  if (!qat) return;

  const auto& h = qat->history();
  ImGui::Text("state: %s  |  step %lld / %lld  |  %.1f ms per step", quant::StateName(qat->state()),
              static_cast<long long>(qat->steps()), static_cast<long long>(qat->total_steps()), step_ms_);
  if (worst_pass_ms_ > 40.0) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1, 0.75f, 0.3f, 1), "  slowest layer pass %.0f ms: a smaller batch keeps the page smooth",
                       worst_pass_ms_);
  }
  if (h.empty()) {
    ImGui::TextDisabled("No steps yet: Play or Step.");
    return;
  }
  const workflows::QatStepRecord& last = h.back();
  ImGui::Text("loss %.4f  |  minibatch accuracy %.3f  |  clipped by the STE mask %.2f%%  |  lr %.2e",
              last.loss, last.accuracy, 100.0 * last.clip_fraction, last.lr);
  const float plot_h = 90.0f * dpr;
  const float plot_w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x * 2) / 3.0f;
  const std::vector<float> loss = Series(h, [](const auto& r) { return r.loss; });
  const std::vector<float> acc = Series(h, [](const auto& r) { return r.accuracy; });
  const std::vector<float> clip = Series(h, [](const auto& r) { return r.clip_fraction; });
  ImGui::PlotLines("##loss", loss.data(), static_cast<int>(loss.size()), 0, "loss", 0.0f, FLT_MAX,
                   ImVec2(plot_w, plot_h));
  ImGui::SameLine();
  ImGui::PlotLines("##acc", acc.data(), static_cast<int>(acc.size()), 0, "accuracy", 0.0f, 1.0f,
                   ImVec2(plot_w, plot_h));
  ImGui::SameLine();
  ImGui::PlotLines("##clip", clip.data(), static_cast<int>(clip.size()), 0, "clip fraction", 0.0f,
                   FLT_MAX, ImVec2(plot_w, plot_h));

  // Per-site range trajectories.
  const std::vector<std::string>& sites = qat->site_names();
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY;
  if (ImGui::BeginTable("qatsites", 4, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Site", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableSetupColumn("Range (scale or clip)", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("Clipped", ImGuiTableColumnFlags_WidthStretch, 0.6f);
    ImGui::TableSetupColumn("Trajectory", ImGuiTableColumnFlags_WidthStretch, 2.0f);
    ImGui::TableHeadersRow();
    for (size_t i = 0; i < sites.size(); ++i) {
      if (i >= last.site_range.size()) break;
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(sites[i].c_str());
      ImGui::TableSetColumnIndex(1);
      ImGui::Text("%.5g", last.site_range[i]);
      ImGui::TableSetColumnIndex(2);
      ImGui::Text("%.2f%%", i < last.site_clip.size() ? 100.0 * last.site_clip[i] : 0.0);
      ImGui::TableSetColumnIndex(3);
      const std::vector<float> traj =
          Series(h, [i](const auto& r) { return i < r.site_range.size() ? r.site_range[i] : 0.0f; });
      // Explicit bounds: a range that barely moves would otherwise collapse the auto-scale.
      float lo = *std::min_element(traj.begin(), traj.end());
      float hi = *std::max_element(traj.begin(), traj.end());
      const float pad = std::max((hi - lo) * 0.1f, std::abs(hi) * 1e-4f + 1e-12f);
      lo -= pad;
      hi += pad;
      ImGui::PushID(static_cast<int>(i));
      ImGui::PlotLines("##traj", traj.data(), static_cast<int>(traj.size()), 0, nullptr, lo, hi,
                       ImVec2(-1, 26.0f * dpr));
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
}

void QatPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  const workflows::QatTrainer* qat = session_.qat();
  j.Field("running", qat != nullptr);
  j.Field("playing", playing_);
  j.Field("method", workflows::QatMethodName(static_cast<workflows::QatMethod>(method_)));
  j.Key("state");
  if (qat)
    j.Value(quant::StateName(qat->state()));
  else
    j.Null();
  j.Field("steps", static_cast<long long>(qat ? qat->steps() : 0));
  j.Field("historyLength", static_cast<long long>(qat ? qat->history().size() : 0));
  j.Field("stepMs", step_ms_);
  j.Field("worstPassMs", worst_pass_ms_);
  j.Field("batch", batch_);
  j.Key("last");
  if (qat && !qat->history().empty()) {
    const auto& r = qat->history().back();
    j.BeginObject();
    j.Field("loss", r.loss);
    j.Field("accuracy", r.accuracy);
    j.Field("clipFraction", r.clip_fraction);
    j.EndObject();
  } else {
    j.Null();
  }
  j.Field("error", last_error_);
  j.EndObject();
}

}  // namespace qp::web
