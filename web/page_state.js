// Page-level persistence of the playground (plain JS, no logic of the session itself):
//  - URL state: the model identity, its seed and the quantization config live in location.hash
//    (#model=demo:cnn&seed=1 for an untrained architecture | #model=builtin:cnn for a trained
//    built-in model (/models/cnn.onnx) | #model=sha256:<hex>&name=<file>, plus &config=<base64url JSON>
//    once the session exposes a config). Opening such a URL reproduces them; a dropped model
//    that this browser has not stored asks for its file and loads as soon as it is dropped.
//  - Autosave: the session (model identity, config, training history, the quantized model with any
//    QAT training as an ONNX graph + params JSON) to IndexedDB, model bytes
//    stored once by content hash; on a load without a hash the page offers to restore it.
//  - Session files: qplay.page.exportSession() / importSession(text) (JSON, model bytes base64).
// Everything goes through window.qplay (the JS API of wasm/qplay.d.ts); web/README.md documents
// qplay.page.
(function () {
  'use strict';
  var qplay = window.qplay;
  var DB_NAME = 'qplay';
  var DB_VERSION = 1;
  var AUTOSAVE_KEY = 'autosave';
  var POLL_MS = 500;
  var DEMOS = ['mlp', 'cnn', 'mobilenet'];

  // ---- small helpers -----------------------------------------------------------------------------
  function hex(buf) {
    var b = new Uint8Array(buf), s = '';
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }
  // SHA-256 where SubtleCrypto exists (secure contexts: https, localhost, file://), else FNV-1a
  // 64-bit (named as such, so identities never mix).
  function contentHash(bytes) {
    if (window.crypto && crypto.subtle && crypto.subtle.digest) {
      return crypto.subtle.digest('SHA-256', bytes).then(function (d) { return 'sha256:' + hex(d); });
    }
    var h = 0xcbf29ce484222325n, p = 0x100000001b3n, m = (1n << 64n) - 1n;
    for (var i = 0; i < bytes.length; i++) h = ((h ^ BigInt(bytes[i])) * p) & m;
    return Promise.resolve('fnv1a64:' + h.toString(16).padStart(16, '0'));
  }
  function toBase64(bytes) {
    var s = '', chunk = 0x8000;
    for (var i = 0; i < bytes.length; i += chunk) s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    return btoa(s);
  }
  function fromBase64(text) {
    var s = atob(text), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function b64urlEncode(text) {
    return toBase64(new TextEncoder().encode(text)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function b64urlDecode(text) {
    var t = text.replace(/-/g, '+').replace(/_/g, '/');
    while (t.length % 4) t += '=';
    return new TextDecoder().decode(fromBase64(t));
  }

  // ---- IndexedDB: stores "models" (hash -> {hash, name, bytes}) and "sessions" (key -> record) ---
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error('IndexedDB is not available in this browser')); return; }
        var req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = function () {
          var d = req.result;
          if (!d.objectStoreNames.contains('models')) d.createObjectStore('models', { keyPath: 'hash' });
          if (!d.objectStoreNames.contains('sessions')) d.createObjectStore('sessions');
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error || new Error('IndexedDB open failed')); };
      });
    }
    return dbPromise;
  }
  function tx(store, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var result;
        var r = fn(t.objectStore(store));
        if (r) r.onsuccess = function () { result = r.result; };
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error('IndexedDB transaction aborted')); };
      });
    });
  }
  function getModel(hash) { return tx('models', 'readonly', function (s) { return s.get(hash); }); }
  // Stored once: an existing hash is not rewritten.
  function putModel(hash, name, bytes) {
    return getModel(hash).then(function (m) {
      if (m) return;
      return tx('models', 'readwrite', function (s) { return s.put({ hash: hash, name: name, bytes: bytes }); });
    });
  }
  function getSession(key) { return tx('sessions', 'readonly', function (s) { return s.get(key); }); }
  function putSession(key, rec) { return tx('sessions', 'readwrite', function (s) { return s.put(rec, key); }); }

  // ---- the page's model identity ---------------------------------------------------------------------
  var files = {};         // file name -> {hash, bytes} of files handed to the page (drop, picker)
  var demo = { name: null, seed: 1 };  // the last demo loaded through qplay.loadDemo (the UI's use seed 1)
  var pending = null;     // {hash, name, config} a URL asked for and this browser does not have
  var lastHash = null, lastSaved = null;

  function currentConfig() {
    // The session's quantization config, once the API has one (setConfig/getConfig).
    if (typeof qplay.getConfig === 'function') {
      try {
        var c = qplay.getConfig();
        return c === null || c === undefined ? null : JSON.stringify(c);
      } catch (e) { return null; }
    }
    return null;
  }
  function identity(st) {
    var m = st && st.model;
    if (!m) return null;
    var f = files[m.name];
    if (f && f.params === m.params) return { kind: 'file', name: m.name, hash: f.hash };
    var b = builtinName(m.name);
    if (b) return { kind: 'builtin', name: b };
    if (DEMOS.indexOf(m.name) >= 0) return { kind: 'demo', name: m.name, seed: m.name === demo.name ? demo.seed : 1 };
    return { kind: 'unknown', name: m.name };
  }
  // "cnn.onnx" -> "cnn" when the build embeds /models/cnn.onnx (a dropped file of the same name is
  // found in `files` first, by content hash).
  function builtinName(modelName) {
    var match = /^(.+)\.onnx$/.exec(modelName || '');
    if (!match || typeof qplay.builtinModels !== 'function') return null;
    try { return qplay.builtinModels().indexOf(match[1]) >= 0 ? match[1] : null; } catch (e) { return null; }
  }
  function hashFor(id, config) {
    if (!id || id.kind === 'unknown') return '';
    var parts = id.kind === 'demo' ? ['model=demo:' + encodeURIComponent(id.name), 'seed=' + id.seed]
      : id.kind === 'builtin' ? ['model=builtin:' + encodeURIComponent(id.name)]
      : ['model=' + id.hash, 'name=' + encodeURIComponent(id.name)];  // hash: [a-z0-9:] only
    if (config) parts.push('config=' + b64urlEncode(config));
    return '#' + parts.join('&');
  }
  function parseHash(h) {
    var out = {};
    (h || '').replace(/^#/, '').split('&').forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf('=');
      if (i > 0) out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  // ---- applying a description (URL, autosave, session file) to the session ---------------------
  function fail(message) { return { ok: false, message: message }; }
  function applyConfig(config) {
    if (!config || config === 'null') return { ok: true, message: '' };  // nothing to apply (older saves wrote "null")
    if (typeof qplay.setConfig !== 'function') return fail('this build has no setConfig; the config was not applied');
    var r = qplay.setConfig(config);
    return r && typeof r.ok === 'boolean' ? r : { ok: true, message: '' };
  }
  function loadDemo(name, seed) { return qplay.loadDemo(name, seed); }
  // qplay.loadDemo notes the seed: the session keeps the weights, not where they came from.
  function wrapLoadDemo() {
    var raw = qplay.api.loadDemo;
    qplay.loadDemo = function (name, seed) {
      var r = raw(name, seed);
      if (r.ok) demo = { name: name, seed: seed === undefined ? 1 : seed };
      return r;
    };
  }
  function loadFileBytes(name, hash, bytes) {
    var r = qplay.loadModel(bytes, name);
    if (r.ok) files[name] = { hash: hash, params: (qplay.api.state().model || {}).params };
    return r;
  }
  // desc: {model: {kind, name, seed?, hash?}, config?, bytes?}. Resolves to an Outcome.
  function apply(desc) {
    var m = desc.model || {};
    if (m.kind === 'demo') {
      var seed = m.seed === undefined ? 1 : Number(m.seed);
      if (!Number.isInteger(seed) || seed < 0) return Promise.resolve(fail('seed "' + m.seed + '" is not a non-negative integer'));
      var r = loadDemo(m.name, seed);
      return Promise.resolve(r.ok ? applyConfig(desc.config) : r);
    }
    if (m.kind === 'builtin') {
      if (typeof qplay.loadBuiltinModel !== 'function') return Promise.resolve(fail('this build has no built-in models'));
      var rb = qplay.loadBuiltinModel(String(m.name));
      return Promise.resolve(rb.ok ? applyConfig(desc.config) : rb);
    }
    if (m.kind === 'file') {
      var have = desc.bytes ? Promise.resolve({ bytes: desc.bytes, name: m.name }) : getModel(m.hash).catch(function () { return null; });
      return have.then(function (rec) {
        if (!rec) {
          pending = { hash: m.hash, name: m.name, config: desc.config || null };
          showBanner('This link uses the model <b>' + escapeHtml(m.name) + '</b> (' + escapeHtml(m.hash.slice(0, 19)) +
                     '…), which this browser has not stored. Drop that file on the page to continue.', []);
          return fail('model ' + m.name + ' (' + m.hash + ') is not stored in this browser; drop the file to load it');
        }
        return contentHash(rec.bytes).then(function (h) {
          if (h !== m.hash) return fail('model ' + m.name + ': content hash ' + h + ' does not match ' + m.hash);
          return putModel(h, m.name, rec.bytes).catch(function () {}).then(function () {
            var r = loadFileBytes(m.name, h, rec.bytes);
            return r.ok ? applyConfig(desc.config) : r;
          });
        });
      });
    }
    return Promise.resolve(fail('unknown model kind "' + m.kind + '"; expected demo, builtin or file'));
  }
  function fromHash(h) {
    var p = parseHash(h);
    if (!p.model) return null;
    var config = p.config ? b64urlDecode(p.config) : null;
    if (p.model.indexOf('builtin:') === 0) return { model: { kind: 'builtin', name: p.model.slice(8) }, config: config };
    if (p.model.indexOf('demo:') === 0) return { model: { kind: 'demo', name: p.model.slice(5), seed: p.seed === undefined ? 1 : p.seed }, config: config };
    return { model: { kind: 'file', hash: p.model, name: p.name || 'model.onnx' }, config: config };
  }

  // ---- banner (HTML over the canvas) -------------------------------------------------------------
  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; });
  }
  function showBanner(html, buttons) {
    var b = document.getElementById('qp-banner');
    b.innerHTML = '<span>' + html + '</span>';
    buttons.concat([{ id: 'qp-banner-dismiss', label: 'Dismiss', run: function () {} }]).forEach(function (btn) {
      var e = document.createElement('button');
      e.id = btn.id;
      e.textContent = btn.label;
      e.onclick = function () { hideBanner(); btn.run(); };
      b.appendChild(e);
    });
    b.style.display = 'block';
  }
  function hideBanner() { document.getElementById('qp-banner').style.display = 'none'; }

  // ---- autosave --------------------------------------------------------------------------------------
  // The quantized model (QAT-trained weights and learned ranges included), base64 ONNX graph +
  // params JSON, taken once per change of the session's quantized model (state().quant.generation).
  var quantCache = { generation: -1, value: null };
  function quantizedPart(st) {
    if (!st.quant || !st.quant.quantized || typeof qplay.quantizedSnapshot !== 'function') return null;
    if (quantCache.generation !== st.quant.generation) {
      var q = qplay.quantizedSnapshot();
      quantCache = { generation: st.quant.generation, value: q ? { graph: toBase64(q.graph), params: q.params } : null };
    }
    return quantCache.value;
  }
  function snapshot() {
    var st = qplay.api.state();
    var id = identity(st);
    if (!id || id.kind === 'unknown') return null;
    return { format: 'qplay-session', version: 1, model: id, config: currentConfig(),
             history: st.training.history, quantized: quantizedPart(st), savedAt: new Date().toISOString() };
  }
  function sameSession(a, b) {
    return a && b && a.quantized === b.quantized &&
           JSON.stringify([a.model, a.config, a.history]) === JSON.stringify([b.model, b.config, b.history]);
  }
  // After the model and config of a saved session are back: its quantized model, if it had one.
  function restoreQuantized(s, outcome) {
    if (!outcome.ok || !s.quantized) return outcome;
    var q = s.quantized;
    if (typeof q.graph !== 'string' || typeof q.params !== 'string') {
      return fail('the model and config were restored, but not the quantized model: its graph (base64) or params (JSON text) is missing');
    }
    var bytes;
    try { bytes = fromBase64(q.graph); } catch (e) { return fail('the model and config were restored, but not the quantized model: its graph is not base64'); }
    var r = qplay.restoreQuantized(bytes, q.params);
    return r.ok ? r : fail('the model and config were restored, but not the quantized model: ' + r.message);
  }
  function saveNow() {
    var s = snapshot();
    if (!s) return Promise.resolve(false);
    if (sameSession(s, lastSaved)) return Promise.resolve(false);
    lastSaved = s;
    return putSession(AUTOSAVE_KEY, s).then(function () { page.savedCount++; return true; });
  }
  function poll() {
    try {
      var st = qplay.api.state();
      var h = hashFor(identity(st), currentConfig());
      if (h && h !== lastHash && !pending) {
        lastHash = h;
        history.replaceState(null, '', h);
      }
      if (!pending) saveNow().catch(function () {});
    } catch (e) {
      console.warn('qplay autosave: ' + e.message);
    }
  }

  // ---- files handed to the page (platform_web.cc calls noteFile before the session sees them) ----
  function noteFile(name, bytes) {
    if (!/\.onnx$/i.test(name)) return;
    var copy = bytes.slice();
    contentHash(copy).then(function (h) {
      files[name] = { hash: h, params: undefined };
      putModel(h, name, copy).catch(function () {});
      // The session has it now (the drop handler loaded it synchronously after this call).
      var st = qplay.api.state();
      if (st.model && st.model.name === name) files[name].params = st.model.params;
      if (pending && pending.hash === h) {
        var cfg = pending.config;
        pending = null;
        hideBanner();
        var r = applyConfig(cfg);
        if (!r.ok) console.warn('qplay: ' + r.message);
      }
    });
  }

  // ---- session files ------------------------------------------------------------------------------------
  function exportSession() {
    var s = snapshot();
    if (!s) return Promise.reject(new Error('exportSession: the current model has no identity (load a built-in or drop a file)'));
    if (s.model.kind !== 'file') return Promise.resolve(JSON.stringify(s));
    return getModel(s.model.hash).then(function (rec) {
      if (!rec) throw new Error('exportSession: the bytes of ' + s.model.name + ' are not stored');
      s.modelBytes = toBase64(rec.bytes);
      return JSON.stringify(s);
    });
  }
  function importSession(text) {
    var s;
    try { s = JSON.parse(text); } catch (e) { return Promise.resolve(fail('importSession: not JSON (' + e.message + ')')); }
    if (!s || s.format !== 'qplay-session' || s.version !== 1) return Promise.resolve(fail('importSession: not a qplay session file (format qplay-session, version 1)'));
    var desc = { model: s.model, config: s.config };
    if (s.model && s.model.kind === 'file') {
      if (typeof s.modelBytes !== 'string') return Promise.resolve(fail('importSession: modelBytes (base64) is missing'));
      try { desc.bytes = fromBase64(s.modelBytes); } catch (e) { return Promise.resolve(fail('importSession: modelBytes is not base64')); }
    }
    return apply(desc).then(function (r) {
      if (r.ok) page.restoredHistory = s.history || [];
      return restoreQuantized(s, r);
    });
  }

  // ---- start-up: the URL wins; otherwise offer the autosave -----------------------------------------
  var page = {
    savedCount: 0,
    restoredHistory: null,
    restored: null,  // Promise<Outcome|null>: the URL or autosave handling at start-up
    lastRestore: null,
    saveNow: saveNow,
    exportSession: exportSession,
    importSession: importSession,
    restoreAutosave: function () {
      return getSession(AUTOSAVE_KEY).then(function (s) {
        if (!s) return fail('restoreAutosave: nothing is saved');
        return apply({ model: s.model, config: s.config }).then(function (r) {
          if (r.ok) page.restoredHistory = s.history || [];
          r = restoreQuantized(s, r);
          page.lastRestore = r;
          return r;
        });
      });
    },
    pendingModel: function () { return pending; },
    noteFile: noteFile,
  };

  function start() {
    var desc = fromHash(location.hash);
    if (desc) {
      return apply(desc).then(function (r) {
        page.lastRestore = r;
        if (!r.ok) console.warn('qplay: ' + r.message);
        return r;
      });
    }
    return getSession(AUTOSAVE_KEY).then(function (s) {
      if (!s) return null;
      lastSaved = null;
      var what = s.model.kind === 'demo' ? s.model.name + ' (seed ' + s.model.seed + ')'
        : s.model.kind === 'builtin' ? s.model.name + ' (trained)' : s.model.name;
      showBanner('Restore the session autosaved ' + escapeHtml(new Date(s.savedAt).toLocaleString()) + ': model <b>' +
                 escapeHtml(what) + '</b>' + (s.history && s.history.length ? ', ' + s.history.length + ' training steps' : '') +
                 (s.quantized ? ', its quantized model' : '') + '?',
                 [{ id: 'qp-banner-restore', label: 'Restore', run: function () { page.restoreAutosave(); } }]);
      return null;
    }).catch(function (e) { console.warn('qplay autosave: ' + e.message); return null; });
  }

  qplay.page = page;
  page.restored = qplay.ready.then(function () {
    wrapLoadDemo();
    // A fresh page must not overwrite the autosave before the user has had a chance to restore it.
    var p = start();
    return p.then(function (r) {
      var banner = document.getElementById('qp-banner');
      var waitForChoice = function () {
        if (banner.style.display === 'block' && !pending) { setTimeout(waitForChoice, POLL_MS); return; }
        setInterval(poll, POLL_MS);
        poll();
      };
      waitForChoice();
      return r;
    });
  });
})();
