// Configuration A vs B in steps (see compare.h).
#include "core/workflows/compare.h"

#include <algorithm>
#include <cmath>

#include "core/data/metrics.h"
#include "core/workflows/plan.h"

namespace qp::workflows {
namespace {

// Activation sites that own parameters (pass-through sites reuse their source's statistics).
bool Covered(const QuantPlan& plan, const CalibrationStats& stats) {
  for (const QuantSite& s : plan.sites)
    if (s.role == quant::QuantRole::kActivation && s.shared_from.empty() && !stats.histograms.count(s.tensor))
      return false;
  return true;
}

double Ratio(const std::pair<double, double>& sums) {
  if (sums.second == 0) return std::numeric_limits<double>::infinity();
  if (sums.first == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(sums.first / sums.second);
}

}  // namespace

const char* CompareJob::PhaseName(Phase p) {
  switch (p) {
    case Phase::kCalibrate: return "calibrate";
    case Phase::kPrepare: return "prepare";
    case Phase::kEvaluate: return "evaluate";
    case Phase::kSqnr: return "sqnr";
    case Phase::kDone: return "done";
  }
  return "?";
}

Result<std::unique_ptr<CompareJob>> CompareJob::Create(const Graph& float_graph, const QuantConfig& a,
                                                       const QuantConfig& b, const CalibrationStats* stats,
                                                       const data::Dataset* calibration,
                                                       const data::Dataset* eval,
                                                       const CompareOptions& options) {
  if (!eval || eval->size() == 0) return FailedPrecondition("compare: no evaluation data");
  if (options.chunk < 1) return InvalidArgument("compare: chunk ", options.chunk, " must be >= 1");
  if (options.sqnr_chunk < 0) return InvalidArgument("compare: sqnr_chunk ", options.sqnr_chunk, " must be >= 0");
  if (options.sqnr_samples < 1)
    return InvalidArgument("compare: sqnr_samples ", options.sqnr_samples, " must be >= 1");
  std::unique_ptr<CompareJob> job(new CompareJob());
  job->float_graph_ = float_graph;
  job->eval_ = eval;
  job->options_ = options;
  const QuantConfig* configs[2] = {&a, &b};
  QuantPlan plans[2];
  for (int i = 0; i < 2; ++i) {
    Result<QuantPlan> p = PrepareAndPlan(float_graph, *configs[i]);
    if (!p.ok()) return p.status().WithContext(i == 0 ? "compare: configuration A" : "compare: configuration B");
    plans[i] = std::move(p).value();
    job->side_[i].config = *configs[i];
  }
  // The input must fit the model before any work is done.
  QP_ASSIGN_OR_RETURN(data::Dataset first, data::SliceDataset(*eval, 0, 1));
  QP_RETURN_IF_ERROR(AdaptInput(float_graph, first.images).status().WithContext("compare: evaluation data"));

  if (stats && Covered(plans[0], *stats) && Covered(plans[1], *stats)) {
    job->stats_ = *stats;
    job->reused_stats_ = true;
    job->phase_ = Phase::kPrepare;
  } else {
    if (!calibration || calibration->size() == 0)
      return FailedPrecondition("compare: no calibration statistics cover both configurations and no "
                                "calibration data is loaded");
    // Every layer quantized, so both configurations' sites have statistics.
    QuantConfig all = a;
    for (auto& [layer, l] : all.layers) l.skip = false;
    QP_ASSIGN_OR_RETURN(QuantPlan probe, PrepareAndPlan(float_graph, all));
    QP_ASSIGN_OR_RETURN(job->calibrator_, Calibrator::Create(probe, calibration, options.calibration));
  }
  job->eval_total_ = options.eval_samples > 0 ? std::min(options.eval_samples, eval->size()) : eval->size();
  job->sqnr_total_ = std::min(options.sqnr_samples, eval->size());
  return job;
}

double CompareJob::progress() const {
  // Units: calibration batches, 6 preparation stages, 2 runs per evaluation chunk, 4 per SQNR chunk.
  const int64_t c = options_.chunk, sc = SqnrChunk();
  const int64_t calib_total = calibrator_ ? calibrator_->total_batches() : 0;
  const int64_t calib_done = calibrator_ ? calibrator_->batches_done() : 0;
  const int64_t eval_chunks = (eval_total_ + c - 1) / c, sqnr_chunks = (sqnr_total_ + sc - 1) / sc;
  const double total = static_cast<double>(calib_total + 6 + 2 * eval_chunks + 4 * sqnr_chunks);
  double doneu = 0;
  switch (phase_) {
    case Phase::kDone: return 1.0;
    case Phase::kCalibrate: doneu = static_cast<double>(calib_done); break;
    case Phase::kPrepare: doneu = static_cast<double>(calib_total + prepare_stage_); break;
    case Phase::kEvaluate:
      doneu = static_cast<double>(calib_total + 6 + 2 * (eval_next_ / c) + eval_side_);
      break;
    case Phase::kSqnr:
      doneu = static_cast<double>(calib_total + 6 + 2 * eval_chunks + 4 * (sqnr_next_ / sc) + sqnr_stage_);
      break;
  }
  return std::min(1.0, doneu / total);
}

double CompareJob::Accuracy(int side) const {
  return eval_next_ > 0 ? static_cast<double>(side_[side].correct) / static_cast<double>(eval_next_) : 0.0;
}

Status CompareJob::Prepare(int stage) {
  Side& s = side_[stage / 3];
  switch (stage % 3) {
    case 0: {
      QP_ASSIGN_OR_RETURN(QuantPlan plan, PrepareAndPlan(float_graph_, s.config));
      QP_ASSIGN_OR_RETURN(s.model, ComputeQuantizedModel(plan, stats_));
      break;
    }
    case 1: {
      // The site list and the weights' SQNR (independent of the data) from the one-shot analysis.
      QP_ASSIGN_OR_RETURN(data::Dataset one, data::SliceDataset(*eval_, 0, 1));
      QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(float_graph_, one.images));
      QP_ASSIGN_OR_RETURN(s.sites, PerLayerSqnr(*s.model, x));
      break;
    }
    default:
      QP_ASSIGN_OR_RETURN(s.runner, QuantizedRunner::Create(*s.model));
      s.model.reset();  // the runner keeps its own copy
      break;
  }
  return Status::Ok();
}

Status CompareJob::EvaluateChunk() {
  const int64_t count = std::min(options_.chunk, eval_total_ - eval_next_);
  QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(*eval_, eval_next_, count));
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(float_graph_, part.images));
  Side& s = side_[eval_side_];
  QP_ASSIGN_OR_RETURN(std::vector<Tensor> y, s.runner->Run(ExecMode::kSimulated, x));
  double loss = 0;
  QP_RETURN_IF_ERROR(data::AccumulateTopOne(y[0], part.labels.data<int64_t>(), count, part.num_classes,
                                            &s.correct, &loss));
  if (++eval_side_ == 2) {
    eval_side_ = 0;
    eval_next_ += count;
  }
  return Status::Ok();
}

Status CompareJob::SqnrRun() {
  const int64_t count = std::min(SqnrChunk(), sqnr_total_ - sqnr_next_);
  QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(*eval_, sqnr_next_, count));
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(float_graph_, part.images));
  Side& s = side_[sqnr_stage_ / 2];
  const Graph& g = s.runner->model().plan.graph;
  if (sqnr_stage_ % 2 == 0) {
    float_values_.clear();
    QP_RETURN_IF_ERROR(RunWithHook(g, {x}, nullptr, &float_values_).status());
    if (!g.inputs.empty()) float_values_[g.inputs[0].name] = x;  // the input site: float is the input
  } else {
    QP_ASSIGN_OR_RETURN(auto sim, s.runner->SimulatedSiteValues(x));
    for (const LayerSqnr& row : s.sites) {
      if (row.role != quant::QuantRole::kActivation) continue;
      auto f = float_values_.find(row.tensor);
      auto q = sim.find(row.tensor);
      if (f == float_values_.end() || q == sim.end() || f->second.numel() != q->second.numel()) continue;
      std::pair<double, double>& acc = s.act[row.tensor];
      const float* r = f->second.f32();
      const float* t = q->second.f32();
      for (int64_t k = 0; k < f->second.numel(); ++k) {
        const double d = static_cast<double>(r[k]) - t[k];
        acc.first += static_cast<double>(r[k]) * r[k];
        acc.second += d * d;
      }
    }
  }
  if (++sqnr_stage_ == 4) {
    sqnr_stage_ = 0;
    sqnr_next_ += count;
  }
  return Status::Ok();
}

void CompareJob::FinishRows() {
  rows_.clear();
  auto sqnr = [&](const Side& s, const LayerSqnr& row) {
    if (row.role == quant::QuantRole::kWeight) return row.fake_quant_db;
    auto it = s.act.find(row.tensor);
    return it == s.act.end() ? std::numeric_limits<double>::quiet_NaN() : Ratio(it->second);
  };
  for (const LayerSqnr& ra : side_[0].sites) {
    CompareRow row;
    row.tensor = ra.tensor;
    row.layer = ra.layer;
    row.role = ra.role;
    row.bits_a = ra.bits;
    row.sqnr_a = sqnr(side_[0], ra);
    for (const LayerSqnr& rb : side_[1].sites)
      if (rb.tensor == ra.tensor) {
        row.bits_b = rb.bits;
        row.sqnr_b = sqnr(side_[1], rb);
      }
    rows_.push_back(row);
  }
  for (const LayerSqnr& rb : side_[1].sites) {
    bool in_a = false;
    for (const LayerSqnr& ra : side_[0].sites) in_a = in_a || ra.tensor == rb.tensor;
    if (in_a) continue;
    CompareRow row;
    row.tensor = rb.tensor;
    row.layer = rb.layer;
    row.role = rb.role;
    row.bits_b = rb.bits;
    row.sqnr_b = sqnr(side_[1], rb);
    rows_.push_back(row);
  }
}

Result<double> CompareJob::Step() {
  switch (phase_) {
    case Phase::kDone:
      return FailedPrecondition("compare step: the comparison is done");
    case Phase::kCalibrate: {
      Result<double> p = calibrator_->Step();
      if (!p.ok()) return p.status().WithContext("compare: calibration");
      if (calibrator_->done()) {
        stats_ = calibrator_->stats();
        phase_ = Phase::kPrepare;
      }
      break;
    }
    case Phase::kPrepare: {
      Status st = Prepare(prepare_stage_);
      if (!st.ok()) return st.WithContext(prepare_stage_ < 3 ? "compare: configuration A" : "compare: configuration B");
      if (++prepare_stage_ == 6) phase_ = eval_total_ > 0 ? Phase::kEvaluate : Phase::kSqnr;
      break;
    }
    case Phase::kEvaluate:
      QP_RETURN_IF_ERROR(EvaluateChunk().WithContext(eval_side_ == 0 ? "compare: evaluate A" : "compare: evaluate B"));
      if (eval_next_ >= eval_total_) phase_ = Phase::kSqnr;
      break;
    case Phase::kSqnr:
      QP_RETURN_IF_ERROR(SqnrRun().WithContext("compare: per-layer SQNR"));
      if (sqnr_next_ >= sqnr_total_) {
        FinishRows();
        float_values_.clear();
        phase_ = Phase::kDone;
      }
      break;
  }
  return progress();
}

}  // namespace qp::workflows
