// Implements imgui 1.86's test-engine hook functions (declared in imgui_internal.h) to record
// labelled item rectangles per frame; see test_hooks.h. ItemAdd delivers (id, rect) for every
// item, ItemInfo delivers (id, label) for labelled widgets after their ItemAdd.
#include "web/test_hooks.h"

#include <cstdarg>
#include <cstring>
#include <unordered_map>

#include "imgui.h"
#include "imgui_internal.h"

namespace qp::web {
namespace {

struct Registry {
  ImGuiContext* ctx = nullptr;
  std::unordered_map<ImGuiID, ImRect> rects_by_id;        // this frame
  std::unordered_map<std::string, ImRect> current, last;  // label keys -> rect
  std::unordered_map<ImGuiID, std::string> labels_by_id;  // for FindItemDebugLabel
};

Registry& R() {
  static Registry registry;
  return registry;
}

void Record(const std::string& key, const ImRect& r) { R().current[key] = r; }

void RecordLabel(ImGuiContext* ctx, ImGuiID id, const char* label, const ImRect& rect) {
  if (label == nullptr || label[0] == '\0') return;
  std::string full(label);
  const char* end = ImGui::FindRenderedTextEnd(label);  // stops at "##"
  std::string visible(label, end);
  const char* window = ctx->CurrentWindow != nullptr ? ctx->CurrentWindow->Name : "";
  Record(full, rect);
  if (!visible.empty()) {
    Record(visible, rect);
    Record(std::string(window) + "/" + visible, rect);
  }
  // "###id" labels: the id part is the stable key.
  if (const char* triple = std::strstr(label, "###")) Record(std::string(triple + 3), rect);
  if (id != 0) R().labels_by_id[id] = full;
}

}  // namespace

void EnableTestHooks(ImGuiContext* ctx) {
  R().ctx = ctx;
  ctx->TestEngineHookItems = true;
}

void EndFrameTestHooks() {
  Registry& r = R();
  r.last.swap(r.current);
  r.current.clear();
  r.rects_by_id.clear();
  if (r.labels_by_id.size() > 4096) r.labels_by_id.clear();  // bounded; labels re-register
}

ItemRect FindItemRect(const std::string& label) {
  ItemRect out;
  auto it = R().last.find(label);
  if (it == R().last.end()) return out;
  out.found = true;
  out.x = it->second.Min.x;
  out.y = it->second.Min.y;
  out.w = it->second.GetWidth();
  out.h = it->second.GetHeight();
  return out;
}

void TagLastItem(const char* label) {
  ImGuiContext& g = *GImGui;
  RecordLabel(&g, g.LastItemData.ID, label, g.LastItemData.Rect);
}

void TagRect(const char* label, float x0, float y0, float x1, float y1) {
  ImGuiContext& g = *GImGui;
  RecordLabel(&g, 0, label, ImRect(x0, y0, x1, y1));
}

int LastFrameItemCount() { return static_cast<int>(R().last.size()); }

}  // namespace qp::web

// ---- The hook functions imgui calls (global namespace, signatures from imgui_internal.h) ----

void ImGuiTestEngineHook_ItemAdd(ImGuiContext* ctx, const ImRect& bb, ImGuiID id) {
  if (id != 0) qp::web::R().rects_by_id[id] = bb;
}

void ImGuiTestEngineHook_ItemInfo(ImGuiContext* ctx, ImGuiID id, const char* label,
                                  ImGuiItemStatusFlags flags) {
  auto& rects = qp::web::R().rects_by_id;
  auto it = rects.find(id);
  const ImRect rect = it != rects.end() ? it->second : ctx->LastItemData.Rect;
  qp::web::RecordLabel(ctx, id, label, rect);
}

void ImGuiTestEngineHook_Log(ImGuiContext* ctx, const char* fmt, ...) {}

const char* ImGuiTestEngine_FindItemDebugLabel(ImGuiContext* ctx, ImGuiID id) {
  auto& labels = qp::web::R().labels_by_id;
  auto it = labels.find(id);
  return it != labels.end() ? it->second.c_str() : nullptr;
}
