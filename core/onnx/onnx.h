// ONNX import and export for qplay graphs. Model bytes are untrusted: parsing runs through a
// protobuf CodedInputStream with explicit total-size and recursion caps, every tensor size is
// checked before allocation, and external data is refused (we never open files a model names).
// Import covers the default domain, opsets 11-17 (core/graph/attrs.h lists the ops).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"

namespace qp::onnx {

struct ImportOptions {
  // Largest accepted file / buffer; also the protobuf total-bytes limit. Must be < 2 GiB.
  size_t max_bytes = size_t{256} << 20;
  // Protobuf message nesting limit (subgraph attributes nest GraphProtos).
  int recursion_limit = 64;
  GraphLimits limits;
};

// Parses ModelProto bytes into a validated Graph (ValidateGraph + every op supported at the
// model's opset). Errors name the node/tensor and the rule, e.g.
// "unsupported op Foo (domain ai.onnx, opset 13) at node 'n1'".
Result<Graph> ImportModel(const void* data, size_t size, const ImportOptions& options = {});

// Reads a file given by the user (size checked against the cap before reading) and imports it.
Result<Graph> ImportModelFile(const std::string& path, const ImportOptions& options = {});

// A serialized TensorProto (the ONNX test-data .pb format) as a Tensor.
Result<Tensor> ParseTensor(const void* data, size_t size, const ImportOptions& options = {});
Result<Tensor> ParseTensorFile(const std::string& path, const ImportOptions& options = {});

// Whole file into memory, refusing files larger than max_bytes (checked before allocating).
Result<std::string> ReadFileCapped(const std::string& path, size_t max_bytes);

struct ExportOptions {
  int64_t ir_version = 8;  // onnx 1.12 writes 8; onnxruntime accepts 7 and 8
  std::string producer_name = "qplay";
  std::string producer_version = "0.1";
};

// ModelProto bytes for a float (or QDQ) graph; the opset written is graph.opset (our graphs: 13).
// Symbolic dims are written as dim_param (their name, or "N").
Result<std::string> ExportModel(const Graph& graph, const ExportOptions& options = {});
Status ExportModelFile(const Graph& graph, const std::string& path, const ExportOptions& options = {});

// TensorProto bytes (raw_data little-endian), e.g. to write test inputs next to a model.
Result<std::string> SerializeTensor(const Tensor& t, const std::string& name);

}  // namespace qp::onnx
