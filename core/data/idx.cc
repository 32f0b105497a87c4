// IDX parsing and encoding (see idx.h).
#include "core/data/idx.h"

#include <cstring>

#include "core/data/file_io.h"

namespace qp::data {
namespace {

uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

Result<Tensor> ParseIdx(const uint8_t* data, size_t size, const std::string& name,
                        int64_t max_elements) {
  if (IsGzip(data, size))
    return InvalidArgument("IDX '", name, "' is gzip-compressed; inflate it first");
  if (size < 4) return DataLoss("IDX '", name, "': ", size, " bytes, shorter than the 4-byte magic");
  if (data[0] != 0 || data[1] != 0)
    return InvalidArgument("IDX '", name, "': magic bytes 0-1 are ", int{data[0]}, ",", int{data[1]},
                           "; must be 0,0");
  const uint8_t type = data[2];
  const int rank = data[3];
  DType dtype;
  size_t elem = 0;
  switch (type) {
    case 0x08: dtype = DType::kUInt8; elem = 1; break;
    case 0x09: dtype = DType::kInt8; elem = 1; break;
    case 0x0B: dtype = DType::kInt32; elem = 2; break;
    case 0x0C: dtype = DType::kInt32; elem = 4; break;
    case 0x0D: dtype = DType::kFloat32; elem = 4; break;
    case 0x0E: dtype = DType::kFloat32; elem = 8; break;
    default:
      return InvalidArgument("IDX '", name, "': type byte 0x", std::hex, int{type},
                             "; must be one of 08 09 0B 0C 0D 0E");
  }
  if (rank < 1 || rank > 8) return InvalidArgument("IDX '", name, "': rank ", rank, "; must be in [1, 8]");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (size < header)
    return DataLoss("IDX '", name, "': truncated header (", size, " bytes, need ", header, ")");
  Shape shape(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) shape[i] = LoadBe32(data + 4 + 4 * i);
  Result<int64_t> n = CheckedNumElements(shape, max_elements);
  if (!n.ok()) return n.status().WithContext("IDX '" + name + "'");
  // n <= max_elements (<= 2^30 by default) so n * 8 cannot overflow.
  const uint64_t need = static_cast<uint64_t>(*n) * elem;
  const uint64_t have = size - header;
  if (have < need)
    return DataLoss("IDX '", name, "': truncated data: shape ", ShapeToString(shape), " needs ", need,
                    " bytes, file has ", have);
  if (have > need)
    return DataLoss("IDX '", name, "': ", have - need, " trailing bytes after the ", need,
                    " data bytes of shape ", ShapeToString(shape));
  Tensor t(dtype, shape);
  const uint8_t* p = data + header;
  switch (type) {
    case 0x08:
    case 0x09: std::memcpy(t.raw(), p, static_cast<size_t>(need)); break;
    case 0x0B: {
      int32_t* o = t.data<int32_t>();
      for (int64_t i = 0; i < *n; ++i)
        o[i] = static_cast<int16_t>(static_cast<uint16_t>((p[2 * i] << 8) | p[2 * i + 1]));
      break;
    }
    case 0x0C: {
      int32_t* o = t.data<int32_t>();
      for (int64_t i = 0; i < *n; ++i) o[i] = static_cast<int32_t>(LoadBe32(p + 4 * i));
      break;
    }
    case 0x0D: {
      float* o = t.f32();
      for (int64_t i = 0; i < *n; ++i) {
        const uint32_t b = LoadBe32(p + 4 * i);
        std::memcpy(&o[i], &b, 4);
      }
      break;
    }
    case 0x0E: {
      float* o = t.f32();
      for (int64_t i = 0; i < *n; ++i) {
        const uint64_t b = (uint64_t{LoadBe32(p + 8 * i)} << 32) | LoadBe32(p + 8 * i + 4);
        double d;
        std::memcpy(&d, &b, 8);
        o[i] = static_cast<float>(d);
      }
      break;
    }
  }
  return t;
}

Result<Tensor> ReadIdxFile(const std::string& path, int64_t max_elements) {
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadMaybeGzipFile(path));
  return ParseIdx(bytes.data(), bytes.size(), path, max_elements);
}

Result<std::vector<uint8_t>> EncodeIdxU8(const Tensor& t) {
  if (t.dtype() != DType::kUInt8)
    return InvalidArgument("EncodeIdxU8: dtype ", DTypeName(t.dtype()), "; must be uint8");
  if (t.rank() < 1 || t.rank() > 8)
    return InvalidArgument("EncodeIdxU8: rank ", t.rank(), "; must be in [1, 8]");
  std::vector<uint8_t> out = {0, 0, 0x08, static_cast<uint8_t>(t.rank())};
  for (int64_t d : t.shape()) {
    if (d < 0 || d > 0xFFFFFFFFll) return InvalidArgument("EncodeIdxU8: dim ", d, " does not fit uint32");
    const uint32_t u = static_cast<uint32_t>(d);
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(u >> s));
  }
  const uint8_t* p = t.data<uint8_t>();
  out.insert(out.end(), p, p + t.numel());
  return out;
}

}  // namespace qp::data
