#include "web/panels/benchmark_panel.h"

#include <algorithm>
#include <cstdio>

#include "core/workflows/qdq_export.h"
#include "imgui.h"
#include "web/json_writer.h"
#include "web/platform_web.h"

namespace qp::web {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// "conv node 'c1' (Conv)" -> "c1"; "" for steps that name no node (quantize x, dequantize y, ...).
std::string StepNode(const std::string& what) {
  const size_t a = what.find("node '");
  if (a == std::string::npos) return "";
  const size_t b = what.find('\'', a + 6);
  return b == std::string::npos ? "" : what.substr(a + 6, b - a - 6);
}

bool AllEightBit(const workflows::QuantPlan& plan) {
  for (const workflows::QuantSite& s : plan.sites)
    if (s.spec.bits != 8) return false;
  return true;
}

constexpr const char* kBoundary = "(float <-> int8 boundaries)";
const ImU32 kFp32Col = IM_COL32(90, 140, 230, 255);
const ImU32 kInt8Col = IM_COL32(230, 150, 60, 255);

}  // namespace

BenchmarkPanel::BenchmarkPanel(Session* session) : session_(*session) {}

std::string BenchmarkPanel::Int8Reason() const {
  const workflows::QuantizedModel* qm = session_.quantized_model();
  if (qm) {
    if (AllEightBit(qm->plan)) return "";
    return "the quantized model has sites below 8 bits (int8 kernels need every site at 8 bits); "
           "quantize with an 8-bit preset in the Quantize tab";
  }
  return "no quantized model: calibrate in the Quantize tab (or load a QDQ model) to time the int8 kernels";
}

size_t BenchmarkPanel::RowFor(const std::string& layer, const std::string& op) {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].layer == layer) return i;
  Row r;
  r.layer = layer;
  r.op = op;
  rows_.push_back(std::move(r));
  return rows_.size() - 1;
}

Status BenchmarkPanel::Start() {
  if (!session_.has_model()) return FailedPrecondition("benchmark: no model is loaded");
  const Graph& g = session_.graph();
  if (g.inputs.empty() || g.inputs[0].dtype != DType::kFloat32)
    return InvalidArgument("benchmark: the model's first input must be float32");
  // The input: the first `batch` test images (zeros of the input shape without test data).
  const data::Dataset* test = session_.dataset(DataRole::kTest);
  if (test && test->size() > 0) {
    QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(*test, 0, std::min<int64_t>(batch_, test->size())));
    QP_ASSIGN_OR_RETURN(input_, workflows::AdaptInput(g, part.images));
  } else {
    const ValueInfo& in = g.inputs[0];
    if (!in.has_shape) return InvalidArgument("benchmark: input '", in.name, "' has no known shape and no test data is loaded");
    Shape s = in.shape;
    s[0] = batch_;
    for (size_t i = 1; i < s.size(); ++i)
      if (s[i] < 0) return InvalidArgument("benchmark: input '", in.name, "' has an unknown dim ", i, " and no test data is loaded");
    input_ = Tensor(DType::kFloat32, s);
  }
  QP_ASSIGN_OR_RETURN(Executor e, Executor::Create(g));
  fp32_ = std::make_unique<Executor>(std::move(e));
  // int8: the session's quantized model lowered once, or the loaded model when it is QDQ.
  int8_owned_.reset();
  int8_ = nullptr;
  int8_note_.clear();
  const workflows::QuantizedModel* qm = session_.quantized_model();
  const int8::Backend backend = int8::AvailableBackends().back();
  if (qm && AllEightBit(qm->plan)) {
    QP_ASSIGN_OR_RETURN(Graph qdq, workflows::BuildQdqGraph(*qm, workflows::QdqLayout::kOrt));
    int8::Int8Options o;
    o.backend = backend;
    QP_ASSIGN_OR_RETURN(int8::Int8Executor x, int8::Int8Executor::Create(std::move(qdq), o));
    int8_owned_ = std::make_unique<int8::Int8Executor>(std::move(x));
    int8_ = int8_owned_.get();
    int8_source_ = "quantized model (ORT-layout QDQ)";
  } else if (!qm) {
    RunOptions ro;
    ro.backend = backend;
    Result<const int8::Int8Executor*> plan = session_.Int8Plan(ro);
    if (plan.ok() && (*plan)->int8_kernel_steps() > 0) {
      int8_ = *plan;
      int8_source_ = "loaded QDQ model";
    }
  }
  if (!int8_) int8_note_ = Int8Reason();
  rows_.clear();
  fp32_total_.clear();
  int8_total_.clear();
  fp32_ms_ = 0;
  int8_ms_ = -1;
  // Rows in fp32 execution order; the profiles fill them.
  phase_ = 0;
  done_in_phase_ = 0;
  batch_used_ = static_cast<int>(input_.dim(0));
  runs_used_ = runs_;
  last_run_ms_ = 0;
  running_ = true;
  error_.clear();
  return Status::Ok();
}

Status BenchmarkPanel::RunOnce() {
  const bool timed = phase_ == 1 || phase_ == 3;
  const double t0 = NowMs();
  if (phase_ < 2) {
    std::vector<NodeTime> times;
    QP_RETURN_IF_ERROR(fp32_->RunProfiled({input_}, timed ? &times : nullptr).status().WithContext("fp32 run"));
    const double ms = NowMs() - t0;
    if (timed) {
      fp32_total_.push_back(ms);
      for (const NodeTime& t : times) {
        const size_t r = RowFor(t.node, t.op);
        if (rows_[r].fp32_us.size() < fp32_total_.size()) rows_[r].fp32_us.push_back(0);
        rows_[r].fp32_us.back() += t.us;
      }
    }
    last_run_ms_ = ms;
  } else {
    std::vector<double> us;
    std::vector<std::string> names;
    QP_RETURN_IF_ERROR(int8_->RunProfiled({input_}, timed ? &us : nullptr, timed ? &names : nullptr)
                           .status()
                           .WithContext("int8 run"));
    const double ms = NowMs() - t0;
    if (timed) {
      int8_total_.push_back(ms);
      for (size_t i = 0; i < us.size(); ++i) {
        // Steps of a node of the float model go to its row; the rest (quantize / dequantize at the
        // float boundaries, the QDQ graph's own Q/DQ nodes) to the boundary row.
        std::string node = StepNode(names[i]);
        bool known = false;
        for (const Row& row : rows_) known = known || (row.layer == node && !row.fp32_us.empty());
        const size_t r = RowFor(known ? node : kBoundary, "Q / DQ");
        if (rows_[r].int8_us.size() < int8_total_.size()) rows_[r].int8_us.push_back(0);
        rows_[r].int8_us.back() += us[i];
        if (int8_total_.size() == 1) ++rows_[r].int8_steps;
      }
    }
    last_run_ms_ = ms;
  }
  ++done_in_phase_;
  const int need = phase_ % 2 == 0 ? warmup_ : runs_used_;
  if (done_in_phase_ >= need) {
    done_in_phase_ = 0;
    ++phase_;
    if (phase_ == 2 && !int8_) phase_ = 4;
  }
  if (phase_ >= 4) Finish();
  return Status::Ok();
}

void BenchmarkPanel::Finish() {
  running_ = false;
  fp32_ms_ = Median(fp32_total_);
  int8_ms_ = int8_total_.empty() ? -1 : Median(int8_total_);
  for (Row& r : rows_) {
    r.fp32_ms = Median(r.fp32_us) / 1000.0;
    r.int8_ms = r.int8_us.empty() ? -1 : Median(r.int8_us) / 1000.0;
  }
  // The boundary row last.
  std::stable_partition(rows_.begin(), rows_.end(), [](const Row& r) { return r.layer != kBoundary; });
}

void BenchmarkPanel::Tick(FrameContext& ctx, double budget_ms) {
  if (generation_ != session_.model_generation()) {
    generation_ = session_.model_generation();
    running_ = false;
    rows_.clear();
    fp32_.reset();
    int8_owned_.reset();
    int8_ = nullptr;
    fp32_ms_ = 0;
    int8_ms_ = -1;
  }
  if (!running_) return;
  const double start = NowMs();
  // At least one run per frame; more while another of the same length still fits the budget.
  do {
    const Status st = RunOnce();
    if (!st.ok()) {
      running_ = false;
      error_ = st.ToString();
      if (ctx.report_error) ctx.report_error(st, "benchmark");
      return;
    }
  } while (running_ && NowMs() - start + last_run_ms_ < budget_ms);
}

void BenchmarkPanel::Draw(FrameContext& ctx) {
  const float dpr = ctx.dpr;
  if (!session_.has_model()) {
    ImGui::TextDisabled("Load a model first (Model tab).");
    return;
  }
  ImGui::TextWrapped("Latency of %s in this browser: the fp32 reference executor against the int8 kernels (%s "
                     "backend), one batch of test images, warm-up runs then timed runs (medians), one run "
                     "per frame.",
                     session_.model_name().c_str(), kernels::IsaName(int8::AvailableBackends().back()));
  ImGui::SetNextItemWidth(120.0f * dpr);
  // One run per frame: fp32 batch 8 of the demo CNN takes 20-25 ms in Chromium on the 2-core test
  // VM (the app's 25 ms work budget); larger batches hold their frames longer.
  ImGui::SliderInt("batch", &batch_, 1, 16);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120.0f * dpr);
  ImGui::SliderInt("timed runs", &runs_, 3, 100);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(90.0f * dpr);
  ImGui::SliderInt("warm-up", &warmup_, 0, 10);
  ImGui::SameLine(0, 20.0f * dpr);
  if (running_) {
    if (ImGui::Button("Stop")) running_ = false;
  } else if (ImGui::Button("Run benchmark")) {
    const Status st = Start();
    if (!st.ok()) {
      error_ = st.ToString();
      if (ctx.report_error) ctx.report_error(st, "benchmark");
    }
  }
  const std::string reason = running_ || !rows_.empty() ? int8_note_ : Int8Reason();
  if (!reason.empty()) ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1.0f), "int8: %s", reason.c_str());
  if (running_) {
    const int total = 2 * (warmup_ + runs_used_);
    const int done = (phase_ / 2) * (warmup_ + runs_used_) + (phase_ % 2 ? warmup_ : 0) + done_in_phase_;
    const float frac = int8_ ? static_cast<float>(done) / total : std::min(1.0f, 2.0f * done / total);
    char label[96];
    std::snprintf(label, sizeof(label), "%s %s %d", phase_ < 2 ? "fp32" : "int8", phase_ % 2 ? "run" : "warm-up",
                  done_in_phase_ + 1);
    ImGui::ProgressBar(frac, ImVec2(-1, 0), label);
  }
  if (!error_.empty()) ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "%s", error_.c_str());
  if (running_ || rows_.empty()) return;

  ImGui::Separator();
  ImGui::Text("Batch %d, median of %d runs:  fp32 %.3f ms", batch_used_, runs_used_, fp32_ms_);
  if (int8_ms_ >= 0) {
    ImGui::SameLine();
    ImGui::Text("  int8 %.3f ms  (%s)", int8_ms_, int8_source_.c_str());
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(0.45f, 0.85f, 0.45f, 1.0f), "  speedup %.2fx", fp32_ms_ / int8_ms_);
  }
  if (int8_ms_ >= 0)
    ImGui::TextDisabled("Per image: fp32 %.3f ms, int8 %.3f ms", fp32_ms_ / batch_used_, int8_ms_ / batch_used_);
  else
    ImGui::TextDisabled("Per image: fp32 %.3f ms (int8 not run)", fp32_ms_ / batch_used_);
  double fp_sum = 0, i8_sum = 0;
  for (const Row& r : rows_) {
    if (!r.fp32_us.empty()) fp_sum += r.fp32_ms;
    if (r.int8_ms >= 0) i8_sum += r.int8_ms;
  }
  ImGui::SameLine();
  ImGui::TextDisabled("  |  sum of the layer medians: fp32 %.3f ms%s", fp_sum, int8_ms_ >= 0 ? "," : "");
  if (int8_ms_ >= 0) {
    ImGui::SameLine();
    ImGui::TextDisabled("int8 %.3f ms (the rest: run set-up, input checks, output copies)", i8_sum);
  }
  double max_ms = 1e-9;
  for (const Row& r : rows_) max_ms = std::max({max_ms, r.fp32_ms, r.int8_ms});
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  if (ImGui::BeginTable("bench rows", 6, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Layer", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableSetupColumn("Op", ImGuiTableColumnFlags_WidthStretch, 0.9f);
    ImGui::TableSetupColumn("fp32 ms", ImGuiTableColumnFlags_WidthStretch, 0.7f);
    ImGui::TableSetupColumn("int8 ms", ImGuiTableColumnFlags_WidthStretch, 0.7f);
    ImGui::TableSetupColumn("Speedup", ImGuiTableColumnFlags_WidthStretch, 0.6f);
    ImGui::TableSetupColumn("fp32 (blue) / int8 (orange)", ImGuiTableColumnFlags_WidthStretch, 2.2f);
    ImGui::TableHeadersRow();
    for (const Row& r : rows_) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(r.layer.c_str());
      ImGui::TableSetColumnIndex(1);
      ImGui::TextUnformatted(r.op.c_str());
      ImGui::TableSetColumnIndex(2);
      if (!r.fp32_us.empty()) ImGui::Text("%.3f", r.fp32_ms); else ImGui::TextDisabled("-");
      ImGui::TableSetColumnIndex(3);
      if (r.int8_ms >= 0) ImGui::Text("%.3f", r.int8_ms);
      else ImGui::TextDisabled(int8_ms_ >= 0 ? "fused" : "-");
      ImGui::TableSetColumnIndex(4);
      // Below 20 us a ratio is mostly the timer's granularity (performance.now: 5 us here).
      if (r.int8_ms >= 0.02 && !r.fp32_us.empty()) ImGui::Text("%.2fx", r.fp32_ms / r.int8_ms);
      else if (r.int8_ms >= 0 && !r.fp32_us.empty()) ImGui::TextDisabled("< 20 us");
      ImGui::TableSetColumnIndex(5);
      const ImVec2 p = ImGui::GetCursorScreenPos();
      const float w = ImGui::GetContentRegionAvail().x, h = ImGui::GetTextLineHeight();
      ImDrawList* dl = ImGui::GetWindowDrawList();
      if (!r.fp32_us.empty())
        dl->AddRectFilled(ImVec2(p.x, p.y + h * 0.08f),
                          ImVec2(p.x + std::max(1.0f, w * static_cast<float>(r.fp32_ms / max_ms)), p.y + h * 0.46f), kFp32Col);
      if (r.int8_ms >= 0)
        dl->AddRectFilled(ImVec2(p.x, p.y + h * 0.54f),
                          ImVec2(p.x + std::max(1.0f, w * static_cast<float>(r.int8_ms / max_ms)), p.y + h * 0.92f), kInt8Col);
      ImGui::Dummy(ImVec2(w, h));
    }
    ImGui::EndTable();
  }
}

void BenchmarkPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("running", running_);
  j.Field("phase", running_ ? (phase_ < 2 ? (phase_ == 0 ? "fp32 warm-up" : "fp32") : (phase_ == 2 ? "int8 warm-up" : "int8"))
                            : (rows_.empty() ? "idle" : "done"));
  j.Field("batch", batch_used_ ? batch_used_ : batch_);
  j.Field("runs", runs_used_ ? runs_used_ : runs_);
  j.Field("warmup", warmup_);
  j.Field("fp32Runs", static_cast<int>(fp32_total_.size()));
  j.Field("int8Runs", static_cast<int>(int8_total_.size()));
  j.Field("backend", kernels::IsaName(int8::AvailableBackends().back()));
  const bool finished = !running_ && !rows_.empty();
  j.Field("int8Available", finished ? int8_ms_ >= 0 : Int8Reason().empty());
  j.Field("int8Note", finished ? int8_note_ : Int8Reason());
  j.Field("int8Source", int8_ ? int8_source_ : std::string());
  j.Key("fp32TotalMs");
  if (finished) j.Value(fp32_ms_); else j.Null();
  j.Key("int8TotalMs");
  if (finished && int8_ms_ >= 0) j.Value(int8_ms_); else j.Null();
  j.Key("rows").BeginArray();
  if (finished)
    for (const Row& r : rows_) {
      j.BeginObject();
      j.Field("layer", r.layer);
      j.Field("op", r.op);
      j.Key("fp32Ms");
      if (!r.fp32_us.empty()) j.Value(r.fp32_ms); else j.Null();
      j.Key("int8Ms");
      if (r.int8_ms >= 0) j.Value(r.int8_ms); else j.Null();
      j.Field("int8Steps", r.int8_steps);
      j.EndObject();
    }
  j.EndArray();
  j.Field("error", error_);
  j.EndObject();
}

}  // namespace qp::web
