// Embind surface of the playground page, for the browser tests and the console (logic-free):
//   Module.state()          -> JSON string, schema in web/README.md
//   Module.itemRect(label)  -> {x, y, w, h} in CSS pixels of the last frame, or null
//   Module.tensorValues()   -> Float32Array copy of the explorer's current tensor
//   Module.fileDropped(name, Uint8Array), Module.fileTooLarge(name, size): page file input
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <string>

#include "web/app.h"
#include "web/panels/quant_explorer.h"
#include "web/test_hooks.h"

namespace {

using emscripten::val;

std::string State() {
  qp::web::App* app = qp::web::App::Get();
  return app != nullptr ? app->StateJson() : std::string("null");
}

val ItemRect(const std::string& label) {
  const qp::web::ItemRect r = qp::web::FindItemRect(label);
  if (!r.found) return val::null();
  const double dpr = emscripten_get_device_pixel_ratio();
  val out = val::object();
  out.set("x", r.x / dpr);
  out.set("y", r.y / dpr);
  out.set("w", r.w / dpr);
  out.set("h", r.h / dpr);
  return out;
}

val TensorValues() {
  const std::vector<float>* v = qp::web::QuantExplorerPanel::CurrentValues();
  if (v == nullptr) return val::null();
  // A copy: a view into wasm memory would dangle after the next memory growth.
  val view(emscripten::typed_memory_view(v->size(), v->data()));
  return view.call<val>("slice");
}

// Embind copies a Uint8Array argument into the std::string.
void FileDropped(const std::string& name, const std::string& bytes) {
  if (qp::web::App* app = qp::web::App::Get()) app->OnFile(name, bytes);
}

void FileTooLarge(const std::string& name, double size) {
  if (qp::web::App* app = qp::web::App::Get()) app->OnFileTooLarge(name, size);
}

}  // namespace

EMSCRIPTEN_BINDINGS(qplay_web) {
  emscripten::function("state", &State);
  emscripten::function("itemRect", &ItemRect);
  emscripten::function("tensorValues", &TensorValues);
  emscripten::function("fileDropped", &FileDropped);
  emscripten::function("fileTooLarge", &FileTooLarge);
}
