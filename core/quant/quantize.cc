// Quantize / dequantize / fake-quant loops, per tensor and per axis (contracts in quantize.h).
#include "core/quant/quantize.h"

#include <limits>

namespace qp::quant {
namespace {

Status CheckCount(int64_t n) {
  if (n < 0) return InvalidArgument("element count is ", n, "; it must be >= 0");
  return Status::Ok();
}

template <typename T>
Status CheckStorage(const QParams& p, const char* type_name) {
  if (p.qmin < std::numeric_limits<T>::min() || p.qmax > std::numeric_limits<T>::max()) {
    return InvalidArgument("quantization range [", p.qmin, ", ", p.qmax, "] does not fit ",
                           type_name, " storage");
  }
  return Status::Ok();
}

template <typename T>
Status QuantizeTo(const float* x, int64_t n, const QParams& p, T* q, RoundingMode mode,
                  const char* type_name) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  QP_RETURN_IF_ERROR(CheckStorage<T>(p, type_name));
  if (mode == RoundingMode::kHalfToEven) {
    for (int64_t i = 0; i < n; ++i)
      q[i] = static_cast<T>(QuantizeValue(x[i], p, RoundingMode::kHalfToEven));
  } else {
    for (int64_t i = 0; i < n; ++i)
      q[i] = static_cast<T>(QuantizeValue(x[i], p, RoundingMode::kHalfAwayFromZero));
  }
  return Status::Ok();
}

template <typename T>
Status DequantizeFrom(const T* q, int64_t n, const QParams& p, float* y) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  for (int64_t i = 0; i < n; ++i) y[i] = DequantizeValue(static_cast<int32_t>(q[i]), p);
  return Status::Ok();
}

// Applies f(channel params, offset, length) to every contiguous run that shares one channel.
template <typename F>
Status ForEachRun(const Dims& dims, const TensorQParams& p, F&& f) {
  QP_RETURN_IF_ERROR(ValidateTensorQParams(p, &dims));
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, p.axis));
  if (!p.axis) {
    f(p.Channel(0), int64_t{0}, l.size());
    return Status::Ok();
  }
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      f(p.Channel(c), (o * l.channels + c) * l.inner, l.inner);
    }
  }
  return Status::Ok();
}

}  // namespace

const char* RoundingModeName(RoundingMode mode) {
  return mode == RoundingMode::kHalfToEven ? "half_to_even" : "half_away_from_zero";
}

Status Quantize(const float* x, int64_t n, const QParams& p, int32_t* q, RoundingMode mode) {
  return QuantizeTo<int32_t>(x, n, p, q, mode, "int32");
}

Status Dequantize(const int32_t* q, int64_t n, const QParams& p, float* y) {
  return DequantizeFrom<int32_t>(q, n, p, y);
}

Status FakeQuant(const float* x, int64_t n, const QParams& p, float* y, RoundingMode mode) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  for (int64_t i = 0; i < n; ++i) y[i] = FakeQuantValue(x[i], p, mode);
  return Status::Ok();
}

Status QuantizeInt8(const float* x, int64_t n, const QParams& p, int8_t* q, RoundingMode mode) {
  return QuantizeTo<int8_t>(x, n, p, q, mode, "int8");
}
Status QuantizeUint8(const float* x, int64_t n, const QParams& p, uint8_t* q, RoundingMode mode) {
  return QuantizeTo<uint8_t>(x, n, p, q, mode, "uint8");
}
Status DequantizeInt8(const int8_t* q, int64_t n, const QParams& p, float* y) {
  return DequantizeFrom<int8_t>(q, n, p, y);
}
Status DequantizeUint8(const uint8_t* q, int64_t n, const QParams& p, float* y) {
  return DequantizeFrom<uint8_t>(q, n, p, y);
}

Status Quantize(const float* x, const Dims& dims, const TensorQParams& p, int32_t* q,
                RoundingMode mode) {
  return ForEachRun(dims, p, [&](const QParams& c, int64_t off, int64_t len) {
    for (int64_t i = off; i < off + len; ++i) q[i] = QuantizeValue(x[i], c, mode);
  });
}

Status Dequantize(const int32_t* q, const Dims& dims, const TensorQParams& p, float* y) {
  return ForEachRun(dims, p, [&](const QParams& c, int64_t off, int64_t len) {
    for (int64_t i = off; i < off + len; ++i) y[i] = DequantizeValue(q[i], c);
  });
}

Status FakeQuant(const float* x, const Dims& dims, const TensorQParams& p, float* y,
                 RoundingMode mode) {
  return ForEachRun(dims, p, [&](const QParams& c, int64_t off, int64_t len) {
    for (int64_t i = off; i < off + len; ++i) y[i] = FakeQuantValue(x[i], c, mode);
  });
}

Result<ErrorSplit> QuantErrorSplit(const float* x, int64_t n, const QParams& p, RoundingMode mode) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  ErrorSplit e;
  e.count = n;
  if (n == 0) return e;
  const float lo = p.RealMin();
  const float hi = p.RealMax();
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(FakeQuantValue(x[i], p, mode));
    if (x[i] < lo || x[i] > hi) {
      e.clipping += d * d;
      ++e.clipped_count;
    } else {
      e.rounding += d * d;
    }
  }
  e.clipping /= static_cast<double>(n);
  e.rounding /= static_cast<double>(n);
  return e;
}

}  // namespace qp::quant
