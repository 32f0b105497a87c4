// The supported op set (default ONNX domain, opsets 11-17): arity per op, and the parsers that
// turn a Node's attributes into the ops.h structs. Missing required attributes, wrong attribute
// kinds and out-of-range values give a Status naming the node, the attribute and the rule.
#pragma once

#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/graph/ops.h"

namespace qp {

// Default-domain opsets a model may import. The op set targets 11-17; ops whose ONNX definition is
// unchanged since an older opset (OpSchema::min_opset, e.g. GlobalAveragePool-1, QLinearConv-10)
// are also accepted in models importing that older opset. Anything else is "unsupported op".
inline constexpr int64_t kMinOpset = 1;
inline constexpr int64_t kMaxOpset = 17;

struct OpSchema {
  const char* op_type;
  int min_inputs, max_inputs;
  int min_outputs, max_outputs;
  int min_opset;  // oldest model opset whose version of the op has the semantics implemented
};

// nullptr when (domain, op_type) is not in the supported set.
const OpSchema* FindOpSchema(const std::string& domain, const std::string& op_type);
// Every supported op type (default domain), sorted.
std::vector<std::string> SupportedOps();
bool IsDefaultDomain(const std::string& domain);

// "unsupported op X (domain D, opset N) at node Y" when unsupported; arity errors otherwise.
Status CheckNodeSupported(const Node& node, int64_t opset);

// Attribute access with kind checks ("node 'c' (Conv): attribute 'group' is floats; expected int").
Result<int64_t> AttrInt(const Node& n, const std::string& key, int64_t dflt);
Result<float> AttrFloat(const Node& n, const std::string& key, float dflt);
Result<std::string> AttrString(const Node& n, const std::string& key, const std::string& dflt);
Result<std::vector<int64_t>> AttrInts(const Node& n, const std::string& key);  // empty if absent
Result<int64_t> RequireAttrInt(const Node& n, const std::string& key);

Result<ops::AutoPad> ParseAutoPad(const Node& n);
Result<ops::ConvAttrs> ParseConvAttrs(const Node& n);
Result<ops::PoolAttrs> ParsePoolAttrs(const Node& n);
Result<ops::GemmAttrs> ParseGemmAttrs(const Node& n);
Result<ops::PadMode> ParsePadMode(const Node& n);

}  // namespace qp
