// NumPy .npy reader/writer (format versions 1.0, 2.0, 3.0; NEP 1 / numpy.lib.format):
// "\x93NUMPY", major, minor, header length (uint16 LE in v1, uint32 LE in v2/v3), a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then raw C-order data.
// Supported: little-endian float32 ('<f4'), uint8 ('|u1'), int8 ('|i1'), int32 ('<i4'), int64 ('<i8').
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::data {

// Largest header we accept (numpy itself writes < 200 bytes; v1 allows 65535).
inline constexpr uint32_t kMaxNpyHeaderBytes = 1u << 16;

// Hardened against lies: bad magic, unknown or big-endian dtype, fortran_order True, malformed
// dict, negative or overflowing shape, data length different from the shape's byte count.
Result<Tensor> ParseNpy(const uint8_t* data, size_t size, const std::string& name,
                        int64_t max_elements = kMaxTensorElements);

// Reads a file (gzip not expected but tolerated natively), then ParseNpy.
Result<Tensor> ReadNpyFile(const std::string& path, int64_t max_elements = kMaxTensorElements);

// Encodes any tensor of a supported dtype as a v1.0 .npy (header padded to 64 bytes).
Result<std::vector<uint8_t>> EncodeNpy(const Tensor& t);

}  // namespace qp::data
