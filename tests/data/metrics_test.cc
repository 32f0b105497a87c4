// AccumulateTopOne against hand-computed values: top-1 with the first of equal maxima, softmax
// cross-entropy from its definition, and errors that add nothing.
#include "core/data/metrics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace qp::data {
namespace {

TEST(Metrics, TopOneAndCrossEntropyByHand) {
  // Sample 0: logits (1, 3, 2), label 1 -> correct; sample 1: (5, 5, 0), label 1 -> argmax is the
  // first maximum (0): wrong.
  const Tensor logits = Tensor::FromVector<float>({2, 3}, {1, 3, 2, 5, 5, 0});
  const int64_t labels[2] = {1, 1};
  int64_t correct = 0;
  double loss = 0;
  ASSERT_TRUE(AccumulateTopOne(logits, labels, 2, 3, &correct, &loss).ok());
  EXPECT_EQ(correct, 1);
  const double ce0 = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0)) - 3.0;
  const double ce1 = std::log(2 * std::exp(5.0) + std::exp(0.0)) - 5.0;
  EXPECT_NEAR(loss, ce0 + ce1, 1e-12);
}

TEST(Metrics, ErrorsAddNothing) {
  const Tensor logits = Tensor::FromVector<float>({2, 3}, {1, 3, 2, 5, 5, 0});
  int64_t correct = 7;
  double loss = 0.5;
  const int64_t bad_label[2] = {0, 3};
  Status s = AccumulateTopOne(logits, bad_label, 2, 3, &correct, &loss);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("label 3"), std::string::npos) << s.message();
  const int64_t labels[2] = {0, 0};
  EXPECT_FALSE(AccumulateTopOne(logits, labels, 2, 4, &correct, &loss).ok()) << "3 scores, 4 classes";
  EXPECT_FALSE(AccumulateTopOne(logits, labels, 4, 3, &correct, &loss).ok()) << "6 values, 4 samples";
  EXPECT_EQ(correct, 7);
  EXPECT_EQ(loss, 0.5);
}

}  // namespace
}  // namespace qp::data
