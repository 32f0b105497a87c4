// Implements imgui 1.86's test-engine hook functions (declared in imgui_internal.h) to record
// labelled item rectangles per frame; see test_hooks.h. ItemAdd delivers (id, rect) for every
// item, ItemInfo delivers (id, label) for labelled widgets after their ItemAdd.
#include "web/test_hooks.h"

#include <cstdarg>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "imgui.h"
#include "imgui_internal.h"

namespace qp::web {
namespace {

// A label reported by ItemInfo, resolved to its rectangle at the end of the frame: some widgets
// (TabItemEx in 1.86) report the label before their ItemAdd.
struct PendingLabel {
  ImGuiID id;
  std::string label;
  std::string window;
};

struct Registry {
  ImGuiContext* ctx = nullptr;
  std::vector<PendingLabel> pending;
  std::unordered_map<ImGuiID, ImRect> rects_by_id;        // this frame
  std::unordered_map<std::string, ImRect> current, last;  // label keys -> rect
  std::unordered_map<ImGuiID, std::string> labels_by_id;  // for FindItemDebugLabel
};

Registry& R() {
  static Registry registry;
  return registry;
}

void Record(const std::string& key, const ImRect& r) { R().current[key] = r; }

void RecordLabel(ImGuiID id, const char* label, const char* window, const ImRect& rect) {
  if (label == nullptr || label[0] == '\0') return;
  std::string full(label);
  const char* end = ImGui::FindRenderedTextEnd(label);  // stops at "##"
  std::string visible(label, end);
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
  for (const PendingLabel& p : r.pending) {
    auto it = r.rects_by_id.find(p.id);
    if (it != r.rects_by_id.end()) RecordLabel(p.id, p.label.c_str(), p.window.c_str(), it->second);
  }
  r.pending.clear();
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

const char* CurrentWindowName() {
  ImGuiContext& g = *GImGui;
  return g.CurrentWindow != nullptr ? g.CurrentWindow->Name : "";
}

void TagLastItem(const char* label) {
  ImGuiContext& g = *GImGui;
  RecordLabel(g.LastItemData.ID, label, CurrentWindowName(), g.LastItemData.Rect);
}

void TagRect(const char* label, float x0, float y0, float x1, float y1) {
  RecordLabel(0, label, CurrentWindowName(), ImRect(x0, y0, x1, y1));
}

int LastFrameItemCount() { return static_cast<int>(R().last.size()); }

}  // namespace qp::web

// ---- The hook functions imgui calls (global namespace, signatures from imgui_internal.h) ----

void ImGuiTestEngineHook_ItemAdd(ImGuiContext* ctx, const ImRect& bb, ImGuiID id) {
  if (id != 0) qp::web::R().rects_by_id[id] = bb;
}

void ImGuiTestEngineHook_ItemInfo(ImGuiContext* ctx, ImGuiID id, const char* label,
                                  ImGuiItemStatusFlags flags) {
  if (id == 0 || label == nullptr || label[0] == '\0') return;
  const char* window = ctx->CurrentWindow != nullptr ? ctx->CurrentWindow->Name : "";
  qp::web::R().pending.push_back({id, label, window});
}

void ImGuiTestEngineHook_Log(ImGuiContext* ctx, const char* fmt, ...) {}

const char* ImGuiTestEngine_FindItemDebugLabel(ImGuiContext* ctx, ImGuiID id) {
  auto& labels = qp::web::R().labels_by_id;
  auto it = labels.find(id);
  return it != labels.end() ? it->second.c_str() : nullptr;
}
