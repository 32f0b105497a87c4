// IDX reader/writer (the MNIST / Fashion-MNIST container, LeCun's format): two zero bytes, a type
// byte, a rank byte, then `rank` big-endian uint32 dims, then the data, big-endian, C order.
// Parsing is hardened for untrusted files: every size is checked before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::data {

// Parses one IDX buffer (plain; gzip'd input is rejected with a hint to inflate first).
// Types: 0x08 ubyte -> uint8, 0x09 sbyte -> int8, 0x0B int16 -> int32, 0x0C int32 -> int32,
// 0x0D float32 -> float32, 0x0E float64 -> float32. Rank 1..8. The data length must equal the
// product of the dims exactly (shorter: DataLoss "truncated"; longer: DataLoss "trailing bytes").
Result<Tensor> ParseIdx(const uint8_t* data, size_t size, const std::string& name,
                        int64_t max_elements = kMaxTensorElements);

// Reads a file, inflating gzip natively (file_io.h), then ParseIdx.
Result<Tensor> ReadIdxFile(const std::string& path, int64_t max_elements = kMaxTensorElements);

// Encodes a uint8 tensor (rank 1..8, dims < 2^32) as IDX type 0x08.
Result<std::vector<uint8_t>> EncodeIdxU8(const Tensor& t);

}  // namespace qp::data
