// .npy parsing and encoding (see npy.h). The header dict is parsed by a small strict tokenizer,
// not by searching substrings, so a key hidden inside a string value cannot fool it.
#include "core/data/npy.h"

#include <cctype>
#include <cstring>
#include <limits>

#include "core/data/file_io.h"

namespace qp::data {
namespace {

// Cursor over the header text; every accessor is bounds-checked.
struct HeaderParser {
  const std::string& s;
  size_t i = 0;

  void SkipSpace() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool Eat(char c) {
    SkipSpace();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool String(std::string* out) {
    SkipSpace();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return false;
    const char q = s[i++];
    const size_t start = i;
    while (i < s.size() && s[i] != q) ++i;
    if (i >= s.size()) return false;
    *out = s.substr(start, i - start);
    ++i;
    return true;
  }
  bool Word(std::string* out) {
    SkipSpace();
    const size_t start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    *out = s.substr(start, i - start);
    return !out->empty();
  }
  // Non-negative decimal integer with overflow check (an 'L' suffix from Python 2 is allowed).
  bool Int(int64_t* out, bool* overflow) {
    SkipSpace();
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    int64_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      const int d = s[i] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) *overflow = true;
      else v = v * 10 + d;
      ++i;
    }
    if (i < s.size() && s[i] == 'L') ++i;
    *out = v;
    return true;
  }
};

struct NpyDtype {
  DType dtype;
  size_t size;
};

Result<NpyDtype> ParseDescr(const std::string& d, const std::string& name) {
  if (d.size() == 3) {
    const char order = d[0];
    const std::string code = d.substr(1);
    const bool one_byte = code == "u1" || code == "i1" || code == "b1";
    if (order == '>' && !one_byte)
      return Unimplemented("npy '", name, "': dtype '", d, "' is big-endian; only little-endian is supported");
    if (order == '<' || order == '|' || order == '=' || (order == '>' && one_byte)) {
      if (code == "f4") return NpyDtype{DType::kFloat32, 4};
      if (code == "u1") return NpyDtype{DType::kUInt8, 1};
      if (code == "i1") return NpyDtype{DType::kInt8, 1};
      if (code == "i4") return NpyDtype{DType::kInt32, 4};
      if (code == "i8") return NpyDtype{DType::kInt64, 8};
    }
  }
  return Unimplemented("npy '", name, "': dtype '", d,
                       "' is not supported; use '<f4' (float32), '|u1' (uint8), '|i1', '<i4' or '<i8'");
}

}  // namespace

Result<Tensor> ParseNpy(const uint8_t* data, size_t size, const std::string& name,
                        int64_t max_elements) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0)
    return InvalidArgument("npy '", name, "': missing magic \\x93NUMPY");
  const int major = data[6];
  size_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len = data[8] | (size_t{data[9]} << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return DataLoss("npy '", name, "': truncated preamble");
    header_len = data[8] | (size_t{data[9]} << 8) | (size_t{data[10]} << 16) | (size_t{data[11]} << 24);
    offset = 12;
  } else {
    return Unimplemented("npy '", name, "': format version ", major, ".", int{data[7]},
                         "; supported are 1.x, 2.x, 3.x");
  }
  if (header_len > kMaxNpyHeaderBytes)
    return InvalidArgument("npy '", name, "': header length ", header_len, " exceeds the cap of ",
                           kMaxNpyHeaderBytes);
  if (size - offset < header_len)
    return DataLoss("npy '", name, "': header says ", header_len, " bytes, file has ", size - offset);
  const std::string header(reinterpret_cast<const char*>(data + offset), header_len);
  offset += header_len;

  HeaderParser p{header};
  std::string descr;
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  Shape shape;
  auto bad = [&](const char* what) {
    return InvalidArgument("npy '", name, "': malformed header (", what, "): ", header);
  };
  if (!p.Eat('{')) return bad("expected '{'");
  while (!p.Eat('}')) {
    std::string key;
    if (!p.String(&key)) return bad("expected a quoted key");
    if (!p.Eat(':')) return bad("expected ':'");
    if (key == "descr") {
      if (!p.String(&descr)) return bad("descr must be a string");
      have_descr = true;
    } else if (key == "fortran_order") {
      std::string w;
      if (!p.Word(&w) || (w != "True" && w != "False")) return bad("fortran_order must be True or False");
      fortran = w == "True";
      have_order = true;
    } else if (key == "shape") {
      if (!p.Eat('(')) return bad("shape must be a tuple");
      while (!p.Eat(')')) {
        int64_t v = 0;
        bool overflow = false;
        if (!p.Int(&v, &overflow)) return bad("shape entries must be non-negative integers");
        if (overflow) return InvalidArgument("npy '", name, "': a shape entry overflows int64");
        if (shape.size() >= 32) return InvalidArgument("npy '", name, "': rank above 32");
        shape.push_back(v);
        if (!p.Eat(',')) {
          if (!p.Eat(')')) return bad("expected ',' or ')' in shape");
          break;
        }
      }
      have_shape = true;
    } else {
      return bad("unknown key");
    }
    if (!p.Eat(',')) {
      if (!p.Eat('}')) return bad("expected ',' or '}'");
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape) return bad("needs descr, fortran_order and shape");
  if (fortran)
    return Unimplemented("npy '", name, "': fortran_order is True; save the array in C order "
                         "(numpy.ascontiguousarray)");
  QP_ASSIGN_OR_RETURN(NpyDtype dt, ParseDescr(descr, name));
  Result<int64_t> n = CheckedNumElements(shape, max_elements);
  if (!n.ok()) return n.status().WithContext("npy '" + name + "'");
  const uint64_t need = static_cast<uint64_t>(*n) * dt.size;
  const uint64_t have = size - offset;
  if (have != need)
    return DataLoss("npy '", name, "': shape ", ShapeToString(shape), " of ", descr, " needs ", need,
                    " data bytes, file has ", have);
  Tensor t(dt.dtype, shape);
  if (need) std::memcpy(t.raw(), data + offset, static_cast<size_t>(need));
  return t;
}

Result<Tensor> ReadNpyFile(const std::string& path, int64_t max_elements) {
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadMaybeGzipFile(path));
  return ParseNpy(bytes.data(), bytes.size(), path, max_elements);
}

Result<std::vector<uint8_t>> EncodeNpy(const Tensor& t) {
  const char* descr = nullptr;
  switch (t.dtype()) {
    case DType::kFloat32: descr = "<f4"; break;
    case DType::kUInt8: descr = "|u1"; break;
    case DType::kInt8: descr = "|i1"; break;
    case DType::kInt32: descr = "<i4"; break;
    case DType::kInt64: descr = "<i8"; break;
    default: return InvalidArgument("EncodeNpy: dtype ", DTypeName(t.dtype()), " is not supported");
  }
  // Python tuple syntax: "()", "(3,)", "(3, 4)".
  std::string shape = "(";
  for (int i = 0; i < t.rank(); ++i) shape += (i ? ", " : "") + std::to_string(t.dim(i));
  shape += t.rank() == 1 ? ",)" : ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that magic + 4 bytes + header is a multiple of 64, ending in '\n'.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<uint8_t>(header.size() & 0xFF),
                              static_cast<uint8_t>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  const uint8_t* p = static_cast<const uint8_t*>(t.raw());
  out.insert(out.end(), p, p + t.nbytes());
  return out;
}

}  // namespace qp::data
