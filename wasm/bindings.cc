// Embind surface of the JS API (logic-free: each function is one Session / session_io call plus
// marshalling). wasm/api.js turns these into the documented object (wasm/qplay.d.ts): commands
// return {ok, message}; calls that produce a value return {ok, message, value} and api.js throws
// an Error carrying the Status text when ok is false. Nothing here throws or aborts, so the
// module stays usable after any bad call.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/session/demo_models.h"
#include "core/session/session.h"
#include "core/session/session_io.h"
#include "core/workflows/qdq_export.h"
#include "wasm/api_session.h"

namespace qp::jsapi {
namespace {

using emscripten::val;

// Where the bundles put their built-in files (web/CMakeLists.txt, wasm/CMakeLists.txt embed them).
constexpr const char* kModelsDir = "/models";
constexpr const char* kDataDir = "/data/fashion-mnist";

Status NoSession() {
  return FailedPrecondition("qplay: the session does not exist yet (wait for qplay.ready)");
}

val Outcome(const Status& s) {
  val o = val::object();
  o.set("ok", s.ok());
  o.set("message", s.ok() ? std::string() : s.ToString());
  return o;
}

val WithValue(val value) {
  val o = Outcome(Status::Ok());
  o.set("value", value);
  return o;
}

// Copies (a view into wasm memory would dangle after the next memory growth).
val CopyFloats(const std::vector<float>& v) {
  return val(emscripten::typed_memory_view(v.size(), v.data())).call<val>("slice");
}

val CopyBytes(const std::string& s) {
  return val(emscripten::typed_memory_view(s.size(), reinterpret_cast<const uint8_t*>(s.data())))
      .call<val>("slice");
}

// Embind copies a Uint8Array argument into a std::string.
val LoadModel(const std::string& bytes, const std::string& name) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  return Outcome(s->LoadModel(bytes.data(), bytes.size(), name));
}

val LoadDemo(const std::string& name, double seed) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  if (!(seed >= 0 && seed <= 9007199254740991.0))
    return Outcome(InvalidArgument("loadDemo: seed ", seed, " is not an integer in [0, 2^53)"));
  Result<DemoModel> m = ParseDemoModel(name);
  if (!m.ok()) return Outcome(m.status());
  return Outcome(s->LoadDemoModel(m.value(), static_cast<uint64_t>(seed)));
}

val SetData(const std::string& role, const std::string& images, const std::string& labels,
            int num_classes) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<DataRole> r = ParseDataRole(role);
  if (!r.ok()) return Outcome(r.status());
  return Outcome(SetDataFromBytes(*s, r.value(), images, labels, num_classes, role));
}

// `input` holds the float32 values' bytes (api.js passes a byte view of the Float32Array).
val Run(const std::string& input, bool int8) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  std::vector<float> values(input.size() / sizeof(float));
  std::memcpy(values.data(), input.data(), values.size() * sizeof(float));
  RunOptions opt;
  opt.int8 = int8;
  Result<std::vector<float>> out = RunConcatenated(*s, values.data(), values.size(), opt);
  if (!out.ok()) return Outcome(out.status());
  return WithValue(CopyFloats(out.value()));
}

val Evaluate(const std::string& role, double max_samples, bool int8) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<DataRole> r = ParseDataRole(role);
  if (!r.ok()) return Outcome(r.status());
  if (!(max_samples >= -1 && max_samples <= 1e15))
    return Outcome(InvalidArgument("evaluate: maxSamples ", max_samples, " must be -1 (all) or >= 0"));
  RunOptions opt;
  opt.int8 = int8;
  Result<EvalSummary> e = s->Evaluate(r.value(), static_cast<int64_t>(max_samples), 256, opt);
  if (!e.ok()) return Outcome(e.status());
  val v = val::object();
  v.set("samples", static_cast<double>(e.value().samples));
  v.set("correct", static_cast<double>(e.value().correct));
  v.set("accuracy", e.value().accuracy);
  v.set("loss", e.value().loss);
  return WithValue(v);
}

val BuiltinModels() {
  val out = val::array();
  for (const std::string& n : ListBuiltinModels(kModelsDir)) out.call<void>("push", n);
  return out;
}

val LoadBuiltinModelByName(const std::string& name) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  return Outcome(LoadBuiltinModel(*s, kModelsDir, name));
}

val LoadBuiltinDataForRole(const std::string& role) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<DataRole> r = ParseDataRole(role);
  if (!r.ok()) return Outcome(r.status());
  return Outcome(LoadBuiltinData(*s, r.value(), kDataDir));
}

// ---- PTQ (Session's quantization calls) ----
val SetConfig(const std::string& json) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  return Outcome(s->SetQuantConfig(json));
}

val Calibrate(double batch_size, double max_batches) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  if (!(batch_size >= 1 && batch_size <= 1e6) || !(max_batches >= 0 && max_batches <= 1e12))
    return Outcome(InvalidArgument("calibrate: batchSize ", batch_size, " must be in 1..1e6 and maxBatches ",
                                   max_batches, " >= 0 (0: all)"));
  workflows::CalibrationOptions opt;
  opt.batch_size = static_cast<int64_t>(batch_size);
  opt.max_batches = static_cast<int64_t>(max_batches);
  return Outcome(CalibrateAndQuantize(*s, opt));
}

val RunQuantized(const std::string& input, const std::string& mode) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<workflows::ExecMode> m = ParseExecMode(mode);
  if (!m.ok()) return Outcome(m.status());
  std::vector<float> values(input.size() / sizeof(float));
  std::memcpy(values.data(), input.data(), values.size() * sizeof(float));
  Result<std::vector<float>> out = RunQuantizedConcatenated(*s, m.value(), values.data(), values.size());
  if (!out.ok()) return Outcome(out.status());
  return WithValue(CopyFloats(out.value()));
}

val EvaluateQuantized(const std::string& mode, const std::string& role, double max_samples) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<workflows::ExecMode> m = ParseExecMode(mode);
  if (!m.ok()) return Outcome(m.status());
  Result<DataRole> r = ParseDataRole(role);
  if (!r.ok()) return Outcome(r.status());
  if (!(max_samples >= -1 && max_samples <= 1e15))
    return Outcome(InvalidArgument("evaluate: maxSamples ", max_samples, " must be -1 (all) or >= 0"));
  Result<EvalSummary> e = s->EvaluateQuantized(m.value(), r.value(), static_cast<int64_t>(max_samples));
  if (!e.ok()) return Outcome(e.status());
  val v = val::object();
  v.set("samples", static_cast<double>(e.value().samples));
  v.set("correct", static_cast<double>(e.value().correct));
  v.set("accuracy", e.value().accuracy);
  v.set("loss", e.value().loss);
  return WithValue(v);
}

val ExportQdq(const std::string& layout) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<workflows::QdqLayout> l = workflows::ParseQdqLayout(layout);
  if (!l.ok()) return Outcome(l.status());
  Result<std::string> bytes = s->ExportQdq(l.value());
  if (!bytes.ok()) return Outcome(bytes.status());
  return WithValue(CopyBytes(bytes.value()));
}

// ---- QAT (Session's QAT calls, one minibatch per qatStep) ----
val StartQat(const std::string& method, double lr, double batch_size, double total_steps) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<workflows::QatMethod> m = workflows::ParseQatMethod(method);
  if (!m.ok()) return Outcome(m.status());
  if (!(lr > 0 && lr < 1e3) || !(batch_size >= 1 && batch_size <= 1e6) || !(total_steps >= 0 && total_steps <= 1e12))
    return Outcome(InvalidArgument("startQat: lr ", lr, " must be in (0, 1000), batchSize ", batch_size,
                                   " in 1..1e6, totalSteps ", total_steps, " >= 0"));
  workflows::QatOptions opt;
  opt.method = m.value();
  opt.lr = static_cast<float>(lr);
  opt.batch_size = static_cast<int64_t>(batch_size);
  opt.total_steps = static_cast<int64_t>(total_steps);
  return Outcome(s->StartQat(opt));
}

val QatStep() {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<workflows::QatStepRecord> r = s->QatStep();
  if (!r.ok()) return Outcome(r.status());
  val v = val::object();
  v.set("step", static_cast<double>(r.value().step));
  v.set("epoch", static_cast<double>(r.value().epoch));
  v.set("loss", r.value().loss);
  v.set("accuracy", r.value().accuracy);
  v.set("lr", r.value().lr);
  v.set("clipFraction", r.value().clip_fraction);
  return WithValue(v);
}

val FinishQat() {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  return Outcome(s->FinishQat());
}

val QuantizedSnapshot() {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<qp::QuantizedSnapshot> snap = SaveQuantizedModel(*s);
  if (!snap.ok()) return Outcome(snap.status());
  val v = val::object();
  v.set("graph", CopyBytes(snap.value().graph));
  v.set("params", snap.value().params);
  return WithValue(v);
}

val RestoreQuantized(const std::string& graph, const std::string& params) {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  return Outcome(RestoreQuantizedModel(*s, graph, params));
}

std::string State() {
  Session* s = ApiSession();
  return s != nullptr ? SessionStateJson(*s) : std::string("null");
}

val ExportOnnx() {
  Session* s = ApiSession();
  if (s == nullptr) return Outcome(NoSession());
  Result<std::string> bytes = s->ExportOnnx();
  if (!bytes.ok()) return Outcome(bytes.status());
  return WithValue(CopyBytes(bytes.value()));
}

}  // namespace
}  // namespace qp::jsapi

EMSCRIPTEN_BINDINGS(qplay_api) {
  using namespace qp::jsapi;
  emscripten::function("apiLoadModel", &LoadModel);
  emscripten::function("apiLoadDemo", &LoadDemo);
  emscripten::function("apiSetData", &SetData);
  emscripten::function("apiRun", &Run);
  emscripten::function("apiEvaluate", &Evaluate);
  emscripten::function("apiState", &State);
  emscripten::function("apiBuiltinModels", &BuiltinModels);
  emscripten::function("apiLoadBuiltinModel", &LoadBuiltinModelByName);
  emscripten::function("apiLoadBuiltinData", &LoadBuiltinDataForRole);
  emscripten::function("apiExportOnnx", &ExportOnnx);
  emscripten::function("apiSetConfig", &SetConfig);
  emscripten::function("apiCalibrate", &Calibrate);
  emscripten::function("apiRunQuantized", &RunQuantized);
  emscripten::function("apiEvaluateQuantized", &EvaluateQuantized);
  emscripten::function("apiExportQdq", &ExportQdq);
  emscripten::function("apiStartQat", &StartQat);
  emscripten::function("apiQatStep", &QatStep);
  emscripten::function("apiFinishQat", &FinishQat);
  emscripten::function("apiQuantizedSnapshot", &QuantizedSnapshot);
  emscripten::function("apiRestoreQuantized", &RestoreQuantized);
}
