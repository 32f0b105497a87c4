#!/usr/bin/python3
"""Writes the end-to-end benchmark models (issue 4) as ONNX files: float and QDQ, same weights.

  /usr/bin/python3 scripts/bench/make_models.py [--out build/bench/models] [--seed 7]

Workloads: mlp (784-512-512-10, ReLU), cnn (Conv3x3 1->32, ReLU, Conv3x3 32->64, ReLU, MaxPool2,
Conv3x3 64->64, ReLU, MaxPool2, Flatten, Gemm 3136->128, ReLU, Gemm 128->10) on 1x28x28, both with a
dynamic batch; mbv2 (MobileNetV2 1.0, 1x3x224x224, BatchNorm folded, ReLU6 as Clip). Random He-init
weights (speed does not depend on them). Each gets <name>.fp32.onnx and <name>.qdq_u8.onnx /
<name>.qdq_s8.onnx laid out as ONNX Runtime's static QDQ quantizer does: int8 weights symmetric per
output channel + DequantizeLinear(axis 0), int32 bias (scale = input scale x weight scale), one
QuantizeLinear -> DequantizeLinear pair per activation tensor, Relu/Clip after Conv/Gemm folded
into the output range. Activation ranges are min/max over a few random inputs, computed with a plain
numpy float forward pass in this script. Debian python3-onnx + python3-numpy only; opset 13.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


# ---- a tiny float graph description shared by the ONNX writer and the numpy forward pass ---------
class Net:
    def __init__(self, name, input_shape, dynamic_batch):
        self.name, self.input_shape, self.dynamic_batch = name, input_shape, dynamic_batch
        self.layers = []  # dicts: op, inputs, output, params
        self.n = 0

    def _out(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def conv(self, x, cin, cout, k, stride=1, pad=0, groups=1, act=None, rng=None):
        fan_in = cin // groups * k * k
        w = (rng.standard_normal((cout, cin // groups, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.05).astype(np.float32)
        y = self._out("conv")
        self.layers.append(dict(op="Conv", inputs=[x], output=y, w=w, b=b, stride=stride, pad=pad,
                                groups=groups, act=act))
        return y

    def gemm(self, x, cin, cout, act=None, rng=None):
        w = (rng.standard_normal((cout, cin)) * np.sqrt(2.0 / cin)).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.05).astype(np.float32)
        y = self._out("fc")
        self.layers.append(dict(op="Gemm", inputs=[x], output=y, w=w, b=b, act=act))
        return y

    def simple(self, op, inputs, **attrs):
        y = self._out(op.lower())
        self.layers.append(dict(op=op, inputs=list(inputs), output=y, **attrs))
        return y


def make_mlp(rng):
    net = Net("mlp", [784], True)
    h = net.gemm("input", 784, 512, act="relu", rng=rng)
    h = net.gemm(h, 512, 512, act="relu", rng=rng)
    net.output = net.gemm(h, 512, 10, rng=rng)
    return net


def make_cnn(rng):
    net = Net("cnn", [1, 28, 28], True)
    h = net.conv("input", 1, 32, 3, pad=1, act="relu", rng=rng)
    h = net.conv(h, 32, 64, 3, pad=1, act="relu", rng=rng)
    h = net.simple("MaxPool", [h], k=2)
    h = net.conv(h, 64, 64, 3, pad=1, act="relu", rng=rng)
    h = net.simple("MaxPool", [h], k=2)
    h = net.simple("Flatten", [h])
    h = net.gemm(h, 3136, 128, act="relu", rng=rng)
    net.output = net.gemm(h, 128, 10, rng=rng)
    return net


def make_mbv2(rng):
    net = Net("mbv2", [3, 224, 224], False)
    h = net.conv("input", 3, 32, 3, stride=2, pad=1, act="relu6", rng=rng)
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            x = h
            hid = cin * t
            if t != 1:
                x = net.conv(x, cin, hid, 1, act="relu6", rng=rng)
            x = net.conv(x, hid, hid, 3, stride=stride, pad=1, groups=hid, act="relu6", rng=rng)
            x = net.conv(x, hid, c, 1, rng=rng)
            if stride == 1 and cin == c:
                x = net.simple("Add", [h, x])
            h, cin = x, c
    h = net.conv(h, cin, 1280, 1, act="relu6", rng=rng)
    h = net.simple("GlobalAveragePool", [h])
    h = net.simple("Flatten", [h])
    net.output = net.gemm(h, 1280, 1000, rng=rng)
    return net


# ---- numpy float forward (for calibration ranges) -------------------------------------------------
def np_conv(x, w, b, stride, pad, groups):
    n, c, hgt, wid = x.shape
    cout, cpg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (hgt + 2 * pad - k) // stride + 1
    wo = (wid + 2 * pad - k) // stride + 1
    out = np.empty((n, cout, ho, wo), np.float32)
    opg = cout // groups
    for g in range(groups):
        xs = xp[:, g * cpg:(g + 1) * cpg]
        cols = np.empty((n, cpg, k, k, ho, wo), np.float32)
        for i in range(k):
            for j in range(k):
                cols[:, :, i, j] = xs[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
        wg = w[g * opg:(g + 1) * opg].reshape(opg, -1)
        out[:, g * opg:(g + 1) * opg] = np.einsum("ok,nkhw->nohw", wg, cols.reshape(n, -1, ho, wo))
    return out + b.reshape(1, -1, 1, 1)


def act_fn(y, act):
    if act == "relu":
        return np.maximum(y, 0)
    if act == "relu6":
        return np.clip(y, 0, 6)
    return y


def forward(net, x):
    env = {"input": x}
    for L in net.layers:
        a = env[L["inputs"][0]]
        if L["op"] == "Conv":
            y = act_fn(np_conv(a, L["w"], L["b"], L["stride"], L["pad"], L["groups"]), L["act"])
        elif L["op"] == "Gemm":
            y = act_fn(a @ L["w"].T + L["b"], L["act"])
        elif L["op"] == "MaxPool":
            n, c, h, w = a.shape
            k = L["k"]
            y = a[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))
        elif L["op"] == "GlobalAveragePool":
            y = a.mean(axis=(2, 3), keepdims=True)
        elif L["op"] == "Flatten":
            y = a.reshape(a.shape[0], -1)
        elif L["op"] == "Add":
            y = a + env[L["inputs"][1]]
        env[L["output"]] = y.astype(np.float32)
    return env


# ---- ONNX writers ---------------------------------------------------------------------------------
def input_value_info(net):
    batch = "N" if net.dynamic_batch else 1
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch] + net.input_shape)


def output_value_info(net, name="output"):
    batch = "N" if net.dynamic_batch else 1
    classes = net.layers[-1]["w"].shape[0]
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, classes])


def act_nodes(L, pre, out):
    if L["act"] == "relu":
        return [helper.make_node("Relu", [pre], [out])]
    if L["act"] == "relu6":
        return [helper.make_node("Clip", [pre, "c0", "c6"], [out])]
    return []


def write_fp32(net, path):
    nodes, inits = [], []
    if any(L.get("act") == "relu6" for L in net.layers):
        inits += [numpy_helper.from_array(np.float32(0), "c0"), numpy_helper.from_array(np.float32(6), "c6")]
    for L in net.layers:
        out = L["output"] if L is not net.layers[-1] else "output"
        if L["op"] in ("Conv", "Gemm"):
            wn, bn = out + ".w", out + ".b"
            inits += [numpy_helper.from_array(L["w"], wn), numpy_helper.from_array(L["b"], bn)]
            pre = out + ".pre" if L["act"] else out
            if L["op"] == "Conv":
                k = L["w"].shape[2]
                nodes.append(helper.make_node("Conv", [L["inputs"][0], wn, bn], [pre], kernel_shape=[k, k],
                                              strides=[L["stride"]] * 2, pads=[L["pad"]] * 4, group=L["groups"]))
            else:
                nodes.append(helper.make_node("Gemm", [L["inputs"][0], wn, bn], [pre], transB=1))
            nodes += act_nodes(L, pre, out)
        elif L["op"] == "MaxPool":
            nodes.append(helper.make_node("MaxPool", L["inputs"], [out], kernel_shape=[L["k"]] * 2, strides=[L["k"]] * 2))
        elif L["op"] == "Flatten":
            nodes.append(helper.make_node("Flatten", L["inputs"], [out], axis=1))
        else:
            nodes.append(helper.make_node(L["op"], L["inputs"], [out]))
    g = helper.make_graph(nodes, net.name, [input_value_info(net)], [output_value_info(net)], inits)
    save(g, path)


def qparams(lo, hi, signed):
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmin, qmax = (-128, 127) if signed else (0, 255)
    scale = (hi - lo) / (qmax - qmin) if hi > lo else 1.0
    zp = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return np.float32(scale), zp


def write_qdq(net, ranges, path, signed):
    qt = np.int8 if signed else np.uint8
    nodes, inits = [], []
    scale_of = {}

    def qdq(t, lo, hi, out_name=None):
        s, zp = qparams(lo, hi, signed)
        scale_of[t] = s
        sn, zn = t + ".s", t + ".zp"
        inits.extend([numpy_helper.from_array(s, sn), numpy_helper.from_array(np.array(zp, qt), zn)])
        nodes.append(helper.make_node("QuantizeLinear", [t, sn, zn], [t + ".q"]))
        nodes.append(helper.make_node("DequantizeLinear", [t + ".q", sn, zn], [out_name or t + ".dq"]))

    qdq("input", *ranges["input"])
    name = {"input": "input.dq"}
    for L in net.layers:
        x = name[L["inputs"][0]]
        out = L["output"]
        if L["op"] in ("Conv", "Gemm"):
            w = L["w"]
            wmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            ws = (np.where(wmax > 0, wmax, 1.0) / 127.0).astype(np.float32)
            wq = np.clip(np.round(w / ws.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
            bs = (scale_of[L["inputs"][0]] * ws).astype(np.float32)
            bq = np.clip(np.round(L["b"] / bs), -2**31, 2**31 - 1).astype(np.int32)
            inits += [numpy_helper.from_array(wq, out + ".wq"), numpy_helper.from_array(ws, out + ".ws"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int8), out + ".wzp"),
                      numpy_helper.from_array(bq, out + ".bq"), numpy_helper.from_array(bs, out + ".bs"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int32), out + ".bzp")]
            nodes.append(helper.make_node("DequantizeLinear", [out + ".wq", out + ".ws", out + ".wzp"], [out + ".w"], axis=0))
            nodes.append(helper.make_node("DequantizeLinear", [out + ".bq", out + ".bs", out + ".bzp"], [out + ".b"], axis=0))
            if L["op"] == "Conv":
                k = w.shape[2]
                nodes.append(helper.make_node("Conv", [x, out + ".w", out + ".b"], [out], kernel_shape=[k, k],
                                              strides=[L["stride"]] * 2, pads=[L["pad"]] * 4, group=L["groups"]))
            else:
                nodes.append(helper.make_node("Gemm", [x, out + ".w", out + ".b"], [out], transB=1))
            # The activation is folded into the output range (the range is measured after it).
            qdq(out, *ranges[out])
            name[out] = out + ".dq"
        elif L["op"] in ("MaxPool", "Flatten"):
            # Scale-preserving ops: ORT keeps the input's quantization on the output.
            src = L["inputs"][0]
            attrs = dict(kernel_shape=[L["k"]] * 2, strides=[L["k"]] * 2) if L["op"] == "MaxPool" else dict(axis=1)
            nodes.append(helper.make_node(L["op"], [x], [out], **attrs))
            lo_hi = ranges[src]
            qdq(out, *lo_hi)
            name[out] = out + ".dq"
        else:  # Add, GlobalAveragePool
            nodes.append(helper.make_node(L["op"], [name[i] for i in L["inputs"]], [out]))
            qdq(out, *ranges[out])
            name[out] = out + ".dq"
    last = net.layers[-1]["output"]
    nodes.append(helper.make_node("Identity", [name[last]], ["output"]))
    g = helper.make_graph(nodes, net.name + "_qdq", [input_value_info(net)], [output_value_info(net)], inits)
    save(g, path)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="qplay-bench")
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def write_layers_json(net, json_path, bin_path):
    """The same network for engines that cannot read ONNX (tfjs): layers + one float32 blob."""
    import json
    blob, layers = [], []
    offset = 0
    for L in net.layers:
        d = {k: v for k, v in L.items() if k not in ("w", "b")}
        for key in ("w", "b"):
            if key in L:
                arr = np.ascontiguousarray(L[key], np.float32)
                d[key] = dict(offset=offset, shape=list(arr.shape))
                blob.append(arr.ravel())
                offset += arr.size
        layers.append(d)
    with open(json_path, "w") as f:
        json.dump(dict(name=net.name, input_shape=net.input_shape, dynamic_batch=net.dynamic_batch,
                       output=net.layers[-1]["output"], layers=layers), f)
    np.concatenate(blob).astype("<f4").tofile(bin_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build/bench/models")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", default="mlp,cnn,mbv2")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    makers = dict(mlp=make_mlp, cnn=make_cnn, mbv2=make_mbv2)
    for name in args.only.split(","):
        rng = np.random.default_rng(args.seed)
        net = makers[name](rng)
        calib = rng.random((4 if name != "mbv2" else 2, *net.input_shape), dtype=np.float32)
        env = forward(net, calib)
        ranges = {k: (float(v.min()), float(v.max())) for k, v in env.items()}
        write_fp32(net, os.path.join(args.out, f"{name}.fp32.onnx"))
        write_qdq(net, ranges, os.path.join(args.out, f"{name}.qdq_u8.onnx"), signed=False)
        write_qdq(net, ranges, os.path.join(args.out, f"{name}.qdq_s8.onnx"), signed=True)
        # The saved input is one batch the model accepts (mbv2 has a fixed batch of 1).
        write_layers_json(net, os.path.join(args.out, f"{name}.layers.json"),
                          os.path.join(args.out, f"{name}.weights.bin"))
        np.save(os.path.join(args.out, f"{name}.input.npy"), calib if net.dynamic_batch else calib[:1])
        print(f"[make_models] {name}: {len(net.layers)} layers -> {args.out}/{name}.{{fp32,qdq_u8,qdq_s8}}.onnx")


if __name__ == "__main__":
    main()
