// Shared helpers of the kernel tests: random int8 data, sentinel-filled outputs, and a printable
// shape description for EXPECT_EQ messages.
#pragma once

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace qp::testing {

// Value no correct kernel writes into padding: outputs are pre-filled with it and the bytes
// outside the written region must still hold it afterwards.
constexpr int8_t kSentinel = 0x5A;

inline std::vector<int8_t> RandomInt8(std::mt19937_64& rng, size_t n, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

inline std::vector<int32_t> RandomInt32(std::mt19937_64& rng, size_t n, int32_t lo, int32_t hi) {
  std::uniform_int_distribution<int32_t> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <typename... Args>
std::string Describe(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace qp::testing
