#include "web/panels/data_panel.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

#include "core/data/fashion_mnist.h"
#include "core/session/session_io.h"
#include "imgui.h"
#include "web/json_writer.h"

namespace qp::web {
namespace {

constexpr const char* kSubsetDir = "/data/fashion-mnist";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool IsLabelsName(const std::string& lower) { return Contains(lower, "label"); }

}  // namespace

DataPanel::DataPanel(Session* session) : session_(*session) {
  // The subset is absent in a bundle built without it; the panel then waits for user data.
  (void)LoadBuiltIn();
}

Status DataPanel::LoadBuiltIn() {
  for (DataRole role : {DataRole::kCalibration, DataRole::kTrain, DataRole::kTest})
    QP_RETURN_IF_ERROR(LoadBuiltinData(session_, role, kSubsetDir));
  source_ = "fashion-mnist subset";
  return Status::Ok();
}

bool DataPanel::AcceptsFile(const std::string& name) const {
  const std::string n = Lower(name);
  if (Contains(n, "ubyte") || Contains(n, ".idx")) return true;
  const bool npy = n.size() >= 4 && n.compare(n.size() - 4, 4, ".npy") == 0;
  return npy && (Contains(n, "image") || Contains(n, "label"));
}

Status DataPanel::LoadFile(const std::string& name, const std::string& bytes) {
  std::vector<uint8_t> b(bytes.begin(), bytes.end());
  QP_ASSIGN_OR_RETURN(Tensor t, data::ParseTensorBytes(b, name));
  // Rank 1 (or [N, 1]) integer tensors are labels; anything else is images.
  const bool labels = IsLabelsName(Lower(name)) || t.shape().size() == 1;
  if (labels) {
    user_labels_ = std::move(t);
    user_labels_name_ = name;
  } else {
    user_images_ = std::move(t);
    user_images_name_ = name;
  }
  if (user_images_ && user_labels_) return UseUserData();
  return Status::Ok();  // waiting for the other file
}

Status DataPanel::UseUserData() {
  QP_ASSIGN_OR_RETURN(data::Dataset ds,
                      data::MakeDataset(*user_images_, *user_labels_, data::kFashionMnistClasses,
                                        user_images_name_));
  // SetData validates the dataset alone, so the first call decides for every role.
  if (user_role_ != 2) {
    QP_RETURN_IF_ERROR(session_.SetData(DataRole::kCalibration, ds));
    QP_RETURN_IF_ERROR(session_.SetData(DataRole::kTrain, ds));
  }
  if (user_role_ != 1) QP_RETURN_IF_ERROR(session_.SetData(DataRole::kTest, ds));
  source_ = user_images_name_ + " + " + user_labels_name_;
  user_images_.reset();
  user_labels_.reset();
  return Status::Ok();
}

void DataPanel::DrawSamples(const data::Dataset& ds, float dpr) {
  const Shape& s = ds.images.shape();
  if (s.size() != 4 || s[1] != 1) {
    ImGui::TextDisabled("(samples of shape %s are not drawn as images)", ShapeToString(s).c_str());
    return;
  }
  const int64_t h = s[2], w = s[3];
  const int64_t n = std::min<int64_t>(ds.size(), 12);
  const float cell = 2.0f * dpr;  // two CSS pixels per image pixel
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) ImGui::SameLine();
    ImGui::BeginGroup();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float* img = ds.images.f32() + i * h * w;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float v = std::clamp(img[y * w + x], 0.0f, 1.0f);
        const int g = static_cast<int>(v * 255.0f + 0.5f);
        if (g == 0) continue;
        dl->AddRectFilled(ImVec2(p.x + x * cell, p.y + y * cell),
                          ImVec2(p.x + (x + 1) * cell, p.y + (y + 1) * cell), IM_COL32(g, g, g, 255));
      }
    dl->AddRect(p, ImVec2(p.x + w * cell, p.y + h * cell), IM_COL32(90, 90, 100, 255));
    ImGui::Dummy(ImVec2(w * cell, h * cell));
    const int64_t label = ds.labels.data<int64_t>()[i];
    ImGui::TextUnformatted(ds.num_classes == data::kFashionMnistClasses
                               ? data::FashionMnistClassName(label)
                               : std::to_string(label).c_str());
    ImGui::EndGroup();
  }
}

void DataPanel::Draw(FrameContext& ctx) {
  ImGui::Text("Source: %s", source_.c_str());
  ImGui::SameLine(0, 24.0f * ctx.dpr);
  if (ImGui::Button("Use built-in Fashion-MNIST subset")) {
    const Status st = LoadBuiltIn();
    if (!st.ok() && ctx.report_error) ctx.report_error(st, "load built-in data");
  }
  ImGui::TextWrapped(
      "Your own data: drop an images file and a labels file (IDX, or .npy with 'image' / 'label' in "
      "the name; uint8 images are scaled by 1/255, float32 taken as they are).");
  ImGui::TextUnformatted("Dropped data is used for:");
  ImGui::SameLine();
  ImGui::RadioButton("everything", &user_role_, 0);
  ImGui::SameLine();
  ImGui::RadioButton("calibration + training", &user_role_, 1);
  ImGui::SameLine();
  ImGui::RadioButton("test", &user_role_, 2);
  if (user_images_ || user_labels_)
    ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1.0f), "Waiting for the %s file (have %s).",
                       user_images_ ? "labels" : "images",
                       (user_images_ ? user_images_name_ : user_labels_name_).c_str());
  ImGui::Separator();

  const char* roles[3] = {"train", "calibration", "test"};
  for (int r = 0; r < 3; ++r) {
    const data::Dataset* ds = session_.dataset(static_cast<DataRole>(r));
    if (ds)
      ImGui::Text("%-12s %lld samples, %s, %lld classes", roles[r], static_cast<long long>(ds->size()),
                  ShapeToString(ds->images.shape()).c_str(), static_cast<long long>(ds->num_classes));
    else
      ImGui::TextDisabled("%-12s none", roles[r]);
  }
  ImGui::Separator();
  ImGui::TextUnformatted("Samples of:");
  ImGui::SameLine();
  for (int r = 0; r < 3; ++r) {
    if (r > 0) ImGui::SameLine();
    ImGui::RadioButton(roles[r], &shown_role_, r);
  }
  if (const data::Dataset* ds = session_.dataset(static_cast<DataRole>(shown_role_)))
    DrawSamples(*ds, ctx.dpr);
}

void DataPanel::WriteState(JsonWriter& j) const {
  j.BeginObject();
  j.Field("source", source_);
  const char* roles[3] = {"train", "calibration", "test"};
  for (int r = 0; r < 3; ++r) {
    const data::Dataset* ds = session_.dataset(static_cast<DataRole>(r));
    j.Key(roles[r]);
    if (ds)
      j.Value(static_cast<long long>(ds->size()));
    else
      j.Null();
  }
  j.Field("pendingImages", user_images_.has_value());
  j.Field("pendingLabels", user_labels_.has_value());
  j.EndObject();
}

}  // namespace qp::web
