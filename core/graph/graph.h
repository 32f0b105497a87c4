// Graph IR: nodes in the ONNX style (op type, domain, named inputs/outputs, attributes), values
// with dtype and shape (a dim may be symbolic), initializers as Tensors, graph inputs/outputs.
// ValidateGraph is the structural check for untrusted graphs (names, duplicates, dangling inputs,
// cycles, caps); TopologicalOrder is iterative (no recursion on attacker-controlled depth).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp {

// A node attribute; `kind` says which member holds the value (ONNX AttributeProto subset).
struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kTensor, kStrings };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  Tensor t;

  static Attribute Int(int64_t v) { Attribute a; a.kind = Kind::kInt; a.i = v; return a; }
  static Attribute Float(float v) { Attribute a; a.kind = Kind::kFloat; a.f = v; return a; }
  static Attribute String(std::string v) { Attribute a; a.kind = Kind::kString; a.s = std::move(v); return a; }
  static Attribute Ints(std::vector<int64_t> v) { Attribute a; a.kind = Kind::kInts; a.ints = std::move(v); return a; }
  static Attribute Floats(std::vector<float> v) { Attribute a; a.kind = Kind::kFloats; a.floats = std::move(v); return a; }
  static Attribute FromTensor(Tensor v) { Attribute a; a.kind = Kind::kTensor; a.t = std::move(v); return a; }
};
const char* AttributeKindName(Attribute::Kind k);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;                // "" (or "ai.onnx") is the default ONNX domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attribute> attrs;

  const Attribute* attr(const std::string& key) const {
    auto it = attrs.find(key);
    return it == attrs.end() ? nullptr : &it->second;
  }
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
  // "node 'conv1' (Conv)" for messages.
  std::string Describe() const;
};

// Dims >= 0 are known; kDynamicDim marks a symbolic/unknown dim (e.g. the batch "N").
inline constexpr int64_t kDynamicDim = -1;

struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;            // may contain kDynamicDim
  bool has_shape = true;  // false: rank unknown
  std::vector<std::string> dim_names;  // symbolic names per dim ("" if none); may be empty
};

struct Graph {
  std::string name = "graph";
  int64_t opset = 13;      // opset of the default domain
  int64_t ir_version = 8;  // as read from the file, or what the exporter writes
  std::string producer;    // producer_name of the file, if any
  std::vector<ValueInfo> inputs;   // run-time inputs (initializers are not listed here)
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;
  std::map<std::string, Tensor> initializers;
  std::map<std::string, ValueInfo> value_info;  // dtypes/shapes of intermediate values

  const ValueInfo* FindValueInfo(const std::string& name) const;
};

// Caps for untrusted graphs; the defaults are far above any model the playground targets.
struct GraphLimits {
  int64_t max_nodes = 100000;
  int64_t max_tensor_elements = int64_t{1} << 28;  // 1 GiB of float32: fits the wasm heap
  int64_t max_initializer_bytes = int64_t{1} << 30;  // sum over all initializers
  size_t max_name_length = 4096;
  int64_t max_rank = 8;
};

// Structural validation: non-empty unique node output names, every value produced once (by an
// input, an initializer or one node), every node input and graph output defined, no cycles, ranks
// and dims of declared values >= 0 (or symbolic), caps respected. Messages name the node/tensor.
Status ValidateGraph(const Graph& g, const GraphLimits& limits = {});

// Node indices in a topological order (Kahn, iterative). A cycle gives an error naming a node
// on it.
Result<std::vector<size_t>> TopologicalOrder(const Graph& g);

// "3 nodes: Conv x2, Relu" style summary for logs and the CLI.
std::string GraphSummary(const Graph& g);

}  // namespace qp
