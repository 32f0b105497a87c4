// Dataset specs as the CLI and session configs name them:
//   fashion-mnist:train | fashion-mnist:test        Debian's dataset-fashion-mnist (IDX, gzip)
//   idx:IMAGES:LABELS                                 IDX files (gzip'd or plain)
//   npy:IMAGES:LABELS                                 .npy images (float32 or uint8) and labels
// Images are normalised as core/data defines (uint8 pixels / 255; float32 taken as is).
#pragma once

#include <string>

#include "core/base/status.h"
#include "core/data/dataset.h"

namespace qp {

Result<data::Dataset> LoadDataSpec(const std::string& spec, int64_t num_classes = 10);

}  // namespace qp
