// Session implementation (see session.h). Every public call either succeeds or leaves the
// session's state untouched: new state is built aside and swapped in only on success.
#include "core/session/session.h"

#include <algorithm>
#include <cmath>

#include "core/data/metrics.h"
#include "core/graph/executor.h"
#include "core/onnx/onnx.h"

namespace qp {

const char* DataRoleName(DataRole role) {
  switch (role) {
    case DataRole::kTrain: return "train";
    case DataRole::kCalibration: return "calibration";
    case DataRole::kTest: return "test";
  }
  return "unknown";
}

Session::Session(SessionOptions options) : options_(options) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

namespace {

// Every graph input and intermediate value for one sample: what training keeps (each value is
// recorded for the backward pass).
int64_t AllValueBytesPerSample(const Graph& g) {
  int64_t total = 0;
  for (const ValueInfo& v : g.inputs) total = SaturatingAdd(total, ValueBytesPerSample(v));
  for (const auto& [name, v] : g.value_info) total = SaturatingAdd(total, ValueBytesPerSample(v));
  return total;
}

}  // namespace

int64_t Session::activation_bytes_per_sample(bool training) const {
  return training ? training_bytes_per_sample_ : run_bytes_per_sample_;
}

Status Session::CheckBatchFits(const char* what, int64_t batch, bool training) const {
  const int64_t per = activation_bytes_per_sample(training);
  if (batch < 1 || per <= 0) return Status::Ok();
  if (batch <= work_budget_bytes_ / per) return Status::Ok();
  const double mib = 1024.0 * 1024.0;
  return ResourceExhausted(what, ": a batch of ", batch, " needs about ",
                           static_cast<int64_t>(static_cast<double>(per) * static_cast<double>(batch) / mib),
                           " MiB for the model's values (", per / 1024, " KiB per sample",
                           training ? ", every value and its gradient kept for the backward pass" : "",
                           "), more than the budget of ", work_budget_bytes_ / (1024 * 1024),
                           " MiB; the largest batch that fits is ", work_budget_bytes_ / per);
}

int64_t Session::FittingBatch(int64_t wanted) const {
  if (run_bytes_per_sample_ <= 0) return std::max<int64_t>(1, wanted);
  return std::max<int64_t>(1, std::min(wanted, work_budget_bytes_ / run_bytes_per_sample_));
}

Status Session::Install(Graph graph, const std::string& name) {
  auto unfolded = std::make_shared<const Graph>(graph);
  QP_ASSIGN_OR_RETURN(Executor exec, Executor::Create(std::move(graph)));
  if (exec.graph().inputs.empty())
    return InvalidArgument("model '", name, "' has no run-time input; a model needs at least one");
  executor_ = std::make_unique<Executor>(std::move(exec));
  unfolded_ = std::move(unfolded);
  run_bytes_per_sample_ = executor_->peak_bytes_per_sample();
  const int64_t all = AllValueBytesPerSample(executor_->graph());
  training_bytes_per_sample_ = SaturatingAdd(all, SaturatingAdd(all, all));
  int8_plans_.clear();
  model_name_ = name;
  ++model_generation_;
  trainer_.reset();
  quant_.reset();
  ++quantized_generation_;
  return Status::Ok();
}

Status Session::LoadModel(const void* bytes, size_t size, const std::string& name) {
  if (size > options_.max_model_bytes)
    return ResourceExhausted("model '", name, "': ", size, " bytes exceed the cap of ",
                             options_.max_model_bytes, " bytes");
  onnx::ImportOptions io;
  io.max_bytes = options_.max_model_bytes;
  Result<Graph> g = onnx::ImportModel(bytes, size, io);
  if (!g.ok()) return g.status().WithContext("model '" + name + "'");
  return Install(std::move(g).value(), name).WithContext("model '" + name + "'");
}

Status Session::LoadModelFile(const std::string& path) {
  QP_ASSIGN_OR_RETURN(std::string bytes, onnx::ReadFileCapped(path, options_.max_model_bytes));
  std::string name = path.substr(path.find_last_of('/') + 1);
  return LoadModel(bytes.data(), bytes.size(), name);
}

Status Session::LoadDemoModel(DemoModel model, uint64_t seed) {
  QP_ASSIGN_OR_RETURN(Graph g, BuildDemoModel(model, seed));
  return Install(std::move(g), DemoModelName(model));
}

Status Session::SetGraph(Graph graph, const std::string& name) { return Install(std::move(graph), name); }

const Graph& Session::graph() const { return executor_->graph(); }

Result<ModelInfo> Session::Info(int64_t batch) const {
  if (!has_model()) return FailedPrecondition("model info: no model is loaded");
  return DescribeGraph(graph(), batch);
}

Result<std::string> Session::ExportOnnx() const {
  if (!has_model()) return FailedPrecondition("export: no model is loaded");
  Graph g = graph();
  g.opset = std::max<int64_t>(g.opset, 13);
  return onnx::ExportModel(g);
}

Status Session::SetData(DataRole role, data::Dataset dataset) {
  if (dataset.size() <= 0)
    return InvalidArgument(DataRoleName(role), " data: the dataset is empty; it needs at least one sample");
  if (dataset.images.dtype() != DType::kFloat32 || dataset.images.rank() < 2 ||
      dataset.images.dim(0) != dataset.size())
    return InvalidArgument(DataRoleName(role), " data: images must be float32 [N, ...] with N = ",
                           dataset.size(), " labels, got ", DTypeName(dataset.images.dtype()), " ",
                           ShapeToString(dataset.images.shape()));
  // Training, QAT and calibration read their dataset by pointer: stop them before it goes away.
  if (role == DataRole::kTrain) DropTrainDataUsers();
  if (role == DataRole::kCalibration) DropCalibrationDataUsers();
  data_[static_cast<int>(role)] = std::make_unique<data::Dataset>(std::move(dataset));
  return Status::Ok();
}

const data::Dataset* Session::dataset(DataRole role) const { return data_[static_cast<int>(role)].get(); }

Result<Tensor> Session::AdaptImages(const Tensor& images, int64_t start, int64_t count) const {
  const ValueInfo& in = graph().inputs[0];
  const int64_t per = images.numel() / std::max<int64_t>(images.dim(0), 1);
  Shape shape = {count};
  if (in.has_shape && in.shape.size() >= 2) {
    int64_t model_per = 1;
    for (size_t i = 1; i < in.shape.size(); ++i) {
      if (in.shape[i] < 0) { model_per = -1; break; }
      model_per *= in.shape[i];
    }
    if (model_per > 0 && model_per != per)
      return InvalidArgument("data: one sample has ", per, " values but input '", in.name, "' of shape ",
                             ShapeToString(in.shape), " takes ", model_per, " per sample");
    if (model_per > 0) shape.insert(shape.end(), in.shape.begin() + 1, in.shape.end());
  }
  if (shape.size() == 1) shape.insert(shape.end(), images.shape().begin() + 1, images.shape().end());
  Tensor batch(DType::kFloat32, shape);
  std::copy(images.f32() + start * per, images.f32() + (start + count) * per, batch.f32());
  return batch;
}

Result<const int8::Int8Executor*> Session::Int8Plan(const RunOptions& run) const {
  if (!has_model()) return FailedPrecondition("int8 plan: no model is loaded");
  const std::vector<int8::Backend> available = int8::AvailableBackends();
  const int8::Backend backend = run.backend ? *run.backend : available.back();
  if (std::find(available.begin(), available.end(), backend) == available.end())
    return Unimplemented("int8 backend '", kernels::IsaName(backend), "' is not available in this build");
  auto it = int8_plans_.find(backend);
  if (it == int8_plans_.end()) {
    int8::Int8Options o;
    o.backend = backend;
    QP_ASSIGN_OR_RETURN(int8::Int8Executor plan,
                        int8::Int8Executor::Create(unfolded_ ? *unfolded_ : graph(), o));
    it = int8_plans_.emplace(backend, std::make_unique<int8::Int8Executor>(std::move(plan))).first;
  }
  return it->second.get();
}

Result<std::vector<Tensor>> Session::RunFloat(const float* values, size_t count,
                                              const RunOptions& run) const {
  if (!has_model()) return FailedPrecondition("run: no model is loaded");
  const ValueInfo& in = graph().inputs[0];
  if (in.dtype != DType::kFloat32)
    return InvalidArgument("run: input '", in.name, "' is ", DTypeName(in.dtype), "; only float32 inputs can be fed");
  if (!in.has_shape || in.shape.empty())
    return InvalidArgument("run: input '", in.name, "' has no known rank; the batch cannot be inferred");
  int64_t per = 1;
  for (size_t i = 1; i < in.shape.size(); ++i) {
    if (in.shape[i] < 0)
      return InvalidArgument("run: input '", in.name, "' has an unknown dim ", i, " besides the batch; ",
                             "the batch cannot be inferred from a flat buffer");
    per *= in.shape[i];
  }
  if (count == 0 || per == 0 || count % static_cast<size_t>(per) != 0)
    return InvalidArgument("run: ", count, " input values are not a whole number of samples of ", per,
                           " values (input '", in.name, "' ", ShapeToString(in.shape), ")");
  const int64_t batch = static_cast<int64_t>(count) / per;
  if (in.shape[0] >= 0 && in.shape[0] != batch)
    return InvalidArgument("run: ", count, " values make a batch of ", batch, " but input '", in.name,
                           "' has a fixed batch of ", in.shape[0]);
  Shape shape = in.shape;
  shape[0] = batch;
  Tensor t(DType::kFloat32, shape);
  std::copy(values, values + count, t.f32());
  return Run(t, run);
}

Result<std::vector<Tensor>> Session::Run(const Tensor& input, const RunOptions& run) const {
  if (!has_model()) return FailedPrecondition("run: no model is loaded");
  if (graph().inputs.size() != 1)
    return InvalidArgument("run: the model has ", graph().inputs.size(),
                           " inputs; this call feeds exactly one");
  QP_RETURN_IF_ERROR(CheckBatchFits("run", input.rank() > 0 ? input.dim(0) : 1));
  if (run.int8) {
    QP_ASSIGN_OR_RETURN(const int8::Int8Executor* plan, Int8Plan(run));
    return plan->Run(std::vector<Tensor>{input});
  }
  return executor_->Run(std::vector<Tensor>{input});
}

Result<EvalSummary> Session::Evaluate(DataRole role, int64_t max_samples, int64_t batch,
                                      const RunOptions& run) const {
  if (!has_model()) return FailedPrecondition("evaluate: no model is loaded");
  const data::Dataset* ds = dataset(role);
  if (!ds) return FailedPrecondition("evaluate: no ", DataRoleName(role), " data is loaded");
  if (batch < 1) return InvalidArgument("evaluate: batch ", batch, " must be >= 1");
  batch = FittingBatch(batch);  // the same accuracy in more, smaller batches
  const int64_t n = max_samples > 0 ? std::min(max_samples, ds->size()) : ds->size();
  EvalSummary s;
  double loss_sum = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    QP_ASSIGN_OR_RETURN(Tensor x, AdaptImages(ds->images, start, count));
    QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, Run(x, run));
    QP_RETURN_IF_ERROR(data::AccumulateTopOne(outs[0], ds->labels.data<int64_t>() + start, count,
                                              ds->num_classes, &s.correct, &loss_sum)
                           .WithContext(std::string(DataRoleName(role)) + " data"));
    s.samples += count;
  }
  s.accuracy = s.samples ? static_cast<double>(s.correct) / s.samples : 0;
  s.loss = s.samples ? loss_sum / s.samples : 0;
  return s;
}

Status Session::StartTraining(const train::TrainerOptions& options) {
  if (!has_model()) return FailedPrecondition("train: no model is loaded");
  const data::Dataset* ds = dataset(DataRole::kTrain);
  if (!ds) return FailedPrecondition("train: no train data is loaded");
  QP_RETURN_IF_ERROR(CheckBatchFits("train", options.batch_size, /*training=*/true));
  QP_ASSIGN_OR_RETURN(std::unique_ptr<train::Trainer> t, train::Trainer::Create(graph(), ds, options));
  trainer_ = std::move(t);
  return Status::Ok();
}

Result<train::StepResult> Session::TrainStep() {
  if (!trainer_) return FailedPrecondition("train step: training has not been started");
  return trainer_->Step();
}

const std::vector<train::StepResult>& Session::training_history() const {
  static const std::vector<train::StepResult> empty;
  return trainer_ ? trainer_->history() : empty;
}

Status Session::CommitTraining() {
  if (!trainer_) return FailedPrecondition("commit training: training has not been started");
  Graph g = trainer_->graph();
  std::string name = model_name_;
  auto unfolded = std::make_shared<const Graph>(g);
  QP_ASSIGN_OR_RETURN(Executor exec, Executor::Create(std::move(g)));
  executor_ = std::make_unique<Executor>(std::move(exec));
  unfolded_ = std::move(unfolded);
  int8_plans_.clear();
  ++model_generation_;
  trainer_.reset();
  quant_.reset();
  ++quantized_generation_;
  return Status::Ok();
}

void Session::AbandonTraining() { trainer_.reset(); }

}  // namespace qp
