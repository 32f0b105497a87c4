// File I/O and gzip inflation (see file_io.h). zlib is linked natively only (QP_HAVE_ZLIB).
#include "core/data/file_io.h"

#include <algorithm>
#include <cstdio>

#ifdef QP_HAVE_ZLIB
#include <zlib.h>
#endif

namespace qp::data {

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound("file '", path, "' cannot be opened for reading");
  std::vector<uint8_t> out;
  // Read in chunks instead of trusting a size from fseek/ftell (pipes, growing files).
  uint8_t buf[1 << 16];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f);
    if (n == 0) break;
    if (out.size() + n > max_bytes) {
      std::fclose(f);
      return ResourceExhausted("file '", path, "' is larger than the cap of ", max_bytes, " bytes");
    }
    out.insert(out.end(), buf, buf + n);
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return DataLoss("file '", path, "': read error");
  return out;
}

Status WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return NotFound("file '", path, "' cannot be opened for writing");
  const size_t n = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool close_ok = std::fclose(f) == 0;
  if (n != bytes.size() || !close_ok) return DataLoss("file '", path, "': short write");
  return Status::Ok();
}

bool IsGzip(const uint8_t* data, size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

#ifdef QP_HAVE_ZLIB
bool HaveGzip() { return true; }

Result<std::vector<uint8_t>> Gunzip(const uint8_t* data, size_t size, const std::string& name,
                                    uint64_t max_bytes) {
  if (!IsGzip(data, size)) return InvalidArgument("gzip input '", name, "': no gzip magic 1f 8b");
  z_stream zs{};
  // 15 + 16: a 32 KiB window and a gzip (not zlib) wrapper.
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Internal("gzip input '", name, "': inflateInit2 failed");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    // avail_in is 32-bit: feed at most 1 GiB at a time.
    if (zs.avail_in == 0 && consumed < size) {
      const size_t chunk = std::min<size_t>(size - consumed, size_t{1} << 30);
      zs.next_in = const_cast<Bytef*>(data + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string why = rc == Z_BUF_ERROR ? "truncated stream" : (zs.msg ? zs.msg : "corrupt data");
      inflateEnd(&zs);
      return DataLoss("gzip input '", name, "': ", why);
    }
    if (out.size() + produced > max_bytes) {
      inflateEnd(&zs);
      return ResourceExhausted("gzip input '", name, "' inflates to more than the cap of ", max_bytes,
                               " bytes");
    }
    out.insert(out.end(), buf, buf + produced);
    if (rc == Z_OK && produced == 0 && zs.avail_in == 0 && consumed == size) {
      inflateEnd(&zs);
      return DataLoss("gzip input '", name, "': truncated stream");
    }
  }
  inflateEnd(&zs);
  return out;
}
#else
bool HaveGzip() { return false; }

Result<std::vector<uint8_t>> Gunzip(const uint8_t* data, size_t size, const std::string& name,
                                    uint64_t max_bytes) {
  return Unimplemented("gzip input '", name,
                       "': this build has no zlib; the browser must inflate the file first "
                       "(DecompressionStream('gzip')) and pass the plain bytes");
}
#endif

Result<std::vector<uint8_t>> ReadMaybeGzipFile(const std::string& path, uint64_t max_bytes) {
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, max_bytes));
  if (!IsGzip(bytes.data(), bytes.size())) return bytes;
  return Gunzip(bytes.data(), bytes.size(), path, max_bytes);
}

}  // namespace qp::data
