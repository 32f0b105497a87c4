// Minimal JSON writer for state() snapshots (web only): objects, arrays, strings (escaped as
// RFC 8259 requires), finite numbers; NaN/Inf are written as null since JSON has no such values.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace qp::web {

class JsonWriter {
 public:
  JsonWriter& BeginObject() {
    Sep();
    out_ += '{';
    first_ = true;
    return *this;
  }
  JsonWriter& EndObject() {
    out_ += '}';
    first_ = false;
    return *this;
  }
  JsonWriter& BeginArray() {
    Sep();
    out_ += '[';
    first_ = true;
    return *this;
  }
  JsonWriter& EndArray() {
    out_ += ']';
    first_ = false;
    return *this;
  }
  JsonWriter& Key(const char* k) {
    Sep();
    String(k);
    out_ += ':';
    first_ = true;
    return *this;
  }

  JsonWriter& Value(const std::string& s) {
    Sep();
    String(s.c_str());
    return *this;
  }
  JsonWriter& Value(const char* s) {
    Sep();
    if (s)
      String(s);
    else
      out_ += "null";
    return *this;
  }
  JsonWriter& Value(bool b) {
    Sep();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& Value(int v) {
    Sep();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& Value(long long v) {
    Sep();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter& Value(double v) {
    Sep();
    if (!std::isfinite(v)) {
      out_ += "null";
      return *this;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v);  // round-trips any double
    out_ += buf;
    return *this;
  }
  JsonWriter& Null() {
    Sep();
    out_ += "null";
    return *this;
  }

  template <typename T>
  JsonWriter& Field(const char* k, const T& v) {
    Key(k);
    return Value(v);
  }

  const std::string& str() const { return out_; }

 private:
  void Sep() {
    if (!first_ && !out_.empty() && out_.back() != ':') out_ += ',';
    first_ = false;
  }
  void String(const char* s) {
    out_ += '"';
    for (; *s; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c == '\n')
        out_ += "\\n";
      else if (c < 0x20) {
        char b[8];
        std::snprintf(b, sizeof(b), "\\u%04x", c);
        out_ += b;
      } else
        out_ += static_cast<char>(c);
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace qp::web
