#include "web/download.h"

#include <emscripten.h>

namespace qp::web {
namespace {

// clang-format off
EM_JS(void, qp_js_download, (const char* name, const char* data, int size, const char* mime), {
  const bytes = HEAPU8.slice(data, data + size);
  const blob = new Blob([bytes], { type: UTF8ToString(mime) });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = UTF8ToString(name);
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
});
// clang-format on

}  // namespace

void DownloadFile(const std::string& name, const std::string& bytes, const char* mime) {
  qp_js_download(name.c_str(), bytes.data(), static_cast<int>(bytes.size()), mime);
}

}  // namespace qp::web
