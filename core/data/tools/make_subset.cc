// qp_make_subset: writes the web bundle's uncompressed Fashion-MNIST subset (see
// WriteWebSubset in core/data/fashion_mnist.h). Usage:
//   qp_make_subset OUT_DIR [--src DIR] [--calib N] [--test N] [--seed S]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/data/fashion_mnist.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [--src DIR] [--calib N] [--test N] [--seed S]\n", argv[0]);
    return 2;
  }
  std::string out = argv[1];
  std::string src = qp::data::kFashionMnistDir;
  qp::data::SubsetOptions opt;
  for (int i = 2; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!has_value) {
      std::fprintf(stderr, "option %s needs a value\n", argv[i]);
      return 2;
    }
    if (!std::strcmp(argv[i], "--src")) src = argv[++i];
    else if (!std::strcmp(argv[i], "--calib")) opt.calib = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--test")) opt.test = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed")) opt.seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);  // a failure shows up as the write error below
  const qp::Status s = qp::data::WriteWebSubset(src, out, opt);
  if (!s.ok()) {
    std::fprintf(stderr, "qp_make_subset: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("wrote %lld calibration and %lld test samples to %s\n", static_cast<long long>(opt.calib),
              static_cast<long long>(opt.test), out.c_str());
  return 0;
}
