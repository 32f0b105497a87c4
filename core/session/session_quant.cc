// Session: the quantization calls (declared in session.h). Logic-thin: everything is in
// core/workflows; here only state handling, so a failed call leaves the session as it was.
#include <algorithm>
#include <cmath>

#include "core/session/session.h"
#include "core/workflows/plan.h"

namespace qp {

struct Session::QuantState {
  std::optional<workflows::QuantConfig> config;
  std::optional<workflows::QuantPlan> plan;
  std::unique_ptr<workflows::Calibrator> calibrator;
  std::optional<workflows::QuantizedModel> model;
  // QAT started from `model` on the train data; dropped whenever `model` or the train data changes.
  std::unique_ptr<workflows::QatTrainer> qat;
  // Runners per int8 backend, built lazily from `model`.
  mutable std::map<int8::Backend, std::unique_ptr<workflows::QuantizedRunner>> runners;
  // A runner being built in steps (StartQuantizedPrep); it joins `runners` when its plan is done.
  struct Prep {
    int8::Backend backend = int8::Backend::kScalar;
    std::unique_ptr<workflows::QuantizedRunner> runner;  // null until the first step
    std::optional<int8::Int8PlanBuilder> plan;
  };
  std::optional<Prep> prep;
};

Session::QuantState& Session::Quant() {
  if (!quant_) quant_ = std::make_shared<QuantState>();
  return *quant_;
}

Status Session::SetQuantConfig(const std::string& json) {
  if (!has_model()) return FailedPrecondition("quantization config: no model is loaded");
  QP_ASSIGN_OR_RETURN(workflows::QuantConfig c, workflows::ParseQuantConfig(json, nullptr));
  return SetQuantConfig(c);
}

Status Session::SetQuantPreset(const std::string& preset) {
  QP_ASSIGN_OR_RETURN(workflows::QuantConfig c, workflows::PresetConfig(preset));
  return SetQuantConfig(c);
}

Status Session::SetQuantConfig(const workflows::QuantConfig& config) {
  if (!has_model()) return FailedPrecondition("quantization config: no model is loaded");
  // Layer names refer to the prepared graph (BatchNorms folded away).
  QP_ASSIGN_OR_RETURN(workflows::QuantPlan plan, workflows::PrepareAndPlan(graph(), config));
  QuantState& q = Quant();
  q.config = config;
  q.plan = std::move(plan);
  q.calibrator.reset();
  q.model.reset();
  q.qat.reset();
  q.runners.clear();
  q.prep.reset();
  ++quantized_generation_;
  return Status::Ok();
}

const workflows::QuantConfig* Session::quant_config() const {
  return quant_ && quant_->config ? &*quant_->config : nullptr;
}
const workflows::QuantPlan* Session::quant_plan() const {
  return quant_ && quant_->plan ? &*quant_->plan : nullptr;
}

Status Session::StartCalibration(const workflows::CalibrationOptions& options) {
  if (!quant_plan()) return FailedPrecondition("calibration: set a quantization config first");
  const data::Dataset* ds = dataset(DataRole::kCalibration);
  if (!ds) return FailedPrecondition("calibration: no calibration data is loaded");
  QP_RETURN_IF_ERROR(CheckBatchFits("calibration", options.batch_size));
  QP_ASSIGN_OR_RETURN(std::unique_ptr<workflows::Calibrator> c,
                      workflows::Calibrator::Create(*quant_->plan, ds, options));
  quant_->calibrator = std::move(c);
  return Status::Ok();
}

Result<double> Session::CalibrateStep() {
  if (!calibrating()) return FailedPrecondition("calibration step: calibration has not been started");
  return quant_->calibrator->Step();  // the Calibrator keeps its statistics on a failed step
}

void Session::CancelCalibration() {
  if (quant_) quant_->calibrator.reset();
}

bool Session::calibrating() const { return quant_ && quant_->calibrator != nullptr; }

double Session::calibration_progress() const {
  return calibrating() ? quant_->calibrator->progress() : 0.0;
}

Status Session::Quantize() {
  if (!calibrating()) return FailedPrecondition("quantize: calibrate first (StartCalibration, CalibrateStep)");
  QP_ASSIGN_OR_RETURN(workflows::QuantizedModel m, quant_->calibrator->Finish());
  quant_->model = std::move(m);
  ++quantized_generation_;
  quant_->runners.clear();
  quant_->prep.reset();
  quant_->calibrator.reset();
  quant_->qat.reset();
  return Status::Ok();
}

const workflows::QuantizedModel* Session::quantized_model() const {
  return quant_ && quant_->model ? &*quant_->model : nullptr;
}

Status Session::SetQuantizedModel(workflows::QuantizedModel model) {
  if (!has_model()) return FailedPrecondition("set quantized model: no model is loaded");
  if (model.plan.graph.inputs.size() != graph().inputs.size() ||
      model.plan.graph.outputs.size() != graph().outputs.size())
    return InvalidArgument("set quantized model: its graph's inputs/outputs do not match the model's");
  for (const workflows::QuantSite& s : model.plan.sites)
    if (!model.Params(s.tensor))
      return InvalidArgument("set quantized model: site '", s.tensor, "' has no parameters");
  QuantState& q = Quant();
  q.config = model.plan.config;
  q.plan = model.plan;
  q.model = std::move(model);
  ++quantized_generation_;
  q.qat.reset();
  q.runners.clear();
  q.prep.reset();
  return Status::Ok();
}

// ---- QAT ------------------------------------------------------------------------------------------

Status Session::StartQat(const workflows::QatOptions& options) {
  if (!quantized_model()) return FailedPrecondition("QAT: quantize (calibrate) the model first");
  const data::Dataset* ds = dataset(DataRole::kTrain);
  if (!ds) return FailedPrecondition("QAT: no train data is loaded");
  QP_RETURN_IF_ERROR(CheckBatchFits("QAT", options.batch_size, /*training=*/true));
  QP_ASSIGN_OR_RETURN(std::unique_ptr<workflows::QatTrainer> t,
                      workflows::QatTrainer::Create(*quant_->model, ds, options));
  quant_->qat = std::move(t);
  return Status::Ok();
}

Result<workflows::QatStepRecord> Session::QatStep() {
  if (!qat()) return FailedPrecondition("QAT step: QAT has not been started (StartQat)");
  return quant_->qat->Step();  // a failed step restores the trainer (core/workflows/qat.h)
}

Result<std::optional<workflows::QatStepRecord>> Session::QatAdvance(int64_t max_nodes) {
  if (!qat()) return FailedPrecondition("QAT step: QAT has not been started (StartQat)");
  return quant_->qat->AdvanceStep(max_nodes);
}

const workflows::QatTrainer* Session::qat() const { return quant_ ? quant_->qat.get() : nullptr; }

Result<EvalSummary> Session::EvaluateQat(DataRole role, int64_t max_samples) {
  if (!qat()) return FailedPrecondition("QAT evaluate: QAT has not been started (StartQat)");
  const data::Dataset* ds = dataset(role);
  if (!ds) return FailedPrecondition("QAT evaluate: no ", DataRoleName(role), " data is loaded");
  QP_ASSIGN_OR_RETURN(train::EvalResult r, quant_->qat->Evaluate(*ds, max_samples));
  EvalSummary s;
  s.samples = r.samples;
  s.accuracy = r.accuracy;
  s.correct = static_cast<int64_t>(std::llround(r.accuracy * static_cast<double>(r.samples)));
  s.loss = r.loss;
  return s;
}

Status Session::FinishQat() {
  if (!qat()) return FailedPrecondition("QAT finish: QAT has not been started (StartQat)");
  QP_ASSIGN_OR_RETURN(workflows::QuantizedModel m, quant_->qat->Finish());
  return SetQuantizedModel(std::move(m));  // ends QAT
}

void Session::AbandonQat() {
  if (quant_) quant_->qat.reset();
}

void Session::DropTrainDataUsers() {
  trainer_.reset();
  if (quant_) quant_->qat.reset();
}

void Session::DropCalibrationDataUsers() {
  if (quant_) quant_->calibrator.reset();
}

Result<const workflows::QuantizedRunner*> Session::Runner(const RunOptions& run) const {
  if (!quantized_model()) return FailedPrecondition("quantized run: quantize the model first");
  const std::vector<int8::Backend> available = int8::AvailableBackends();
  const int8::Backend backend = run.backend ? *run.backend : available.back();
  if (std::find(available.begin(), available.end(), backend) == available.end())
    return Unimplemented("int8 backend '", kernels::IsaName(backend), "' is not available in this build");
  auto it = quant_->runners.find(backend);
  if (it == quant_->runners.end()) {
    QP_ASSIGN_OR_RETURN(std::unique_ptr<workflows::QuantizedRunner> r,
                        workflows::QuantizedRunner::Create(*quant_->model, backend));
    it = quant_->runners.emplace(backend, std::move(r)).first;
  }
  return it->second.get();
}

Status Session::StartQuantizedPrep(const RunOptions& run) {
  if (!quantized_model()) return FailedPrecondition("quantized run: quantize the model first");
  const std::vector<int8::Backend> available = int8::AvailableBackends();
  const int8::Backend backend = run.backend ? *run.backend : available.back();
  if (std::find(available.begin(), available.end(), backend) == available.end())
    return Unimplemented("int8 backend '", kernels::IsaName(backend), "' is not available in this build");
  quant_->prep.reset();
  if (quant_->runners.count(backend)) return Status::Ok();  // already built: nothing to step
  QuantState::Prep p;
  p.backend = backend;
  quant_->prep = std::move(p);
  return Status::Ok();
}

bool Session::quantized_prep_running() const { return quant_ && quant_->prep; }

double Session::quantized_prep_progress() const {
  if (!quantized_prep_running()) return 1.0;
  const QuantState::Prep& p = *quant_->prep;
  // The runner's own preparation (fake-quant hook, QDQ graph, plan validation) counts as the
  // first step of the plan's.
  if (!p.runner) return 0.0;
  return p.plan ? p.plan->progress() : 1.0;
}

Result<double> Session::QuantizedPrepStep() {
  if (!quantized_prep_running()) return FailedPrecondition("quantized run preparation: not started");
  QuantState::Prep& p = *quant_->prep;
  // A failed step ends the preparation; the Status says why (the same one Runner() would give).
  auto fail = [&](const Status& st) -> Result<double> {
    quant_->prep.reset();
    return st;
  };
  if (!p.runner) {
    Result<std::unique_ptr<workflows::QuantizedRunner>> r =
        workflows::QuantizedRunner::Prepare(*quant_->model, p.backend, &p.plan);
    if (!r.ok()) return fail(r.status());
    p.runner = std::move(r).value();
  } else if (p.plan && !p.plan->done()) {
    const Result<double> step = p.plan->Step();
    if (!step.ok()) return fail(step.status());
  }
  if (p.plan && !p.plan->done()) return p.plan->progress();
  if (p.plan) {
    Result<int8::Int8Executor> e = p.plan->Finish();
    if (!e.ok()) return fail(e.status());
    p.runner->SetInt8Plan(std::move(e).value());
  }
  // A runner built meanwhile by a direct run (Runner()) stays: callers may hold pointers into it.
  quant_->runners.emplace(p.backend, std::move(p.runner));
  quant_->prep.reset();
  return 1.0;
}

Result<std::vector<Tensor>> Session::RunQuantized(workflows::ExecMode mode, const Tensor& input,
                                                  const RunOptions& run) const {
  QP_RETURN_IF_ERROR(CheckBatchFits("quantized run", input.rank() > 0 ? input.dim(0) : 1));
  QP_ASSIGN_OR_RETURN(const workflows::QuantizedRunner* r, Runner(run));
  return r->Run(mode, input);
}

Result<EvalSummary> Session::EvaluateQuantized(workflows::ExecMode mode, DataRole role,
                                               int64_t max_samples, int64_t batch,
                                               const RunOptions& run) const {
  QP_ASSIGN_OR_RETURN(const workflows::QuantizedRunner* r, Runner(run));
  const data::Dataset* ds = dataset(role);
  if (!ds) return FailedPrecondition("evaluate: no ", DataRoleName(role), " data is loaded");
  QP_ASSIGN_OR_RETURN(workflows::AccuracyResult a,
                      workflows::EvaluateAccuracy(*r, mode, *ds, max_samples, FittingBatch(batch)));
  EvalSummary s;
  s.samples = a.samples;
  s.correct = a.correct;
  s.accuracy = a.accuracy;
  s.loss = a.loss;
  return s;
}

Result<std::string> Session::ExportQdq(workflows::QdqLayout layout) const {
  if (!quantized_model()) return FailedPrecondition("QDQ export: quantize the model first");
  return workflows::ExportQdqOnnx(*quant_->model, layout);
}

Result<std::string> Session::QuantParamsJson() const {
  if (!quantized_model()) return FailedPrecondition("quantization params: quantize the model first");
  return workflows::QuantParamsToJson(*quant_->model);
}

Result<workflows::SimIntReport> Session::SimIntReport(DataRole role, int64_t samples) const {
  QP_ASSIGN_OR_RETURN(const workflows::QuantizedRunner* r, Runner({}));
  const data::Dataset* ds = dataset(role);
  if (!ds) return FailedPrecondition("sim vs int8 report: no ", DataRoleName(role), " data is loaded");
  if (samples < 1) return InvalidArgument("sim vs int8 report: samples ", samples, " must be >= 1");
  QP_ASSIGN_OR_RETURN(data::Dataset b, data::SliceDataset(*ds, 0, std::min(samples, ds->size())));
  return workflows::CompareSimulatedToInt8(*r, b.images);
}

}  // namespace qp
