// Dataset construction, validation and seeded minibatches (see dataset.h).
#include "core/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/data/file_io.h"
#include "core/data/idx.h"
#include "core/data/npy.h"

namespace qp::data {

Status CheckFinite(const Tensor& t, const std::string& what, int64_t per_sample) {
  if (t.dtype() != DType::kFloat32) return Status::Ok();
  const float* p = t.f32();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (!std::isfinite(p[i])) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return Status::Ok();
  std::string where = "flat index " + std::to_string(first);
  if (per_sample > 0) where += " (sample " + std::to_string(first / per_sample) + ")";
  return InvalidArgument(what, ": ", bad, " non-finite values (NaN or Inf), first at ", where,
                         "; data must be finite");
}

Result<Dataset> MakeDataset(const Tensor& images, const Tensor& labels, int64_t num_classes,
                            const std::string& name) {
  if (num_classes < 1) return InvalidArgument("dataset '", name, "': num_classes ", num_classes, "; must be >= 1");
  if (images.rank() < 2 || images.rank() > 4)
    return InvalidArgument("dataset '", name, "': images have shape ", ShapeToString(images.shape()),
                           "; need [N, D], [N, H, W] or [N, C, H, W]");
  const int64_t n = images.dim(0);
  if (n == 0) return InvalidArgument("dataset '", name, "': empty (0 samples)");
  const bool labels_ok_shape =
      labels.rank() == 1 || (labels.rank() == 2 && labels.dim(1) == 1);
  if (!labels_ok_shape)
    return InvalidArgument("dataset '", name, "': labels have shape ", ShapeToString(labels.shape()),
                           "; need [N] or [N, 1]");
  if (labels.dim(0) != n)
    return InvalidArgument("dataset '", name, "': ", n, " images but ", labels.dim(0), " labels");
  Dataset ds;
  ds.num_classes = num_classes;
  Shape shape = images.shape();
  if (images.rank() == 3) shape = {n, 1, images.dim(1), images.dim(2)};
  const int64_t per_sample = images.numel() / n;
  if (images.dtype() == DType::kUInt8) {
    ds.images = Tensor(DType::kFloat32, shape);
    const uint8_t* src = images.data<uint8_t>();
    float* dst = ds.images.f32();
    for (int64_t i = 0; i < images.numel(); ++i) dst[i] = NormalizePixel(src[i]);
  } else if (images.dtype() == DType::kFloat32) {
    QP_RETURN_IF_ERROR(CheckFinite(images, "dataset '" + name + "' images", per_sample));
    ds.images = images.Reshaped(shape);
  } else {
    return InvalidArgument("dataset '", name, "': images dtype ", DTypeName(images.dtype()),
                           "; must be uint8 (pixels) or float32 (already normalised)");
  }
  ds.labels = Tensor(DType::kInt64, {n});
  int64_t* out = ds.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t v;
    switch (labels.dtype()) {
      case DType::kUInt8: v = labels.data<uint8_t>()[i]; break;
      case DType::kInt8: v = labels.data<int8_t>()[i]; break;
      case DType::kInt32: v = labels.data<int32_t>()[i]; break;
      case DType::kInt64: v = labels.data<int64_t>()[i]; break;
      default:
        return InvalidArgument("dataset '", name, "': labels dtype ", DTypeName(labels.dtype()),
                               "; must be an integer type");
    }
    if (v < 0 || v >= num_classes)
      return OutOfRange("dataset '", name, "': label ", i, " is ", v, "; must be in [0, ", num_classes, ")");
    out[i] = v;
  }
  return ds;
}

Result<Tensor> ParseTensorBytes(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (IsGzip(bytes.data(), bytes.size())) {
    QP_ASSIGN_OR_RETURN(std::vector<uint8_t> plain, Gunzip(bytes.data(), bytes.size(), name));
    if (IsGzip(plain.data(), plain.size()))
      return InvalidArgument("tensor file '", name, "': gzip inside gzip is not accepted");
    return ParseTensorBytes(plain, name);
  }
  if (bytes.size() >= 6 && bytes[0] == 0x93 && std::memcmp(bytes.data() + 1, "NUMPY", 5) == 0)
    return ParseNpy(bytes.data(), bytes.size(), name);
  if (bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0) return ParseIdx(bytes.data(), bytes.size(), name);
  return InvalidArgument("tensor file '", name, "': neither .npy (\\x93NUMPY) nor IDX (00 00 type rank) "
                         "magic; raw float32 needs an explicit shape (ReadRawF32File)");
}

Result<Tensor> ReadTensorFile(const std::string& path) {
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseTensorBytes(bytes, path);
}

Result<Dataset> LoadDatasetFiles(const std::string& images_path, const std::string& labels_path,
                                 int64_t num_classes) {
  QP_ASSIGN_OR_RETURN(Tensor images, ReadTensorFile(images_path));
  QP_ASSIGN_OR_RETURN(Tensor labels, ReadTensorFile(labels_path));
  return MakeDataset(images, labels, num_classes, images_path);
}

Result<Dataset> GatherDataset(const Dataset& ds, const std::vector<int64_t>& indices) {
  const int64_t n = ds.size();
  if (indices.empty()) return InvalidArgument("GatherDataset: empty index list");
  Shape shape = ds.images.shape();
  const int64_t per = n ? ds.images.numel() / n : 0;
  shape[0] = static_cast<int64_t>(indices.size());
  Dataset out;
  out.num_classes = ds.num_classes;
  out.images = Tensor(DType::kFloat32, shape);
  out.labels = Tensor(DType::kInt64, {shape[0]});
  for (size_t j = 0; j < indices.size(); ++j) {
    const int64_t i = indices[j];
    if (i < 0 || i >= n) return OutOfRange("GatherDataset: index ", i, " outside [0, ", n, ")");
    std::memcpy(out.images.f32() + j * per, ds.images.f32() + i * per, sizeof(float) * per);
    out.labels.data<int64_t>()[j] = ds.labels.data<int64_t>()[i];
  }
  return out;
}

Result<Dataset> SliceDataset(const Dataset& ds, int64_t start, int64_t count) {
  if (start < 0 || count < 1 || start > ds.size() - count)
    return OutOfRange("SliceDataset: [", start, ", ", start, " + ", count, ") outside [0, ", ds.size(), ")");
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) idx[i] = start + i;
  return GatherDataset(ds, idx);
}

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::Below(uint64_t bound) {
  // Reject the top partial copy of [0, bound) so every residue is equally likely.
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % bound);
  uint64_t x;
  do x = Next();
  while (x >= limit);
  return x % bound;
}

float SplitMix64::Uniform01() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[rng.Below(static_cast<uint64_t>(i) + 1)]);
  return idx;
}

Result<BatchIterator> BatchIterator::Create(const Dataset* ds, int64_t batch_size, bool shuffle,
                                            uint64_t seed, bool drop_last) {
  if (!ds || ds->size() == 0) return InvalidArgument("BatchIterator: empty dataset");
  if (batch_size < 1) return InvalidArgument("BatchIterator: batch size ", batch_size, "; must be >= 1");
  if (drop_last && batch_size > ds->size())
    return InvalidArgument("BatchIterator: batch size ", batch_size, " exceeds the ", ds->size(),
                           " samples and drop_last is set, so no batch could be formed");
  BatchIterator it;
  it.ds_ = ds;
  it.batch_size_ = batch_size;
  it.shuffle_ = shuffle;
  it.seed_ = seed;
  it.drop_last_ = drop_last;
  it.StartEpoch();
  return it;
}

int64_t BatchIterator::batches_per_epoch() const {
  const int64_t n = ds_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void BatchIterator::StartEpoch() {
  ++epoch_;
  pos_ = 0;
  if (shuffle_) {
    order_ = ShuffledIndices(ds_->size(), seed_ ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(epoch_ + 1)));
  } else {
    order_.resize(static_cast<size_t>(ds_->size()));
    for (int64_t i = 0; i < ds_->size(); ++i) order_[i] = i;
  }
}

Batch BatchIterator::Next() {
  const int64_t n = ds_->size();
  if (pos_ >= n || (drop_last_ && n - pos_ < batch_size_)) StartEpoch();
  const int64_t b = std::min(batch_size_, n - pos_);
  Batch out;
  out.indices.assign(order_.begin() + pos_, order_.begin() + pos_ + b);
  pos_ += b;
  Shape shape = ds_->images.shape();
  const int64_t per = ds_->images.numel() / n;
  shape[0] = b;
  out.images = Tensor(DType::kFloat32, shape);
  out.labels = Tensor(DType::kInt64, {b});
  for (int64_t j = 0; j < b; ++j) {
    const int64_t i = out.indices[j];
    std::memcpy(out.images.f32() + j * per, ds_->images.f32() + i * per, sizeof(float) * per);
    out.labels.data<int64_t>()[j] = ds_->labels.data<int64_t>()[i];
  }
  return out;
}

}  // namespace qp::data
