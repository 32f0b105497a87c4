// Appended (--extern-post-js) to the CommonJS node build: require('qplay_node.js') gives
// createQplay(options?) -> Promise<QplayApi> (wasm/qplay.d.ts), one Session per call.
module.exports = function createQplay(options) {
  return qplayModule(options || {}).then(function (m) { return m['qplayApi']; });
};
