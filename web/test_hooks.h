// Widget locator for browser tests, fed by Dear ImGui 1.86's test-engine hooks
// (IMGUI_ENABLE_TEST_ENGINE): every labelled item's rectangle in the last complete frame.
// Rectangles are in ImGui (backing-store) pixels; the Embind wrapper divides by the DPR.
#pragma once

#include <string>

struct ImGuiContext;

namespace qp::web {

struct ItemRect {
  bool found = false;
  float x = 0, y = 0, w = 0, h = 0;
};

// Turns the hooks on for `ctx` (sets ctx->TestEngineHookItems).
void EnableTestHooks(ImGuiContext* ctx);

// Call once per frame after ImGui::Render(): the items seen this frame become the "last frame".
void EndFrameTestHooks();

// Looks up a label as a widget was given it: "Bits", "Calibrate##panel" or the visible part
// before "##" ("Calibrate"), or "Window/label" to pick one window's widget. When several
// widgets share a key, the last one submitted wins.
ItemRect FindItemRect(const std::string& label);

// For widgets that report no label to the hooks in 1.86 (Combo, plain ItemAdd users such as
// InvisibleButton regions): registers the last submitted item under `label`.
void TagLastItem(const char* label);

// Registers an explicit rectangle (ImGui pixels) under `label`, for composite widgets whose
// frame is known before they open popups (Combo: BeginCombo's popup replaces the last item).
void TagRect(const char* label, float x0, float y0, float x1, float y1);

// Number of labelled items seen in the last frame (tests assert > 0 to catch a dead hook).
int LastFrameItemCount();

}  // namespace qp::web
