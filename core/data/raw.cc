// Raw float32 reader (see raw.h). Data is little-endian on disk; all our targets are too (x86-64,
// wasm32), so the bytes are copied as is.
#include "core/data/raw.h"

#include <cstring>

#include "core/data/file_io.h"

namespace qp::data {

Result<Tensor> ParseRawF32(const uint8_t* data, size_t size, const Shape& shape,
                           const std::string& name, int64_t max_elements) {
  if (size % 4 != 0)
    return InvalidArgument("raw float32 '", name, "': ", size, " bytes is not a multiple of 4");
  const int64_t count = static_cast<int64_t>(size / 4);
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) return InvalidArgument("raw float32 '", name, "': shape ", ShapeToString(shape),
                                             " has more than one -1");
      infer = static_cast<int>(i);
    } else if (s[i] < 0) {
      return InvalidArgument("raw float32 '", name, "': dim ", i, " is ", s[i], "; dims must be >= 0 or -1");
    } else if (s[i] != 0) {
      if (known > count / s[i]) known = count + 1;  // the product already exceeds the file: clamp
      else known *= s[i];
    } else {
      known = 0;
    }
  }
  if (infer >= 0) {
    if (known == 0 || count % known != 0)
      return InvalidArgument("raw float32 '", name, "': ", count, " floats do not fill shape ",
                             ShapeToString(shape), " for any value of the -1 dim");
    s[infer] = count / known;
  }
  Result<int64_t> n = CheckedNumElements(s, max_elements);
  if (!n.ok()) return n.status().WithContext("raw float32 '" + name + "'");
  if (*n != count)
    return InvalidArgument("raw float32 '", name, "': ", count, " floats in the file, shape ",
                           ShapeToString(s), " needs ", *n);
  Tensor t(DType::kFloat32, s);
  if (size) std::memcpy(t.raw(), data, size);
  return t;
}

Result<Tensor> ReadRawF32File(const std::string& path, const Shape& shape, int64_t max_elements) {
  QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return ParseRawF32(bytes.data(), bytes.size(), shape, path, max_elements);
}

}  // namespace qp::data
