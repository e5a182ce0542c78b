#!/usr/bin/env python3
"""Writes the two models tests/compare/cli_compare.sh compares (onnx 1.12).

qsmall.onnx      fp32: x[1,3,16,16] -> conv1 -> relu1 -> conv2 -> relu2
                 -> gap -> flatten -> fc -> logits[1,10]
qsmall_qdq.onnx  the same network in QDQ form, as a quantiser writes it:
                 weights int8 symmetric per output channel through
                 DequantizeLinear, activations uint8 through Q/DQ pairs
                 with min/max scales from 32 random inputs.  The int8 copy
                 of relu1's output is named r1_q (the fp32 name r1 is gone,
                 as after qdq-fold), so ingot compare --per-layer must match
                 it by suffix and dequantise it.
Run: /usr/bin/python3 tests/compare/make_qsmall.py tests/compare
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.4).astype(np.float32)
b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
w2 = (rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32)
b2 = (rng.standard_normal(8) * 0.1).astype(np.float32)
wf = (rng.standard_normal((10, 8)) * 0.5).astype(np.float32)
bf = (rng.standard_normal(10) * 0.1).astype(np.float32)


def conv(x, w, b):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd), np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd],
                             w[:, :, i, j])
    return out + b[None, :, None, None]


def forward(x):
    r1 = np.maximum(conv(x, w1, b1), 0)
    r2 = np.maximum(conv(r1, w2, b2), 0)
    return r1, r2


calib = rng.standard_normal((32, 3, 16, 16)).astype(np.float32)
r1, r2 = forward(calib)


def qparams(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = (hi - lo) / 255.0
    return np.float32(s), np.uint8(round(-lo / s))


sx, zx = qparams(calib.min(), calib.max())
s1, z1 = qparams(0.0, r1.max())
s2, z2 = qparams(0.0, r2.max())


def wq(w):
    s = np.abs(w).reshape(w.shape[0], -1).max(1) / 127.0
    q = np.clip(np.rint(w / s[:, None, None, None]), -127, 127).astype(np.int8)
    return q, s.astype(np.float32)


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def common(nodes, inits):
    nodes += [
        helper.make_node("GlobalAveragePool", [nodes[-1].output[0] if False else "gap_in"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], name="fc",
                         transB=1),
    ]
    inits += [c("wf", wf), c("bf", bf)]


def save(nodes, inits, path):
    g = helper.make_graph(
        nodes, "qsmall",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="make_qsmall.py")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


out = sys.argv[1] if len(sys.argv) > 1 else "."
# fp32
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["gap_in"], name="relu2"),
]
inits = [c("w1", w1), c("b1", b1), c("w2", w2), c("b2", b2)]
common(nodes, inits)
save(nodes, inits, os.path.join(out, "qsmall.onnx"))
# QDQ
q1, ws1 = wq(w1)
q2, ws2 = wq(w2)
nodes = [
    helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["x_q"], name="x_quant"),
    helper.make_node("DequantizeLinear", ["x_q", "sx", "zx"], ["x_dq"], name="x_dequant"),
    helper.make_node("DequantizeLinear", ["w1_q", "w1_s", "w_z8"], ["w1_dq"], name="w1_dequant", axis=0),
    helper.make_node("Conv", ["x_dq", "w1_dq", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1_float"], name="relu1"),
    helper.make_node("QuantizeLinear", ["r1_float", "s1", "z1"], ["r1_q"], name="r1_quant"),
    helper.make_node("DequantizeLinear", ["r1_q", "s1", "z1"], ["r1_dq"], name="r1_dequant"),
    helper.make_node("DequantizeLinear", ["w2_q", "w2_s", "w_z8"], ["w2_dq"], name="w2_dequant", axis=0),
    helper.make_node("Conv", ["r1_dq", "w2_dq", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("QuantizeLinear", ["r2", "s2", "z2"], ["r2_q"], name="r2_quant"),
    helper.make_node("DequantizeLinear", ["r2_q", "s2", "z2"], ["gap_in"], name="r2_dequant"),
]
inits = [c("sx", sx), c("zx", zx), c("s1", s1), c("z1", z1), c("s2", s2),
         c("z2", z2), c("w1_q", q1), c("w1_s", ws1), c("w2_q", q2),
         c("w2_s", ws2), c("w_z8", np.zeros(8, np.int8)), c("b1", b1),
         c("b2", b2)]
common(nodes, inits)
save(nodes, inits, os.path.join(out, "qsmall_qdq.onnx"))
print("wrote qsmall.onnx and qsmall_qdq.onnx; scales", sx, zx, s1, z1, s2, z2)
