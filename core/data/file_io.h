// Whole-file byte I/O with a size cap, and gzip inflation (zlib, native builds only).
// Everything read here is untrusted: sizes are checked against caps before allocating.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace qp::data {

// Default cap for one input file and for one inflated gzip stream (512 MiB; the largest file we
// ship against, Fashion-MNIST's train images, is 47 MB inflated).
inline constexpr uint64_t kMaxFileBytes = uint64_t{512} << 20;

// Reads a whole file; NotFound if it cannot be opened, ResourceExhausted above `max_bytes`.
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes = kMaxFileBytes);

// Writes (truncates) a whole file.
Status WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes);

// True if the bytes start with the gzip magic 1f 8b.
bool IsGzip(const uint8_t* data, size_t size);

// True if this build can inflate gzip (native: zlib; wasm: no).
bool HaveGzip();

// Inflates one gzip stream. `name` appears in errors. DataLoss on corrupt or truncated input,
// ResourceExhausted when the output would exceed `max_bytes`, Unimplemented in the wasm build
// (the browser must inflate first, e.g. with DecompressionStream('gzip')).
Result<std::vector<uint8_t>> Gunzip(const uint8_t* data, size_t size, const std::string& name,
                                    uint64_t max_bytes = kMaxFileBytes);

// ReadFileBytes, then Gunzip if the content is gzip (decided by magic, not by file name).
Result<std::vector<uint8_t>> ReadMaybeGzipFile(const std::string& path,
                                               uint64_t max_bytes = kMaxFileBytes);

}  // namespace qp::data
