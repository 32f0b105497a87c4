#include "core/data/metrics.h"

#include <algorithm>
#include <cmath>

namespace qp::data {

Status AccumulateTopOne(const Tensor& logits, const int64_t* labels, int64_t count,
                        int64_t num_classes, int64_t* correct, double* loss_sum) {
  if (logits.dtype() != DType::kFloat32 || count < 1 || logits.numel() % count != 0)
    return InvalidArgument("evaluate: the first output ", ShapeToString(logits.shape()),
                           " is not float32 [", count, ", classes]");
  const int64_t classes = logits.numel() / count;
  if (classes < num_classes)
    return InvalidArgument("evaluate: the model gives ", classes, " scores per sample but the data has ",
                           num_classes, " classes");
  for (int64_t i = 0; i < count; ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      return InvalidArgument("evaluate: label ", labels[i], " of sample ", i, " is outside [0, ", classes, ")");
  for (int64_t i = 0; i < count; ++i) {
    const float* row = logits.f32() + i * classes;
    const int64_t label = labels[i];
    const int64_t arg = std::max_element(row, row + classes) - row;
    *correct += arg == label;
    const double mx = row[arg];
    double z = 0;
    for (int64_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(row[c]) - mx);
    *loss_sum += std::log(z) + mx - row[label];
  }
  return Status::Ok();
}

}  // namespace qp::data
