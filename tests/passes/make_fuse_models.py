#!/usr/bin/env python3
"""Writes small models for test_fuse (tests/passes): each fusion pattern of
passes/fuse_gelu.c and passes/fuse_layernorm.c in the forms exporters
write, and near misses that must NOT fuse.

usage: make_fuse_models.py OUTDIR

For each case NAME it writes NAME.onnx (input x float32 [2, 3, 16], output
y) and NAME.expect: lines "OP COUNT", how many nodes of OP the graph holds
after the fusion passes (0 Gelu for a near miss).  Deterministic.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)
D = 16


class G:
    def __init__(self):
        self.nodes, self.inits, self.n, self.extra_out = [], [], 0, []

    def t(self, p="t"):
        self.n += 1
        return f"{p}{self.n}"

    def c(self, v):
        nm = self.t("c")
        self.inits.append(numpy_helper.from_array(
            np.asarray(v, dtype=np.float32), nm))
        return nm

    def op(self, op, *ins, out=None, **attrs):
        o = out or self.t()
        self.nodes.append(helper.make_node(op, list(ins), [o],
                                           name=self.t(op.lower()), **attrs))
        return o

    def save(self, name, y, expect, opset=13):
        nodes = self.nodes
        # the last node writes "y"
        last = nodes[-1]
        for n in nodes:
            n.input[:] = ["y" if i == y else i for i in n.input]
        last.output[0] = "y" if last.output[0] == y else last.output[0]
        outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
        outs += [helper.make_tensor_value_info(e, TensorProto.FLOAT, None)
                 for e in self.extra_out]
        g = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                           [2, 3, D])],
            outs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("",
                                                                    opset)])
        m.ir_version = 8
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
        with open(os.path.join(OUT, name + ".expect"), "w") as f:
            for k, v in expect.items():
                f.write(f"{k} {v}\n")


def gelu_erf(form, div=1.41421356, half=0.5, one=1.0, leak=False):
    g = G()
    d = (g.op("Div", "x", g.c(div)) if form != "mul"
         else g.op("Mul", g.c(0.70710678), "x"))
    e = g.op("Erf", d)
    if leak:
        g.extra_out.append(e)
    a = g.op("Add", g.c(one), e)
    if form in ("div", "mul"):  # (x * a) * 0.5
        y = g.op("Mul", g.op("Mul", "x", a), g.c(half))
    elif form == "half_first":  # (a * 0.5) * x
        y = g.op("Mul", "x", g.op("Mul", a, g.c(half)))
    else:  # a * (x * 0.5)
        y = g.op("Mul", a, g.op("Mul", "x", g.c(half)))
    return g, y


def gelu_tanh(cube):
    g = G()
    if cube == "pow":
        p = g.op("Pow", "x", g.c(3.0))
    else:
        p = g.op("Mul", g.op("Mul", "x", "x"), "x")
    w = g.op("Mul", p, g.c(0.044715))
    v = g.op("Add", "x", w)
    u = g.op("Mul", g.c(0.7978845608), v)
    a = g.op("Add", g.op("Tanh", u), g.c(1.0))
    y = g.op("Mul", g.op("Mul", "x", a), g.c(0.5))
    return g, y


def layernorm(gamma=True, beta=True, square="pow", axes=(-1,), eps=1e-5):
    g = G()
    m = g.op("ReduceMean", "x", axes=list(axes), keepdims=1)
    d = g.op("Sub", "x", m)
    s = g.op("Pow", d, g.c(2.0)) if square == "pow" else g.op("Mul", d, d)
    v = g.op("ReduceMean", s, axes=list(axes), keepdims=1)
    r = g.op("Sqrt", g.op("Add", v, g.c(eps)))
    y = g.op("Div", d, r)
    if gamma:
        y = g.op("Mul", y, g.c(rng.uniform(0.5, 1.5, D)))
    if beta:
        y = g.op("Add", y, g.c(rng.uniform(-1, 1, D)))
    return g, y


def reduce_pair(op1, ax1, keep1, op2, ax2, keep2):
    g = G()
    r = g.op(op1, "x", axes=list(ax1), keepdims=keep1)
    return g, g.op(op2, r, axes=list(ax2), keepdims=keep2)


cases = {}
for form in ("div", "mul", "half_first", "x_half"):
    cases["gelu_erf_" + form] = (gelu_erf(form), {"Gelu": 1, "Erf": 0})
cases["gelu_tanh_pow"] = (gelu_tanh("pow"), {"Gelu": 1, "Tanh": 0})
cases["gelu_tanh_mul"] = (gelu_tanh("mul"), {"Gelu": 1, "Tanh": 0})
# near misses: another constant, an inner tensor that is a graph output
cases["gelu_wrong_const"] = (gelu_erf("div", div=1.5), {"Gelu": 0, "Erf": 1})
cases["gelu_wrong_half"] = (gelu_erf("div", half=0.25), {"Gelu": 0, "Erf": 1})
cases["gelu_inner_output"] = (gelu_erf("div", leak=True),
                              {"Gelu": 0, "Erf": 1})
cases["ln_full"] = (layernorm(), {"LayerNormalization": 1, "ReduceMean": 0})
cases["ln_plain"] = (layernorm(False, False),
                     {"LayerNormalization": 1, "ReduceMean": 0})
cases["ln_gamma_mulsq"] = (layernorm(True, False, "mul"),
                           {"LayerNormalization": 1, "Sqrt": 0})
cases["ln_axis1"] = (layernorm(axes=(1,)),
                     {"LayerNormalization": 0, "ReduceMean": 2})
cases["ln_two_axes"] = (layernorm(axes=(1, 2)),
                        {"LayerNormalization": 0, "ReduceMean": 2})

# fuse-reduce: two reductions of one kind become one over both axis sets;
# with keepdims 0 the second's axes count the dims the first left
cases["red_mean_pair"] = (reduce_pair("ReduceMean", [2], 1, "ReduceMean", [1], 1),
                          {"ReduceMean": 1})
cases["red_mean_nokeep"] = (reduce_pair("ReduceMean", [0], 0, "ReduceMean", [1], 0),
                            {"ReduceMean": 1})
cases["red_max_pair"] = (reduce_pair("ReduceMax", [1], 1, "ReduceMax", [2], 1),
                         {"ReduceMax": 1})
# near misses: different kinds, keepdims that differ
cases["red_mixed"] = (reduce_pair("ReduceMean", [2], 1, "ReduceMax", [1], 1),
                      {"ReduceMean": 1, "ReduceMax": 1})
cases["red_keep_differs"] = (reduce_pair("ReduceMean", [2], 1, "ReduceMean", [1], 0),
                             {"ReduceMean": 2})

for name, ((g, y), expect) in cases.items():
    g.save(name, y, expect)
print("wrote %d models to %s" % (len(cases), OUT))
