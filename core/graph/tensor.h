// Tensor: a dense, row-major (C-order) n-d array with an element type, used by the graph, the
// executors, training and the session. Value semantics (copying copies the data).
// Sizes coming from untrusted files go through Tensor::Create, which checks every dim and the
// element count against overflow and a cap before anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace qp {

enum class DType : uint8_t { kFloat32, kInt8, kUInt8, kInt32, kInt64, kBool };

size_t DTypeSize(DType t);
const char* DTypeName(DType t);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

using Shape = std::vector<int64_t>;

// Default cap on the elements of one tensor (1 Gi elements); Create() refuses more.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 30;

// Product of dims with overflow and sign checks: "dim 3 is -5; dims must be >= 0",
// "element count overflows", "N elements exceed the cap of M".
Result<int64_t> CheckedNumElements(const Shape& shape, int64_t cap = kMaxTensorElements);

// "[1, 3, 224, 224]"
std::string ShapeToString(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // an empty float tensor of shape [0]
  // Precondition: the shape is valid (use Create for untrusted shapes). Zero-filled.
  Tensor(DType dtype, Shape shape);

  // Validated construction for shapes that come from outside (files, users).
  static Result<Tensor> Create(DType dtype, Shape shape, int64_t cap = kMaxTensorElements);

  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
    return t;
  }
  static Tensor Scalar(float v) { return FromVector<float>({}, {v}); }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * DTypeSize(dtype_); }

  // Typed access; the caller knows the dtype (checked in debug builds).
  template <typename T>
  T* data() {
    CheckType(DTypeOf<T>::value);
    return reinterpret_cast<T*>(storage_.data());
  }
  template <typename T>
  const T* data() const {
    CheckType(DTypeOf<T>::value);
    return reinterpret_cast<const T*>(storage_.data());
  }
  float* f32() { return data<float>(); }
  const float* f32() const { return data<float>(); }
  void* raw() { return storage_.data(); }
  const void* raw() const { return storage_.data(); }

  // Same data, new shape with the same element count (precondition).
  Tensor Reshaped(Shape shape) const;

  // Copy of `values` as float, converting from any numeric dtype.
  std::vector<float> ToFloatVector() const;

 private:
  void CheckType(DType want) const;

  DType dtype_ = DType::kFloat32;
  Shape shape_ = {0};
  int64_t numel_ = 0;
  // 8-byte aligned storage for any dtype.
  std::vector<uint64_t> storage_;
};

}  // namespace qp
