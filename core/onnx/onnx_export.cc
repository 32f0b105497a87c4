// qplay Graph -> ONNX ModelProto bytes (see onnx.h). Must pass onnx.checker.check_model(full_check)
// of Debian's onnx 1.12 and run in onnxruntime (tests/js/onnx_export.test.mjs checks both).
#include <cstdio>
#include <cstring>
#include <set>

#include "core/graph/attrs.h"
#include "core/graph/executor.h"
#include "core/onnx/onnx.h"
#include "onnx.pb.h"

namespace qp::onnx {

namespace {

namespace pb = ::onnx;

int32_t ToProtoType(DType t) {
  switch (t) {
    case DType::kFloat32: return pb::TensorProto::FLOAT;
    case DType::kInt8: return pb::TensorProto::INT8;
    case DType::kUInt8: return pb::TensorProto::UINT8;
    case DType::kInt32: return pb::TensorProto::INT32;
    case DType::kInt64: return pb::TensorProto::INT64;
    case DType::kBool: return pb::TensorProto::BOOL;
  }
  return pb::TensorProto::UNDEFINED;
}

void ToTensorProto(const Tensor& t, const std::string& name, pb::TensorProto* tp) {
  tp->set_name(name);
  tp->set_data_type(ToProtoType(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  tp->set_raw_data(static_cast<const char*>(t.raw()), t.nbytes());
}

void ToValueInfo(const ValueInfo& v, pb::ValueInfoProto* vi) {
  vi->set_name(v.name);
  pb::TypeProto_Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(ToProtoType(v.dtype));
  if (!v.has_shape) return;
  pb::TensorShapeProto* sp = tt->mutable_shape();
  for (size_t i = 0; i < v.shape.size(); ++i) {
    pb::TensorShapeProto_Dimension* d = sp->add_dim();
    if (v.shape[i] >= 0) {
      d->set_dim_value(v.shape[i]);
    } else {
      const bool named = i < v.dim_names.size() && !v.dim_names[i].empty();
      d->set_dim_param(named ? v.dim_names[i] : (i == 0 ? "N" : "d" + std::to_string(i)));
    }
  }
}

Status ToAttribute(const std::string& key, const Attribute& a, pb::AttributeProto* ap) {
  ap->set_name(key);
  switch (a.kind) {
    case Attribute::Kind::kInt: ap->set_type(pb::AttributeProto::INT); ap->set_i(a.i); break;
    case Attribute::Kind::kFloat: ap->set_type(pb::AttributeProto::FLOAT); ap->set_f(a.f); break;
    case Attribute::Kind::kString: ap->set_type(pb::AttributeProto::STRING); ap->set_s(a.s); break;
    case Attribute::Kind::kInts:
      ap->set_type(pb::AttributeProto::INTS);
      for (int64_t v : a.ints) ap->add_ints(v);
      break;
    case Attribute::Kind::kFloats:
      ap->set_type(pb::AttributeProto::FLOATS);
      for (float v : a.floats) ap->add_floats(v);
      break;
    case Attribute::Kind::kStrings:
      ap->set_type(pb::AttributeProto::STRINGS);
      for (const std::string& v : a.strings) ap->add_strings(v);
      break;
    case Attribute::Kind::kTensor:
      ap->set_type(pb::AttributeProto::TENSOR);
      ToTensorProto(a.t, "", ap->mutable_t());
      break;
  }
  return Status::Ok();
}

// Rewrites ops newer than the graph's opset into their ONNX definitions at that opset:
// HardSwish-14 = x * HardSigmoid(x; alpha 1/6, beta 1/2) (bit-identical in our executor and ORT's
// reference), BatchNormalization's training_mode (14) dropped when 0. Reshape allowzero=1 has no
// opset-13 form.
Status LowerForOpset(Graph* g) {
  if (g->opset < 13)
    return Unimplemented("export of an opset ", g->opset, " graph; qplay writes opset 13 or newer");
  if (g->opset >= 14) return Status::Ok();
  std::set<std::string> names;
  for (const auto& [k, v] : g->initializers) names.insert(k);
  for (const ValueInfo& v : g->inputs) names.insert(v.name);
  for (const Node& n : g->nodes) names.insert(n.outputs.begin(), n.outputs.end());
  std::vector<Node> out;
  for (Node& n : g->nodes) {
    if (n.op_type == "HardSwish") {
      std::string mid = n.outputs[0] + "_hardsigmoid";
      while (names.count(mid)) mid += "_";
      names.insert(mid);
      Node hs;
      hs.name = n.name + "_hardsigmoid";
      hs.op_type = "HardSigmoid";
      hs.inputs = {n.inputs[0]};
      hs.outputs = {mid};
      hs.attrs["alpha"] = Attribute::Float(1.f / 6.f);
      hs.attrs["beta"] = Attribute::Float(0.5f);
      Node mul;
      mul.name = n.name;
      mul.op_type = "Mul";
      mul.inputs = {n.inputs[0], mid};
      mul.outputs = n.outputs;
      out.push_back(std::move(hs));
      out.push_back(std::move(mul));
      continue;
    }
    if (n.op_type == "BatchNormalization") {
      const Attribute* t = n.attr("training_mode");
      if (t && t->i != 0) return Unimplemented(n.Describe(), ": training_mode BatchNormalization cannot be exported");
      n.attrs.erase("training_mode");
    }
    if (n.op_type == "Reshape") {
      const Attribute* z = n.attr("allowzero");
      if (z && z->i != 0) return Unimplemented(n.Describe(), ": Reshape allowzero=1 needs opset 14");
      n.attrs.erase("allowzero");
    }
    out.push_back(std::move(n));
  }
  g->nodes = std::move(out);
  return Status::Ok();
}

}  // namespace

Result<std::string> ExportModel(const Graph& graph, const ExportOptions& opt) {
  QP_RETURN_IF_ERROR(ValidateGraph(graph));
  for (const Node& n : graph.nodes) QP_RETURN_IF_ERROR(CheckNodeSupported(n, graph.opset));
  // The checker requires a shape on every graph output: fill undeclared ones by shape inference.
  Graph g = graph;
  QP_RETURN_IF_ERROR(InferShapes(&g));
  for (const ValueInfo& v : g.outputs)
    if (!v.has_shape)
      return InvalidArgument("graph output '", v.name, "' has no inferable shape; ONNX requires one");
  pb::ModelProto model;
  model.set_ir_version(opt.ir_version);
  model.set_producer_name(opt.producer_name);
  model.set_producer_version(opt.producer_version);
  pb::OperatorSetIdProto* os = model.add_opset_import();
  os->set_domain("");
  os->set_version(g.opset);
  pb::GraphProto* gp = model.mutable_graph();
  gp->set_name(g.name);
  for (const ValueInfo& v : g.inputs) ToValueInfo(v, gp->add_input());
  for (const ValueInfo& v : g.outputs) ToValueInfo(v, gp->add_output());
  for (const auto& [name, t] : g.initializers) ToTensorProto(t, name, gp->add_initializer());
  QP_RETURN_IF_ERROR(LowerForOpset(&g));
  for (const Node& n : g.nodes) {
    pb::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!IsDefaultDomain(n.domain)) np->set_domain(n.domain);
    for (const std::string& s : n.inputs) np->add_input(s);
    for (const std::string& s : n.outputs) np->add_output(s);
    for (const auto& [key, a] : n.attrs) QP_RETURN_IF_ERROR(ToAttribute(key, a, np->add_attribute()));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Internal("ModelProto serialization failed");
  return bytes;
}

Status ExportModelFile(const Graph& graph, const std::string& path, const ExportOptions& opt) {
  QP_ASSIGN_OR_RETURN(std::string bytes, ExportModel(graph, opt));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return NotFound("cannot write '", path, "'");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return DataLoss("writing '", path, "' failed");
  return Status::Ok();
}

Result<std::string> SerializeTensor(const Tensor& t, const std::string& name) {
  pb::TensorProto tp;
  ToTensorProto(t, name, &tp);
  std::string bytes;
  if (!tp.SerializeToString(&bytes)) return Internal("TensorProto serialization failed");
  return bytes;
}

}  // namespace qp::onnx
