// Classification metrics over logits: the one place top-1 accuracy and softmax cross-entropy are
// counted (Session evaluation, EvalJob, quantized-model evaluation all use it).
#pragma once

#include <cstdint>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::data {

// Adds one batch of logits [count, classes] to a running top-1 count and summed softmax
// cross-entropy (double, max-shifted; the argmax takes the first of equal maxima). Nothing is
// added on error: InvalidArgument if the logits are not float32 [count, >= num_classes] or a label
// is outside [0, classes).
Status AccumulateTopOne(const Tensor& logits, const int64_t* labels, int64_t count,
                        int64_t num_classes, int64_t* correct, double* loss_sum);

}  // namespace qp::data
