// Lenient attribute reads for the quantization passes, which walk graphs the validator already
// accepted: the attribute's value when present with the expected kind, else the default.
// (core/graph/attrs.h's AttrInt/AttrFloat are the checking versions for untrusted nodes.)
#pragma once

#include <cstdint>

#include "core/graph/graph.h"

namespace qp::workflows {

inline int64_t IntAttr(const Node& n, const char* key, int64_t def) {
  const Attribute* a = n.attr(key);
  return a && a->kind == Attribute::Kind::kInt ? a->i : def;
}
inline float FloatAttr(const Node& n, const char* key, float def) {
  const Attribute* a = n.attr(key);
  return a && a->kind == Attribute::Kind::kFloat ? a->f : def;
}

}  // namespace qp::workflows
