// Platform main of the playground: GLFW window on the #canvas (WebGL2, "#version 300 es"), the
// ImGui GLFW + OpenGL3 backends, and a requestAnimationFrame main loop. Owns the only global
// device state; everything drawn lives in App (app.h).
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>

#include <bitset>
#include <cstdio>

#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "web/app.h"
#include "web/platform_web.h"
#include "web/test_hooks.h"

namespace {

// Render on demand: an unchanged UI is not redrawn (WebGL keeps the last image), which keeps an
// idle tab near 0% CPU; SwiftShader-rendered canvases cost a lot per frame. Any input, a canvas
// resize or app activity renders kSettleFrames frames (enough for ImGui's hover/popup state to
// settle), and an idle page still renders every kIdleRefreshMs.
constexpr int kSettleFrames = 8;
constexpr double kIdleRefreshMs = 250.0;

struct Platform {
  GLFWwindow* window = nullptr;
  qp::web::App* app = nullptr;
  float dpr = 0.0f;
  int px_w = 0, px_h = 0;
  double last_start_ms = 0.0;
  double last_render_ms = 0.0;
  int settle_frames = kSettleFrames;
  long long frames = 0;
};

Platform g;

// GLFW input callbacks installed before ImGui's backend, which chains to them: they only note
// that something happened.
void OnCursorPos(GLFWwindow*, double, double) { g.settle_frames = kSettleFrames; }
void OnMouseButton(GLFWwindow*, int, int, int) { g.settle_frames = kSettleFrames; }
void OnScroll(GLFWwindow*, double, double) { g.settle_frames = kSettleFrames; }
void OnKey(GLFWwindow*, int, int, int, int) { g.settle_frames = kSettleFrames; }
void OnChar(GLFWwindow*, unsigned int) { g.settle_frames = kSettleFrames; }
void OnCursorEnter(GLFWwindow*, int) { g.settle_frames = kSettleFrames; }

// ImGui 1.86 samples key state once per frame (it has no input queue), so a key pressed and
// released between two frames (a quick tap, Ctrl+C, during a slow frame) would never be seen.
// Holding the key down for more frames instead turns one press into key repeats when a frame is
// slower than the repeat delay. So a release of a key that no frame has seen down yet is held
// back, and delivered before the frame after the one that sees the press: each tap is down for
// exactly one frame.
struct KeyTaps {
  std::bitset<512> unseen_down;   // pressed since the last NewFrame
  std::bitset<512> held_release;  // released, waiting for a frame to have seen the press
};
KeyTaps g_keys;

void OnKeyTapSafe(GLFWwindow* window, int key, int scancode, int action, int mods) {
  if (key >= 0 && key < static_cast<int>(g_keys.unseen_down.size())) {
    if (action == GLFW_PRESS) {
      g_keys.unseen_down.set(key);
      g_keys.held_release.reset(key);
    } else if (action == GLFW_RELEASE && g_keys.unseen_down.test(key)) {
      g_keys.held_release.set(key);
      g.settle_frames = kSettleFrames;
      return;
    }
  }
  ImGui_ImplGlfw_KeyCallback(window, key, scancode, action, mods);
}

// Called just before ImGui::NewFrame: releases the keys whose press the previous frame saw.
void DeliverHeldKeyReleases() {
  for (size_t key = 0; key < g_keys.held_release.size(); ++key) {
    if (g_keys.held_release.test(key) && !g_keys.unseen_down.test(key)) {
      g_keys.held_release.reset(key);
      ImGui_ImplGlfw_KeyCallback(g.window, static_cast<int>(key), 0, GLFW_RELEASE, 0);
    }
  }
  g_keys.unseen_down.reset();  // this frame sees every key pressed so far
}

void Frame() {
  const double start = qp::web::NowMs();
  const qp::web::CanvasMetrics m = qp::web::SyncCanvasSize();
  if (m.px_w != g.px_w || m.px_h != g.px_h) {
    g.px_w = m.px_w;
    g.px_h = m.px_h;
    g.settle_frames = kSettleFrames;
  }
  if (g.settle_frames <= 0 && !g.app->WantsFrames() && start - g.last_render_ms < kIdleRefreshMs) {
    glfwPollEvents();
    return;
  }
  if (g.settle_frames > 0) --g.settle_frames;
  g.last_render_ms = start;
  if (static_cast<float>(m.dpr) != g.dpr) {
    // New DPR (first frame, or the window moved to another screen / the user zoomed): rebuild
    // the style and the font atlas at the new physical size.
    g.dpr = static_cast<float>(m.dpr);
    g.app->ApplyScale(g.dpr);
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
  }

  glfwPollEvents();
  const double ui_start = qp::web::NowMs();
  DeliverHeldKeyReleases();
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  g.app->Frame(g.dpr, m.px_w, m.px_h);
  ImGui::Render();
  const double ui_end = qp::web::NowMs();

  int fb_w = 0, fb_h = 0;
  glfwGetFramebufferSize(g.window, &fb_w, &fb_h);
  glViewport(0, 0, fb_w, fb_h);
  // The host window has no background of its own: the clear is its background (one full-canvas
  // blended pass less for a software rasteriser).
  const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
  glClearColor(bg.x, bg.y, bg.z, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
  qp::web::EndFrameTestHooks();

  const double end = qp::web::NowMs();
  g.app->SetFrameTiming(end - start, g.last_start_ms > 0 ? start - g.last_start_ms : 0.0,
                        ui_end - ui_start, end - ui_end);
  g.last_start_ms = start;
  if (++g.frames == 1) qp::web::SignalFirstFrame();
}

}  // namespace

int main() {
  if (!glfwInit()) {
    std::fprintf(stderr, "qplay: glfwInit failed\n");
    return 1;
  }
  glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  const qp::web::CanvasMetrics m = qp::web::SyncCanvasSize();
  g.window = glfwCreateWindow(m.px_w, m.px_h, "qplay", nullptr, nullptr);
  if (g.window == nullptr) {
    std::fprintf(stderr, "qplay: could not create a WebGL2 context\n");
    return 1;
  }
  glfwMakeContextCurrent(g.window);

  IMGUI_CHECKVERSION();
  ImGuiContext* ctx = ImGui::CreateContext();
  qp::web::EnableTestHooks(ctx);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // no file system persistence; layouts are fixed
  io.LogFilename = nullptr;
  io.ConfigInputTextCursorBlink = true;

  glfwSetCursorPosCallback(g.window, OnCursorPos);
  glfwSetMouseButtonCallback(g.window, OnMouseButton);
  glfwSetScrollCallback(g.window, OnScroll);
  glfwSetKeyCallback(g.window, OnKey);
  glfwSetCharCallback(g.window, OnChar);
  glfwSetCursorEnterCallback(g.window, OnCursorEnter);
  ImGui_ImplGlfw_InitForOpenGL(g.window, true);
  glfwSetKeyCallback(g.window, OnKeyTapSafe);  // in front of the backend's (which chains to OnKey)
  ImGui_ImplOpenGL3_Init("#version 300 es");
  // After the GLFW backend, which installs GLFW's clipboard (empty stubs in Emscripten 3.1.6).
  qp::web::InstallClipboard(io);
  qp::web::InstallFileInput();

  static qp::web::App app;
  g.app = &app;
  g.dpr = static_cast<float>(m.dpr);
  app.ApplyScale(g.dpr);  // the first ImGui_ImplOpenGL3_NewFrame uploads this atlas
  emscripten_set_main_loop(Frame, 0, false);  // fps 0: requestAnimationFrame
  return 0;
}
