// Status and Result<T>: how every qplay layer reports an error at a trust boundary.
// A message names the operation, the bad value and the rule, e.g.
//   "tensor 'fc1.weight': dim 3 is -5; dims must be >= 0".
// No exceptions are used for user-reachable errors; nothing here aborts.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace qp {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something that breaks a documented rule
  kOutOfRange,          // a value outside its legal range (bits, axis, index)
  kFailedPrecondition,  // the call is illegal in the current state (e.g. state machine)
  kUnimplemented,       // a valid request we do not support (unsupported op, opset)
  kResourceExhausted,   // a configured cap was hit (file size, element count)
  kDataLoss,            // corrupt or truncated input data
  kCancelled,           // the user cancelled a long job
  kNotFound,            // a named thing (layer, tensor, file) does not exist
  kInternal,            // a bug in qplay; the message says where
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  // Prefix context while an error travels outward: "import 'x.onnx': <message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Builds a message from stream pieces: InvalidArgument("bits ", bits, " outside [2, 16]").
namespace internal {
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace internal

template <typename... Args>
Status InvalidArgument(const Args&... a) { return Status(StatusCode::kInvalidArgument, internal::StrCat(a...)); }
template <typename... Args>
Status OutOfRange(const Args&... a) { return Status(StatusCode::kOutOfRange, internal::StrCat(a...)); }
template <typename... Args>
Status FailedPrecondition(const Args&... a) { return Status(StatusCode::kFailedPrecondition, internal::StrCat(a...)); }
template <typename... Args>
Status Unimplemented(const Args&... a) { return Status(StatusCode::kUnimplemented, internal::StrCat(a...)); }
template <typename... Args>
Status ResourceExhausted(const Args&... a) { return Status(StatusCode::kResourceExhausted, internal::StrCat(a...)); }
template <typename... Args>
Status DataLoss(const Args&... a) { return Status(StatusCode::kDataLoss, internal::StrCat(a...)); }
template <typename... Args>
Status Cancelled(const Args&... a) { return Status(StatusCode::kCancelled, internal::StrCat(a...)); }
template <typename... Args>
Status NotFound(const Args&... a) { return Status(StatusCode::kNotFound, internal::StrCat(a...)); }
template <typename... Args>
Status Internal(const Args&... a) { return Status(StatusCode::kInternal, internal::StrCat(a...)); }

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Internal("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // Precondition: ok(). Callers check ok() first (QP_ASSIGN_OR_RETURN does).
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace qp

#define QP_STATUS_CONCAT_INNER_(a, b) a##b
#define QP_STATUS_CONCAT_(a, b) QP_STATUS_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define QP_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::qp::Status qp_status_tmp_ = (expr);        \
    if (!qp_status_tmp_.ok()) return qp_status_tmp_; \
  } while (0)

// `QP_ASSIGN_OR_RETURN(auto x, MakeX());` declares x or returns the error.
#define QP_ASSIGN_OR_RETURN(lhs, expr) \
  QP_ASSIGN_OR_RETURN_IMPL_(QP_STATUS_CONCAT_(qp_result_, __LINE__), lhs, expr)
#define QP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
