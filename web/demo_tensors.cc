// Seeded synthetic tensors (see demo_tensors.h): parameters chosen so the four calibrators
// disagree visibly (outliers, heavy tails, one-sided ranges).
#include "web/demo_tensors.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qp::web {

const char* DemoDistributionName(DemoDistribution d) {
  switch (d) {
    case DemoDistribution::kGaussianOutliers:
      return "Gaussian + outliers (weights)";
    case DemoDistribution::kLaplace:
      return "Laplace (heavy-tailed weights)";
    case DemoDistribution::kUniform:
      return "Uniform";
    case DemoDistribution::kReluActivations:
      return "ReLU activations (one-sided)";
    case DemoDistribution::kBimodal:
      return "Bimodal";
    case DemoDistribution::kCount:
      break;
  }
  return "?";
}

std::vector<float> MakeDemoTensor(DemoDistribution d, uint32_t seed, int count) {
  count = std::clamp(count, 1, 1 << 24);
  std::mt19937 rng(seed);
  std::vector<float> out(static_cast<size_t>(count));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  switch (d) {
    case DemoDistribution::kGaussianOutliers: {
      const float sigma = 0.05f;
      for (float& v : out) {
        if (unit(rng) < 0.001f) {
          const float mag = sigma * (6.0f + 6.0f * unit(rng));
          v = unit(rng) < 0.5f ? -mag : mag;
        } else {
          v = sigma * normal(rng);
        }
      }
      break;
    }
    case DemoDistribution::kLaplace: {
      const float b = 0.03f;
      for (float& v : out) {
        const float u = unit(rng) - 0.5f;
        const float a = std::max(1e-7f, 1.0f - 2.0f * std::fabs(u));
        v = (u < 0 ? 1.0f : -1.0f) * b * std::log(a);
      }
      break;
    }
    case DemoDistribution::kUniform:
      for (float& v : out) v = -0.1f + 0.2f * unit(rng);
      break;
    case DemoDistribution::kReluActivations:
      for (float& v : out) {
        const float z = 0.2f + normal(rng);
        // A lognormal-ish tail on the positive side, as after a conv + ReLU.
        v = z > 0 ? z * (1.0f + 0.5f * z * z * unit(rng)) : 0.0f;
      }
      break;
    case DemoDistribution::kBimodal:
      for (float& v : out) v = (unit(rng) < 0.5f ? -0.5f : 0.5f) + 0.08f * normal(rng);
      break;
    case DemoDistribution::kCount:
      break;
  }
  return out;
}

}  // namespace qp::web
