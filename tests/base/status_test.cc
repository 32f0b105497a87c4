// Status/Result behaviour: error propagation macros keep the first error and its message.
#include "core/base/status.h"

#include <gtest/gtest.h>

namespace qp {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("value ", v, " must be > 0");
  return v;
}

Result<int> Twice(int v) {
  QP_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

Status CheckBoth(int a, int b) {
  QP_RETURN_IF_ERROR(ParsePositive(a).status().ok() ? Status::Ok() : ParsePositive(a).status());
  QP_RETURN_IF_ERROR(ParsePositive(b).status().ok() ? Status::Ok() : ParsePositive(b).status());
  return Status::Ok();
}

TEST(Status, OkAndErrorFormatting) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = OutOfRange("bits ", 17, " outside [2, 16]");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.ToString(), "OutOfRange: bits 17 outside [2, 16]");
  EXPECT_EQ(s.WithContext("layer 'fc1'").message(), "layer 'fc1': bits 17 outside [2, 16]");
}

TEST(Status, ResultPropagatesFirstError) {
  auto ok = Twice(21);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  auto bad = Twice(-3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "value -3 must be > 0");
  EXPECT_EQ(CheckBoth(1, -2).message(), "value -2 must be > 0");
  EXPECT_TRUE(CheckBoth(1, 2).ok());
}

TEST(Status, ResultFromOkStatusIsAnError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace qp
