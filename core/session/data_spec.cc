// LoadDataSpec (see data_spec.h).
#include "core/session/data_spec.h"

#include "core/data/fashion_mnist.h"
#include "core/data/idx.h"
#include "core/data/npy.h"

namespace qp {

Result<data::Dataset> LoadDataSpec(const std::string& spec, int64_t num_classes) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "fashion-mnist") {
    if (rest == "train") return data::LoadFashionMnist(data::FashionSplit::kTrain);
    if (rest == "test") return data::LoadFashionMnist(data::FashionSplit::kTest);
    return InvalidArgument("data spec '", spec, "': fashion-mnist takes 'train' or 'test'");
  }
  if (kind == "idx" || kind == "npy") {
    const size_t sep = rest.find(':');
    if (rest.empty() || sep == std::string::npos || sep == 0 || sep + 1 == rest.size())
      return InvalidArgument("data spec '", spec, "': expected ", kind, ":IMAGES:LABELS");
    const std::string images_path = rest.substr(0, sep), labels_path = rest.substr(sep + 1);
    Result<Tensor> images = kind == "idx" ? data::ReadIdxFile(images_path) : data::ReadNpyFile(images_path);
    if (!images.ok()) return images.status().WithContext("data spec '" + spec + "'");
    Result<Tensor> labels = kind == "idx" ? data::ReadIdxFile(labels_path) : data::ReadNpyFile(labels_path);
    if (!labels.ok()) return labels.status().WithContext("data spec '" + spec + "'");
    return data::MakeDataset(*images, *labels, num_classes, images_path);
  }
  return InvalidArgument("data spec '", spec, "': unknown kind '", kind,
                         "'; use fashion-mnist:SPLIT, idx:IMAGES:LABELS or npy:IMAGES:LABELS");
}

}  // namespace qp
