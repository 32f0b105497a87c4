// "Data" panel: which data the Session calibrates, trains and evaluates on. The built-in
// Fashion-MNIST subset (embedded in the bundle at /data/fashion-mnist: 1,000 calibration images,
// also used as QAT training data in the page, and 2,000 test images), or user files dropped on the
// page: an images tensor and a labels tensor, each IDX or .npy (names containing "image" /
// "label", or IDX files, come here; other .npy files go to the tensor explorer). A few samples are
// drawn as images with their labels. Parsing and validation are core/data's.
// PNG / JPEG images (dropped or picked, any number) are decoded by the browser (platform_web.cc) and
// converted here to the model's input: resized to its H x W (area average; nearest when enlarging),
// grey (ITU-R BT.601 luma) for one channel or RGB for three, transparent pixels over black, then
// scaled by 1/255 as the built-in data (data::NormalizePixel). A leading class number in the file
// name is the label ("3_shirt.png" -> 3); without one the image is unlabeled and the images serve as
// calibration data only.
#pragma once

#include <optional>
#include <string>

#include "core/data/dataset.h"
#include "core/session/session.h"
#include "web/panel.h"

namespace qp::web {

class DataPanel : public Panel {
 public:
  explicit DataPanel(Session* session);
  const char* Title() const override { return "Data"; }
  const char* StateKey() const override { return "data"; }
  void Draw(FrameContext& ctx) override;
  void WriteState(JsonWriter& json) const override;
  bool AcceptsFile(const std::string& name) const override;
  Status LoadFile(const std::string& name, const std::string& bytes) override;

  // The embedded subset into the calibration, train and test roles (called at start-up).
  Status LoadBuiltIn();

 private:
  Status UseUserData();
  void DrawSamples(const data::Dataset& ds, float dpr);
  // PNG / JPEG (decoded by the browser into "QPRGBA" bytes, see platform_web.cc).
  Status LoadImage(const std::string& name, const std::string& bytes);
  Status UseImages();
  void DrawImages(float dpr);
  // C, H, W the images are converted to: the model's input, else the current data's sample shape.
  void ImageShape(int64_t* c, int64_t* h, int64_t* w) const;

  struct UserImage {
    std::string name;
    std::vector<uint8_t> pixels;  // [C, H, W]
    int64_t c = 1, h = 0, w = 0;
    int64_t label = -1;           // -1: unlabeled
  };

  Session& session_;
  std::string source_ = "none";  // "fashion-mnist subset" | user file names
  std::optional<Tensor> user_images_, user_labels_;
  std::string user_images_name_, user_labels_name_;
  int user_role_ = 0;  // 0: calibration + train + test, 1: calibration + train, 2: test
  int shown_role_ = 2;
  std::vector<UserImage> images_;
  std::string images_roles_;  // where the dropped images went ("calibration", "everything", ...)
};

}  // namespace qp::web
