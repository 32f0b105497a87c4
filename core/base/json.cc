#include "core/base/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

namespace qp::json {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "bool";
    case Type::kInt: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "?";
}

// ---- Value ---------------------------------------------------------------------------------------
Value Value::Array() {
  Value v;
  v.type_ = Type::kArray;
  return v;
}

Value Value::Object() {
  Value v;
  v.type_ = Type::kObject;
  return v;
}

double Value::as_double() const {
  if (type_ == Type::kDouble) return double_;
  if (type_ == Type::kInt) return static_cast<double>(int_);
  return 0.0;
}

void Value::Append(Value v) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  if (type_ != Type::kArray) return;
  items_.push_back(std::move(v));
}

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const Member& m : members_)
    if (m.key == key) return &m.value;
  return nullptr;
}

Value* Value::Find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->Find(key));
}

Value& Value::Set(std::string_view key, Value v) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  if (type_ != Type::kObject) {
    static thread_local Value sink;
    sink = std::move(v);
    return sink;
  }
  if (Value* existing = Find(key)) {
    *existing = std::move(v);
    return *existing;
  }
  members_.push_back(Member{std::string(key), std::move(v)});
  return members_.back().value;
}

bool Value::Remove(std::string_view key) {
  if (type_ != Type::kObject) return false;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].key == key) {
      members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

size_t Value::size() const {
  if (type_ == Type::kArray) return items_.size();
  if (type_ == Type::kObject) return members_.size();
  return 0;
}

bool Value::operator==(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (type_ == Type::kInt && o.type_ == Type::kInt) return int_ == o.int_;
    return as_double() == o.as_double();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kNull: return true;
    case Type::kBool: return bool_ == o.bool_;
    case Type::kString: return string_ == o.string_;
    case Type::kArray: return items_ == o.items_;
    case Type::kObject:
      if (members_.size() != o.members_.size()) return false;
      for (size_t i = 0; i < members_.size(); ++i)
        if (members_[i].key != o.members_[i].key || members_[i].value != o.members_[i].value)
          return false;
      return true;
    default: return false;
  }
}

// ---- Parser --------------------------------------------------------------------------------------
namespace {

class Parser {
 public:
  Parser(std::string_view s, const ParseOptions& o) : s_(s), opts_(o) {}

  Result<Value> Run() {
    if (s_.size() >= 3 && static_cast<unsigned char>(s_[0]) == 0xEF &&
        static_cast<unsigned char>(s_[1]) == 0xBB && static_cast<unsigned char>(s_[2]) == 0xBF)
      pos_ = 3;
    SkipSpace();
    if (pos_ >= s_.size()) return Error(pos_, "empty input (expected a value)");
    Value v;
    Status st = ParseValue(&v);
    if (!st.ok()) return st;
    SkipSpace();
    if (pos_ < s_.size()) return Error(pos_, "unexpected " + Describe(pos_) + " after the value");
    return v;
  }

 private:
  Status Error(size_t at, const std::string& rule, StatusCode code = StatusCode::kInvalidArgument) {
    int64_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Status(code, internal::StrCat("json: line ", line, " col ", col, ": ", rule));
  }

  std::string Describe(size_t at) const {
    if (at >= s_.size()) return "end of input";
    unsigned char c = static_cast<unsigned char>(s_[at]);
    if (c >= 0x20 && c < 0x7F) return std::string("character '") + static_cast<char>(c) + "'";
    char buf[16];
    std::snprintf(buf, sizeof(buf), "byte 0x%02X", c);
    return buf;
  }

  void SkipSpace() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        ++pos_;
      else
        break;
    }
  }

  bool Literal(const char* word) {
    size_t n = std::strlen(word);
    if (s_.substr(pos_, n) == word) {
      pos_ += n;
      return true;
    }
    return false;
  }

  Status ParseValue(Value* out) {
    if (pos_ >= s_.size()) return Error(pos_, "unexpected end of input (expected a value)");
    char c = s_[pos_];
    switch (c) {
      case '{': return ParseObject(out);
      case '[': return ParseArray(out);
      case '"': {
        std::string str;
        QP_RETURN_IF_ERROR(ParseString(&str));
        *out = Value(std::move(str));
        return Status::Ok();
      }
      case 't':
        if (Literal("true")) {
          *out = Value(true);
          return Status::Ok();
        }
        break;
      case 'f':
        if (Literal("false")) {
          *out = Value(false);
          return Status::Ok();
        }
        break;
      case 'n':
        if (Literal("null")) {
          *out = Value();
          return Status::Ok();
        }
        break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        break;
    }
    return Error(pos_, "unexpected " + Describe(pos_) + " (expected a value)");
  }

  Status Enter() {
    if (++depth_ > opts_.max_depth)
      return Error(pos_, internal::StrCat("nesting deeper than the limit of ", opts_.max_depth),
                   StatusCode::kResourceExhausted);
    return Status::Ok();
  }

  Status ParseArray(Value* out) {
    QP_RETURN_IF_ERROR(Enter());
    ++pos_;  // '['
    Value arr = Value::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      --depth_;
      *out = std::move(arr);
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      Value item;
      QP_RETURN_IF_ERROR(ParseValue(&item));
      arr.items().push_back(std::move(item));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ']') return Error(pos_, "trailing comma in array");
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Error(pos_, "expected ',' or ']' in array, got " + Describe(pos_));
    }
    --depth_;
    *out = std::move(arr);
    return Status::Ok();
  }

  Status ParseObject(Value* out) {
    QP_RETURN_IF_ERROR(Enter());
    ++pos_;  // '{'
    Value obj = Value::Object();
    std::unordered_set<std::string> keys;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      --depth_;
      *out = std::move(obj);
      return Status::Ok();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"')
        return Error(pos_, "expected a string key in object, got " + Describe(pos_));
      size_t key_pos = pos_;
      std::string key;
      QP_RETURN_IF_ERROR(ParseString(&key));
      if (!keys.insert(key).second) return Error(key_pos, "duplicate key '" + key + "' in object");
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        return Error(pos_, "expected ':' after key '" + key + "', got " + Describe(pos_));
      ++pos_;
      SkipSpace();
      Value v;
      QP_RETURN_IF_ERROR(ParseValue(&v));
      obj.Set(key, std::move(v));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == '}') return Error(pos_, "trailing comma in object");
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Error(pos_, "expected ',' or '}' in object, got " + Describe(pos_));
    }
    --depth_;
    *out = std::move(obj);
    return Status::Ok();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Four hex digits at pos_ (after "\u").
  Status Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return Error(pos_, "\\u escape needs four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + static_cast<size_t>(i)];
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<uint32_t>(c - 'A' + 10);
      else
        return Error(pos_ + static_cast<size_t>(i), "\\u escape needs four hex digits, got " +
                                                        Describe(pos_ + static_cast<size_t>(i)));
      v = v * 16 + d;
    }
    pos_ += 4;
    *cp = v;
    return Status::Ok();
  }

  // A raw UTF-8 sequence starting at pos_ (lead byte >= 0x80): validated and copied.
  Status CopyUtf8(std::string* out) {
    const size_t start = pos_;
    const unsigned char b0 = static_cast<unsigned char>(s_[pos_]);
    int n;
    uint32_t cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      cp = b0 & 0x07;
    } else {
      return Error(start, "invalid UTF-8 in string (" + Describe(start) + ")");
    }
    if (start + static_cast<size_t>(n) > s_.size())
      return Error(start, "truncated UTF-8 sequence in string");
    for (int i = 1; i < n; ++i) {
      unsigned char b = static_cast<unsigned char>(s_[start + static_cast<size_t>(i)]);
      if ((b & 0xC0) != 0x80) return Error(start, "invalid UTF-8 continuation byte in string");
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
      return Error(start, "overlong UTF-8 sequence in string");
    if (cp >= 0xD800 && cp <= 0xDFFF) return Error(start, "UTF-8 encoded surrogate in string");
    if (cp > 0x10FFFF) return Error(start, "UTF-8 code point above U+10FFFF in string");
    out->append(s_.data() + start, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    const size_t open = pos_;
    ++pos_;  // '"'
    while (true) {
      if (pos_ >= s_.size()) return Error(open, "unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) return Error(pos_, "unescaped control character in string (" + Describe(pos_) + ")");
      if (c >= 0x80) {
        QP_RETURN_IF_ERROR(CopyUtf8(out));
        continue;
      }
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      const size_t esc = pos_;
      ++pos_;
      if (pos_ >= s_.size()) return Error(open, "unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          QP_RETURN_IF_ERROR(Hex4(&cp));
          if (cp >= 0xDC00 && cp <= 0xDFFF)
            return Error(esc, "lone low surrogate \\u" + std::string(s_.substr(esc + 2, 4)));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u")
              return Error(esc, "high surrogate \\u" + std::string(s_.substr(esc + 2, 4)) +
                                    " not followed by a low surrogate");
            pos_ += 2;
            uint32_t lo;
            QP_RETURN_IF_ERROR(Hex4(&lo));
            if (lo < 0xDC00 || lo > 0xDFFF)
              return Error(esc, "high surrogate \\u" + std::string(s_.substr(esc + 2, 4)) +
                                    " not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Error(esc, "invalid escape '\\" + std::string(1, e) + "' in string");
      }
    }
  }

  Status ParseNumber(Value* out) {
    const size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') ++pos_;
    auto digit = [&](size_t i) { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; };
    if (!digit(pos_)) return Error(pos_, "expected a digit in number, got " + Describe(pos_));
    if (s_[pos_] == '0') {
      ++pos_;
      if (digit(pos_)) return Error(start, "leading zero in number");
    } else {
      while (digit(pos_)) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      integral = false;
      ++pos_;
      if (!digit(pos_)) return Error(pos_, "expected a digit after '.' in number");
      while (digit(pos_)) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digit(pos_)) return Error(pos_, "expected a digit in exponent");
      while (digit(pos_)) ++pos_;
    }
    const std::string text(s_.substr(start, pos_ - start));
    if (integral) {
      // Accumulate as a negative number so INT64_MIN fits.
      const bool neg = text[0] == '-';
      int64_t v = 0;
      bool overflow = false;
      for (size_t i = neg ? 1 : 0; i < text.size(); ++i) {
        int d = text[i] - '0';
        if (v < (INT64_MIN + d) / 10) {
          overflow = true;
          break;
        }
        v = v * 10 - d;
      }
      if (!overflow && !neg && v == INT64_MIN) overflow = true;
      if (!overflow) {
        *out = Value(neg ? v : -v);
        return Status::Ok();
      }
    }
    double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) return Error(start, "number " + text + " is outside the double range");
    *out = Value(d);
    return Status::Ok();
  }

  std::string_view s_;
  ParseOptions opts_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// ---- Writer --------------------------------------------------------------------------------------
void WriteString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04X", c);
          *out += buf;
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void WriteDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    *out += "null";
    return;
  }
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s(buf);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  *out += s;
}

void WriteValue(const Value& v, int indent, int level, std::string* out) {
  auto newline = [&](int lvl) {
    if (indent <= 0) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (v.type()) {
    case Type::kNull: *out += "null"; break;
    case Type::kBool: *out += v.as_bool() ? "true" : "false"; break;
    case Type::kInt: *out += std::to_string(v.as_int()); break;
    case Type::kDouble: WriteDouble(v.as_double(), out); break;
    case Type::kString: WriteString(v.as_string(), out); break;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out->push_back(',');
        newline(level + 1);
        WriteValue(v.items()[i], indent, level + 1, out);
      }
      if (!v.items().empty()) newline(level);
      out->push_back(']');
      break;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.members().size(); ++i) {
        if (i) out->push_back(',');
        newline(level + 1);
        WriteString(v.members()[i].key, out);
        out->push_back(':');
        if (indent > 0) out->push_back(' ');
        WriteValue(v.members()[i].value, indent, level + 1, out);
      }
      if (!v.members().empty()) newline(level);
      out->push_back('}');
      break;
  }
}

}  // namespace

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes)
    return ResourceExhausted("json: input of ", text.size(), " bytes exceeds the cap of ",
                             options.max_bytes, " bytes");
  return Parser(text, options).Run();
}

std::string Write(const Value& v, const WriteOptions& options) {
  std::string out;
  WriteValue(v, options.indent, 0, &out);
  return out;
}

// ---- Cursor --------------------------------------------------------------------------------------
namespace {
std::string JoinKey(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}
}  // namespace

Cursor Cursor::operator[](std::string_view key) const {
  std::string child = JoinKey(path_, key);
  if (!v_) return Cursor(nullptr, std::move(child), missing_);
  if (!v_->is_object())
    return Cursor(nullptr, std::move(child),
                  path_ + ": expected object, got " + std::string(v_->type_name()));
  const Value* m = v_->Find(key);
  if (!m) return Cursor(nullptr, std::move(child), path_ + ": missing key '" + std::string(key) + "'");
  return Cursor(m, std::move(child), "");
}

Cursor Cursor::At(size_t index) const {
  std::string child = path_ + "[" + std::to_string(index) + "]";
  if (!v_) return Cursor(nullptr, std::move(child), missing_);
  if (!v_->is_array())
    return Cursor(nullptr, std::move(child),
                  path_ + ": expected array, got " + std::string(v_->type_name()));
  if (index >= v_->items().size())
    return Cursor(nullptr, std::move(child),
                  internal::StrCat(path_, ": index ", index, " outside the array of ",
                                   v_->items().size(), " elements"));
  return Cursor(&v_->items()[index], std::move(child), "");
}

bool Cursor::Has(std::string_view key) const { return v_ && v_->Find(key) != nullptr; }

Status Cursor::Check() const {
  if (v_) return Status::Ok();
  // A missing key is NotFound; a parent of the wrong type is InvalidArgument.
  if (missing_.find(": missing key '") != std::string::npos ||
      missing_.find(": index ") != std::string::npos)
    return NotFound(missing_);
  return InvalidArgument(missing_);
}

Status Cursor::TypeError(const char* expected) const {
  std::string got = v_->type_name();
  if (v_->is_number()) got += " " + Write(*v_);
  return InvalidArgument(path_, ": expected ", expected, ", got ", got);
}

Result<bool> Cursor::Bool() const {
  QP_RETURN_IF_ERROR(Check());
  if (!v_->is_bool()) return TypeError("bool");
  return v_->as_bool();
}

Result<int64_t> Cursor::Int() const {
  QP_RETURN_IF_ERROR(Check());
  if (v_->is_int()) return v_->as_int();
  if (v_->type() == Type::kDouble) {
    double d = v_->as_double();
    if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
      return static_cast<int64_t>(d);
  }
  return TypeError("integer");
}

Result<double> Cursor::Number() const {
  QP_RETURN_IF_ERROR(Check());
  if (!v_->is_number()) return TypeError("number");
  return v_->as_double();
}

Result<std::string> Cursor::String() const {
  QP_RETURN_IF_ERROR(Check());
  if (!v_->is_string()) return TypeError("string");
  return v_->as_string();
}

Result<int64_t> Cursor::IntInRange(int64_t lo, int64_t hi) const {
  QP_ASSIGN_OR_RETURN(int64_t v, Int());
  if (v < lo || v > hi) return OutOfRange(path_, ": ", v, " outside [", lo, ", ", hi, "]");
  return v;
}

Status Cursor::CheckObject() const {
  QP_RETURN_IF_ERROR(Check());
  if (!v_->is_object()) return TypeError("object");
  return Status::Ok();
}

Status Cursor::CheckArray() const {
  QP_RETURN_IF_ERROR(Check());
  if (!v_->is_array()) return TypeError("array");
  return Status::Ok();
}

Result<std::vector<std::string>> Cursor::Keys() const {
  QP_RETURN_IF_ERROR(CheckObject());
  std::vector<std::string> keys;
  for (const Member& m : v_->members()) keys.push_back(m.key);
  return keys;
}

Result<bool> Cursor::BoolOr(std::string_view key, bool def) const {
  QP_RETURN_IF_ERROR(CheckObject());
  if (!Has(key)) return def;
  return (*this)[key].Bool();
}

Result<int64_t> Cursor::IntOr(std::string_view key, int64_t def) const {
  QP_RETURN_IF_ERROR(CheckObject());
  if (!Has(key)) return def;
  return (*this)[key].Int();
}

Result<double> Cursor::NumberOr(std::string_view key, double def) const {
  QP_RETURN_IF_ERROR(CheckObject());
  if (!Has(key)) return def;
  return (*this)[key].Number();
}

Result<std::string> Cursor::StringOr(std::string_view key, std::string def) const {
  QP_RETURN_IF_ERROR(CheckObject());
  if (!Has(key)) return def;
  return (*this)[key].String();
}

Status Cursor::CheckKeys(std::initializer_list<std::string_view> known) const {
  std::vector<std::string> k;
  for (std::string_view s : known) k.emplace_back(s);
  return CheckKeys(k);
}

Status Cursor::CheckKeys(const std::vector<std::string>& known) const {
  QP_RETURN_IF_ERROR(CheckObject());
  for (const Member& m : v_->members()) {
    bool ok = false;
    for (const std::string& k : known) ok = ok || k == m.key;
    if (!ok) {
      std::string list;
      for (size_t i = 0; i < known.size(); ++i) list += (i ? ", " : "") + known[i];
      return InvalidArgument(path_, ": unknown key '", m.key, "' (known: ", list, ")");
    }
  }
  return Status::Ok();
}

}  // namespace qp::json
