// Fashion-MNIST loading and the web subset writer (see fashion_mnist.h).
#include "core/data/fashion_mnist.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/data/file_io.h"
#include "core/data/idx.h"

namespace qp::data {
namespace {

// The plain file if it exists, else the ".gz" one (for NotFound the message names both).
Result<Tensor> ReadIdxPlainOrGz(const std::string& path) {
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return ReadIdxFile(path);
  }
  if (std::FILE* f = std::fopen((path + ".gz").c_str(), "rb")) {
    std::fclose(f);
    return ReadIdxFile(path + ".gz");
  }
  return NotFound("IDX file '", path, "' (or '", path, ".gz') does not exist");
}

Result<Tensor> GatherRows(const Tensor& t, const std::vector<int64_t>& idx) {
  Shape shape = t.shape();
  const int64_t per = t.numel() / t.dim(0);
  shape[0] = static_cast<int64_t>(idx.size());
  Tensor out(DType::kUInt8, shape);
  for (size_t j = 0; j < idx.size(); ++j)
    std::memcpy(out.data<uint8_t>() + j * per, t.data<uint8_t>() + idx[j] * per, per);
  return out;
}

Status WriteSplit(const std::string& src_dir, const std::string& src_prefix, int64_t count,
                  uint64_t seed, const std::string& out_dir, const std::string& out_prefix) {
  const std::string ip = src_dir + "/" + src_prefix + "-images-idx3-ubyte";
  const std::string lp = src_dir + "/" + src_prefix + "-labels-idx1-ubyte";
  QP_ASSIGN_OR_RETURN(Tensor images, ReadIdxPlainOrGz(ip));
  QP_ASSIGN_OR_RETURN(Tensor labels, ReadIdxPlainOrGz(lp));
  if (images.dtype() != DType::kUInt8 || labels.dtype() != DType::kUInt8 || images.rank() != 3 ||
      labels.rank() != 1 || images.dim(0) != labels.dim(0))
    return InvalidArgument("subset source '", ip, "': expected uint8 [N, H, W] images and [N] labels, got ",
                           ShapeToString(images.shape()), " and ", ShapeToString(labels.shape()));
  if (count < 1 || count > images.dim(0))
    return OutOfRange("subset of '", src_prefix, "': ", count, " samples requested, source has ",
                      images.dim(0));
  std::vector<int64_t> idx = ShuffledIndices(images.dim(0), seed);
  idx.resize(static_cast<size_t>(count));
  std::sort(idx.begin(), idx.end());
  QP_ASSIGN_OR_RETURN(Tensor si, GatherRows(images, idx));
  QP_ASSIGN_OR_RETURN(Tensor sl, GatherRows(labels, idx));
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bi, EncodeIdxU8(si));
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bl, EncodeIdxU8(sl));
  QP_RETURN_IF_ERROR(WriteFileBytes(out_dir + "/" + out_prefix + "-images-idx3-ubyte", bi));
  return WriteFileBytes(out_dir + "/" + out_prefix + "-labels-idx1-ubyte", bl);
}

}  // namespace

const char* FashionMnistClassName(int64_t label) {
  static const char* kNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return label >= 0 && label < 10 ? kNames[label] : "?";
}

Result<Dataset> LoadIdxDataset(const std::string& dir, const std::string& prefix, int64_t num_classes) {
  QP_ASSIGN_OR_RETURN(Tensor images, ReadIdxPlainOrGz(dir + "/" + prefix + "-images-idx3-ubyte"));
  QP_ASSIGN_OR_RETURN(Tensor labels, ReadIdxPlainOrGz(dir + "/" + prefix + "-labels-idx1-ubyte"));
  return MakeDataset(images, labels, num_classes, dir + "/" + prefix);
}

Result<Dataset> LoadFashionMnist(FashionSplit split, const std::string& dir) {
  return LoadIdxDataset(dir, split == FashionSplit::kTrain ? "train" : "t10k", kFashionMnistClasses);
}

Status WriteWebSubset(const std::string& src_dir, const std::string& out_dir,
                      const SubsetOptions& options) {
  // Different seeds per split so the two draws are unrelated.
  QP_RETURN_IF_ERROR(WriteSplit(src_dir, "train", options.calib, options.seed * 2 + 1, out_dir, "calib"));
  return WriteSplit(src_dir, "t10k", options.test, options.seed * 2 + 2, out_dir, "test");
}

}  // namespace qp::data
