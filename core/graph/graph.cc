// Graph IR helpers (see graph.h): structural validation and an iterative topological sort.
#include "core/graph/graph.h"

#include <deque>
#include <set>
#include <unordered_map>

namespace qp {

const char* AttributeKindName(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kStrings: return "strings";
  }
  return "unknown";
}

std::string Node::Describe() const {
  return "node '" + name + "' (" + op_type + ")";
}

const ValueInfo* Graph::FindValueInfo(const std::string& n) const {
  for (const ValueInfo& v : inputs)
    if (v.name == n) return &v;
  for (const ValueInfo& v : outputs)
    if (v.name == n) return &v;
  auto it = value_info.find(n);
  return it == value_info.end() ? nullptr : &it->second;
}

namespace {

Status CheckName(const std::string& name, const char* what, const GraphLimits& limits) {
  if (name.size() > limits.max_name_length)
    return InvalidArgument(what, " name of ", name.size(), " bytes exceeds the cap of ",
                           limits.max_name_length);
  return Status::Ok();
}

Status CheckDeclaredShape(const ValueInfo& v, const GraphLimits& limits) {
  if (!v.has_shape) return Status::Ok();
  if (static_cast<int64_t>(v.shape.size()) > limits.max_rank)
    return InvalidArgument("value '", v.name, "' has rank ", v.shape.size(), "; the cap is ",
                           limits.max_rank);
  for (size_t i = 0; i < v.shape.size(); ++i)
    if (v.shape[i] < kDynamicDim)
      return InvalidArgument("value '", v.name, "': dim ", i, " is ", v.shape[i],
                             "; dims must be >= 0");
  Shape known;
  for (int64_t d : v.shape) known.push_back(d < 0 ? 1 : d);
  Status s = CheckedNumElements(known, limits.max_tensor_elements).status();
  if (!s.ok()) return s.WithContext("value '" + v.name + "'");
  return Status::Ok();
}

}  // namespace

Status ValidateGraph(const Graph& g, const GraphLimits& limits) {
  if (static_cast<int64_t>(g.nodes.size()) > limits.max_nodes)
    return ResourceExhausted("graph has ", g.nodes.size(), " nodes; the cap is ", limits.max_nodes);
  // producer: "input", "initializer" or a node description.
  std::unordered_map<std::string, std::string> producer;
  int64_t init_bytes = 0;
  for (const auto& [name, t] : g.initializers) {
    QP_RETURN_IF_ERROR(CheckName(name, "initializer", limits));
    if (name.empty()) return InvalidArgument("an initializer has an empty name");
    if (t.numel() > limits.max_tensor_elements)
      return ResourceExhausted("initializer '", name, "' has ", t.numel(),
                               " elements; the cap is ", limits.max_tensor_elements);
    init_bytes += static_cast<int64_t>(t.nbytes());
    if (init_bytes > limits.max_initializer_bytes)
      return ResourceExhausted("initializers exceed the cap of ", limits.max_initializer_bytes,
                               " bytes at '", name, "'");
    producer[name] = "initializer";
  }
  for (const ValueInfo& v : g.inputs) {
    QP_RETURN_IF_ERROR(CheckName(v.name, "graph input", limits));
    if (v.name.empty()) return InvalidArgument("a graph input has an empty name");
    if (g.initializers.count(v.name))
      return InvalidArgument("graph input '", v.name, "' is also an initializer; list it once");
    if (!producer.emplace(v.name, "graph input").second)
      return InvalidArgument("graph input '", v.name, "' is declared twice");
    QP_RETURN_IF_ERROR(CheckDeclaredShape(v, limits));
  }
  for (const Node& n : g.nodes) {
    QP_RETURN_IF_ERROR(CheckName(n.name, "node", limits));
    QP_RETURN_IF_ERROR(CheckName(n.op_type, "op type", limits));
    for (const std::string& o : n.outputs) {
      if (o.empty()) continue;
      QP_RETURN_IF_ERROR(CheckName(o, "value", limits));
      auto [it, inserted] = producer.emplace(o, n.Describe());
      if (!inserted)
        return InvalidArgument(n.Describe(), ": output '", o, "' is already produced by ",
                               it->second, "; every value must have one producer");
    }
  }
  for (const Node& n : g.nodes) {
    for (const std::string& in : n.inputs) {
      if (in.empty()) continue;
      if (!producer.count(in))
        return InvalidArgument(n.Describe(), ": input '", in,
                               "' is not a graph input, an initializer or any node's output");
    }
  }
  if (g.outputs.empty()) return InvalidArgument("graph has no outputs");
  std::set<std::string> outs;
  for (const ValueInfo& v : g.outputs) {
    if (!producer.count(v.name))
      return InvalidArgument("graph output '", v.name, "' is not produced by any node, input or initializer");
    if (!outs.insert(v.name).second)
      return InvalidArgument("graph output '", v.name, "' is listed twice");
    QP_RETURN_IF_ERROR(CheckDeclaredShape(v, limits));
  }
  for (const auto& [name, v] : g.value_info) QP_RETURN_IF_ERROR(CheckDeclaredShape(v, limits));
  return TopologicalOrder(g).status();
}

Result<std::vector<size_t>> TopologicalOrder(const Graph& g) {
  std::unordered_map<std::string, size_t> producer_node;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& o : g.nodes[i].outputs)
      if (!o.empty()) producer_node.emplace(o, i);
  std::vector<int64_t> pending(g.nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const std::string& in : g.nodes[i].inputs) {
      auto it = in.empty() ? producer_node.end() : producer_node.find(in);
      if (it == producer_node.end()) continue;
      ++pending[i];
      consumers[it->second].push_back(i);
    }
  }
  // Kahn's algorithm; ties keep file order so the result is deterministic.
  std::deque<size_t> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (pending[i] == 0) ready.push_back(i);
  std::vector<size_t> order;
  order.reserve(g.nodes.size());
  while (!ready.empty()) {
    const size_t i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push_back(c);
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i] > 0)
        return InvalidArgument("the graph has a cycle through ", g.nodes[i].Describe(),
                               "; ONNX graphs must be acyclic");
  }
  return order;
}

std::string GraphSummary(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) ++counts[n.op_type];
  std::string s = std::to_string(g.nodes.size()) + " nodes:";
  bool first = true;
  for (const auto& [op, c] : counts) {
    s += first ? " " : ", ";
    first = false;
    s += op;
    if (c > 1) s += " x" + std::to_string(c);
  }
  return s;
}

}  // namespace qp
