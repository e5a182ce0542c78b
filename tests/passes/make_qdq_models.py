#!/usr/bin/env python3
"""Writes small QDQ models for test_qdq_fold (tests/passes), one per row of
docs/int8.md's table plus the cases that must stay float.

usage: make_qdq_models.py OUTDIR

For each case NAME it writes NAME.onnx, NAME.input.npy (one input per model:
x, or x and y for binary ops, saved as NAME.input0.npy, NAME.input1.npy) and
NAME.expect: lines "OP COUNT" (how many nodes of that op the graph holds
after qdq-fold) and "tol STEPS" (how many output quantisation steps the
folded graph may differ from the float QDQ graph in the reference: the int8
ops round once where the QDQ graph rounds its float sum).  Deterministic:
numpy's seed is fixed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)


class G:
    """A graph under construction."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, arr, p="c"):
        nm = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def node(self, op, ins, attrs=None, nout=1, domain=None):
        outs = [self.name("t") for _ in range(nout)]
        self.nodes.append(helper.make_node(op, ins, outs, name=self.name(op),
                                           **(attrs or {})))
        return outs[0] if nout == 1 else outs

    def q(self, x, s, zp, dt=np.uint8):
        return self.node("QuantizeLinear",
                         [x, self.const(np.float32(s)), self.const(dt(zp))])

    def dq(self, x, s, zp, dt=np.uint8, axis=None):
        a = {} if axis is None else {"axis": axis}
        return self.node("DequantizeLinear",
                         [x, self.const(np.asarray(s, np.float32)),
                          self.const(np.asarray(zp, dt))], a)

    def qdq(self, x, s, zp, dt=np.uint8):
        return self.dq(self.q(x, s, zp, dt), s, zp, dt)

    def weight(self, w, axis):
        """int8 symmetric per-channel DQ(w) along |axis|."""
        red = tuple(i for i in range(w.ndim) if i != axis)
        sc = (np.abs(w).max(axis=red) / 127).astype(np.float32)
        shp = [1] * w.ndim
        shp[axis] = -1
        wq = np.clip(np.rint(w / sc.reshape(shp)), -127, 127).astype(np.int8)
        return self.dq(self.const(wq, "w"), sc, np.zeros_like(wq, shape=sc.shape),
                       np.int8, axis), sc

    def save(self, name, inputs, out, expect, tol):
        vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
              for n, a in inputs]
        g = helper.make_graph(self.nodes, name, vi,
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT,
                                                             None)],
                              self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(m, os.path.join(OUT, name + ".onnx"))
        for i, (_, a) in enumerate(inputs):
            np.save(os.path.join(OUT, f"{name}.input{i}.npy"), a)
        with open(os.path.join(OUT, name + ".expect"), "w") as f:
            for op, c in expect.items():
                f.write(f"{op} {c}\n")
            f.write(f"tol {tol}\n")


def img(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


S_IN, Z_IN = 2.0 / 255, 128


def conv_case(name, act, qz, qdt=np.uint8, bias="float", expect=None,
              waxis=0):
    g = G()
    x = g.qdq("x", S_IN, Z_IN)
    w = rng.normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32)
    wd, sw = g.weight(w, waxis)
    ins = [x, wd]
    if bias == "float":
        ins.append(g.const(rng.normal(0, 0.2, 6).astype(np.float32), "b"))
    elif bias == "int32":
        sb = (np.float32(S_IN) * sw).astype(np.float32)
        bq = rng.integers(-300, 300, 6).astype(np.int32)
        ins.append(g.dq(g.const(bq, "bq"), sb, np.zeros(6, np.int32), np.int32,
                        0))
    y = g.node("Conv", ins, {"pads": [1, 1, 1, 1], "strides": [2, 1]})
    if act == "relu":
        y = g.node("Relu", [y])
    elif act == "clip2":
        y = g.node("Clip", [y, g.const(np.float32(0)), g.const(np.float32(2))])
    so = 0.03
    y = g.dq(g.q(y, so, qz, qdt), so, qz, qdt)
    g.save(name, [("x", img(1, 3, 9, 8))], y, expect, 1)


conv_case("conv_relu_u8", "relu", 0,
          expect={"QLinearConv": 1, "Conv": 0, "Relu": 0, "Max": 0})
conv_case("conv_relu_zp", "relu", 10,
          expect={"QLinearConv": 1, "Conv": 0, "Relu": 0, "Max": 1, "Min": 0})
conv_case("conv_clip_s8", "clip2", -5, np.int8,
          expect={"QLinearConv": 1, "Clip": 0, "Max": 1, "Min": 1})
conv_case("conv_int32_bias", None, 120, bias="int32",
          expect={"QLinearConv": 1, "Conv": 0})
conv_case("conv_nobias", None, 120, bias=None,
          expect={"QLinearConv": 1, "Conv": 0})
# Weights quantised along axis 1 are not per output channel: stays float.
conv_case("conv_axis1_float", None, 120, waxis=1,
          expect={"QLinearConv": 0, "Conv": 1})


def product(name, kind):
    g = G()
    a = g.qdq("x", S_IN, Z_IN)
    if kind == "gemm":
        w = rng.normal(0, 0.3, (5, 8)).astype(np.float32)  # [N, K]
        wd, sw = g.weight(w, 0)
        b = g.const(rng.normal(0, 0.2, 5).astype(np.float32), "b")
        y = g.node("Gemm", [a, wd, b], {"transB": 1})
        expect = {"QGemm": 1, "Gemm": 0}
    else:
        w = rng.normal(0, 0.3, (8, 5)).astype(np.float32)
        wd, sw = g.weight(w, 1)
        y = g.node("MatMul", [a, wd])
        expect = {"QLinearMatMul": 1, "MatMul": 0}
        if kind == "matmul_add":
            y = g.node("Add", [y, g.const(rng.normal(0, 0.2, 5)
                                          .astype(np.float32), "b")])
            expect = {"QGemm": 1, "MatMul": 0, "Add": 0}
        if kind == "matmul_relu":
            y = g.node("Relu", [y])
            expect = {"QLinearMatMul": 1, "Relu": 0, "Max": 0}
    so = 0.02
    zo = 0 if kind == "matmul_relu" else 100
    y = g.dq(g.q(y, so, zo), so, zo)
    g.save(name, [("x", img(3, 8))], y, expect, 1)


for k in ["matmul", "gemm", "matmul_add", "matmul_relu"]:
    product(k, k)


def binary(name, op, qop):
    g = G()
    a = g.qdq("x", S_IN, Z_IN)
    b = g.qdq("y", 1.5 / 255, 100)
    y = g.node(op, [a, b])
    y = g.qdq(y, 0.02, 90)
    g.save(name, [("x", img(2, 3, 4)), ("y", img(2, 3, 4))], y,
           {qop: 1, op: 0}, 1)


binary("add", "Add", "QLinearAdd")
binary("mul", "Mul", "QLinearMul")


def unary(name, op, qop, attrs=None, shape=(1, 3, 6, 6), tol=1):
    g = G()
    x = g.qdq("x", S_IN, Z_IN)
    y = g.node(op, [x], attrs)
    y = g.qdq(y, 0.004, 20)
    g.save(name, [("x", img(*shape))], y, {qop: 1, op: 0}, tol)


unary("gap", "GlobalAveragePool", "QLinearGlobalAveragePool")
unary("avgpool", "AveragePool", "QLinearAveragePool",
      {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]})
unary("sigmoid", "Sigmoid", "QLinearSigmoid")
unary("leakyrelu", "LeakyRelu", "QLinearLeakyRelu", {"alpha": 0.1})

# Concat of two differently scaled inputs.
g = G()
a = g.qdq("x", S_IN, Z_IN)
b = g.qdq("y", 1.5 / 255, 100)
y = g.node("Concat", [a, b], {"axis": 1})
y = g.qdq(y, 2.2 / 255, 120)
g.save("concat", [("x", img(1, 2, 3, 3)), ("y", img(1, 3, 3, 3))], y,
       {"QLinearConcat": 1, "Concat": 0}, 1)

# Data movement with the same parameters on both sides: the ops run on the
# uint8 tensor, only the first Q and the last DQ remain.  Relu with a zero
# point above 0 becomes Max(x, zp).
g = G()
x = g.qdq("x", S_IN, Z_IN)
x = g.qdq(g.node("MaxPool", [x], {"kernel_shape": [2, 2], "strides": [2, 2]}),
          S_IN, Z_IN)
x = g.qdq(g.node("Relu", [x]), S_IN, Z_IN)
x = g.qdq(g.node("Transpose", [x], {"perm": [0, 2, 3, 1]}), S_IN, Z_IN)
x = g.qdq(g.node("Reshape", [x, g.const(np.array([1, -1], np.int64))]),
          S_IN, Z_IN)
s0, s1 = g.node("Split", [x, g.const(np.array([6, 6], np.int64))],
                {"axis": 1}, nout=2)
s0 = g.qdq(s0, S_IN, Z_IN)
s1 = g.qdq(s1, S_IN, Z_IN)
x = g.node("Add", [s0, s1])
x = g.qdq(x, 0.02, 128)
g.save("movement", [("x", img(1, 3, 4, 4))], x,
       {"MaxPool": 1, "Max": 1, "Relu": 0, "Transpose": 1, "Reshape": 1,
        "Split": 1, "QLinearAdd": 1, "QuantizeLinear": 1,
        "DequantizeLinear": 1}, 1)

# DQ → Q with equal parameters disappears; with other parameters it stays;
# Softmax has no int8 form and stays float between its DQ and Q.
g = G()
x = g.q("x", S_IN, Z_IN)
x = g.q(g.dq(x, S_IN, Z_IN), S_IN, Z_IN)           # removed
x = g.q(g.dq(x, S_IN, Z_IN), 3.0 / 255, 128)         # kept (requantise)
x = g.dq(x, 3.0 / 255, 128)
x = g.qdq(g.node("Softmax", [x], {"axis": 1}), 1.0 / 255, 0)
g.save("dq_q", [("x", img(2, 6))], x,
       {"QuantizeLinear": 3, "DequantizeLinear": 3, "Softmax": 1}, 0)

# A constant int32 bias DequantizeLinear with a [1] scale beside a scalar
# zero point (both per tensor), as ONNX Runtime's quantize_static writes for
# a BatchNormalization or Add bias it leaves in float: accepted, folded.
g = G()
x = g.qdq("x", S_IN, Z_IN)
b = g.node("DequantizeLinear",
           [g.const(np.array([-40, 7, 90], np.int32).reshape(3, 1, 1), "bq"),
            g.const(np.array([0.004], np.float32)), g.const(np.int32(0))])
y = g.node("Add", [x, b])
y = g.qdq(y, 0.01, 100)
g.save("dq_scalar_zp", [("x", img(1, 3, 5, 4))], y, {"Add": 1}, 0)
