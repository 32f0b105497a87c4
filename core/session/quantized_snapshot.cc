// SaveQuantizedModel / RestoreQuantizedModel (declared in session_io.h): the quantized model as
// ONNX bytes of the prepared graph plus the QuantParamsToJson text, and back.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "core/base/json.h"
#include "core/onnx/onnx.h"
#include "core/quant/qparams.h"
#include "core/session/session_io.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/plan.h"

namespace qp {
namespace {

// Parameters of one site from its QuantParamsToJson entry, checked against the plan's site.
Result<quant::TensorQParams> SiteParamsFromJson(const workflows::QuantSite& site, const json::Value& v,
                                                const workflows::QuantPlan& plan) {
  auto where = [&] { return "quantized snapshot: site '" + site.tensor + "'"; };
  auto flag = [&](const char* key) -> Result<bool> {
    const json::Value* f = v.Find(key);
    if (!f || !f->is_bool()) return InvalidArgument(where(), ": '", key, "' must be true or false");
    return f->as_bool();
  };
  const json::Value* bits = v.Find("bits");
  if (!bits || !bits->is_int()) return InvalidArgument(where(), ": 'bits' must be an integer");
  QP_ASSIGN_OR_RETURN(bool is_signed, flag("signed"));
  QP_ASSIGN_OR_RETURN(bool symmetric, flag("symmetric"));
  QP_ASSIGN_OR_RETURN(bool narrow, flag("narrow_range"));
  const quant::QuantSpec& spec = site.spec;
  if (bits->as_int() != spec.bits || is_signed != spec.is_signed || narrow != spec.narrow_range ||
      symmetric != (spec.scheme == quant::Scheme::kSymmetric))
    return InvalidArgument(where(), " was saved as ", bits->as_int(), "-bit ", is_signed ? "signed" : "unsigned",
                           symmetric ? " symmetric" : " affine", narrow ? " narrow" : "",
                           "; the current config makes it ", quant::SpecToString(spec),
                           " (restore the config the snapshot was saved with)");
  QP_ASSIGN_OR_RETURN(quant::QRange range, quant::IntegerRange(spec));
  quant::TensorQParams p;
  const json::Value* qmin = v.Find("qmin");
  const json::Value* qmax = v.Find("qmax");
  if (!qmin || !qmax || !qmin->is_int() || !qmax->is_int() || qmin->as_int() != range.qmin ||
      qmax->as_int() != range.qmax)
    return InvalidArgument(where(), ": 'qmin'/'qmax' must be the spec's integer range [", range.qmin, ", ",
                           range.qmax, "]");
  p.qmin = range.qmin;
  p.qmax = range.qmax;
  if (const json::Value* axis = v.Find("axis")) {
    if (!axis->is_int() || axis->as_int() < -8 || axis->as_int() > 8)
      return InvalidArgument(where(), ": 'axis' must be an integer in [-8, 8]");
    p.axis = static_cast<int>(axis->as_int());
  }
  const json::Value* scales = v.Find("scales");
  const json::Value* zps = v.Find("zero_points");
  if (!scales || !zps || !scales->is_array() || !zps->is_array())
    return InvalidArgument(where(), ": 'scales' and 'zero_points' must be arrays");
  for (const json::Value& sc : scales->items()) {
    if (!sc.is_number()) return InvalidArgument(where(), ": a scale is not a number");
    p.scales.push_back(static_cast<float>(sc.as_double()));
  }
  for (const json::Value& z : zps->items()) {
    if (!z.is_int() || z.as_int() < p.qmin || z.as_int() > p.qmax)
      return InvalidArgument(where(), ": zero points must be integers in [", p.qmin, ", ", p.qmax, "]");
    p.zero_points.push_back(static_cast<int32_t>(z.as_int()));
  }
  quant::Dims dims;
  const quant::Dims* check = nullptr;
  if (site.role == quant::QuantRole::kWeight) {
    auto w = plan.graph.initializers.find(site.tensor);
    if (w != plan.graph.initializers.end()) {
      dims.assign(w->second.shape().begin(), w->second.shape().end());
      check = &dims;
    }
    if (p.axis != site.axis)
      return InvalidArgument(where(), ": saved ", p.axis ? "per channel" : "per tensor",
                             "; the current config makes it ", site.axis ? "per channel" : "per tensor");
  } else if (p.axis || p.scales.size() != 1) {
    return InvalidArgument(where(), ": an activation has one scale (per tensor)");
  }
  QP_RETURN_IF_ERROR(quant::ValidateTensorQParams(p, check).WithContext(where()));
  return p;
}

}  // namespace

Result<QuantizedSnapshot> SaveQuantizedModel(const Session& session) {
  const workflows::QuantizedModel* m = session.quantized_model();
  if (!m) return FailedPrecondition("quantized snapshot: quantize the model first");
  QuantizedSnapshot out;
  QP_ASSIGN_OR_RETURN(out.graph, onnx::ExportModel(m->plan.graph));
  out.params = workflows::QuantParamsToJson(*m);
  return out;
}

Status RestoreQuantizedModel(Session& session, const std::string& graph, const std::string& params) {
  const workflows::QuantPlan* current = session.quant_plan();
  if (!current)
    return FailedPrecondition("quantized snapshot: set the quant config it was saved with first");
  workflows::QuantizedModel m;
  m.plan = *current;
  Graph& g = m.plan.graph;

  // Weights: the snapshot's graph must be the plan's graph (same nodes), with weights of the
  // same shapes; its values replace the plan's.
  QP_ASSIGN_OR_RETURN(Graph saved, onnx::ImportModel(graph.data(), graph.size()));
  if (saved.nodes.size() != g.nodes.size())
    return InvalidArgument("quantized snapshot: its graph has ", saved.nodes.size(), " nodes; the model's "
                           "prepared graph has ", g.nodes.size(), " (saved for another model or config)");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (saved.nodes[i].op_type != g.nodes[i].op_type || saved.nodes[i].outputs != g.nodes[i].outputs)
      return InvalidArgument("quantized snapshot: node ", i, " is ", saved.nodes[i].Describe(), "; the model's is ",
                             g.nodes[i].Describe(), " (saved for another model or config)");
  }
  for (auto& [name, w] : g.initializers) {
    if (w.dtype() != DType::kFloat32) continue;
    auto it = saved.initializers.find(name);
    if (it == saved.initializers.end())
      return InvalidArgument("quantized snapshot: weight '", name, "' is missing");
    if (it->second.dtype() != DType::kFloat32 || it->second.shape() != w.shape())
      return InvalidArgument("quantized snapshot: weight '", name, "' has shape ",
                             ShapeToString(it->second.shape()), "; the model's is ", ShapeToString(w.shape()));
    w = std::move(it->second);
  }

  // Parameters: one entry per plan site.
  QP_ASSIGN_OR_RETURN(json::Value root, json::Parse(params));
  const json::Value* sites = root.is_object() ? root.Find("sites") : nullptr;
  if (!sites || !sites->is_array())
    return InvalidArgument("quantized snapshot: params must be an object with a 'sites' array");
  std::map<std::string, const json::Value*> by_tensor;
  for (const json::Value& v : sites->items()) {
    const json::Value* t = v.is_object() ? v.Find("tensor") : nullptr;
    if (!t || !t->is_string()) return InvalidArgument("quantized snapshot: a site has no 'tensor' name");
    by_tensor[t->as_string()] = &v;
  }
  for (const workflows::QuantSite& site : m.plan.sites) {
    auto it = by_tensor.find(site.tensor);
    if (it == by_tensor.end())
      return InvalidArgument("quantized snapshot: no parameters for site '", site.tensor, "' of the current plan");
    QP_ASSIGN_OR_RETURN(quant::TensorQParams p, SiteParamsFromJson(site, *it->second, m.plan));
    if (site.role == quant::QuantRole::kActivation) {
      const json::Value* amax = it->second->Find("amax");
      const quant::QParams c = p.Channel(0);
      m.amax[site.tensor] = amax && amax->is_number() && std::isfinite(amax->as_double())
                                ? static_cast<float>(amax->as_double())
                                : std::max(std::fabs(c.RealMin()), std::fabs(c.RealMax()));
    }
    m.params[site.tensor] = std::move(p);
  }
  return session.SetQuantizedModel(std::move(m));
}

}  // namespace qp
