// Seeded synthetic tensors for the quantization explorer until real model tensors come from the
// Session: weight-like and activation-like value distributions. Deterministic for a given
// (kind, seed, count) within one build (std::mt19937 + libc++'s distributions).
#pragma once

#include <cstdint>
#include <vector>

namespace qp::web {

enum class DemoDistribution : int {
  kGaussianOutliers = 0,  // N(0, 0.05) weights plus 0.1% outliers at 6..12 sigma, both signs
  kLaplace,               // heavy-tailed weights, scale 0.03
  kUniform,               // U(-0.1, 0.1): the easy case, every calibrator agrees
  kReluActivations,       // max(0, N(0.2, 1)) with a long right tail: one-sided, affine shines
  kBimodal,               // two Gaussians at +-0.5, sd 0.08: an empty middle
  kCount
};

const char* DemoDistributionName(DemoDistribution d);

// `count` values; count must be in [1, 1 << 24] (the UI offers a few sizes).
std::vector<float> MakeDemoTensor(DemoDistribution d, uint32_t seed, int count);

}  // namespace qp::web
