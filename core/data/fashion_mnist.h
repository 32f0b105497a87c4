// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; 28x28 grey images, 10 classes) from Debian's
// dataset-fashion-mnist (gzip'd IDX), and the compact uncompressed subset the web bundle ships.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/status.h"
#include "core/data/dataset.h"

namespace qp::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int64_t kFashionMnistClasses = 10;
// Class names in label order (the dataset's README).
const char* FashionMnistClassName(int64_t label);

// Loads "<dir>/<prefix>-images-idx3-ubyte" and "<dir>/<prefix>-labels-idx1-ubyte", each plain or
// with a ".gz" suffix (the plain file wins), into a Dataset normalised by NormalizePixel.
Result<Dataset> LoadIdxDataset(const std::string& dir, const std::string& prefix,
                               int64_t num_classes = kFashionMnistClasses);

enum class FashionSplit { kTrain, kTest };  // 60,000 "train" / 10,000 "t10k" samples
Result<Dataset> LoadFashionMnist(FashionSplit split, const std::string& dir = kFashionMnistDir);

// The web subset: `calib` samples drawn from train and `test` samples drawn from t10k, each
// chosen by a seeded shuffle and kept in ascending source order, written as plain IDX files
// "<out>/calib-{images-idx3,labels-idx1}-ubyte" and "<out>/test-...", so the browser never needs
// gzip. LoadIdxDataset(out_dir, "calib" / "test") reads them back.
struct SubsetOptions {
  int64_t calib = 1000;
  int64_t test = 2000;
  uint64_t seed = 1;
};
Status WriteWebSubset(const std::string& src_dir, const std::string& out_dir,
                      const SubsetOptions& options = {});

}  // namespace qp::data
