// EvalJob: top-1 accuracy and loss of the session's model over one dataset, computed a chunk per
// Step() call so a UI can interleave evaluation with frames (the page never blocks on a full
// test set). Targets: the float model, or the quantized model as float prepared graph, fake-quant
// simulation or int8 kernels. The job reads the session's model and data at each step; it fails
// with FailedPrecondition if the model changed since Start (generation check) rather than mixing
// two models in one figure.
#pragma once

#include <cstdint>

#include "core/base/status.h"
#include "core/graph/tensor.h"
#include "core/session/session.h"

namespace qp {

enum class EvalTarget : uint8_t { kModel, kQuantFloat, kSimulated, kInt8 };
const char* EvalTargetName(EvalTarget t);  // "model", "float", "simulated", "int8"

class EvalJob {
 public:
  // `session` must outlive the job. max_samples <= 0: the whole dataset. chunk: samples per Step.
  static Result<EvalJob> Start(const Session& session, DataRole role, EvalTarget target,
                               int64_t max_samples = -1, int64_t chunk = 64,
                               const RunOptions& run = {});
  // One chunk; the progress fraction after it (1.0 = done). FailedPrecondition once done.
  Result<double> Step();
  bool done() const { return next_ >= total_; }
  double progress() const { return total_ ? static_cast<double>(next_) / total_ : 1.0; }
  // Over the samples seen so far.
  EvalSummary summary() const;
  EvalTarget target() const { return target_; }
  DataRole role() const { return role_; }

 private:
  EvalJob() = default;
  const Session* session_ = nullptr;
  DataRole role_ = DataRole::kTest;
  EvalTarget target_ = EvalTarget::kModel;
  RunOptions run_;
  uint64_t generation_ = 0;
  int64_t total_ = 0, next_ = 0, chunk_ = 64;
  EvalSummary acc_;
  double loss_sum_ = 0;
};

}  // namespace qp
