// Byte- and JSON-level helpers over Session for front ends that exchange bytes and JSON rather
// than C++ types (the Embind JS API in wasm/, the playground's autosave): parse a data role, build
// a dataset from uploaded tensor files, run and concatenate every output, snapshot the session as
// JSON. Each is a thin composition of Session / core/data calls; errors are Status values.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/session/session.h"

namespace qp {

// "train" | "calibration" | "test" (the names DataRoleName gives).
Result<DataRole> ParseDataRole(const std::string& name);

// A labelled dataset from two uploaded tensor files (each .npy or IDX, told apart by magic bytes;
// see core/data's ParseTensorBytes and MakeDataset), installed in the session under `role`.
// On error the session keeps its previous dataset for that role.
Status SetDataFromBytes(Session& session, DataRole role, const std::string& images,
                        const std::string& labels, int64_t num_classes, const std::string& name);

// Built-in models shipped with a front end: the *.onnx files of `dir` (names without the
// extension, sorted; empty when the folder does not exist), and loading one by that name.
std::vector<std::string> ListBuiltinModels(const std::string& dir);
Status LoadBuiltinModel(Session& session, const std::string& dir, const std::string& name);

// The Fashion-MNIST web subset (core/data's WriteWebSubset layout) in `dir`, installed under
// `role`: its "test" split for the test role, its "calib" split (drawn from the training set)
// for the calibration and train roles.
Status LoadBuiltinData(Session& session, DataRole role, const std::string& dir);

// PTQ calibration in one call: StartCalibration, CalibrateStep until every batch is seen, Quantize.
// (Front ends that draw frames between steps call the Session's stepwise methods instead.)
Status CalibrateAndQuantize(Session& session, const workflows::CalibrationOptions& options);

// Session::RunQuantized (fake-quant simulation, int8 kernels, or the prepared float graph) on a
// flat first input, every output flattened and concatenated.
Result<std::vector<float>> RunQuantizedConcatenated(const Session& session, workflows::ExecMode mode,
                                                    const float* values, size_t count,
                                                    const RunOptions& run = {});
Result<workflows::ExecMode> ParseExecMode(const std::string& name);

// Session::RunFloat with every output flattened and concatenated in graph output order.
Result<std::vector<float>> RunConcatenated(const Session& session, const float* values,
                                           size_t count, const RunOptions& run = {});

// A JSON snapshot of the session (schema in wasm/qplay.d.ts, `SessionState`):
// {"model": null | {name, opset, inputs, outputs, layers, params, macs},
//  "data": {"train"|"calibration"|"test": null | {samples, numClasses, sampleShape}},
//  "training": {active, history: [{step, epoch, loss, accuracy, lr}]},
//  "quant": {config: null | <QuantConfigToJson>, calibrating, progress, quantized, generation,
//            params: null | <QuantParamsJson>,
//            qat: {active, history: [{step, epoch, loss, accuracy, lr, clipFraction}]}}}.
// Non-finite numbers are written as null.
std::string SessionStateJson(const Session& session);

// The session's quantized model in two portable parts, so autosave and session files can bring
// it back (QAT-trained weights and learned ranges included) over the same model and config:
// `graph` is the plan's prepared graph with its current weights as ONNX bytes, `params` the
// QuantParamsToJson text (every site's scales, zero points, integer range and amax). Calibration
// statistics are not kept (a restored model has none, as after QAT).
struct QuantizedSnapshot {
  std::string graph;
  std::string params;
};
Result<QuantizedSnapshot> SaveQuantizedModel(const Session& session);
// Rebuilds the quantized model from a snapshot over the session's current model and quant config
// (the plan they give must have the snapshot's nodes, weights of the same shapes, and a parameter
// entry for every site with the site's bits, signedness, scheme and range); the snapshot's weights
// replace the plan's. Errors name the mismatching node, weight or site; the session is unchanged
// on error.
Status RestoreQuantizedModel(Session& session, const std::string& graph, const std::string& params);

}  // namespace qp
