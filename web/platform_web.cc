// Browser platform glue (see platform_web.h). The JS pieces are EM_JS snippets so the whole
// bridge is in one place; they touch only Module, navigator.clipboard, document and window.qplay.
#include "web/platform_web.h"

#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "imgui.h"

namespace qp::web {
namespace {

// The EM_JS bodies are JavaScript: clang-format would split '===' and reflow them.
// clang-format off
EM_JS(void, qp_js_set_canvas_size, (int w, int h), {
  Module['setCanvasSize'](w, h);
});

EM_JS(int, qp_js_canvas_width, (), { return Module['canvas'].width; });
EM_JS(int, qp_js_canvas_height, (), { return Module['canvas'].height; });

EM_JS(void, qp_js_install_clipboard, (), {
  Module['qpClipboard'] = "";
  document.addEventListener('paste', function(e) {
    var t = e.clipboardData ? e.clipboardData.getData('text/plain') : null;
    if (typeof t === 'string' && t.length > 0) Module['qpClipboard'] = t;
  });
});

EM_JS(void, qp_js_clipboard_write, (const char* text), {
  var s = UTF8ToString(text);
  Module['qpClipboard'] = s;
  // Needs a user gesture on a secure (or localhost) origin; a refusal leaves the in-page copy.
  try {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(s).catch(function() {});
    }
  } catch (e) {}
});

EM_JS(int, qp_js_clipboard_size, (), {
  return lengthBytesUTF8(Module['qpClipboard'] || "") + 1;
});

EM_JS(void, qp_js_clipboard_read, (char* out, int cap), {
  stringToUTF8(Module['qpClipboard'] || "", out, cap);
});

EM_JS(void, qp_js_install_file_input, (), {
  var kMaxBytes = 512 * 1024 * 1024;
  var kMaxImageSide = 2048;  // larger images are scaled down by the browser while decoding
  // PNG / JPEG: decoded by the browser (createImageBitmap + a 2-D canvas) into RGBA and handed over
  // as "QPRGBA\0\0", uint32 width, uint32 height (little endian), then width * height * 4 bytes
  // (web/panels/data_panel.cc reads it). An image the browser cannot decode goes over as its raw
  // bytes, which the Data panel refuses with an error naming the file.
  function decodeImage(name, bytes) {
    return createImageBitmap(new Blob([bytes])).then(function(bmp) {
      var scale = Math.min(1, kMaxImageSide / Math.max(bmp.width, bmp.height));
      var w = Math.max(1, Math.round(bmp.width * scale)), h = Math.max(1, Math.round(bmp.height * scale));
      var c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      var g = c.getContext('2d');
      g.drawImage(bmp, 0, 0, w, h);
      var rgba = g.getImageData(0, 0, w, h).data;
      var out = new Uint8Array(16 + rgba.length);
      out.set([81, 80, 82, 71, 66, 65, 0, 0]);  // "QPRGBA\0\0"
      var dv = new DataView(out.buffer);
      dv.setUint32(8, w, true);
      dv.setUint32(12, h, true);
      out.set(rgba, 16);
      return out;
    }).catch(function() { return bytes; });
  }
  function deliver(files) {
    for (var i = 0; i < files.length; i++) {
      (function(f) {
        if (f.size > kMaxBytes) { Module['fileTooLarge'](f.name, f.size); return; }
        f.arrayBuffer().then(function(buf) {
          var bytes = new Uint8Array(buf);
          // URL state / autosave (web/page_state.js) hash and store models before the session
          // sees them.
          var page = window['qplay'] && window['qplay']['page'];
          if (page && page['noteFile']) page['noteFile'](f.name, bytes);
          var lower = f.name.toLowerCase();
          if (lower.endsWith('.png') || lower.endsWith('.jpg') || lower.endsWith('.jpeg')) {
            return decodeImage(f.name, bytes).then(function(b) { Module['fileDropped'](f.name, b); });
          }
          Module['fileDropped'](f.name, bytes);
        }).catch(function(e) { Module['fileTooLarge'](f.name, f.size); });
      })(files[i]);
    }
  }
  // Capture phase on window, ahead of GLFW's own canvas drop handler (which would copy every
  // dropped file into MEMFS).
  window.addEventListener('dragover', function(e) {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  }, true);
  window.addEventListener('drop', function(e) {
    e.preventDefault();
    e.stopPropagation();
    if (e.dataTransfer && e.dataTransfer.files) deliver(e.dataTransfer.files);
  }, true);
  var input = document.createElement('input');
  input.type = 'file';
  input.id = 'qp-file-input';
  input.style.display = 'none';
  input.addEventListener('change', function() {
    deliver(input.files);
    input.value = "";
  });
  document.body.appendChild(input);
});

EM_JS(void, qp_js_open_file_picker, (const char* accept), {
  var input = document.getElementById('qp-file-input');
  if (!input) return;
  input.accept = UTF8ToString(accept);
  input.click();
});

EM_JS(void, qp_js_signal_ready, (), {
  var q = window['qplay'];
  if (q && typeof q['_resolveReady'] === 'function') q['_resolveReady']();
});

// clang-format on

std::string& ClipboardBuffer() {
  static std::string buffer;
  return buffer;
}

void SetClipboardText(void*, const char* text) { qp_js_clipboard_write(text); }

const char* GetClipboardText(void*) {
  std::string& buffer = ClipboardBuffer();
  const int size = qp_js_clipboard_size();
  buffer.assign(static_cast<size_t>(size), '\0');
  qp_js_clipboard_read(buffer.data(), size);
  buffer.resize(std::char_traits<char>::length(buffer.c_str()));
  return buffer.c_str();
}

}  // namespace

CanvasMetrics SyncCanvasSize() {
  CanvasMetrics m;
  emscripten_get_element_css_size("#canvas", &m.css_w, &m.css_h);
  m.dpr = emscripten_get_device_pixel_ratio();
  if (!(m.dpr > 0)) m.dpr = 1;
  m.px_w = std::max(1, static_cast<int>(std::lround(m.css_w * m.dpr)));
  m.px_h = std::max(1, static_cast<int>(std::lround(m.css_h * m.dpr)));
  if (qp_js_canvas_width() != m.px_w || qp_js_canvas_height() != m.px_h) {
    qp_js_set_canvas_size(m.px_w, m.px_h);
  }
  return m;
}

void InstallClipboard(ImGuiIO& io) {
  qp_js_install_clipboard();
  io.SetClipboardTextFn = SetClipboardText;
  io.GetClipboardTextFn = GetClipboardText;
  io.ClipboardUserData = nullptr;
}

void InstallFileInput() { qp_js_install_file_input(); }

void OpenFilePicker(const char* accept) { qp_js_open_file_picker(accept); }

void SignalFirstFrame() { qp_js_signal_ready(); }

double NowMs() { return emscripten_get_now(); }

}  // namespace qp::web
