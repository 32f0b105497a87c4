#!/usr/bin/python3
"""Writes QOperator test models as ONNX Runtime's static quantizer (QuantFormat.QOperator) lays them
out, with its contrib ops QLinearAdd and QLinearConcat (domain com.microsoft), for
tests/js/int8_ort_qop.test.mjs:

  /usr/bin/python3 scripts/bench/make_qop_models.py --out DIR [--seed 7]

qop_res.{u8,s8}.onnx, input [N, 3, 12, 12] float, two outputs:
  x = QuantizeLinear(input)
  a = QLinearConv(x, 3->8, 3x3, pad 1, ReLU folded)      b = QLinearConv(a, 8->8, 3x3, pad 1)
  c = QLinearAdd(a, b)                                     d = QLinearConv(c, 8->6, 3x3, pad 1, ReLU)
  e = QLinearConcat(c, d, a; axis 1)   (three input scales, none the output's)
  output  = DequantizeLinear(QLinearConv(e, 22->4, 1x1))
  g = QLinearConv(d, 6->6, 1x1)        h = QLinearConcat(d, g; axis 3)   (a width concat)
  output2 = DequantizeLinear(h)
Weights int8 symmetric per output channel (zero point 0), int32 bias at input x weight scale,
activation ranges min/max of a float numpy forward pass on random [0, 1) inputs, uint8 or int8
activations. Also two malformed models for the bad-input tests:
  bad_zp_int32.onnx:  the input QuantizeLinear's zero point is an int32 initializer of 300;
  bad_zp_stored.onnx: a uint8 zero point initializer stored as int32_data [300] (does not fit).
Debian python3-onnx + python3-numpy only.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_models import np_conv, qparams  # noqa: E402  (the same conv and range rule as the QDQ models)


def build(rng):
    """Float layers: name -> (op, inputs, params). Order is topological."""
    def conv(cin, cout, k):
        w = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
        return w, (rng.standard_normal(cout) * 0.05).astype(np.float32)
    return [
        ("a", "Conv", ["x"], dict(wb=conv(3, 8, 3), pad=1, relu=True)),
        ("b", "Conv", ["a"], dict(wb=conv(8, 8, 3), pad=1, relu=False)),
        ("c", "Add", ["a", "b"], {}),
        ("d", "Conv", ["c"], dict(wb=conv(8, 6, 3), pad=1, relu=True)),
        ("e", "Concat", ["c", "d", "a"], dict(axis=1)),
        ("f", "Conv", ["e"], dict(wb=conv(22, 4, 1), pad=0, relu=False)),
        ("g", "Conv", ["d"], dict(wb=conv(6, 6, 1), pad=0, relu=False)),
        ("h", "Concat", ["d", "g"], dict(axis=3)),
    ]


def forward(layers, x):
    env = {"x": x}
    for name, op, ins, p in layers:
        if op == "Conv":
            y = np_conv(env[ins[0]], *p["wb"], 1, p["pad"], 1)
            env[name] = np.maximum(y, 0) if p["relu"] else y
        elif op == "Add":
            env[name] = env[ins[0]] + env[ins[1]]
        else:
            env[name] = np.concatenate([env[i] for i in ins], axis=p["axis"])
    return env


def write(layers, ranges, path, signed):
    qt = np.int8 if signed else np.uint8
    nodes, inits = [], []
    scale = {}

    def qp_inits(t):
        s, zp = qparams(*ranges[t], signed)
        scale[t] = s
        inits.extend([numpy_helper.from_array(s, t + ".s"), numpy_helper.from_array(np.array(zp, qt), t + ".zp")])
        return [t + ".s", t + ".zp"]

    nodes.append(helper.make_node("QuantizeLinear", ["input"] + qp_inits("x"), ["x.q"]))
    for name, op, ins, p in layers:
        out_q = qp_inits(name)
        if op == "Conv":
            w, b = p["wb"]
            wmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            ws = (np.where(wmax > 0, wmax, 1.0) / 127.0).astype(np.float32)
            wq = np.clip(np.round(w / ws.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
            bq = np.round(b / (scale[ins[0]] * ws)).astype(np.int32)
            inits += [numpy_helper.from_array(wq, name + ".wq"), numpy_helper.from_array(ws, name + ".ws"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int8), name + ".wzp"),
                      numpy_helper.from_array(bq, name + ".bq")]
            k = w.shape[2]
            nodes.append(helper.make_node(
                "QLinearConv", [ins[0] + ".q", ins[0] + ".s", ins[0] + ".zp", name + ".wq", name + ".ws", name + ".wzp"]
                + out_q + [name + ".bq"], [name + ".q"], kernel_shape=[k, k], pads=[p["pad"]] * 4))
        elif op == "Add":
            nodes.append(helper.make_node("QLinearAdd", [ins[0] + ".q", ins[0] + ".s", ins[0] + ".zp",
                                                         ins[1] + ".q", ins[1] + ".s", ins[1] + ".zp"] + out_q,
                                          [name + ".q"], domain="com.microsoft"))
        else:
            args = list(out_q)
            for i in ins:
                args += [i + ".q", i + ".s", i + ".zp"]
            nodes.append(helper.make_node("QLinearConcat", args, [name + ".q"], axis=p["axis"], domain="com.microsoft"))
    nodes.append(helper.make_node("DequantizeLinear", ["f.q", "f.s", "f.zp"], ["output"]))
    nodes.append(helper.make_node("DequantizeLinear", ["h.q", "h.s", "h.zp"], ["output2"]))
    g = helper.make_graph(
        nodes, "qop_res", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 12, 12])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4, 12, 12]),
         helper.make_tensor_value_info("output2", TensorProto.FLOAT, ["N", 6, 12, 24])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="qplay-test")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return model


def write_bad(model, out):
    # The input QuantizeLinear's zero point as an int32 initializer of 300 (QuantizeLinear's zero
    # point must be uint8/int8: it names the output type). Not checked: the checker rejects it.
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    for t in bad.graph.initializer:
        if t.name == "x.zp":
            t.CopyFrom(helper.make_tensor("x.zp", TensorProto.INT32, [], [300]))
    onnx.save(bad, os.path.join(out, "bad_zp_int32.onnx"))
    # A uint8 zero point stored in int32_data with a value that does not fit uint8.
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    for t in bad.graph.initializer:
        if t.name == "x.zp":
            t.Clear()
            t.name = "x.zp"
            t.data_type = TensorProto.UINT8
            t.int32_data.append(300)
    onnx.save(bad, os.path.join(out, "bad_zp_stored.onnx"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    layers = build(rng)
    env = forward(layers, rng.random((4, 3, 12, 12), dtype=np.float32))
    ranges = {k: (float(v.min()), float(v.max())) for k, v in env.items()}
    write(layers, ranges, os.path.join(args.out, "qop_res.s8.onnx"), signed=True)
    model = write(layers, ranges, os.path.join(args.out, "qop_res.u8.onnx"), signed=False)
    write_bad(model, args.out)
    print(f"[make_qop_models] qop_res.{{u8,s8}}.onnx, bad_zp_{{int32,stored}}.onnx -> {args.out}")


if __name__ == "__main__":
    main()
