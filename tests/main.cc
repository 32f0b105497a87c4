// qp_tests entry point: prints the RNG seed every randomized test uses, so a failure can be
// reproduced with QP_TEST_SEED=<seed>.
#include <cstdio>

#include <gtest/gtest.h>

#include "tests/test_util.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::printf("[qp_tests] seed %llu (set QP_TEST_SEED to change)\n",
              static_cast<unsigned long long>(qp::testing::Seed()));
  return RUN_ALL_TESTS();
}
