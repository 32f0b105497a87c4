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
bool EndsWith(const std::string& s, const char* tail) {
  const size_t n = std::char_traits<char>::length(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}
bool IsImageName(const std::string& lower) {
  return EndsWith(lower, ".png") || EndsWith(lower, ".jpg") || EndsWith(lower, ".jpeg");
}

constexpr char kRgbaMagic[8] = {'Q', 'P', 'R', 'G', 'B', 'A', 0, 0};

uint32_t ReadU32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24;
}

// RGBA [h, w] -> [c, H, W] pixels: each output pixel averages its source rectangle (area
// average when shrinking; the one covering source pixel when enlarging), alpha over black, grey as
// BT.601 luma (0.299 R + 0.587 G + 0.114 B) when c == 1.
std::vector<uint8_t> ConvertRgba(const uint8_t* rgba, int64_t w, int64_t h, int64_t c, int64_t H, int64_t W) {
  std::vector<uint8_t> out(static_cast<size_t>(c * H * W));
  for (int64_t y = 0; y < H; ++y) {
    const int64_t y0 = y * h / H, y1 = std::max(y0 + 1, (y + 1) * h / H);
    for (int64_t x = 0; x < W; ++x) {
      const int64_t x0 = x * w / W, x1 = std::max(x0 + 1, (x + 1) * w / W);
      double acc[3] = {0, 0, 0};
      for (int64_t sy = y0; sy < y1; ++sy)
        for (int64_t sx = x0; sx < x1; ++sx) {
          const uint8_t* p = rgba + (sy * w + sx) * 4;
          const double a = p[3] / 255.0;
          for (int k = 0; k < 3; ++k) acc[k] += p[k] * a;
        }
      const double n = static_cast<double>((y1 - y0) * (x1 - x0));
      auto px = [](double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
      if (c == 1) {
        out[static_cast<size_t>(y * W + x)] = px((0.299 * acc[0] + 0.587 * acc[1] + 0.114 * acc[2]) / n);
      } else {
        for (int64_t k = 0; k < c; ++k) out[static_cast<size_t>((k * H + y) * W + x)] = px(acc[std::min<int64_t>(k, 2)] / n);
      }
    }
  }
  return out;
}

// "3_shirt.png" -> 3; -1 when the base name does not start with digits followed by a non-digit.
int64_t LabelFromName(const std::string& name) {
  const size_t slash = name.find_last_of("/\\");
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  size_t i = 0;
  int64_t v = 0;
  while (i < base.size() && i < 9 && std::isdigit(static_cast<unsigned char>(base[i]))) v = v * 10 + (base[i++] - '0');
  if (i == 0 || i >= base.size() || std::isdigit(static_cast<unsigned char>(base[i]))) return -1;
  return v;
}

}  // namespace

DataPanel::DataPanel(Session* session) : session_(*session) {
  // The subset is absent in a bundle built without it; the panel then waits for user data.
  (void)LoadBuiltIn();
}

Status DataPanel::LoadBuiltIn() {
  for (DataRole role : {DataRole::kCalibration, DataRole::kTrain, DataRole::kTest})
    QP_RETURN_IF_ERROR(LoadBuiltinData(session_, role, kSubsetDir));
  source_ = "fashion-mnist subset";
  images_.clear();  // dropped images no longer feed any role
  images_roles_.clear();
  return Status::Ok();
}

bool DataPanel::AcceptsFile(const std::string& name) const {
  const std::string n = Lower(name);
  if (IsImageName(n)) return true;
  if (Contains(n, "ubyte") || Contains(n, ".idx")) return true;
  const bool npy = n.size() >= 4 && n.compare(n.size() - 4, 4, ".npy") == 0;
  return npy && (Contains(n, "image") || Contains(n, "label"));
}

Status DataPanel::LoadFile(const std::string& name, const std::string& bytes) {
  if (IsImageName(Lower(name))) return LoadImage(name, bytes);
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

void DataPanel::ImageShape(int64_t* c, int64_t* h, int64_t* w) const {
  *c = 1;
  *h = *w = 28;
  if (session_.has_model() && !session_.graph().inputs.empty()) {
    const ValueInfo& in = session_.graph().inputs[0];
    if (in.has_shape && in.shape.size() == 4 && (in.shape[1] == 1 || in.shape[1] == 3) && in.shape[2] > 0 &&
        in.shape[3] > 0) {
      *c = in.shape[1];
      *h = in.shape[2];
      *w = in.shape[3];
      return;
    }
  }
  // A flat-input model (MLP): the shape of the data it is fed now.
  for (DataRole role : {DataRole::kTest, DataRole::kCalibration, DataRole::kTrain}) {
    const data::Dataset* ds = session_.dataset(role);
    if (ds && ds->images.rank() == 4) {
      *c = ds->images.dim(1);
      *h = ds->images.dim(2);
      *w = ds->images.dim(3);
      return;
    }
  }
}

Status DataPanel::LoadImage(const std::string& name, const std::string& bytes) {
  if (bytes.size() < 16 || bytes.compare(0, 8, std::string(kRgbaMagic, 8)) != 0)
    return InvalidArgument("image '", name, "' (", bytes.size(),
                           " bytes): the browser could not decode it as PNG or JPEG (corrupt or not an image)");
  const uint32_t w = ReadU32(bytes, 8), h = ReadU32(bytes, 12);
  if (w == 0 || h == 0 || bytes.size() != 16 + uint64_t{w} * h * 4)
    return InvalidArgument("image '", name, "': decoded size ", w, "x", h, " does not match its ", bytes.size() - 16,
                           " pixel bytes");
  UserImage img;
  img.name = name;
  ImageShape(&img.c, &img.h, &img.w);
  img.pixels = ConvertRgba(reinterpret_cast<const uint8_t*>(bytes.data()) + 16, w, h, img.c, img.h, img.w);
  img.label = LabelFromName(name);
  if (img.label >= data::kFashionMnistClasses)
    return InvalidArgument("image '", name, "': class ", img.label, " from the file name is outside [0, ",
                           data::kFashionMnistClasses, ")");
  if (!images_.empty() && (images_[0].c != img.c || images_[0].h != img.h || images_[0].w != img.w))
    return InvalidArgument("image '", name, "': converted to ", img.c, "x", img.h, "x", img.w,
                           " for the current model, but the images loaded before are ", images_[0].c, "x",
                           images_[0].h, "x", images_[0].w, "; clear them first");
  images_.push_back(std::move(img));
  const Status st = UseImages();
  if (!st.ok()) images_.pop_back();  // the panel keeps its state on error
  return st;
}

Status DataPanel::UseImages() {
  if (images_.empty()) return Status::Ok();
  const UserImage& f = images_[0];
  const int64_t n = static_cast<int64_t>(images_.size()), per = f.c * f.h * f.w;
  Tensor images(DType::kUInt8, {n, f.c, f.h, f.w});
  Tensor labels(DType::kInt64, {n});
  bool all_labeled = true;
  for (int64_t i = 0; i < n; ++i) {
    const UserImage& im = images_[static_cast<size_t>(i)];
    std::copy(im.pixels.begin(), im.pixels.end(), images.data<uint8_t>() + i * per);
    // Unlabeled images calibrate only (calibration reads no labels); 0 is a placeholder.
    labels.data<int64_t>()[i] = im.label >= 0 ? im.label : 0;
    all_labeled = all_labeled && im.label >= 0;
  }
  QP_ASSIGN_OR_RETURN(data::Dataset ds, data::MakeDataset(images, labels, data::kFashionMnistClasses, "dropped images"));
  const int role = all_labeled ? user_role_ : 1;
  if (role != 2) {
    QP_RETURN_IF_ERROR(session_.SetData(DataRole::kCalibration, ds));
    if (all_labeled) QP_RETURN_IF_ERROR(session_.SetData(DataRole::kTrain, ds));
  }
  if (role != 1) QP_RETURN_IF_ERROR(session_.SetData(DataRole::kTest, ds));
  images_roles_ = !all_labeled ? "calibration (some images are unlabeled)"
                               : (role == 0 ? "everything" : (role == 1 ? "calibration + training" : "test"));
  source_ = std::to_string(n) + " dropped image" + (n == 1 ? "" : "s");
  return Status::Ok();
}

void DataPanel::DrawImages(float dpr) {
  ImGui::Text("Dropped images (%zu), converted to %lldx%lldx%lld, used for %s:", images_.size(),
              static_cast<long long>(images_[0].c), static_cast<long long>(images_[0].h),
              static_cast<long long>(images_[0].w), images_roles_.c_str());
  ImGui::SameLine();
  if (ImGui::SmallButton("Clear images (back to the built-in data)")) {
    if (!LoadBuiltIn().ok()) {  // a bundle without the subset: the session keeps the images' data
      images_.clear();
      images_roles_.clear();
    }
    return;
  }
  const float cell = 2.0f * dpr;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float thumb = std::max(64.0f * dpr, images_[0].w * cell);
  const size_t shown = std::min<size_t>(images_.size(), 24);
  for (size_t i = 0; i < shown; ++i) {
    const UserImage& im = images_[i];
    if (i > 0) {
      if (ImGui::GetContentRegionAvail().x > thumb + 8.0f * dpr) ImGui::SameLine();
    }
    ImGui::BeginGroup();
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const int64_t plane = im.h * im.w;
    for (int64_t y = 0; y < im.h; ++y)
      for (int64_t x = 0; x < im.w; ++x) {
        const size_t o = static_cast<size_t>(y * im.w + x);
        const int r = im.pixels[o];
        const int g = im.c == 3 ? im.pixels[o + plane] : r;
        const int b = im.c == 3 ? im.pixels[o + 2 * plane] : r;
        if (r + g + b == 0) continue;
        dl->AddRectFilled(ImVec2(p.x + x * cell, p.y + y * cell), ImVec2(p.x + (x + 1) * cell, p.y + (y + 1) * cell),
                          IM_COL32(r, g, b, 255));
      }
    dl->AddRect(p, ImVec2(p.x + im.w * cell, p.y + im.h * cell), IM_COL32(90, 90, 100, 255));
    ImGui::Dummy(ImVec2(thumb, im.h * cell));
    std::string caption = im.name.size() > 14 ? im.name.substr(0, 12) + ".." : im.name;
    ImGui::TextUnformatted(caption.c_str());
    if (im.label >= 0)
      ImGui::TextUnformatted(data::FashionMnistClassName(im.label));
    else
      ImGui::TextDisabled("unlabeled");
    ImGui::EndGroup();
  }
  if (shown < images_.size()) ImGui::TextDisabled("... and %zu more", images_.size() - shown);
  ImGui::Separator();
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
  ImGui::AlignTextToFramePadding();
  ImGui::Text("Source: %s", source_.c_str());
  ImGui::SameLine(0, 24.0f * ctx.dpr);
  if (ImGui::Button("Use built-in Fashion-MNIST subset")) {
    const Status st = LoadBuiltIn();
    if (!st.ok() && ctx.report_error) ctx.report_error(st, "load built-in data");
  }
  ImGui::TextWrapped(
      "Your own data: drop an images file and a labels file (IDX, or .npy with 'image' / 'label' in "
      "the name; uint8 images are scaled by 1/255, float32 taken as they are), or PNG / JPEG images: "
      "resized to the model input, grey or RGB as the model takes, scaled by 1/255; a leading class "
      "number in the name is the label (\"3_shirt.png\" -> 3), else the images calibrate only.");
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
  if (!images_.empty()) DrawImages(ctx.dpr);

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
  j.Key("images").BeginObject();
  j.Field("count", static_cast<long long>(images_.size()));
  j.Key("shape").BeginArray();
  if (!images_.empty()) j.Value(static_cast<long long>(images_[0].c)).Value(static_cast<long long>(images_[0].h)).Value(static_cast<long long>(images_[0].w));
  j.EndArray();
  j.Field("usedFor", images_roles_);
  j.Key("files").BeginArray();
  for (const UserImage& im : images_) {
    j.BeginObject().Field("name", im.name).Key("label");
    if (im.label >= 0) j.Value(static_cast<long long>(im.label)); else j.Null();
    long long sum = 0;
    for (uint8_t v : im.pixels) sum += v;
    j.Field("meanPixel", im.pixels.empty() ? 0.0 : static_cast<double>(sum) / im.pixels.size() / 255.0);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  j.EndObject();
}

}  // namespace qp::web
