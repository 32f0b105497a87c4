#include "core/session/eval_job.h"

#include <algorithm>
#include <cmath>

#include "core/data/metrics.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/simulate.h"

namespace qp {

const char* EvalTargetName(EvalTarget t) {
  switch (t) {
    case EvalTarget::kModel: return "model";
    case EvalTarget::kQuantFloat: return "float";
    case EvalTarget::kSimulated: return "simulated";
    case EvalTarget::kInt8: return "int8";
  }
  return "?";
}

Result<EvalJob> EvalJob::Start(const Session& session, DataRole role, EvalTarget target,
                               int64_t max_samples, int64_t chunk, const RunOptions& run) {
  if (!session.has_model()) return FailedPrecondition("evaluate: no model is loaded");
  const data::Dataset* ds = session.dataset(role);
  if (!ds) return FailedPrecondition("evaluate: no ", DataRoleName(role), " data is loaded");
  if (ds->size() == 0) return FailedPrecondition("evaluate: the ", DataRoleName(role), " data is empty");
  if (chunk < 1) return InvalidArgument("evaluate: chunk ", chunk, " must be >= 1");
  if (target != EvalTarget::kModel && !session.quantized_model())
    return FailedPrecondition("evaluate ", EvalTargetName(target), ": quantize the model first");
  EvalJob job;
  job.session_ = &session;
  job.role_ = role;
  job.target_ = target;
  job.run_ = run;
  job.generation_ = session.model_generation();
  job.total_ = max_samples > 0 ? std::min(max_samples, ds->size()) : ds->size();
  job.chunk_ = session.FittingBatch(chunk);  // within the session's memory budget
  return job;
}

Result<double> EvalJob::Step() {
  if (done()) return FailedPrecondition("evaluate: the job is done");
  if (session_->model_generation() != generation_)
    return FailedPrecondition("evaluate: the model changed since the evaluation started");
  const data::Dataset* ds = session_->dataset(role_);
  if (!ds || ds->size() < total_)
    return FailedPrecondition("evaluate: the ", DataRoleName(role_), " data changed since the evaluation started");
  const int64_t count = std::min(chunk_, total_ - next_);
  QP_ASSIGN_OR_RETURN(data::Dataset slice, data::SliceDataset(*ds, next_, count));
  std::vector<Tensor> outs;
  if (target_ == EvalTarget::kModel) {
    QP_ASSIGN_OR_RETURN(outs, session_->RunFloat(slice.images.f32(),
                                                 static_cast<size_t>(slice.images.numel()), run_));
  } else {
    const workflows::QuantizedModel* qm = session_->quantized_model();
    if (!qm) return FailedPrecondition("evaluate: the quantized model is gone");
    QP_ASSIGN_OR_RETURN(Tensor x, workflows::AdaptInput(qm->plan.graph, slice.images));
    const workflows::ExecMode mode = target_ == EvalTarget::kQuantFloat ? workflows::ExecMode::kFloat
                                     : target_ == EvalTarget::kSimulated ? workflows::ExecMode::kSimulated
                                                                         : workflows::ExecMode::kInt8;
    QP_ASSIGN_OR_RETURN(outs, session_->RunQuantized(mode, x, run_));
  }
  if (outs.empty()) return InvalidArgument("evaluate: the model has no output");
  // AccumulateTopOne adds nothing on error: only a fully scored chunk counts.
  QP_RETURN_IF_ERROR(data::AccumulateTopOne(outs[0], slice.labels.data<int64_t>(), count,
                                            ds->num_classes, &acc_.correct, &loss_sum_));
  acc_.samples += count;
  next_ += count;
  return progress();
}

EvalSummary EvalJob::summary() const {
  EvalSummary s = acc_;
  s.accuracy = s.samples ? static_cast<double>(s.correct) / s.samples : 0;
  s.loss = s.samples ? loss_sum_ / s.samples : 0;
  return s;
}

}  // namespace qp
