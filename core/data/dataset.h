// Dataset: images as float32 NCHW plus int64 labels, the one normalisation every demo model and
// the playground use, and seeded minibatch iteration that gives the same batches natively and in
// wasm (our own PRNG and bounded draw; no std:: distributions, whose output differs by library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::data {

// THE input normalisation (the only place it is defined): a uint8 pixel p becomes p / 255, so
// model inputs lie in [0, 1]. Chosen over mean/std standardisation because [0, 1] maps onto an
// unsigned 8-bit grid with zero-point 0 exactly, which keeps the playground's input quantization
// easy to read. Float inputs supplied by users are taken as already normalised.
inline constexpr float kPixelScale = 1.0f / 255.0f;
inline float NormalizePixel(uint8_t p) { return static_cast<float>(p) * kPixelScale; }

struct Dataset {
  Tensor images;            // float32 [N, C, H, W] (or [N, D] for feature data)
  Tensor labels;            // int64 [N], each in [0, num_classes)
  int64_t num_classes = 0;

  int64_t size() const { return labels.numel(); }
};

// Checks a float tensor for NaN and +-Inf: "images 'x': 3 non-finite values (NaN or Inf), first at
// flat index 17 (sample 0)". `per_sample` is the element count of one sample (for the message).
Status CheckFinite(const Tensor& t, const std::string& what, int64_t per_sample = 0);

// Builds a Dataset from untrusted tensors. images: uint8 (normalised with NormalizePixel) or
// float32 (checked finite), rank 2 [N, D], 3 [N, H, W] (gets C = 1) or 4 [N, C, H, W].
// labels: uint8, int8, int32 or int64, shape [N] or [N, 1], each in [0, num_classes).
// Errors: empty dataset, N mismatch, bad rank or dtype, label out of range, NaN/Inf.
Result<Dataset> MakeDataset(const Tensor& images, const Tensor& labels, int64_t num_classes,
                            const std::string& name);

// Parses a tensor file of either self-describing format, chosen by magic bytes, not by name:
// .npy ("\x93NUMPY") or IDX (00 00 type rank); gzip'd input is inflated first where zlib exists.
// For bytes handed over by the browser (uploads) and for files alike.
Result<Tensor> ParseTensorBytes(const std::vector<uint8_t>& bytes, const std::string& name);
Result<Tensor> ReadTensorFile(const std::string& path);

// A labelled dataset from two tensor files (IDX or .npy each), e.g. user uploads.
Result<Dataset> LoadDatasetFiles(const std::string& images_path, const std::string& labels_path,
                                 int64_t num_classes);

// Samples [start, start + count) or by index list (indices must be in range: precondition
// checked, errors returned).
Result<Dataset> SliceDataset(const Dataset& ds, int64_t start, int64_t count);
Result<Dataset> GatherDataset(const Dataset& ds, const std::vector<int64_t>& indices);

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fully specified, identical on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, bound) by rejection (no modulo bias); bound > 0.
  uint64_t Below(uint64_t bound);
  // Uniform float in [0, 1) from the top 24 bits.
  float Uniform01();

 private:
  uint64_t state_;
};

// Fisher-Yates permutation of 0..n-1 from `seed`; the same on every platform.
std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed);

struct Batch {
  Tensor images;                 // float32 [B, ...]
  Tensor labels;                 // int64 [B]
  std::vector<int64_t> indices;  // which dataset samples
};

// Endless minibatch stream over a dataset: epoch e uses the permutation ShuffledIndices(N, seed
// mixed with e) (or the identity without shuffling); the last, smaller batch of an epoch is kept
// unless drop_last. The dataset must outlive the iterator.
class BatchIterator {
 public:
  static Result<BatchIterator> Create(const Dataset* ds, int64_t batch_size, bool shuffle,
                                      uint64_t seed, bool drop_last = false);
  Batch Next();
  int64_t epoch() const { return epoch_; }           // epochs started so far - 1
  int64_t batches_per_epoch() const;
  int64_t position() const { return pos_; }          // next sample within the epoch's order

 private:
  BatchIterator() = default;
  void StartEpoch();

  const Dataset* ds_ = nullptr;
  int64_t batch_size_ = 0;
  bool shuffle_ = false;
  bool drop_last_ = false;
  uint64_t seed_ = 0;
  int64_t epoch_ = -1;
  int64_t pos_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace qp::data
