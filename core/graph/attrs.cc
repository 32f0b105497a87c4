// Supported op table and attribute parsers (see attrs.h). Arity follows the ONNX schemas of
// opsets 11-17 (optional trailing inputs/outputs included in max).
#include "core/graph/attrs.h"

#include <algorithm>
#include <cstring>

namespace qp {

namespace {

constexpr OpSchema kOps[] = {
    {"Add", 2, 2, 1, 1, 7},
    {"AveragePool", 1, 1, 1, 1, 11},
    {"BatchNormalization", 5, 5, 1, 5, 11},
    {"Clip", 1, 3, 1, 1, 11},
    {"Concat", 1, 1 << 20, 1, 1, 11},
    {"Constant", 0, 0, 1, 1, 11},
    {"Conv", 2, 3, 1, 1, 11},
    {"ConvInteger", 2, 4, 1, 1, 10},
    {"DequantizeLinear", 2, 3, 1, 1, 10},
    {"Div", 2, 2, 1, 1, 7},
    {"Dropout", 1, 3, 1, 2, 11},
    {"DynamicQuantizeLinear", 1, 1, 3, 3, 11},
    {"Flatten", 1, 1, 1, 1, 11},
    {"Gemm", 2, 3, 1, 1, 11},
    {"GlobalAveragePool", 1, 1, 1, 1, 1},
    {"HardSigmoid", 1, 1, 1, 1, 6},
    {"HardSwish", 1, 1, 1, 1, 11},
    {"Identity", 1, 1, 1, 1, 1},
    {"LeakyRelu", 1, 1, 1, 1, 6},
    {"LogSoftmax", 1, 1, 1, 1, 11},
    {"MatMul", 2, 2, 1, 1, 9},
    {"MatMulInteger", 2, 4, 1, 1, 10},
    {"MaxPool", 1, 1, 1, 2, 11},
    {"Mul", 2, 2, 1, 1, 7},
    {"Pad", 2, 3, 1, 1, 11},
    {"QLinearConv", 8, 9, 1, 1, 10},
    {"QLinearMatMul", 8, 8, 1, 1, 10},
    {"QuantizeLinear", 2, 3, 1, 1, 10},
    {"Relu", 1, 1, 1, 1, 6},
    {"Reshape", 2, 2, 1, 1, 11},
    {"Sigmoid", 1, 1, 1, 1, 6},
    {"Softmax", 1, 1, 1, 1, 11},
    {"Squeeze", 1, 2, 1, 1, 11},
    {"Sub", 2, 2, 1, 1, 7},
    {"Tanh", 1, 1, 1, 1, 6},
    {"Transpose", 1, 1, 1, 1, 1},
    {"Unsqueeze", 1, 2, 1, 1, 11},
};

std::string Where(const Node& n) { return n.Describe() + ": "; }

Result<const Attribute*> Typed(const Node& n, const std::string& key, Attribute::Kind want) {
  const Attribute* a = n.attr(key);
  if (a && a->kind != want)
    return InvalidArgument(Where(n), "attribute '", key, "' is ", AttributeKindName(a->kind),
                           "; expected ", AttributeKindName(want));
  return a;
}

}  // namespace

bool IsDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

const OpSchema* FindOpSchema(const std::string& domain, const std::string& op_type) {
  if (!IsDefaultDomain(domain)) return nullptr;
  for (const OpSchema& s : kOps)
    if (op_type == s.op_type) return &s;
  return nullptr;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> v;
  for (const OpSchema& s : kOps) v.push_back(s.op_type);
  std::sort(v.begin(), v.end());
  return v;
}

Status CheckNodeSupported(const Node& n, int64_t opset) {
  const OpSchema* s = FindOpSchema(n.domain, n.op_type);
  if (!s || opset < s->min_opset || opset > kMaxOpset) {
    std::string why;
    if (s) why = opset > kMaxOpset ? "; supported opsets end at 17" :
                 "; qplay supports it from opset " + std::to_string(s->min_opset);
    return Unimplemented("unsupported op ", n.op_type, " (domain ",
                         n.domain.empty() ? "ai.onnx" : n.domain, ", opset ", opset, ") at node '",
                         n.name, "'", why);
  }
  // Trailing omitted inputs do not count toward the arity.
  int given = static_cast<int>(n.inputs.size());
  while (given > 0 && n.inputs[given - 1].empty()) --given;
  if (given < s->min_inputs || static_cast<int>(n.inputs.size()) > s->max_inputs)
    return InvalidArgument(Where(n), "has ", given, " inputs; ", n.op_type, " takes ",
                           s->min_inputs, " to ", s->max_inputs);
  for (int i = 0; i < s->min_inputs; ++i)
    if (n.inputs[i].empty())
      return InvalidArgument(Where(n), "required input ", i, " is missing");
  const int outs = static_cast<int>(n.outputs.size());
  if (outs < s->min_outputs || outs > s->max_outputs)
    return InvalidArgument(Where(n), "has ", outs, " outputs; ", n.op_type, " produces ",
                           s->min_outputs, " to ", s->max_outputs);
  for (int i = 0; i < s->min_outputs; ++i)
    if (n.outputs[i].empty()) return InvalidArgument(Where(n), "required output ", i, " has no name");
  return Status::Ok();
}

Result<int64_t> AttrInt(const Node& n, const std::string& key, int64_t dflt) {
  QP_ASSIGN_OR_RETURN(const Attribute* a, Typed(n, key, Attribute::Kind::kInt));
  return a ? a->i : dflt;
}

Result<float> AttrFloat(const Node& n, const std::string& key, float dflt) {
  QP_ASSIGN_OR_RETURN(const Attribute* a, Typed(n, key, Attribute::Kind::kFloat));
  return a ? a->f : dflt;
}

Result<std::string> AttrString(const Node& n, const std::string& key, const std::string& dflt) {
  QP_ASSIGN_OR_RETURN(const Attribute* a, Typed(n, key, Attribute::Kind::kString));
  return a ? a->s : dflt;
}

Result<std::vector<int64_t>> AttrInts(const Node& n, const std::string& key) {
  QP_ASSIGN_OR_RETURN(const Attribute* a, Typed(n, key, Attribute::Kind::kInts));
  return a ? a->ints : std::vector<int64_t>{};
}

Result<int64_t> RequireAttrInt(const Node& n, const std::string& key) {
  QP_ASSIGN_OR_RETURN(const Attribute* a, Typed(n, key, Attribute::Kind::kInt));
  if (!a) return InvalidArgument(Where(n), "required attribute '", key, "' is missing");
  return a->i;
}

Result<ops::AutoPad> ParseAutoPad(const Node& n) {
  QP_ASSIGN_OR_RETURN(std::string s, AttrString(n, "auto_pad", "NOTSET"));
  if (s == "NOTSET") return ops::AutoPad::kNotSet;
  if (s == "VALID") return ops::AutoPad::kValid;
  if (s == "SAME_UPPER") return ops::AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return ops::AutoPad::kSameLower;
  return InvalidArgument(Where(n), "auto_pad '", s.substr(0, 64),
                         "' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
}

Result<ops::ConvAttrs> ParseConvAttrs(const Node& n) {
  ops::ConvAttrs a;
  QP_ASSIGN_OR_RETURN(a.kernel_shape, AttrInts(n, "kernel_shape"));
  QP_ASSIGN_OR_RETURN(a.strides, AttrInts(n, "strides"));
  QP_ASSIGN_OR_RETURN(a.dilations, AttrInts(n, "dilations"));
  QP_ASSIGN_OR_RETURN(a.pads, AttrInts(n, "pads"));
  QP_ASSIGN_OR_RETURN(a.auto_pad, ParseAutoPad(n));
  QP_ASSIGN_OR_RETURN(a.group, AttrInt(n, "group", 1));
  if (a.group < 1) return InvalidArgument(Where(n), "group is ", a.group, "; must be >= 1");
  return a;
}

Result<ops::PoolAttrs> ParsePoolAttrs(const Node& n) {
  ops::PoolAttrs a;
  QP_ASSIGN_OR_RETURN(a.kernel_shape, AttrInts(n, "kernel_shape"));
  if (a.kernel_shape.empty())
    return InvalidArgument(Where(n), "required attribute 'kernel_shape' is missing");
  QP_ASSIGN_OR_RETURN(a.strides, AttrInts(n, "strides"));
  QP_ASSIGN_OR_RETURN(a.dilations, AttrInts(n, "dilations"));
  QP_ASSIGN_OR_RETURN(a.pads, AttrInts(n, "pads"));
  QP_ASSIGN_OR_RETURN(a.auto_pad, ParseAutoPad(n));
  QP_ASSIGN_OR_RETURN(int64_t ceil, AttrInt(n, "ceil_mode", 0));
  QP_ASSIGN_OR_RETURN(int64_t cip, AttrInt(n, "count_include_pad", 0));
  QP_ASSIGN_OR_RETURN(int64_t order, AttrInt(n, "storage_order", 0));
  if (order != 0) return Unimplemented(Where(n), "storage_order ", order, " (only 0, row major)");
  a.ceil_mode = ceil != 0;
  a.count_include_pad = cip != 0;
  return a;
}

Result<ops::GemmAttrs> ParseGemmAttrs(const Node& n) {
  ops::GemmAttrs a;
  QP_ASSIGN_OR_RETURN(a.alpha, AttrFloat(n, "alpha", 1.f));
  QP_ASSIGN_OR_RETURN(a.beta, AttrFloat(n, "beta", 1.f));
  QP_ASSIGN_OR_RETURN(int64_t ta, AttrInt(n, "transA", 0));
  QP_ASSIGN_OR_RETURN(int64_t tb, AttrInt(n, "transB", 0));
  a.trans_a = ta != 0;
  a.trans_b = tb != 0;
  return a;
}

Result<ops::PadMode> ParsePadMode(const Node& n) {
  QP_ASSIGN_OR_RETURN(std::string s, AttrString(n, "mode", "constant"));
  if (s == "constant") return ops::PadMode::kConstant;
  if (s == "reflect") return ops::PadMode::kReflect;
  if (s == "edge") return ops::PadMode::kEdge;
  return InvalidArgument(Where(n), "Pad mode '", s.substr(0, 64), "' is not constant, reflect or edge");
}

}  // namespace qp
