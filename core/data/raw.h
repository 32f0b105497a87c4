// Raw little-endian float32 input with a shape given by the caller (the CLI's `--input` format):
// no header; the byte count must match the shape, one dim may be -1 and is then inferred.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::data {

// E.g. shape {-1, 1, 28, 28} with 3136*k bytes gives [k, 1, 28, 28]. Errors: size not a multiple
// of 4, more than one -1, a dim < -1, mismatch, inferred dim not integral.
Result<Tensor> ParseRawF32(const uint8_t* data, size_t size, const Shape& shape,
                           const std::string& name, int64_t max_elements = kMaxTensorElements);

Result<Tensor> ReadRawF32File(const std::string& path, const Shape& shape,
                              int64_t max_elements = kMaxTensorElements);

}  // namespace qp::data
