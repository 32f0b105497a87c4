// core/base/json: parsing per RFC 8259 (expected values written from the grammar, not from our
// output), errors with line/column and rule, caps, typed reads with key paths, and the writer
// (deterministic, NaN/Inf -> null, exact round trip of doubles and of random documents).
#include "core/base/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tests/test_util.h"

namespace qp::json {
namespace {

Value P(const std::string& s) {
  Result<Value> r = Parse(s);
  EXPECT_TRUE(r.ok()) << s << " -> " << r.status().ToString();
  return r.ok() ? *r : Value();
}

std::string Err(const std::string& s, const ParseOptions& o = {}) {
  Result<Value> r = Parse(s, o);
  EXPECT_FALSE(r.ok()) << "accepted: " << s;
  return r.ok() ? "" : r.status().message();
}

TEST(JsonParse, Scalars) {
  EXPECT_TRUE(P("null").is_null());
  EXPECT_TRUE(P(" true ").as_bool());
  EXPECT_TRUE(P("false").is_bool());
  EXPECT_FALSE(P("false").as_bool());
  EXPECT_EQ(P("0").as_int(), 0);
  EXPECT_EQ(P("-17").as_int(), -17);
  EXPECT_TRUE(P("-17").is_int());
  EXPECT_EQ(P("9223372036854775807").as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(P("-9223372036854775808").as_int(), std::numeric_limits<int64_t>::min());
  // Out of int64 range: a double.
  Value big = P("9223372036854775808");
  EXPECT_EQ(big.type(), Type::kDouble);
  EXPECT_EQ(big.as_double(), 9223372036854775808.0);
  EXPECT_EQ(P("-9223372036854775809").type(), Type::kDouble);
  // Fraction or exponent: a double even when integral.
  EXPECT_EQ(P("1.0").type(), Type::kDouble);
  EXPECT_EQ(P("1e2").type(), Type::kDouble);
  EXPECT_EQ(P("1e2").as_double(), 100.0);
  EXPECT_EQ(P("-2.5E-3").as_double(), -0.0025);
  EXPECT_EQ(P("0.1").as_double(), 0.1);
  EXPECT_EQ(P("\"abc\"").as_string(), "abc");
}

TEST(JsonParse, StringEscapes) {
  EXPECT_EQ(P(R"("a\"b\\c\/d\b\f\n\r\t")").as_string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(P(R"("\u0041\u00e9\u20AC")").as_string(), "A\xC3\xA9\xE2\x82\xAC");  // A é €
  // U+1F600 as a surrogate pair -> 4-byte UTF-8 F0 9F 98 80.
  EXPECT_EQ(P(R"("\uD83D\uDE00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(P(R"("\u0000x")").as_string(), std::string("\0x", 2));
  // Raw UTF-8 passes through.
  EXPECT_EQ(P("\"\xE2\x82\xAC\xF0\x9F\x98\x80\"").as_string(), "\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(JsonParse, ContainersKeepOrder) {
  Value v = P(R"({"z": 1, "a": [1, 2.5, "x", null, true, {}], "m": {"k": []}})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.members().size(), 3u);
  EXPECT_EQ(v.members()[0].key, "z");
  EXPECT_EQ(v.members()[1].key, "a");
  EXPECT_EQ(v.members()[2].key, "m");
  const Value* a = v.Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->size(), 6u);
  EXPECT_EQ(a->items()[1].as_double(), 2.5);
  EXPECT_TRUE(a->items()[5].is_object());
  EXPECT_EQ(v.Find("missing"), nullptr);
  EXPECT_TRUE(v.Find("m")->Find("k")->is_array());
  // BOM skipped, surrounding whitespace allowed.
  EXPECT_EQ(P("\xEF\xBB\xBF \n [ ] \r\n").size(), 0u);
}

TEST(JsonParse, ErrorsNameLineColumnAndRule) {
  EXPECT_EQ(Err("{\n  \"a\": 1,\n  \"a\": 2\n}"), "json: line 3 col 3: duplicate key 'a' in object");
  EXPECT_EQ(Err("[1, 2,]"), "json: line 1 col 7: trailing comma in array");
  EXPECT_EQ(Err("{\"a\": 1,}"), "json: line 1 col 9: trailing comma in object");
  EXPECT_EQ(Err("[1 2]"), "json: line 1 col 4: expected ',' or ']' in array, got character '2'");
  EXPECT_EQ(Err("{\"a\" 1}"), "json: line 1 col 6: expected ':' after key 'a', got character '1'");
  EXPECT_EQ(Err("{a: 1}"), "json: line 1 col 2: expected a string key in object, got character 'a'");
  EXPECT_EQ(Err(""), "json: line 1 col 1: empty input (expected a value)");
  EXPECT_EQ(Err("  \n "), "json: line 2 col 2: empty input (expected a value)");
  EXPECT_EQ(Err("[1] x"), "json: line 1 col 5: unexpected character 'x' after the value");
  EXPECT_EQ(Err("01"), "json: line 1 col 1: leading zero in number");
  EXPECT_EQ(Err("1."), "json: line 1 col 3: expected a digit after '.' in number");
  EXPECT_EQ(Err("-"), "json: line 1 col 2: expected a digit in number, got end of input");
  EXPECT_EQ(Err("1e"), "json: line 1 col 3: expected a digit in exponent");
  EXPECT_EQ(Err("1e999"), "json: line 1 col 1: number 1e999 is outside the double range");
  EXPECT_EQ(Err("tru"), "json: line 1 col 1: unexpected character 't' (expected a value)");
  EXPECT_EQ(Err("NaN"), "json: line 1 col 1: unexpected character 'N' (expected a value)");
  EXPECT_EQ(Err("\"abc"), "json: line 1 col 1: unterminated string");
  EXPECT_EQ(Err("\"a\tb\""), "json: line 1 col 3: unescaped control character in string (byte 0x09)");
  EXPECT_EQ(Err(R"("\x")"), "json: line 1 col 2: invalid escape '\\x' in string");
  EXPECT_EQ(Err(R"("\u12G4")"), "json: line 1 col 6: \\u escape needs four hex digits, got character 'G'");
  EXPECT_EQ(Err(R"("\uDE00")"), "json: line 1 col 2: lone low surrogate \\uDE00");
  EXPECT_EQ(Err(R"("\uD83D")"), "json: line 1 col 2: high surrogate \\uD83D not followed by a low surrogate");
  EXPECT_EQ(Err(R"("\uD83D\u0041")"),
            "json: line 1 col 2: high surrogate \\uD83D not followed by a low surrogate");
  EXPECT_EQ(Err("\"\xC3\""), "json: line 1 col 2: invalid UTF-8 continuation byte in string");
  EXPECT_EQ(Err("\"\xC0\x80\""), "json: line 1 col 2: invalid UTF-8 in string (byte 0xC0)");
  EXPECT_EQ(Err("\"\xE0\x80\x80\""), "json: line 1 col 2: overlong UTF-8 sequence in string");
  EXPECT_EQ(Err("\"\xED\xA0\x80\""), "json: line 1 col 2: UTF-8 encoded surrogate in string");
  EXPECT_EQ(Err("\"\xF4\x90\x80\x80\""), "json: line 1 col 2: UTF-8 code point above U+10FFFF in string");
  EXPECT_EQ(Err("[\"\xE2\x82"), "json: line 1 col 3: truncated UTF-8 sequence in string");
  EXPECT_EQ(Parse("[1,").status().code(), StatusCode::kInvalidArgument);
}

TEST(JsonParse, DepthAndSizeCaps) {
  ParseOptions o;
  o.max_depth = 4;
  EXPECT_TRUE(Parse("[[[[1]]]]", o).ok());
  Result<Value> deep = Parse("[[[[[1]]]]]", o);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(deep.status().message(), "json: line 1 col 5: nesting deeper than the limit of 4");
  // The default limit stops a hostile document long before the stack would.
  std::string hostile(100000, '[');
  Result<Value> h = Parse(hostile);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kResourceExhausted);
  o = ParseOptions();
  o.max_bytes = 8;
  Result<Value> big = Parse("[1,2,3,4,5]", o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), "json: input of 11 bytes exceeds the cap of 8 bytes");
}

TEST(JsonWrite, CompactIndentedAndEscapes) {
  Value v = Value::Object();
  v.Set("name", "a\"b\\c\n\x01");
  v.Set("n", 3);
  v.Set("x", 0.5);
  v.Set("whole", 2.0);
  v.Set("list", Value::Array());
  v.Find("list")->Append(true);
  v.Find("list")->Append(Value());
  v.Set("empty", Value::Object());
  EXPECT_EQ(Write(v),
            R"({"name":"a\"b\\c\n\u0001","n":3,"x":0.5,"whole":2.0,"list":[true,null],"empty":{}})");
  WriteOptions o;
  o.indent = 2;
  EXPECT_EQ(Write(v, o),
            "{\n  \"name\": \"a\\\"b\\\\c\\n\\u0001\",\n  \"n\": 3,\n  \"x\": 0.5,\n  \"whole\": 2.0,\n"
            "  \"list\": [\n    true,\n    null\n  ],\n  \"empty\": {}\n}");
  // Set replaces in place, keeping the position.
  v.Set("n", "three");
  EXPECT_EQ(v.members()[1].key, "n");
  EXPECT_EQ(v.members()[1].value.as_string(), "three");
  EXPECT_TRUE(v.Remove("n"));
  EXPECT_FALSE(v.Remove("n"));
  EXPECT_EQ(v.size(), 5u);
}

TEST(JsonWrite, NonFiniteIsNullAndNumbersStayDoubles) {
  Value a = Value::Array();
  a.Append(std::numeric_limits<double>::quiet_NaN());
  a.Append(std::numeric_limits<double>::infinity());
  a.Append(-std::numeric_limits<double>::infinity());
  a.Append(1e300);
  a.Append(-0.0);
  a.Append(0.1f);  // float widened: its exact double value survives
  EXPECT_EQ(Write(a), "[null,null,null,1e+300,-0.0,0.10000000149011612]");
  Value back = P(Write(a));
  EXPECT_TRUE(back.items()[0].is_null());
  EXPECT_EQ(back.items()[3].type(), Type::kDouble);
  EXPECT_TRUE(std::signbit(back.items()[4].as_double()));
  EXPECT_EQ(static_cast<float>(back.items()[5].as_double()), 0.1f);
}

TEST(JsonWrite, DoublesRoundTripBitExact) {
  std::mt19937_64 rng = qp::testing::Rng(41);
  SCOPED_TRACE(qp::testing::SeedTrace());
  for (int i = 0; i < 3000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    std::string s = Write(Value(d));
    Result<Value> r = Parse(s);
    ASSERT_TRUE(r.ok()) << s;
    ASSERT_EQ(r->type(), Type::kDouble) << s;
    double back = r->as_double();
    ASSERT_EQ(std::memcmp(&back, &d, sizeof(d)), 0) << s;
    // Shortest: one digit fewer would not round-trip (checked on a sample).
    if (i % 100 == 0 && s.find('e') == std::string::npos && s.size() > 3) {
      char buf[400];
      int digits = 0;
      for (char c : s) digits += (c >= '0' && c <= '9');
      std::snprintf(buf, sizeof(buf), "%.*g", digits - 1, d);
      if (digits > 1) {
        EXPECT_NE(std::strtod(buf, nullptr), d) << s << " vs " << buf;
      }
    }
  }
}

// Random documents: Write then Parse gives the same tree, and Write of that is the same text.
Value RandomValue(std::mt19937_64& rng, int depth) {
  int kind = static_cast<int>(rng() % (depth > 3 ? 5 : 7));
  switch (kind) {
    case 0: return Value();
    case 1: return Value(rng() % 2 == 0);
    case 2: return Value(static_cast<int64_t>(rng()));
    case 3: {
      std::uniform_real_distribution<double> u(-1e6, 1e6);
      return Value(u(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20));
    }
    case 4: {
      std::string s;
      int n = static_cast<int>(rng() % 8);
      for (int i = 0; i < n; ++i) {
        int c = static_cast<int>(rng() % 6);
        if (c == 0) s += static_cast<char>(rng() % 32);        // control
        else if (c == 1) s += "\xC3\xA9";                      // é
        else if (c == 2) s += "\xF0\x9F\x98\x80";              // emoji
        else if (c == 3) s += (rng() % 2) ? "\"" : "\\";
        else s += static_cast<char>('a' + rng() % 26);
      }
      return Value(s);
    }
    case 5: {
      Value a = Value::Array();
      int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) a.Append(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      Value o = Value::Object();
      int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) o.Set("k" + std::to_string(rng() % 10), RandomValue(rng, depth + 1));
      return o;
    }
  }
}

TEST(JsonWrite, RandomDocumentsRoundTrip) {
  std::mt19937_64 rng = qp::testing::Rng(42);
  SCOPED_TRACE(qp::testing::SeedTrace());
  for (int i = 0; i < 500; ++i) {
    Value v = RandomValue(rng, 0);
    for (int indent : {0, 2}) {
      WriteOptions o;
      o.indent = indent;
      std::string s = Write(v, o);
      Result<Value> r = Parse(s);
      ASSERT_TRUE(r.ok()) << s << "\n" << r.status().ToString();
      ASSERT_TRUE(*r == v) << s;
      ASSERT_EQ(Write(*r, o), s);
    }
  }
}

TEST(JsonCursor, TypedReadsNameThePath) {
  Value root = P(R"({"layers": {"conv1": {"bits": "four", "w": 4, "x": 4.0, "y": 4.5, "on": true},
                     "list": [1, "a"]}})");
  Cursor c(root, "config");
  EXPECT_EQ(*c["layers"]["conv1"].Int("w"), 4);
  EXPECT_EQ(*c["layers"]["conv1"].Int("x"), 4);  // integral double accepted
  EXPECT_EQ(*c["layers"]["conv1"].Number("y"), 4.5);
  EXPECT_TRUE(*c["layers"]["conv1"].Bool("on"));
  EXPECT_EQ(*c["layers"]["list"].At(1).String(), "a");

  Result<int64_t> bits = c["layers"]["conv1"].Int("bits");
  ASSERT_FALSE(bits.ok());
  EXPECT_EQ(bits.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bits.status().message(), "config.layers.conv1.bits: expected integer, got string");
  EXPECT_EQ(c["layers"]["conv1"].Int("y").status().message(),
            "config.layers.conv1.y: expected integer, got number 4.5");
  EXPECT_EQ(c["layers"]["conv1"].String("w").status().message(),
            "config.layers.conv1.w: expected string, got integer 4");

  Result<int64_t> missing = c["layers"]["conv2"].Int("bits");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "config.layers: missing key 'conv2'");
  EXPECT_EQ(c["layers"]["list"].At(5).Int().status().message(),
            "config.layers.list: index 5 outside the array of 2 elements");
  EXPECT_EQ(c["layers"]["conv1"]["w"]["deeper"].Int().status().message(),
            "config.layers.conv1.w: expected object, got integer");

  // Defaults only when absent.
  EXPECT_EQ(*c["layers"]["conv1"].IntOr("absent", 8), 8);
  EXPECT_EQ(*c["layers"]["conv1"].IntOr("w", 8), 4);
  EXPECT_FALSE(c["layers"]["conv1"].IntOr("bits", 8).ok());
  EXPECT_EQ(*c["layers"]["conv1"].StringOr("s", "dflt"), "dflt");
  EXPECT_FALSE(*c["layers"]["conv1"].BoolOr("absent", false));
  EXPECT_EQ(*c["layers"]["conv1"].NumberOr("absent", 0.25), 0.25);

  Result<int64_t> r = c["layers"]["conv1"]["w"].IntInRange(5, 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(r.status().message(), "config.layers.conv1.w: 4 outside [5, 8]");

  Status keys = c["layers"]["conv1"].CheckKeys({"bits", "w", "x", "y"});
  EXPECT_EQ(keys.message(), "config.layers.conv1: unknown key 'on' (known: bits, w, x, y)");
  EXPECT_TRUE(c["layers"]["conv1"].CheckKeys({"bits", "w", "x", "y", "on"}).ok());
  EXPECT_EQ(c["layers"].Keys()->size(), 2u);
  EXPECT_TRUE(c.Has("layers"));
  EXPECT_FALSE(c.Has("nope"));
}

TEST(JsonValue, EqualityAndPlainAccessors) {
  EXPECT_TRUE(Value(1) == Value(1.0));
  EXPECT_FALSE(Value(1) == Value(true));
  EXPECT_FALSE(Value(std::nan("")) == Value(std::nan("")));
  EXPECT_TRUE(P(R"({"a":[1,{"b":null}]})") == P(R"({ "a" : [ 1 , { "b" : null } ] })"));
  EXPECT_FALSE(P(R"({"a":1,"b":2})") == P(R"({"b":2,"a":1})"));  // order matters
  EXPECT_EQ(Value("x").as_int(), 0);
  EXPECT_EQ(Value(7).as_double(), 7.0);
  EXPECT_EQ(Value(size_t{5}).as_int(), 5);
}

}  // namespace
}  // namespace qp::json
