// A small JSON DOM (RFC 8259) for configs, session files and state snapshots. No exceptions: the
// wasm build disables exception catching, so every failure is a Status.
//
// API
//   json::Value                 null | bool | int (int64) | double | string | array | object.
//                               Objects keep their keys in insertion order and never hold the same
//                               key twice. Value(), Value(true), Value(int64_t{3}), Value(2.5),
//                               Value("s"), Value::Array(), Value::Object(); Set(key, v) replaces
//                               or appends, Append(v), Find(key) (nullptr when absent), items(),
//                               members(), type(), TypeName().
//   json::Parse(text, opts)     -> Result<Value>. Errors are InvalidArgument (ResourceExhausted for
//                               the size cap and the depth limit) with the message
//                               "json: line L col C: <rule>" (1-based; columns count bytes), e.g.
//                               "json: line 3 col 9: duplicate key 'bits' in object".
//                               Numbers without fraction/exponent that fit int64 become ints,
//                               all others doubles; \uXXXX escapes (with surrogate pairs) become
//                               UTF-8; raw strings must be valid UTF-8; a leading UTF-8 BOM is
//                               skipped; nothing but whitespace may follow the value.
//   json::Write(v, opts)        -> std::string. Deterministic (member order as stored), compact or
//                               indented; doubles in the shortest form that parses back to the same
//                               bits (always with '.' or 'e', so they stay doubles); NaN and +-Inf
//                               are written as null (JSON has neither); control characters,
//                               '"' and '\\' escaped, other UTF-8 written as is.
//   json::Cursor                a const view of a value plus its key path, for typed reads with
//                               errors naming the path:
//                                 Cursor c(root, "config");
//                                 QP_ASSIGN_OR_RETURN(int64_t bits, c["layers"]["conv1"].Int("bits"));
//                                 // "config.layers.conv1.bits: expected integer, got string"
//                               operator[] / At(i) never fail by themselves: a missing member gives
//                               a cursor whose reads fail with "config.layers: missing key 'conv1'".
//                               Reads: Bool, Int (also an integral double), Number (int or double),
//                               String, and the same with a key; IntOr/NumberOr/BoolOr/StringOr
//                               return the default only when the key is absent (a present value of
//                               the wrong type is still an error); IntInRange; CheckKeys rejects
//                               unknown keys ("config: unknown key 'bitz' (known: bits, scheme)").
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/base/status.h"

namespace qp::json {

enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
// "null", "bool", "integer", "number", "string", "array", "object".
const char* TypeName(Type t);

struct Member;

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}  // NOLINT: implicit by design
  Value(bool b) : type_(Type::kBool), bool_(b) {}  // NOLINT
  // Any integer type (uint64_t values above INT64_MAX wrap; store them as double instead).
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) : type_(Type::kInt), int_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(double v) : type_(Type::kDouble), double_(v) {}  // NOLINT
  Value(float v) : type_(Type::kDouble), double_(v) {}  // NOLINT
  Value(const char* s) : type_(Type::kString), string_(s ? s : "") {}  // NOLINT
  Value(std::string s) : type_(Type::kString), string_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : type_(Type::kString), string_(s) {}  // NOLINT
  static Value Array();
  static Value Object();

  Type type() const { return type_; }
  const char* type_name() const { return TypeName(type_); }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Plain accessors: the stored value, or false / 0 / "" / empty for another type (use Cursor for
  // checked reads). as_double() converts ints.
  bool as_bool() const { return type_ == Type::kBool && bool_; }
  int64_t as_int() const { return type_ == Type::kInt ? int_ : 0; }
  double as_double() const;
  const std::string& as_string() const { return string_; }

  // Arrays.
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  void Append(Value v);  // turns null into an array first; ignored on other types
  // Objects.
  const std::vector<Member>& members() const { return members_; }
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  // Replaces the value of `key` or appends it (turns null into an object first; ignored on other
  // types). Returns the stored value.
  Value& Set(std::string_view key, Value v);
  bool Remove(std::string_view key);
  // Elements of an array or members of an object, else 0.
  size_t size() const;

  // Deep equality; an int and a double are equal when their values are (1 == 1.0); NaN != NaN.
  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

struct Member {
  std::string key;
  Value value;
};

struct ParseOptions {
  size_t max_bytes = size_t{64} << 20;  // input size cap (ResourceExhausted beyond)
  int max_depth = 64;                   // nested arrays/objects (ResourceExhausted beyond)
};
Result<Value> Parse(std::string_view text, const ParseOptions& options = {});

struct WriteOptions {
  int indent = 0;  // 0: compact on one line; n > 0: n spaces per level, one member per line
};
std::string Write(const Value& v, const WriteOptions& options = {});

// A read-only view of a value (or of a missing one) and its key path "root.a.b[3].c".
class Cursor {
 public:
  Cursor(const Value& v, std::string path) : v_(&v), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool exists() const { return v_ != nullptr; }
  // Precondition: exists().
  const Value& value() const { return *v_; }
  // Missing-member cursors carry the reason and fail on every read.
  Cursor operator[](std::string_view key) const;
  Cursor At(size_t index) const;
  bool Has(std::string_view key) const;

  // The value itself, checked. Errors: InvalidArgument "<path>: expected integer, got string";
  // NotFound "<parent path>: missing key 'k'".
  Status Check() const;  // exists
  Result<bool> Bool() const;
  Result<int64_t> Int() const;
  Result<double> Number() const;
  Result<std::string> String() const;
  Result<int64_t> IntInRange(int64_t lo, int64_t hi) const;  // OutOfRange "<path>: 17 outside [2, 16]"
  Status CheckObject() const;
  Status CheckArray() const;
  // Members of this object (which must exist and be an object).
  Result<std::vector<std::string>> Keys() const;

  // Member reads.
  Result<bool> Bool(std::string_view key) const { return (*this)[key].Bool(); }
  Result<int64_t> Int(std::string_view key) const { return (*this)[key].Int(); }
  Result<double> Number(std::string_view key) const { return (*this)[key].Number(); }
  Result<std::string> String(std::string_view key) const { return (*this)[key].String(); }
  // The default only when `key` is absent (or this cursor is an object without it).
  Result<bool> BoolOr(std::string_view key, bool def) const;
  Result<int64_t> IntOr(std::string_view key, int64_t def) const;
  Result<double> NumberOr(std::string_view key, double def) const;
  Result<std::string> StringOr(std::string_view key, std::string def) const;

  // InvalidArgument for the first member not in `known`: "<path>: unknown key 'x' (known: a, b)".
  Status CheckKeys(std::initializer_list<std::string_view> known) const;
  Status CheckKeys(const std::vector<std::string>& known) const;

 private:
  Cursor(const Value* v, std::string path, std::string missing)
      : v_(v), path_(std::move(path)), missing_(std::move(missing)) {}
  Status TypeError(const char* expected) const;

  const Value* v_ = nullptr;
  std::string path_;
  std::string missing_;  // the error of a missing value
};

}  // namespace qp::json
