// Tests for core/data: IDX / .npy / raw readers against byte layouts written by hand from the
// format specs, hardening against lying headers, Dataset normalisation and validation, seeded
// minibatches, Fashion-MNIST (natively, gzip) and the web subset (both builds, plain IDX).
#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp (POSIX)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/data/fashion_mnist.h"
#include "core/data/file_io.h"
#include "core/data/idx.h"
#include "core/data/npy.h"
#include "core/data/raw.h"
#include "tests/test_util.h"

namespace qp::data {
namespace {

using Bytes = std::vector<uint8_t>;

void PutBe32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

Bytes IdxHeader(uint8_t type, std::vector<uint32_t> dims) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) PutBe32(&b, d);
  return b;
}

// A file name inside one fresh directory per run, made by mkdtemp under the system temp directory
// (TMPDIR), so parallel runs and other users never collide.
std::string TempPath(const std::string& leaf) {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qp_data_test_XXXXXX").string();
    const char* made = mkdtemp(tmpl.data());
    return made ? std::string(made) : std::filesystem::temp_directory_path().string();
  }();
  return dir + "/" + leaf;
}

TEST(DataIdx, ParsesUbyteImagesFromSpecLayout) {
  Bytes b = IdxHeader(0x08, {2, 2, 3});
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<uint8_t>(i * 20));
  Result<Tensor> t = ParseIdx(b.data(), b.size(), "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dtype(), DType::kUInt8);
  EXPECT_EQ(t->shape(), (Shape{2, 2, 3}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(t->data<uint8_t>()[i], i * 20) << i;
}

TEST(DataIdx, ParsesBigEndianInt32AndFloat) {
  Bytes b = IdxHeader(0x0C, {2});
  PutBe32(&b, 0xFFFFFFFEu);  // -2
  PutBe32(&b, 70000);
  Result<Tensor> t = ParseIdx(b.data(), b.size(), "i");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->data<int32_t>()[0], -2);
  EXPECT_EQ(t->data<int32_t>()[1], 70000);
  Bytes f = IdxHeader(0x0D, {1});
  PutBe32(&f, 0x3FC00000u);  // 1.5f in IEEE-754
  Result<Tensor> tf = ParseIdx(f.data(), f.size(), "f");
  ASSERT_TRUE(tf.ok()) << tf.status().ToString();
  EXPECT_EQ(tf->f32()[0], 1.5f);
}

TEST(DataIdx, EncodeMatchesSpecAndRoundTrips) {
  Tensor t = Tensor::FromVector<uint8_t>({3, 2}, {1, 2, 3, 4, 5, 255});
  Result<Bytes> b = EncodeIdxU8(t);
  ASSERT_TRUE(b.ok());
  Bytes want = IdxHeader(0x08, {3, 2});
  for (uint8_t v : {1, 2, 3, 4, 5, 255}) want.push_back(v);
  EXPECT_EQ(*b, want);
}

TEST(DataIdx, RejectsBadInputWithClearErrors) {
  Bytes good = IdxHeader(0x08, {2, 3});
  good.resize(good.size() + 6, 7);
  struct Case {
    const char* what;
    Bytes bytes;
    StatusCode code;
    const char* needle;
  };
  Bytes wrong_magic = good;
  wrong_magic[1] = 3;
  Bytes bad_type = good;
  bad_type[2] = 0x07;
  Bytes rank0 = {0, 0, 8, 0};
  Bytes truncated_header = IdxHeader(0x08, {2, 3});
  truncated_header.resize(9);
  Bytes truncated_data(good.begin(), good.end() - 1);
  Bytes trailing = good;
  trailing.push_back(1);
  // 65536^4 = 2^64 elements: must fail before any allocation.
  Bytes overflow = IdxHeader(0x08, {65536, 65536, 65536, 65536});
  // 2^31 elements: a valid count but above the default 2^30 cap.
  Bytes over_cap = IdxHeader(0x08, {32768, 65536});
  std::vector<Case> cases = {
      {"wrong magic", wrong_magic, StatusCode::kInvalidArgument, "magic"},
      {"bad type", bad_type, StatusCode::kInvalidArgument, "type byte"},
      {"rank 0", rank0, StatusCode::kInvalidArgument, "rank 0"},
      {"truncated header", truncated_header, StatusCode::kDataLoss, "truncated header"},
      {"truncated data", truncated_data, StatusCode::kDataLoss, "truncated data"},
      {"trailing bytes", trailing, StatusCode::kDataLoss, "trailing"},
      {"overflow", overflow, StatusCode::kResourceExhausted, "overflows"},
      {"over cap", over_cap, StatusCode::kResourceExhausted, "cap"},
      {"too short", Bytes{0, 0}, StatusCode::kDataLoss, "shorter"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Result<Tensor> t = ParseIdx(c.bytes.data(), c.bytes.size(), "bad.idx");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status().ToString();
    EXPECT_NE(t.status().message().find("bad.idx"), std::string::npos) << t.status().ToString();
  }
}

TEST(DataIdx, GzipIsInflatedNativelyAndRefusedClearlyInWasm) {
  const std::string path = std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz";
  Result<Bytes> raw = ReadFileBytes(path);
  if (!raw.ok()) GTEST_SKIP() << "Fashion-MNIST not installed: " << raw.status().ToString();
  ASSERT_TRUE(IsGzip(raw->data(), raw->size()));
  Result<Tensor> t = ReadIdxFile(path);
  if (!HaveGzip()) {
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(t.status().message().find("DecompressionStream"), std::string::npos);
    return;
  }
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{10000}));
  // A truncated gzip stream is DataLoss, never a short tensor.
  Result<Bytes> cut = Gunzip(raw->data(), raw->size() / 2, "cut.gz");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss) << cut.status().ToString();
  // The output cap holds while inflating (10,008 bytes inflated > 1,000).
  Result<Bytes> capped = Gunzip(raw->data(), raw->size(), "capped.gz", 1000);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().code(), StatusCode::kResourceExhausted);
}

// .npy v1.0 bytes written from the NEP-1 layout by hand (not by EncodeNpy).
Bytes NpyBytes(const std::string& dict, const Bytes& payload, int major = 1) {
  std::string header = dict;
  const size_t pre = major == 1 ? 10 : 12;
  while ((pre + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  b.push_back(static_cast<uint8_t>(header.size()));
  b.push_back(static_cast<uint8_t>(header.size() >> 8));
  if (major != 1) b.push_back(0), b.push_back(0);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes F32Payload(const std::vector<float>& v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(DataNpy, ParsesFloat32AndUint8) {
  Bytes f = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                     F32Payload({1, 2, 3, 4, 5, -6.5f}));
  Result<Tensor> t = ParseNpy(f.data(), f.size(), "f.npy");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  EXPECT_EQ(t->f32()[5], -6.5f);
  Bytes u = NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", Bytes{9, 8, 7, 255}, 2);
  Result<Tensor> tu = ParseNpy(u.data(), u.size(), "u.npy");
  ASSERT_TRUE(tu.ok()) << tu.status().ToString();
  EXPECT_EQ(tu->dtype(), DType::kUInt8);
  EXPECT_EQ(tu->shape(), (Shape{4}));
  EXPECT_EQ(tu->data<uint8_t>()[3], 255);
  // Keys in another order, double quotes and a 0-d scalar are all legal Python literals.
  Bytes s = NpyBytes("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f4\"}", F32Payload({3.25f}));
  Result<Tensor> ts = ParseNpy(s.data(), s.size(), "s.npy");
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(ts->rank(), 0);
  EXPECT_EQ(ts->f32()[0], 3.25f);
}

TEST(DataNpy, EncodeRoundTripsAndFollowsTheSpec) {
  for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3, 1}}) {
    SCOPED_TRACE(ShapeToString(shape));
    Tensor t(DType::kFloat32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 0.5f * static_cast<float>(i) - 1.0f;
    Result<Bytes> b = EncodeNpy(t);
    ASSERT_TRUE(b.ok());
    const size_t header_len = (*b)[8] | ((*b)[9] << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);  // NEP 1: data starts 64-byte aligned
    EXPECT_EQ((*b)[10 + header_len - 1], '\n');
    Result<Tensor> back = ParseNpy(b->data(), b->size(), "rt");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->shape(), shape);
    EXPECT_EQ(std::memcmp(back->raw(), t.raw(), t.nbytes()), 0);
  }
}

TEST(DataNpy, RejectsLyingHeaders) {
  const Bytes six = F32Payload({1, 2, 3, 4, 5, 6});
  struct Case {
    const char* what;
    Bytes bytes;
    StatusCode code;
    const char* needle;
  };
  Bytes bad_magic = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", six);
  bad_magic[1] = 'X';
  Bytes header_lie = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", Bytes{});
  header_lie[8] = 0xFF;
  header_lie[9] = 0x7F;
  std::vector<Case> cases = {
      {"bad magic", bad_magic, StatusCode::kInvalidArgument, "magic"},
      {"float64", NpyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", six),
       StatusCode::kUnimplemented, "'<f8'"},
      {"big-endian", NpyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", six),
       StatusCode::kUnimplemented, "big-endian"},
      {"fortran order", NpyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six),
       StatusCode::kUnimplemented, "fortran_order"},
      {"shape overflow",
       NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", six),
       StatusCode::kResourceExhausted, "overflows"},
      {"shape digits overflow",
       NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", six),
       StatusCode::kInvalidArgument, "overflows"},
      {"negative dim", NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", six),
       StatusCode::kInvalidArgument, "non-negative"},
      {"too little data", NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", six),
       StatusCode::kDataLoss, "needs 28"},
      {"too much data", NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", six),
       StatusCode::kDataLoss, "file has 24"},
      {"header length lie", header_lie, StatusCode::kDataLoss, "header says"},
      {"missing key", NpyBytes("{'descr': '<f4', 'shape': (6,), }", six), StatusCode::kInvalidArgument,
       "needs descr"},
      {"unterminated string", NpyBytes("{'descr': '<f4", six), StatusCode::kInvalidArgument, "malformed"},
      {"version 9", NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", six, 9),
       StatusCode::kUnimplemented, "version 9"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Result<Tensor> t = ParseNpy(c.bytes.data(), c.bytes.size(), "lie.npy");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), c.code) << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status().ToString();
    EXPECT_NE(t.status().message().find("lie.npy"), std::string::npos) << t.status().ToString();
  }
}

TEST(DataRaw, InfersOneDimAndRejectsMismatch) {
  const Bytes b = F32Payload(std::vector<float>(2 * 3 * 4, 1.0f));
  Result<Tensor> t = ParseRawF32(b.data(), b.size(), {-1, 3, 4}, "in.bin");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{2, 3, 4}));
  Result<Tensor> exact = ParseRawF32(b.data(), b.size(), {4, 6}, "in.bin");
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(ParseRawF32(b.data(), b.size(), {-1, 5}, "in.bin").ok());
  EXPECT_FALSE(ParseRawF32(b.data(), b.size(), {5, 5}, "in.bin").ok());
  EXPECT_FALSE(ParseRawF32(b.data(), b.size(), {-1, -1}, "in.bin").ok());
  EXPECT_FALSE(ParseRawF32(b.data(), b.size() - 1, {-1}, "in.bin").ok());
  EXPECT_FALSE(ParseRawF32(b.data(), b.size(), {-1, int64_t{1} << 62, 8}, "in.bin").ok());
  Result<Tensor> huge = ParseRawF32(b.data(), b.size(), {int64_t{1} << 40, int64_t{1} << 40}, "in.bin");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted);
}

TEST(DataDataset, LoadsUserFilesOfEitherFormatByMagic) {
  // Images as uint8 .npy [3, 2, 2], labels as IDX; then the reverse roles of the formats.
  Tensor img = Tensor::FromVector<uint8_t>({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8});
  Tensor lab = Tensor::FromVector<uint8_t>({3}, {2, 0, 1});
  const std::string ip = TempPath("img.npy"), lp = TempPath("lab.idx");
  ASSERT_TRUE(WriteFileBytes(ip, *EncodeNpy(img)).ok());
  ASSERT_TRUE(WriteFileBytes(lp, *EncodeIdxU8(lab)).ok());
  Result<Dataset> ds = LoadDatasetFiles(ip, lp, 3);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->images.shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(ds->images.f32()[1], 1.0f);
  EXPECT_EQ(ds->labels.data<int64_t>()[0], 2);
  const Bytes junk = {'h', 'e', 'l', 'l', 'o'};
  Result<Tensor> bad = ParseTensorBytes(junk, "junk.bin");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("junk.bin"), std::string::npos);
  EXPECT_FALSE(LoadDatasetFiles(ip, TempPath("missing"), 3).ok());
  std::remove(ip.c_str());
  std::remove(lp.c_str());
}

TEST(DataDataset, NormalisesPixelsAndConvertsLabels) {
  Tensor img = Tensor::FromVector<uint8_t>({2, 1, 2}, {0, 51, 255, 128});
  Tensor lab = Tensor::FromVector<uint8_t>({2}, {3, 0});
  Result<Dataset> ds = MakeDataset(img, lab, 10, "tiny");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->images.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_EQ(ds->images.f32()[0], 0.0f);
  EXPECT_FLOAT_EQ(ds->images.f32()[1], 0.2f);
  EXPECT_EQ(ds->images.f32()[2], 1.0f);
  EXPECT_EQ(ds->labels.dtype(), DType::kInt64);
  EXPECT_EQ(ds->labels.data<int64_t>()[0], 3);
}

TEST(DataDataset, RejectsBadDataClearly) {
  Tensor lab = Tensor::FromVector<int64_t>({2}, {1, 0});
  Tensor f(DType::kFloat32, {2, 4});
  f.f32()[5] = std::numeric_limits<float>::quiet_NaN();
  f.f32()[7] = std::numeric_limits<float>::infinity();
  Result<Dataset> nan = MakeDataset(f, lab, 2, "nan");
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("2 non-finite"), std::string::npos) << nan.status().ToString();
  EXPECT_NE(nan.status().message().find("flat index 5 (sample 1)"), std::string::npos)
      << nan.status().ToString();
  Tensor ok(DType::kFloat32, {2, 4});
  EXPECT_FALSE(MakeDataset(Tensor(DType::kFloat32, {0, 4}), Tensor(DType::kInt64, {0}), 2, "e").ok());
  EXPECT_FALSE(MakeDataset(ok, Tensor::FromVector<int64_t>({3}, {0, 0, 0}), 2, "n").ok());
  Result<Dataset> range = MakeDataset(ok, Tensor::FromVector<int64_t>({2}, {0, 2}), 2, "r");
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(range.status().message().find("label 1 is 2"), std::string::npos);
  EXPECT_FALSE(MakeDataset(ok, Tensor::FromVector<int64_t>({2}, {0, -1}), 2, "r").ok());
  EXPECT_FALSE(MakeDataset(Tensor(DType::kInt32, {2, 4}), lab, 2, "dt").ok());
  EXPECT_FALSE(MakeDataset(Tensor(DType::kFloat32, {2}), lab, 2, "rank").ok());
}

TEST(DataShuffle, SplitMix64MatchesReferenceVectors) {
  // Published outputs of Vigna's splitmix64.c for seed 1234567.
  SplitMix64 r(1234567);
  const uint64_t want[] = {6457827717110365317ull, 3203168211198807973ull, 9817491932198370423ull,
                           4593380528125082431ull, 16408922859458223821ull};
  for (uint64_t w : want) EXPECT_EQ(r.Next(), w);
}

TEST(DataShuffle, BatchesCoverEachEpochOnceAndRepeatPerSeed) {
  SCOPED_TRACE(testing::SeedTrace());
  const int64_t n = 23;
  Tensor img(DType::kFloat32, {n, 2});
  Tensor lab(DType::kInt64, {n});
  for (int64_t i = 0; i < n; ++i) {
    img.f32()[2 * i] = static_cast<float>(i);
    img.f32()[2 * i + 1] = -static_cast<float>(i);
    lab.data<int64_t>()[i] = i % 3;
  }
  Result<Dataset> ds = MakeDataset(img, lab, 3, "seq");
  ASSERT_TRUE(ds.ok());
  auto run = [&](uint64_t seed) {
    Result<BatchIterator> it = BatchIterator::Create(&*ds, 5, true, seed);
    EXPECT_TRUE(it.ok());
    EXPECT_EQ(it->batches_per_epoch(), 5);
    std::vector<std::vector<int64_t>> epochs(3);
    for (int e = 0; e < 3; ++e) {
      for (int b = 0; b < 5; ++b) {
        Batch batch = it->Next();
        EXPECT_EQ(batch.labels.numel(), b < 4 ? 5 : 3);
        for (size_t j = 0; j < batch.indices.size(); ++j) {
          const int64_t i = batch.indices[j];
          EXPECT_EQ(batch.images.f32()[2 * j], static_cast<float>(i));
          EXPECT_EQ(batch.images.f32()[2 * j + 1], -static_cast<float>(i));
          EXPECT_EQ(batch.labels.data<int64_t>()[j], i % 3);
          epochs[e].push_back(i);
        }
      }
      EXPECT_EQ(it->epoch(), e);
    }
    return epochs;
  };
  const uint64_t seed = testing::Seed();
  auto a = run(seed), b = run(seed), c = run(seed + 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a[0], a[1]);  // reshuffled per epoch (equal with probability 1/23!)
  for (auto& e : a) {
    std::set<int64_t> s(e.begin(), e.end());
    EXPECT_EQ(s.size(), static_cast<size_t>(n));
  }
  EXPECT_FALSE(BatchIterator::Create(&*ds, 0, true, 1).ok());
  EXPECT_FALSE(BatchIterator::Create(&*ds, 24, true, 1, /*drop_last=*/true).ok());
}

TEST(DataShuffle, PermutationIsUnbiasedOnSmallN) {
  // Each of the 6 permutations of 3 items should appear ~1/6 of the time. With 6,000 draws the
  // count per permutation has sd sqrt(6000 * 1/6 * 5/6) ~ 29; +-150 is > 5 sd.
  std::map<std::vector<int64_t>, int> counts;
  for (uint64_t s = 0; s < 6000; ++s) counts[ShuffledIndices(3, testing::Seed() + s)]++;
  EXPECT_EQ(counts.size(), 6u);
  for (auto& [perm, c] : counts) EXPECT_NEAR(c, 1000, 150);
}

// Writes a tiny plain-IDX "dataset" with a recognisable pattern: image i is filled with i % 251
// and labelled i % 10.
void WriteFakeIdx(const std::string& dir, const std::string& prefix, int64_t n) {
  Tensor img(DType::kUInt8, {n, 4, 4});
  Tensor lab(DType::kUInt8, {n});
  for (int64_t i = 0; i < n; ++i) {
    std::memset(img.data<uint8_t>() + 16 * i, static_cast<int>(i % 251), 16);
    lab.data<uint8_t>()[i] = static_cast<uint8_t>(i % 10);
  }
  ASSERT_TRUE(WriteFileBytes(dir + "/" + prefix + "-images-idx3-ubyte", *EncodeIdxU8(img)).ok());
  ASSERT_TRUE(WriteFileBytes(dir + "/" + prefix + "-labels-idx1-ubyte", *EncodeIdxU8(lab)).ok());
}

TEST(DataSubset, WritesPlainIdxThatReadsBackConsistently) {
  const std::string src = TempPath("src"), out = TempPath("out");
  std::filesystem::create_directories(src);
  std::filesystem::create_directories(out);
  WriteFakeIdx(src, "train", 250);  // <= 251 keeps i % 251 unique
  WriteFakeIdx(src, "t10k", 120);
  SubsetOptions opt;
  opt.calib = 50;
  opt.test = 40;
  opt.seed = testing::Seed();
  ASSERT_TRUE(WriteWebSubset(src, out, opt).ok());
  Result<Dataset> calib = LoadIdxDataset(out, "calib");
  Result<Dataset> test = LoadIdxDataset(out, "test");
  ASSERT_TRUE(calib.ok()) << calib.status().ToString();
  ASSERT_TRUE(test.ok()) << test.status().ToString();
  EXPECT_EQ(calib->size(), 50);
  EXPECT_EQ(test->size(), 40);
  EXPECT_EQ(calib->images.shape(), (Shape{50, 1, 4, 4}));
  // Each sample is a distinct source sample (pattern i % 251 identifies i here), its label is
  // the source label, and the samples keep ascending source order.
  for (const Dataset* ds : {&*calib, &*test}) {
    int64_t prev = -1;
    for (int64_t j = 0; j < ds->size(); ++j) {
      const float* px = ds->images.f32() + 16 * j;
      const int64_t i = static_cast<int64_t>(std::lround(px[0] * 255.0f));
      for (int k = 0; k < 16; ++k) EXPECT_EQ(px[k], px[0]);
      EXPECT_GT(i, prev);
      prev = i;
      EXPECT_EQ(ds->labels.data<int64_t>()[j], i % 10);
    }
  }
  // Too many samples requested is an error, not a short file.
  opt.test = 121;
  EXPECT_EQ(WriteWebSubset(src, out, opt).code(), StatusCode::kOutOfRange);
  std::filesystem::remove_all(src);
  std::filesystem::remove_all(out);
}

// Facts from the dataset's README: 28x28 images, 10 balanced classes, pixels spanning the whole
// byte range (so the normalised range is exactly [0, 1]).
void ExpectFashionMnistSplit(FashionSplit split, int64_t n) {
  if (!HaveGzip()) GTEST_SKIP() << "gzip'd IDX needs zlib (native build); the browser inflates in JS";
  Result<Dataset> ds = LoadFashionMnist(split);
  if (!ds.ok() && ds.status().code() == StatusCode::kNotFound) GTEST_SKIP() << ds.status().ToString();
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->images.shape(), (Shape{n, 1, 28, 28}));
  std::vector<int64_t> counts(10);
  for (int64_t i = 0; i < ds->size(); ++i) counts[ds->labels.data<int64_t>()[i]]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], n / 10) << "class " << c;
  const float* p = ds->images.f32();
  EXPECT_EQ(*std::min_element(p, p + ds->images.numel()), 0.0f);
  EXPECT_EQ(*std::max_element(p, p + ds->images.numel()), 1.0f);
}

TEST(DataFashionMnist, LoadsTestSplitNatively) {
  ExpectFashionMnistSplit(FashionSplit::kTest, 10000);
  EXPECT_STREQ(FashionMnistClassName(9), "Ankle boot");
}

// 47 MB to inflate: about a second, so it runs with the long tests.
TEST(DataFashionMnist, LongLoadsTrainSplitNatively) { ExpectFashionMnistSplit(FashionSplit::kTrain, 60000); }

}  // namespace
}  // namespace qp::data
