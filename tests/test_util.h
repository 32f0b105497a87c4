// Shared helpers for qp_tests: the reproducible seed and the source tree location.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace qp::testing {

// One seed for the whole run: QP_TEST_SEED if set, else a fixed default. Randomized tests derive
// their generators from it and print it in failure messages (SCOPED_TRACE(SeedTrace())).
inline uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("QP_TEST_SEED");
    return env ? std::strtoull(env, nullptr, 10) : uint64_t{20261122};
  }();
  return seed;
}

// A generator for one test, distinct per `salt` so tests do not share streams.
inline std::mt19937_64 Rng(uint64_t salt = 0) { return std::mt19937_64(Seed() * 0x9E3779B97F4A7C15ull + salt); }

inline std::string SeedTrace() { return "QP_TEST_SEED=" + std::to_string(Seed()); }

// Root of the source tree (for fixtures in tests/ and models/).
inline std::string SourceDir() { return QP_SOURCE_DIR; }

}  // namespace qp::testing
