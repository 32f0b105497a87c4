// The runnable example of core/README.md. The test compiles and runs it; a second test checks that
// the README's code block is line for line the code between the markers, so it cannot rot.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/quant/gradients.h"
#include "core/quant/histogram.h"
#include "core/quant/quantize.h"
#include "tests/test_util.h"

namespace {

TEST(QuantReadme, ExampleRuns) {
  // README-EXAMPLE-BEGIN
  using namespace qp::quant;
  // PyTorch's example: scale 0.25, zero point 4, uint8 codes [0, 255].
  QParams p{0.25f, 4, 0, 255};
  EXPECT_EQ(QuantizeValue(0.7f, p), 7);     // round(0.7 / 0.25) + 4 = round(2.8) + 4
  EXPECT_EQ(DequantizeValue(7, p), 0.75f);  // (7 - 4) * 0.25
  EXPECT_EQ(QuantizeValue(-1.5f, p), 0);    // -6 + 4 = -2 saturates to 0

  // Parameters from a range: [-1, 3] as uint8 affine. 0.0 stays exactly representable.
  QuantSpec u8{8, /*is_signed=*/false, /*narrow_range=*/false, Scheme::kAffine};
  QParams r = *ParamsFromMinMax(-1.0f, 3.0f, u8);  // scale 4/255, zero point round(63.75) = 64
  EXPECT_EQ(r.zero_point, 64);
  EXPECT_EQ(FakeQuantValue(0.0f, r), 0.0f);

  // Calibrate once, get all four amax values from the same histogram.
  std::vector<float> x;
  for (int i = 0; i < 10000; ++i) x.push_back((i % 201 - 100) * 0.01f);  // [-1, 1]
  x.push_back(50.0f);                                                    // one outlier
  const int64_t n = static_cast<int64_t>(x.size());
  auto cal = HistogramCalibrator::Create();  // 2048 bins by default
  EXPECT_TRUE(cal->Observe(x.data(), n).ok());
  AllAmax a = *ComputeAllAmax(cal->histogram());  // int8, percentile 99.99
  EXPECT_EQ(a.max, 50.0f);
  EXPECT_LE(a.percentile, 1.0f + 50.0f / 2048);  // the outlier is clipped (within one bin)
  QParams q = *ParamsFromAmax(a.percentile, QuantSpec{});  // int8 symmetric: step amax / 127

  // Where does the error come from with that range? Clipping (the outlier) vs rounding.
  ErrorSplit e = *QuantErrorSplit(x.data(), n, q);
  EXPECT_EQ(e.clipped_count, 1);
  EXPECT_GT(e.clipping, e.rounding);

  // Backward through fake-quant (STE): the outlier gets no gradient.
  std::vector<float> grad_y(x.size(), 1.0f), grad_x(x.size());
  int64_t passed = 0;
  EXPECT_TRUE(FakeQuantSteBackward(x.data(), grad_y.data(), n, q, grad_x.data(), &passed).ok());
  EXPECT_EQ(passed, 10000);
  EXPECT_EQ(grad_x.back(), 0.0f);
  // README-EXAMPLE-END
}

std::vector<std::string> TrimmedLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos) continue;
    out.push_back(line.substr(a, line.find_last_not_of(" \t\r") - a + 1));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Between(const std::string& text, const std::string& begin, const std::string& end) {
  const size_t a = text.find(begin);
  if (a == std::string::npos) return "";
  const size_t from = text.find('\n', a + begin.size()) + 1;
  const size_t b = text.find(end, from);
  if (b == std::string::npos) return "";
  return text.substr(from, text.rfind('\n', b) - from);
}

TEST(QuantReadme, ReadmeShowsExactlyTheTestedCode) {
  const std::string src =
      ReadFile(qp::testing::SourceDir() + "/tests/quant/readme_example_test.cc");
  const std::string readme = ReadFile(qp::testing::SourceDir() + "/core/README.md");
  ASSERT_FALSE(src.empty());
  ASSERT_FALSE(readme.empty()) << "core/README.md not found";
  const std::string marker = "// README-EXAMPLE-";  // split so this line is not a marker
  const auto code = TrimmedLines(Between(src, marker + "BEGIN", marker + "END"));
  const auto shown = TrimmedLines(
      Between(readme, "<!-- example: tests/quant/readme_example_test.cc -->\n```cpp", "```"));
  ASSERT_FALSE(code.empty());
  EXPECT_EQ(shown, code)
      << "core/README.md's example differs from tests/quant/readme_example_test.cc";
}

}  // namespace
