// ONNX ModelProto / TensorProto -> qplay Graph / Tensor (see onnx.h). Every size is checked before
// allocating; unsupported types, external data, sparse tensors and subgraph attributes are refused
// with a Status naming the tensor, attribute or node.
#include <climits>
#include <cstdio>
#include <cstring>
#include <set>

#include <google/protobuf/io/coded_stream.h>

#include "core/graph/attrs.h"
#include "core/onnx/onnx.h"
#include "onnx.pb.h"

namespace qp::onnx {

namespace {

namespace pb = ::onnx;

// Parses `msg` from untrusted bytes with explicit caps; a failed parse leaves nothing behind.
template <typename M>
Status ParseCapped(const void* data, size_t size, const ImportOptions& opt, const char* what, M* msg) {
  if (opt.max_bytes >= static_cast<size_t>(INT_MAX))
    return InvalidArgument("max_bytes ", opt.max_bytes, " must be below 2 GiB");
  if (size > opt.max_bytes)
    return ResourceExhausted(what, " is ", size, " bytes, larger than the cap of ", opt.max_bytes, " bytes");
  if (size == 0) return DataLoss(what, " is empty (0 bytes)");
  google::protobuf::io::CodedInputStream cis(static_cast<const uint8_t*>(data), static_cast<int>(size));
  cis.SetTotalBytesLimit(static_cast<int>(opt.max_bytes));
  cis.SetRecursionLimit(opt.recursion_limit);
  if (!msg->ParseFromCodedStream(&cis) || !cis.ConsumedEntireMessage()) {
    msg->Clear();
    return DataLoss(what, " is not a valid protobuf message (truncated, corrupt, or nested deeper than ",
                    opt.recursion_limit, " levels)");
  }
  return Status::Ok();
}

// Names in messages are clipped so a hostile 1 MB name does not become a 1 MB error.
std::string Clip(const std::string& s) { return s.size() > 128 ? s.substr(0, 128) + "..." : s; }

Result<DType> ToDType(int32_t t, const std::string& what) {
  switch (t) {
    case pb::TensorProto::FLOAT: return DType::kFloat32;
    case pb::TensorProto::INT8: return DType::kInt8;
    case pb::TensorProto::UINT8: return DType::kUInt8;
    case pb::TensorProto::INT32: return DType::kInt32;
    case pb::TensorProto::INT64: return DType::kInt64;
    case pb::TensorProto::BOOL: return DType::kBool;
    case pb::TensorProto::UNDEFINED:
      return InvalidArgument(what, ": element type is UNDEFINED (0); a tensor type is required");
    default:
      break;
  }
  const std::string name = pb::TensorProto_DataType_IsValid(t)
                               ? pb::TensorProto_DataType_Name(static_cast<pb::TensorProto_DataType>(t))
                               : "unknown (" + std::to_string(t) + ")";
  return Unimplemented(what, ": element type ", name,
                       " is not supported (float32, int8, uint8, int32, int64, bool)");
}

template <typename Src, typename Dst>
void CopyTyped(const Src& field, Dst* out) {
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
}

Result<Tensor> FromTensorProto(const pb::TensorProto& tp, const ImportOptions& opt) {
  const std::string what = "tensor '" + Clip(tp.name()) + "'";
  if (tp.data_location() == pb::TensorProto::EXTERNAL || tp.external_data_size() > 0)
    return Unimplemented(what, ": external data is not supported (qplay never opens files named "
                         "inside a model); save the model with its tensors embedded");
  if (tp.has_segment()) return Unimplemented(what, ": segmented tensors are not supported");
  QP_ASSIGN_OR_RETURN(DType dt, ToDType(tp.data_type(), what));
  Shape shape(tp.dims().begin(), tp.dims().end());
  if (static_cast<int64_t>(shape.size()) > opt.limits.max_rank)
    return InvalidArgument(what, ": rank ", shape.size(), " exceeds the cap of ", opt.limits.max_rank);
  Result<int64_t> n = CheckedNumElements(shape, opt.limits.max_tensor_elements);
  if (!n.ok()) return n.status().WithContext(what);
  const int64_t count = *n;
  const size_t es = DTypeSize(dt);
  int64_t typed = 0;
  switch (dt) {
    case DType::kFloat32: typed = tp.float_data_size(); break;
    case DType::kInt64: typed = tp.int64_data_size(); break;
    default: typed = tp.int32_data_size(); break;
  }
  // The data is already in memory (it came with the file), so these checks bound the allocation.
  if (tp.has_raw_data()) {
    if (typed != 0) return InvalidArgument(what, ": has both raw_data and typed data");
    if (tp.raw_data().size() != static_cast<size_t>(count) * es)
      return InvalidArgument(what, ": raw_data has ", tp.raw_data().size(), " bytes but shape ",
                             ShapeToString(shape), " of ", DTypeName(dt), " needs ",
                             static_cast<size_t>(count) * es);
  } else if (typed != count) {
    return InvalidArgument(what, ": has ", typed, " values but shape ", ShapeToString(shape), " needs ", count);
  }
  Tensor t(dt, shape);
  if (tp.has_raw_data()) {
    // ONNX raw_data is little-endian, as are x86, ARM and wasm.
    if (count) std::memcpy(t.raw(), tp.raw_data().data(), tp.raw_data().size());
    if (dt == DType::kBool)
      for (int64_t i = 0; i < count; ++i) static_cast<uint8_t*>(t.raw())[i] = static_cast<uint8_t*>(t.raw())[i] != 0;
    return t;
  }
  switch (dt) {
    case DType::kFloat32: CopyTyped(tp.float_data(), t.data<float>()); break;
    case DType::kInt64: CopyTyped(tp.int64_data(), t.data<int64_t>()); break;
    case DType::kInt32: CopyTyped(tp.int32_data(), t.data<int32_t>()); break;
    case DType::kInt8:
    case DType::kUInt8: {
      // int8/uint8 values are stored widened in int32_data; one outside the element type (a uint8
      // zero point of 300) is a broken file, never wrapped silently.
      const int32_t lo = dt == DType::kInt8 ? -128 : 0, hi = dt == DType::kInt8 ? 127 : 255;
      for (int i = 0; i < tp.int32_data_size(); ++i)
        if (tp.int32_data(i) < lo || tp.int32_data(i) > hi)
          return InvalidArgument(what, ": value ", tp.int32_data(i), " at index ", i, " does not fit its type ",
                                 DTypeName(dt), " [", lo, ", ", hi, "]");
      if (dt == DType::kInt8) CopyTyped(tp.int32_data(), t.data<int8_t>());
      else CopyTyped(tp.int32_data(), t.data<uint8_t>());
      break;
    }
    case DType::kBool:
      for (int i = 0; i < tp.int32_data_size(); ++i) t.data<bool>()[i] = tp.int32_data(i) != 0;
      break;
  }
  return t;
}

Result<ValueInfo> FromValueInfo(const pb::ValueInfoProto& vi, const char* role, const ImportOptions& opt) {
  const std::string what = std::string(role) + " '" + Clip(vi.name()) + "'";
  if (!vi.has_type() || !vi.type().has_tensor_type())
    return Unimplemented(what, ": only tensor types are supported (sequences, maps and optionals are not)");
  const pb::TypeProto_Tensor& tt = vi.type().tensor_type();
  ValueInfo v;
  v.name = vi.name();
  QP_ASSIGN_OR_RETURN(v.dtype, ToDType(tt.elem_type(), what));
  v.has_shape = tt.has_shape();
  if (v.has_shape) {
    if (tt.shape().dim_size() > opt.limits.max_rank)
      return InvalidArgument(what, ": rank ", tt.shape().dim_size(), " exceeds the cap of ", opt.limits.max_rank);
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value()) {
        if (d.dim_value() < 0)
          return InvalidArgument(what, ": dim ", i, " is ", d.dim_value(), "; dims must be >= 0");
        v.shape.push_back(d.dim_value());
        v.dim_names.push_back("");
      } else {
        v.shape.push_back(kDynamicDim);
        v.dim_names.push_back(d.has_dim_param() ? Clip(d.dim_param()) : "");
      }
    }
  }
  return v;
}

Result<Attribute> FromAttribute(const pb::AttributeProto& a, const std::string& node, const ImportOptions& opt) {
  const std::string what = node + ": attribute '" + Clip(a.name()) + "'";
  Attribute out;
  // Old files may omit `type`; infer it from the field that is set.
  pb::AttributeProto::AttributeType type = a.type();
  if (type == pb::AttributeProto::UNDEFINED) {
    if (a.has_f()) type = pb::AttributeProto::FLOAT;
    else if (a.has_i()) type = pb::AttributeProto::INT;
    else if (a.has_s()) type = pb::AttributeProto::STRING;
    else if (a.has_t()) type = pb::AttributeProto::TENSOR;
    else if (a.floats_size()) type = pb::AttributeProto::FLOATS;
    else if (a.ints_size()) type = pb::AttributeProto::INTS;
    else if (a.strings_size()) type = pb::AttributeProto::STRINGS;
    else if (a.has_g() || a.graphs_size()) type = pb::AttributeProto::GRAPH;
  }
  switch (type) {
    case pb::AttributeProto::INT: return Attribute::Int(a.i());
    case pb::AttributeProto::FLOAT: return Attribute::Float(a.f());
    case pb::AttributeProto::STRING: return Attribute::String(a.s());
    case pb::AttributeProto::INTS: return Attribute::Ints({a.ints().begin(), a.ints().end()});
    case pb::AttributeProto::FLOATS: return Attribute::Floats({a.floats().begin(), a.floats().end()});
    case pb::AttributeProto::STRINGS: {
      out.kind = Attribute::Kind::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      return out;
    }
    case pb::AttributeProto::TENSOR: {
      Result<Tensor> t = FromTensorProto(a.t(), opt);
      if (!t.ok()) return t.status().WithContext(what);
      return Attribute::FromTensor(std::move(t).value());
    }
    case pb::AttributeProto::GRAPH:
    case pb::AttributeProto::GRAPHS:
      return Unimplemented(what, " holds a subgraph; control flow (If/Loop/Scan) is not supported");
    case pb::AttributeProto::UNDEFINED:
      return InvalidArgument(what, " has no type and no value");
    default:
      return Unimplemented(what, " has type ", pb::AttributeProto_AttributeType_Name(type),
                           ", which is not supported");
  }
}

}  // namespace

Result<Graph> ImportModel(const void* data, size_t size, const ImportOptions& opt) {
  pb::ModelProto model;
  QP_RETURN_IF_ERROR(ParseCapped(data, size, opt, "model", &model));
  if (!model.has_ir_version() || model.ir_version() < 3 || model.ir_version() > 10)
    return Unimplemented("model ir_version ", model.ir_version(), " is not supported (3 to 10)");
  Graph g;
  g.ir_version = model.ir_version();
  g.producer = Clip(model.producer_name());
  int64_t opset = -1;
  for (const auto& os : model.opset_import()) {
    if (IsDefaultDomain(os.domain())) opset = os.version();
  }
  if (opset < 0) return InvalidArgument("model imports no opset of the default domain (ai.onnx)");
  if (opset < kMinOpset || opset > kMaxOpset)
    return Unimplemented("model opset ", opset, " of the default domain is not supported (", kMinOpset,
                         " to ", kMaxOpset, ")");
  g.opset = opset;
  if (!model.has_graph()) return InvalidArgument("model has no graph");
  const pb::GraphProto& gp = model.graph();
  g.name = gp.name().empty() ? "graph" : Clip(gp.name());
  if (gp.sparse_initializer_size() > 0)
    return Unimplemented("sparse initializer '", Clip(gp.sparse_initializer(0).values().name()), "' is not supported");
  if (gp.node_size() > opt.limits.max_nodes)
    return ResourceExhausted("graph has ", gp.node_size(), " nodes; the cap is ", opt.limits.max_nodes);
  int64_t init_bytes = 0;
  for (const pb::TensorProto& tp : gp.initializer()) {
    QP_ASSIGN_OR_RETURN(Tensor t, FromTensorProto(tp, opt));
    if (tp.name().empty()) return InvalidArgument("an initializer has no name");
    init_bytes += static_cast<int64_t>(t.nbytes());
    if (init_bytes > opt.limits.max_initializer_bytes)
      return ResourceExhausted("initializers exceed the cap of ", opt.limits.max_initializer_bytes,
                               " bytes at tensor '", Clip(tp.name()), "'");
    if (!g.initializers.emplace(tp.name(), std::move(t)).second)
      return InvalidArgument("initializer '", Clip(tp.name()), "' is defined twice");
  }
  std::set<std::string> seen_inputs;
  for (const pb::ValueInfoProto& vi : gp.input()) {
    if (g.initializers.count(vi.name())) continue;  // IR < 4 style: initializers listed as inputs
    QP_ASSIGN_OR_RETURN(ValueInfo v, FromValueInfo(vi, "graph input", opt));
    g.inputs.push_back(std::move(v));
  }
  for (const pb::ValueInfoProto& vi : gp.output()) {
    QP_ASSIGN_OR_RETURN(ValueInfo v, FromValueInfo(vi, "graph output", opt));
    g.outputs.push_back(std::move(v));
  }
  for (int i = 0; i < gp.node_size(); ++i) {
    const pb::NodeProto& np = gp.node(i);
    Node n;
    n.name = np.name().empty() ? np.op_type() + "_" + std::to_string(i) : np.name();
    n.op_type = np.op_type();
    n.domain = np.domain();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    // ONNX Runtime's contrib QLinearAdd / QLinearConcat are accepted for the int8 executor, which
    // rewrites them to QDQ (core/int8); the fp32 executor and the exporter reject them when they
    // check the graph's ops.
    const bool ort_qop = n.domain == "com.microsoft" && (n.op_type == "QLinearAdd" || n.op_type == "QLinearConcat");
    if (!ort_qop) QP_RETURN_IF_ERROR(CheckNodeSupported(n, g.opset));
    for (const pb::AttributeProto& a : np.attribute()) {
      QP_ASSIGN_OR_RETURN(Attribute attr, FromAttribute(a, n.Describe(), opt));
      if (!n.attrs.emplace(a.name(), std::move(attr)).second)
        return InvalidArgument(n.Describe(), ": attribute '", Clip(a.name()), "' is given twice");
    }
    g.nodes.push_back(std::move(n));
  }
  QP_RETURN_IF_ERROR(ValidateGraph(g, opt.limits));
  return g;
}

Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound("cannot open '", path, "'");
  std::string data;
  bool too_big = false;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long end = std::ftell(f);
    if (end >= 0 && static_cast<unsigned long>(end) > max_bytes) too_big = true;
    std::fseek(f, 0, SEEK_SET);
  }
  if (!too_big) {
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) {
      if (data.size() + got > max_bytes) {
        too_big = true;
        break;
      }
      data.append(buf, got);
    }
  }
  std::fclose(f);
  if (too_big) return ResourceExhausted("file '", path, "' is larger than the cap of ", max_bytes, " bytes");
  return data;
}

Result<Graph> ImportModelFile(const std::string& path, const ImportOptions& opt) {
  QP_ASSIGN_OR_RETURN(std::string bytes, ReadFileCapped(path, opt.max_bytes));
  Result<Graph> g = ImportModel(bytes.data(), bytes.size(), opt);
  if (!g.ok()) return g.status().WithContext("import '" + path + "'");
  return g;
}

Result<Tensor> ParseTensor(const void* data, size_t size, const ImportOptions& opt) {
  pb::TensorProto tp;
  QP_RETURN_IF_ERROR(ParseCapped(data, size, opt, "tensor", &tp));
  return FromTensorProto(tp, opt);
}

Result<Tensor> ParseTensorFile(const std::string& path, const ImportOptions& opt) {
  QP_ASSIGN_OR_RETURN(std::string bytes, ReadFileCapped(path, opt.max_bytes));
  Result<Tensor> t = ParseTensor(bytes.data(), bytes.size(), opt);
  if (!t.ok()) return t.status().WithContext("'" + path + "'");
  return t;
}

}  // namespace qp::onnx
