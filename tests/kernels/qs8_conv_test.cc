// qs8/qc8 convolution and depthwise convolution: scalar vs real math within one step, and every
// variant of qs8-conv.inc / qs8-dwconv.inc vs the scalar reference, bit-exact, on adversarial
// geometries (padding, strides, dilation, groups, depthwise tails, 1x1 fast path, batch > 1).
#include <cmath>

#include <gtest/gtest.h>

#include "kernels/qs8-conv/qs8-conv.h"
#include "kernels/qs8-dwconv/qs8-dwconv.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

using quant::RequantScheme;
using qp::testing::kSentinel;

struct ConvCase {
  size_t batch, in_h, in_w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, gic, goc;
  bool per_channel = false;
  RequantScheme scheme = RequantScheme::kFp32;
  int32_t za = 0, zo = 0, qmin = -128, qmax = 127;
  size_t in_pad = 0, out_pad = 0;  // extra elements per pixel (strided NHWC)
};

std::string Name(const ConvCase& c) {
  return qp::testing::Describe(
      "b=", c.batch, " in=", c.in_h, "x", c.in_w, " k=", c.kh, "x", c.kw, " s=", c.sh, "x", c.sw,
      " d=", c.dh, "x", c.dw, " pad=", c.pt, ",", c.pl, ",", c.pb, ",", c.pr, " g=", c.groups,
      " gic=", c.gic, " goc=", c.goc, c.per_channel ? " qc8 " : " qs8 ",
      quant::RequantSchemeName(c.scheme), " za=", c.za, " zo=", c.zo, " clamp=[", c.qmin, ",",
      c.qmax, "] in_pad=", c.in_pad, " out_pad=", c.out_pad);
}

struct ConvProblem {
  ConvCase c;
  size_t out_h = 0, out_w = 0, in_stride = 0, out_stride = 0;
  std::vector<int8_t> x, w;
  std::vector<int32_t> bias;
  std::vector<float> w_scale;
  float in_scale = 0.03f, out_scale = 0;
  std::vector<quant::RequantChannel> rq;
  QS8ConvParams params;
};

ConvProblem MakeConv(std::mt19937_64& rng, const ConvCase& c) {
  ConvProblem p;
  p.c = c;
  const size_t oc = c.groups * c.goc;
  const size_t k = c.kh * c.kw * c.gic;
  p.out_h = (c.in_h + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh + 1;
  p.out_w = (c.in_w + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw + 1;
  p.in_stride = c.groups * c.gic + c.in_pad;
  p.out_stride = oc + c.out_pad;
  p.x = qp::testing::RandomInt8(rng, c.batch * c.in_h * c.in_w * p.in_stride);
  p.w = qp::testing::RandomInt8(rng, oc * k, -127, 127);
  p.bias = qp::testing::RandomInt32(rng, oc, -20000, 20000);
  std::uniform_real_distribution<float> ws(0.002f, 0.02f);
  p.w_scale.resize(c.per_channel ? oc : 1);
  for (auto& s : p.w_scale) s = ws(rng);
  const float target = 60.0f / (5400.0f * std::sqrt(static_cast<float>(k)));
  p.out_scale = p.in_scale * 0.011f / target;
  for (float s : p.w_scale) p.rq.push_back(*quant::MakeRequantChannel(p.in_scale, s, p.out_scale));
  QS8ConvParams& q = p.params;
  q.kernel_h = c.kh;
  q.kernel_w = c.kw;
  q.stride_h = c.sh;
  q.stride_w = c.sw;
  q.dilation_h = c.dh;
  q.dilation_w = c.dw;
  q.pad_top = c.pt;
  q.pad_left = c.pl;
  q.pad_bottom = c.pb;
  q.pad_right = c.pr;
  q.groups = c.groups;
  q.group_input_channels = c.gic;
  q.group_output_channels = c.goc;
  q.input_pixel_stride = p.in_stride;
  q.output_pixel_stride = p.out_stride;
  q.weights = p.w.data();
  q.bias = p.bias.data();
  q.input_zero_point = c.za;
  q.requant = p.rq.data();
  q.per_channel = c.per_channel;
  q.output.scheme = c.scheme;
  q.output.zero_point = c.zo;
  q.output.qmin = c.qmin;
  q.output.qmax = c.qmax;
  return p;
}

size_t OutElems(const ConvProblem& p) { return p.c.batch * p.out_h * p.out_w * p.out_stride; }

// Output buffer: sentinel-filled with one spare pixel; the pixel padding and the spare pixel must
// keep the sentinel.
Status CheckPadding(const ConvProblem& p, const std::vector<int8_t>& out, const char* who) {
  const size_t oc = p.c.groups * p.c.goc;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool written = i < OutElems(p) && i % p.out_stride < oc;
    if (!written && out[i] != kSentinel) return Internal(who, " wrote padding element ", i);
  }
  return Status::Ok();
}

Status RunConv(const QS8ConvVariant& v, const ConvProblem& p, std::vector<int8_t>* out) {
  QS8ConvOp op;
  QP_RETURN_IF_ERROR(v.create(p.params, &op));
  out->assign(OutElems(p) + p.out_stride, kSentinel);
  QP_RETURN_IF_ERROR(v.run(op, p.c.batch, p.c.in_h, p.c.in_w, p.x.data(), out->data()));
  return CheckPadding(p, *out, v.name);
}

// The same problem as a depthwise one ([kh][kw][C] weights) when gic == goc == 1.
Status RunDwConv(const QS8DwConvVariant& v, const ConvProblem& p, std::vector<int8_t>* out) {
  const size_t ch = p.c.groups, taps = p.c.kh * p.c.kw;
  std::vector<int8_t> hwc(taps * ch);
  for (size_t c = 0; c < ch; ++c) {
    for (size_t t = 0; t < taps; ++t) hwc[t * ch + c] = p.w[c * taps + t];
  }
  QS8DwConvParams d;
  d.channels = ch;
  d.kernel_h = p.c.kh;
  d.kernel_w = p.c.kw;
  d.stride_h = p.c.sh;
  d.stride_w = p.c.sw;
  d.dilation_h = p.c.dh;
  d.dilation_w = p.c.dw;
  d.pad_top = p.c.pt;
  d.pad_left = p.c.pl;
  d.pad_bottom = p.c.pb;
  d.pad_right = p.c.pr;
  d.input_pixel_stride = p.in_stride;
  d.output_pixel_stride = p.out_stride;
  d.weights = hwc.data();
  d.bias = p.bias.data();
  d.input_zero_point = p.c.za;
  d.requant = p.rq.data();
  d.per_channel = p.c.per_channel;
  d.output = p.params.output;
  QS8DwConvOp op;
  QP_RETURN_IF_ERROR(v.create(d, &op));
  out->assign(OutElems(p) + p.out_stride, kSentinel);
  QP_RETURN_IF_ERROR(v.run(op, p.c.batch, p.c.in_h, p.c.in_w, p.x.data(), out->data()));
  return CheckPadding(p, *out, v.name);
}

ConvCase Geo(size_t b, size_t h, size_t w, size_t k, size_t s, size_t pad, size_t groups,
             size_t gic, size_t goc) {
  return ConvCase{b, h, w, k, k, s, s, 1, 1, pad, pad, pad, pad, groups, gic, goc};
}

std::vector<ConvCase> GeneralCases() {
  std::vector<ConvCase> cs = {
      Geo(1, 7, 9, 3, 1, 1, 1, 5, 7),    // 3x3 same padding
      Geo(2, 8, 8, 3, 2, 1, 1, 3, 16),   // stride 2, batch 2
      Geo(1, 6, 5, 5, 1, 2, 1, 2, 3),    // 5x5
      Geo(1, 5, 5, 1, 1, 0, 1, 17, 9),   // 1x1 fast path, odd channels
      Geo(3, 4, 3, 1, 1, 0, 2, 8, 3),    // grouped 1x1
      Geo(1, 9, 9, 1, 2, 0, 1, 4, 4),    // 1x1 stride 2 (im2col)
      Geo(1, 7, 7, 3, 1, 1, 3, 4, 5),    // grouped 3x3
      Geo(1, 2, 2, 3, 1, 1, 1, 3, 2),    // image smaller than the kernel, mostly padding
      Geo(1, 10, 11, 3, 1, 1, 17, 1, 1), // depthwise via the conv API, channel tail
      Geo(2, 9, 8, 5, 2, 2, 24, 1, 1),   // depthwise 5x5 stride 2
  };
  ConvCase asym{1, 8, 7, 3, 2, 2, 1, 1, 1, 0, 2, 1, 0, 1, 6, 5};  // asymmetric pads, 3x2 kernel
  cs.push_back(asym);
  ConvCase dil{1, 11, 10, 3, 3, 1, 2, 2, 3, 2, 3, 2, 1, 1, 3, 4};  // dilation 2x3, stride 1x2
  cs.push_back(dil);
  ConvCase wide{1, 3, 20, 1, 7, 1, 1, 1, 1, 0, 3, 0, 3, 1, 8, 9};  // 1x7 kernel
  cs.push_back(wide);
  for (size_t i = 0; i < cs.size(); ++i) {
    cs[i].per_channel = i % 2;
    cs[i].scheme = i % 3 == 2 ? RequantScheme::kQ31 : RequantScheme::kFp32;
    cs[i].za = static_cast<int32_t>((i * 71) % 256) - 128;
    cs[i].zo = static_cast<int32_t>((i * 37) % 200) - 100;
    cs[i].in_pad = i % 4 == 1 ? 3 : 0;
    cs[i].out_pad = i % 4 == 3 ? 2 : 0;
  }
  return cs;
}

TEST(QS8ConvScalar, WithinOneQuantizationStepOfRealMath) {
  // Exact integer sums, then one fp32 requantization: within 0.5 + 1e-3 of the real value
  // (same argument as the GEMM test). The oracle here is a plain double convolution.
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(20);
  for (const ConvCase& c : GeneralCases()) {
    if (c.scheme != RequantScheme::kFp32) continue;
    ConvProblem p = MakeConv(rng, c);
    std::vector<int8_t> out;
    ASSERT_TRUE(RunConv(QS8ConvVariants().front(), p, &out).ok()) << Name(c);
    for (size_t b = 0; b < c.batch; ++b)
      for (size_t oy = 0; oy < p.out_h; ++oy)
        for (size_t ox = 0; ox < p.out_w; ++ox)
          for (size_t g = 0; g < c.groups; ++g)
            for (size_t o = 0; o < c.goc; ++o) {
              const size_t oc = g * c.goc + o;
              double real = p.bias[oc];
              for (size_t ky = 0; ky < c.kh; ++ky)
                for (size_t kx = 0; kx < c.kw; ++kx) {
                  const long iy = long(oy * c.sh + ky * c.dh) - long(c.pt);
                  const long ix = long(ox * c.sw + kx * c.dw) - long(c.pl);
                  if (iy < 0 || ix < 0 || iy >= long(c.in_h) || ix >= long(c.in_w)) continue;
                  for (size_t ci = 0; ci < c.gic; ++ci) {
                    const double xv =
                        p.x[((b * c.in_h + iy) * c.in_w + ix) * p.in_stride + g * c.gic + ci] - c.za;
                    real += xv * p.w[((oc * c.kh + ky) * c.kw + kx) * c.gic + ci];
                  }
                }
              real = real * p.in_scale * p.w_scale[c.per_channel ? oc : 0] / p.out_scale + c.zo;
              real = std::min(127.0, std::max(-128.0, real));
              const int got = out[((b * p.out_h + oy) * p.out_w + ox) * p.out_stride + oc];
              ASSERT_LE(std::fabs(got - real), 0.5 + 1e-3) << Name(c) << " oc=" << oc;
            }
  }
}

class QS8ConvVariantTest : public ::testing::TestWithParam<QS8ConvVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
  void Check(const std::vector<ConvCase>& cases, uint64_t salt) {
    SCOPED_TRACE(qp::testing::SeedTrace());
    auto rng = qp::testing::Rng(salt);
    size_t checked = 0;
    for (const ConvCase& c : cases) {
      ConvProblem p = MakeConv(rng, c);
      std::vector<int8_t> want, got;
      ASSERT_TRUE(RunConv(QS8ConvVariants().front(), p, &want).ok()) << Name(c);
      const Status s = RunConv(GetParam(), p, &got);
      if (s.code() == StatusCode::kUnimplemented) continue;
      ASSERT_TRUE(s.ok()) << s.ToString() << " " << Name(c);
      ++checked;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(int(got[i]), int(want[i]))
            << GetParam().name << " pixel " << i / p.out_stride << " channel "
            << i % p.out_stride << " " << Name(c);
      }
    }
    EXPECT_GT(checked, cases.size() / 4) << GetParam().name << " declined most cases";
  }
};

TEST_P(QS8ConvVariantTest, MatchesScalarOnGeometries) { Check(GeneralCases(), 21); }

TEST_P(QS8ConvVariantTest, ZeroPointAndClampSweep) {
  std::vector<ConvCase> cases;
  for (int32_t za : {-128, 0, 127}) {
    for (int32_t zo : {-128, 5, 127}) {
      for (auto [lo, hi] : {std::pair{-128, 127}, {0, 127}, {0, 6}, {-20, -10}}) {
        ConvCase c = Geo(1, 5, 4, 3, 1, 1, 1, 3, 5);
        c.za = za;
        c.zo = zo;
        c.qmin = lo;
        c.qmax = hi;
        c.per_channel = za == 0;
        cases.push_back(c);
      }
    }
  }
  Check(cases, 22);
}

TEST_P(QS8ConvVariantTest, RejectsInputSmallerThanTheWindow) {
  auto rng = qp::testing::Rng(23);
  ConvProblem p = MakeConv(rng, Geo(1, 5, 5, 3, 1, 0, 1, 2, 2));
  QS8ConvOp op;
  Status s = GetParam().create(p.params, &op);
  if (s.code() == StatusCode::kUnimplemented) GTEST_SKIP() << s.ToString();
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<int8_t> out(64, kSentinel);
  s = GetParam().run(op, 1, 2, 5, p.x.data(), out.data());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("height"), std::string::npos) << s.ToString();
  QS8ConvParams bad = p.params;
  bad.stride_h = 0;
  EXPECT_EQ(GetParam().create(bad, &op).code(), StatusCode::kInvalidArgument);
}

TEST_P(QS8ConvVariantTest, LongRandomGeometrySweep) {
  auto rng = qp::testing::Rng(24);
  std::uniform_int_distribution<size_t> d(1, 4);
  std::vector<ConvCase> cases;
  for (int i = 0; i < 300; ++i) {
    ConvCase c{d(rng), d(rng) + 2, d(rng) + 2, d(rng), d(rng), d(rng) % 3 + 1, d(rng) % 3 + 1,
               d(rng) % 2 + 1, d(rng) % 2 + 1, d(rng) - 1, d(rng) - 1, d(rng) - 1, d(rng) - 1,
               d(rng), d(rng) * 3 - 2, d(rng) * 2 - 1};
    if (c.in_h + c.pt + c.pb < c.dh * (c.kh - 1) + 1 || c.in_w + c.pl + c.pr < c.dw * (c.kw - 1) + 1) continue;
    c.per_channel = i % 2;
    c.scheme = i % 5 == 0 ? RequantScheme::kQ31 : RequantScheme::kFp32;
    c.za = int32_t(rng() % 256) - 128;
    c.zo = int32_t(rng() % 256) - 128;
    cases.push_back(c);
  }
  Check(cases, 25);
}

std::string ConvName(const ::testing::TestParamInfo<QS8ConvVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8ConvVariantTest, ::testing::ValuesIn(QS8ConvVariants()),
                         ConvName);

// ---- depthwise family -----------------------------------------------------------------------------

std::vector<ConvCase> DwCases() {
  std::vector<ConvCase> cs;
  size_t i = 0;
  for (size_t k : {3, 5}) {
    for (size_t s : {1, 2}) {
      for (size_t ch : {1, 7, 8, 9, 16, 33}) {
        ConvCase c = Geo(1 + i % 2, 7 + i % 3, 6 + i % 4, k, s, k / 2, ch, 1, 1);
        c.per_channel = i % 2;
        c.scheme = i % 3 == 1 ? RequantScheme::kQ31 : RequantScheme::kFp32;
        c.za = int32_t((i * 53) % 256) - 128;
        c.zo = int32_t((i * 29) % 256) - 128;
        c.in_pad = i % 4 == 2 ? 5 : 0;
        c.out_pad = i % 4 == 3 ? 1 : 0;
        if (i % 5 == 4) c.qmin = c.zo;  // ReLU
        cs.push_back(c);
        ++i;
      }
    }
  }
  ConvCase asym{1, 6, 9, 3, 3, 2, 1, 2, 1, 0, 2, 1, 0, 12, 1, 1};  // asymmetric pads, dilation
  cs.push_back(asym);
  // Rows wide enough for interior pixels between the borders (the row-wise SIMD loop), with
  // horizontal dilation and stride, asymmetric pads and channel tails; and an image narrower than
  // the kernel (no interior pixel at all).
  ConvCase wide5{1, 9, 21, 5, 5, 1, 2, 2, 2, 4, 3, 4, 5, 24, 1, 1};
  wide5.za = -77;
  wide5.zo = 9;
  wide5.in_pad = 3;
  cs.push_back(wide5);
  ConvCase wide3{2, 5, 19, 3, 3, 2, 2, 1, 2, 1, 2, 0, 1, 17, 1, 1};
  wide3.za = 100;
  wide3.per_channel = true;
  wide3.out_pad = 2;
  cs.push_back(wide3);
  ConvCase narrow{1, 4, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 16, 1, 1};
  narrow.za = 5;
  cs.push_back(narrow);
  return cs;
}

class QS8DwConvVariantTest : public ::testing::TestWithParam<QS8DwConvVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
};

TEST_P(QS8DwConvVariantTest, MatchesGeneralScalarConvolution) {
  // The oracle is the general scalar convolution with groups == channels (an independent code
  // path from the depthwise kernels), bit-exact.
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(26);
  size_t checked = 0;
  const auto cases = DwCases();
  for (const ConvCase& c : cases) {
    ConvProblem p = MakeConv(rng, c);
    std::vector<int8_t> want, got;
    ASSERT_TRUE(RunConv(QS8ConvVariants().front(), p, &want).ok()) << Name(c);
    const Status s = RunDwConv(GetParam(), p, &got);
    if (s.code() == StatusCode::kUnimplemented) continue;
    ASSERT_TRUE(s.ok()) << s.ToString() << " " << Name(c);
    ++checked;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(int(got[i]), int(want[i])) << GetParam().name << " pixel " << i / p.out_stride
                                           << " channel " << i % p.out_stride << " " << Name(c);
    }
  }
  EXPECT_GT(checked, cases.size() / 4);
}

std::string DwName(const ::testing::TestParamInfo<QS8DwConvVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8DwConvVariantTest, ::testing::ValuesIn(QS8DwConvVariants()),
                         DwName);

}  // namespace
}  // namespace qp::kernels
