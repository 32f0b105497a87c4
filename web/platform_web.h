// Browser platform glue for the playground (Emscripten only): canvas size x devicePixelRatio,
// clipboard bridged to navigator.clipboard and the paste event, readiness signal for tests.
// All ImGui coordinates are backing-store (physical) pixels; CSS pixels = physical / dpr.
#pragma once

struct GLFWwindow;
struct ImGuiIO;

namespace qp::web {

struct CanvasMetrics {
  double css_w = 0, css_h = 0;  // canvas size in CSS pixels (what the page layout gives it)
  double dpr = 1;               // window.devicePixelRatio
  int px_w = 0, px_h = 0;       // backing store = round(css * dpr)
};

// Reads the canvas CSS size and the DPR and, when the backing store no longer matches
// css * dpr, resizes it (through Module.setCanvasSize, which keeps GLFW's window size in step
// and, unlike glfwSetWindowSize, never requests fullscreen). Cheap; call once per frame.
CanvasMetrics SyncCanvasSize();

// Routes ImGui's copy to navigator.clipboard.writeText and its paste to the text of the last
// browser `paste` event (Ctrl+V fires `paste` before the next frame runs ImGui's shortcut).
void InstallClipboard(ImGuiIO& io);

// Drag-and-drop on the page and a hidden <input type=file>: each file's bytes are handed to
// Module.fileDropped(name, Uint8Array) (bindings.cc -> App::OnFile); files above 512 MiB are
// not read and go to Module.fileTooLarge(name, size).
void InstallFileInput();
// Opens the browser's file picker (needs the transient user activation of a click; ImGui
// handles the click within the same animation frame). `accept` as in <input accept>.
void OpenFilePicker(const char* accept);

// Resolves window.qplay.ready (index.html creates the promise) after the first frame.
void SignalFirstFrame();

// Monotonic time in milliseconds (performance.now()).
double NowMs();

}  // namespace qp::web
