// Tensor implementation (see tensor.h): checked sizes, conversions.
#include "core/graph/tensor.h"

#include <cassert>
#include <limits>

namespace qp {

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kInt8: return 1;
    case DType::kUInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
  }
  return 1;
}

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

Result<int64_t> CheckedNumElements(const Shape& shape, int64_t cap) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) return InvalidArgument("dim ", i, " is ", d, "; dims must be >= 0");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return ResourceExhausted("element count of shape ", ShapeToString(shape), " overflows int64");
    n *= d;
  }
  if (n > cap)
    return ResourceExhausted("shape ", ShapeToString(shape), " has ", n,
                             " elements, more than the cap of ", cap);
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_) numel_ *= d;
  storage_.assign((nbytes() + 7) / 8, 0);
}

Result<Tensor> Tensor::Create(DType dtype, Shape shape, int64_t cap) {
  QP_ASSIGN_OR_RETURN(int64_t n, CheckedNumElements(shape, cap));
  (void)n;
  return Tensor(dtype, std::move(shape));
}

Tensor Tensor::Reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  assert(CheckedNumElements(t.shape_).ok() && *CheckedNumElements(t.shape_) == numel_);
  return t;
}

std::vector<float> Tensor::ToFloatVector() const {
  std::vector<float> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) {
    switch (dtype_) {
      case DType::kFloat32: out[i] = data<float>()[i]; break;
      case DType::kInt8: out[i] = data<int8_t>()[i]; break;
      case DType::kUInt8: out[i] = data<uint8_t>()[i]; break;
      case DType::kInt32: out[i] = static_cast<float>(data<int32_t>()[i]); break;
      case DType::kInt64: out[i] = static_cast<float>(data<int64_t>()[i]); break;
      case DType::kBool: out[i] = data<bool>()[i] ? 1.f : 0.f; break;
    }
  }
  return out;
}

void Tensor::CheckType(DType want) const {
  assert(want == dtype_ && "Tensor accessed with the wrong element type");
  (void)want;
}

}  // namespace qp
