// The qplay JavaScript API (declared in wasm/qplay.d.ts) as a plain object over the Embind
// functions of wasm/bindings.cc. Linked with --post-js into both the node build and the page.
// Marshalling only: argument type checks, defaults, and turning {ok:false, message} of
// value-returning calls into a thrown Error with the Status text.
Module['qplayApi'] = (function () {
  function kind(v) {
    if (v === null) return 'null';
    if (ArrayBuffer.isView(v)) return v.constructor.name;
    return typeof v;
  }
  function needBytes(fn, what, v) {
    if (!(v instanceof Uint8Array)) {
      throw new TypeError('qplay.' + fn + ': ' + what + ' must be a Uint8Array, got ' + kind(v));
    }
    return v;
  }
  function needString(fn, what, v) {
    if (typeof v !== 'string') throw new TypeError('qplay.' + fn + ': ' + what + ' must be a string, got ' + kind(v));
    return v;
  }
  function needObject(fn, v) {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object') throw new TypeError('qplay.' + fn + ': options must be an object, got ' + kind(v));
    return v;
  }
  function value(r) {
    if (!r['ok']) throw new Error(r['message']);
    return r['value'];
  }
  function outcome(r) { return { ok: r['ok'], message: r['message'] }; }

  var api = {
    loadModel: function (bytes, name) {
      needBytes('loadModel', 'bytes', bytes);
      name = name === undefined ? 'model.onnx' : needString('loadModel', 'name', name);
      return outcome(Module['apiLoadModel'](bytes, name));
    },
    loadDemo: function (name, seed) {
      needString('loadDemo', 'name', name);
      seed = seed === undefined ? 1 : seed;
      if (typeof seed !== 'number') throw new TypeError('qplay.loadDemo: seed must be a number, got ' + kind(seed));
      return outcome(Module['apiLoadDemo'](name, seed));
    },
    builtinModels: function () { return Module['apiBuiltinModels'](); },
    loadBuiltinModel: function (name) {
      return outcome(Module['apiLoadBuiltinModel'](needString('loadBuiltinModel', 'name', name)));
    },
    loadBuiltinData: function (role) {
      return outcome(Module['apiLoadBuiltinData'](needString('loadBuiltinData', 'role', role)));
    },
    setData: function (role, images, labels, numClasses) {
      needString('setData', 'role', role);
      needBytes('setData', 'images', images);
      needBytes('setData', 'labels', labels);
      numClasses = numClasses === undefined ? 10 : numClasses;
      if (!Number.isInteger(numClasses)) throw new TypeError('qplay.setData: numClasses must be an integer, got ' + numClasses);
      return outcome(Module['apiSetData'](role, images, labels, numClasses));
    },
    run: function (input, options) {
      if (!(input instanceof Float32Array)) throw new TypeError('qplay.run: input must be a Float32Array, got ' + kind(input));
      var o = needObject('run', options);
      var b = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
      if (o['mode'] !== undefined) return value(Module['apiRunQuantized'](b, needString('run', 'options.mode', o['mode'])));
      return value(Module['apiRun'](b, !!o['int8']));
    },
    evaluate: function (options) {
      var o = needObject('evaluate', options);
      var role = o['role'] === undefined ? 'test' : needString('evaluate', 'options.role', o['role']);
      var max = o['maxSamples'] === undefined ? -1 : o['maxSamples'];
      if (typeof max !== 'number') throw new TypeError('qplay.evaluate: options.maxSamples must be a number, got ' + kind(max));
      if (o['mode'] !== undefined) return value(Module['apiEvaluateQuantized'](needString('evaluate', 'options.mode', o['mode']), role, max));
      return value(Module['apiEvaluate'](role, max, !!o['int8']));
    },
    setConfig: function (config) {
      var text = typeof config === 'string' ? config : JSON.stringify(needObject('setConfig', config));
      return outcome(Module['apiSetConfig'](text));
    },
    getConfig: function () { return JSON.parse(Module['apiState']())['quant']['config']; },
    calibrate: function (options) {
      var o = needObject('calibrate', options);
      var bs = o['batchSize'] === undefined ? 64 : o['batchSize'];
      var mb = o['maxBatches'] === undefined ? 0 : o['maxBatches'];
      if (typeof bs !== 'number' || typeof mb !== 'number') throw new TypeError('qplay.calibrate: batchSize and maxBatches must be numbers');
      return outcome(Module['apiCalibrate'](bs, mb));
    },
    startQat: function (options) {
      var o = needObject('startQat', options);
      var method = o['method'] === undefined ? 'lsq' : needString('startQat', 'options.method', o['method']);
      var lr = o['lr'] === undefined ? 1e-4 : o['lr'];
      var bs = o['batchSize'] === undefined ? 64 : o['batchSize'];
      var steps = o['totalSteps'] === undefined ? 0 : o['totalSteps'];
      if (typeof lr !== 'number' || typeof bs !== 'number' || typeof steps !== 'number') {
        throw new TypeError('qplay.startQat: lr, batchSize and totalSteps must be numbers');
      }
      return outcome(Module['apiStartQat'](method, lr, bs, steps));
    },
    qatStep: function () { return value(Module['apiQatStep']()); },
    finishQat: function () { return outcome(Module['apiFinishQat']()); },
    exportQDQ: function (layout) {
      return value(Module['apiExportQdq'](layout === undefined ? 'ort' : needString('exportQDQ', 'layout', layout)));
    },
    quantizedSnapshot: function () {
      if (!JSON.parse(Module['apiState']())['quant']['quantized']) return null;
      return value(Module['apiQuantizedSnapshot']());
    },
    restoreQuantized: function (graph, params) {
      needBytes('restoreQuantized', 'graph', graph);
      return outcome(Module['apiRestoreQuantized'](graph, needString('restoreQuantized', 'params', params)));
    },
    state: function () { return JSON.parse(Module['apiState']()); },
    exportOnnx: function () { return value(Module['apiExportOnnx']()); },
  };
  return api;
})();
