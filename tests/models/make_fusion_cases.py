#!/usr/bin/python3
"""Small models for the planner fusions fuse-softmax-mask, fold-concat,
in-place and fold-transpose (codegen/plan_fuse_softmax.c,
plan_fuse_concat.c, plan_fuse_inplace.c, plan_fuse_transpose.c;
docs/fusion.md): each
form that must fuse and near misses that must not.  CTest
engine_fusion_cases runs fusion_engines.py on them with the expected
number of each fusion (expect=), and compares the fused engine with the
unfused one and with the reference.

usage: make_fusion_cases.py OUTDIR
Writes OUTDIR/NAME.onnx and OUTDIR/specs.txt, one fusion_engines.py SPEC
per line (NAME=PATH:random=2:expect=...[:int8][:exact]).  Deterministic.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(11)
H, S, DK = 4, 16, 8


class G:
    def __init__(self):
        self.nodes, self.inits, self.inputs, self.outputs, self.n = [], [], [], [], 0

    def name(self, p):
        self.n += 1
        return "%s%d" % (p, self.n)

    def c(self, a, dtype=np.float32):
        nm = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(a, dtype), nm))
        return nm

    def inp(self, nm, dims):
        if any(i.name == nm for i in self.inputs):
            return nm
        self.inputs.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, dims))
        return nm

    def op(self, op, *ins, **attrs):
        o = self.name("t")
        self.nodes.append(helper.make_node(op, list(ins), [o], name=self.name(op.lower()),
                                           **attrs))
        return o

    def out(self, t, elem=TensorProto.FLOAT):
        self.outputs.append(helper.make_tensor_value_info(t, elem, None))

    def save(self, name):
        g = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        path = os.path.join(OUT, name + ".onnx")
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
        return path


def w(*dims, scale=0.5):
    return rng.standard_normal(dims).astype(np.float32) * scale


def causal(shape):
    m = np.triu(np.full((S, S), -1e4, np.float32), 1)
    return m.reshape(shape)


def attention(mask, scale="mul", axis=-1, leak=False, second_reader=False, g=None):
    """x [1,H,S,DK] as Q; scores = Q·Kᵀ scaled, + mask, Softmax, · V."""
    g = g or G()
    q = g.inp("input", [1, H, S, DK])
    s = g.op("MatMul", q, g.c(w(1, H, DK, S)))
    s = g.op("Mul", s, g.c(0.35)) if scale == "mul" else g.op("Div", s, g.c(2.83))
    if mask == "input":
        m = g.inp("mask", [1, 1, S, S])
    elif mask == "padding":
        m = g.c(np.where(np.arange(S) >= 12, -1e4, 0.0).reshape(1, 1, 1, S))
    elif mask == "per_head":
        m = g.c(w(1, H, S, 1, scale=2.0))
    else:
        m = g.c(causal((S, S)))
    s = g.op("Add", s, m)
    if leak:
        g.out(s)
    p = g.op("Softmax", s, axis=axis)
    if second_reader:
        p = g.op("Add", p, g.op("Relu", s))
    y = g.op("MatMul", p, g.c(w(1, H, S, DK)))
    g.out(y)
    return g


def concat(kind, g=None):
    """x [1,S,DK]; two products concatenated (axis 1 unless the case says
    otherwise), then one more product so the concat output is inner."""
    g = g or G()
    x = g.inp("input", [1, S, DK])
    a = g.op("Relu", g.op("MatMul", x, g.c(w(DK, DK))))
    b = g.op("MatMul", x, g.c(w(DK, DK)))
    if kind == "seq":
        c = g.op("Concat", a, b, axis=1)
    elif kind == "nested":
        inner = g.op("Concat", a, b, axis=-2)
        c = g.op("Concat", inner, g.op("Sigmoid", g.op("MatMul", x, g.c(w(DK, DK)))),
                 axis=1)
    elif kind == "last_axis":
        c = g.op("Concat", a, b, axis=2)
    elif kind == "graph_input":
        c = g.op("Concat", a, x, axis=1)
    elif kind == "twice":
        c = g.op("Concat", a, a, b, axis=1)
    elif kind == "also_read":  # a slice that another node reads later
        c = g.op("Concat", a, b, axis=1)
        g.out(g.op("Tanh", a))
    y = g.op("MatMul", c, g.c(w(2 * DK if kind == "last_axis" else DK, 4)))
    g.out(y)
    return g


def inplace(kind, g=None):
    """x [1,S,DK]; a = Relu(x·W1), b = x·W2, c = a + b, then c·W3."""
    g = g or G()
    x = g.inp("input", [1, S, DK])
    a = g.op("Relu", g.op("MatMul", x, g.c(w(DK, DK))))
    b = g.op("MatMul", x, g.c(w(DK, DK)))
    if kind == "graph_input":
        b = x
    c = g.op("Add", a, b)
    if kind == "chain":  # Tanh over a, Sub (its Sigmoid epilogue) over c, Mul
        # over that: each in place
        c = g.op("Mul", g.op("Sigmoid", g.op("Sub", c, g.op("Tanh", a))),
                 g.op("MatMul", x, g.c(w(DK, DK))))
    y = g.op("MatMul", c, g.c(w(DK, 4)))
    g.out(y)
    if kind in ("later_reader", "graph_input"):
        g.out(g.op("MatMul", a, g.c(w(DK, 4))))
        if kind == "later_reader":
            g.out(g.op("MatMul", b, g.c(w(DK, 4))))
    return g


E = H * DK


def heads(g, x, perm=(0, 2, 1, 3)):
    """x [1,S,E] times a weight, split into heads [1,S,H,DK], transposed."""
    t = g.op("Reshape", g.op("MatMul", x, g.c(w(E, E))), g.c([1, S, H, DK], np.int64))
    return g.op("Transpose", t, perm=list(perm))


def transpose(kind, g=None):
    """Attention's head split and merge, and the other forms fold-transpose
    takes; the comments give the folds each adds."""
    g = g or G()
    x = g.inp("input", [1, S, E])
    if kind == "attention":  # 4: Q, V (0,2,1,3), K (0,2,3,1), merge
        q, k, v = heads(g, x), heads(g, x, (0, 2, 3, 1)), heads(g, x)
        p = g.op("Softmax", g.op("Mul", g.op("MatMul", q, k), g.c(0.35)), axis=-1)
        m = g.op("Transpose", g.op("MatMul", p, v), perm=[0, 2, 1, 3])
        g.out(g.op("MatMul", g.op("Reshape", m, g.c([1, S, E], np.int64)),
                   g.c(w(E, 4))))
    elif kind == "narrow":  # 2: Q·Kᵀ with 12 keys (Kᵀ's block padded)
        k = g.op("Reshape", g.op("MatMul", g.inp("keys", [1, 12, E]), g.c(w(E, E))),
                 g.c([1, 12, H, DK], np.int64))
        g.out(g.op("MatMul", heads(g, x), g.op("Transpose", k, perm=[0, 2, 3, 1])))
    elif kind == "weights":  # 1: A of a product with constant [DK, 4]
        g.out(g.op("MatMul", heads(g, x), g.c(w(DK, 4))))
    elif kind == "relu":  # 1: through Relu into a product's A
        g.out(g.op("MatMul", g.op("Relu", heads(g, x)), g.c(w(1, H, DK, 4))))
    elif kind == "epilogue":  # 2: A, and a product + Mul + Relu written
        # through the merge permutation
        y = g.op("Relu", g.op("Mul", g.op("MatMul", heads(g, x), g.c(w(1, H, DK, DK))),
                              g.c(0.5)))
        m = g.op("Reshape", g.op("Transpose", y, perm=[0, 2, 1, 3]),
                 g.c([1, S, E], np.int64))
        g.out(g.op("MatMul", m, g.c(w(E, 4))))
    elif kind == "shared":  # 0: a second reader
        q = heads(g, x)
        g.out(g.op("MatMul", q, g.c(w(1, H, DK, S))))
        g.out(g.op("Relu", q))
    elif kind == "leak":  # 0: the transposed tensor is a graph output
        q = heads(g, x)
        g.out(q)
        g.out(g.op("MatMul", q, g.c(w(1, H, DK, S))))
    elif kind == "perm":  # 0: [1,DK,S,H]: neither matrix axis is contiguous
        g.out(g.op("MatMul", heads(g, x, (0, 3, 1, 2)), g.c(w(H, 4))))
    elif kind == "product_leak":  # 0: the product's output is also an output
        y = g.op("MatMul", g.inp("input2", [1, H, S, DK]), g.c(w(1, H, DK, DK)))
        g.out(y)
        g.out(g.op("Transpose", y, perm=[0, 2, 1, 3]))
    return g


def transpose_int8(kind, g=None):
    """The --int8 form: a float Transpose before a QuantizeLinear that feeds
    QLinearMatMul (k_mm_q8_f), and a uint8 Transpose after one.  Relu of a
    graph input gives the float tensors (exact in the engine and the
    reference, so the check is byte for byte)."""
    g = g or G()
    u8 = lambda v: g.c(v, np.uint8)

    def quant(t, perm):
        return g.op("QuantizeLinear", g.op("Transpose", g.op("Relu", t), perm=list(perm)),
                    g.c(0.02), u8(10))
    xs = [g.inp("input" if i == 0 else "in%d" % i, [1, S, H, DK]) for i in range(3)]
    if kind == "attention":  # 4
        q, k, v = quant(xs[0], (0, 2, 1, 3)), quant(xs[1], (0, 2, 3, 1)), \
            quant(xs[2], (0, 2, 1, 3))
        s = g.op("QLinearMatMul", q, g.c(0.02), u8(10), k, g.c(0.02), u8(10),
                 g.c(0.004), u8(3))
        o = g.op("QLinearMatMul", s, g.c(0.004), u8(3), v, g.c(0.02), u8(10),
                 g.c(0.03), u8(7))
        m = g.op("Transpose", o, perm=[0, 2, 1, 3])
        g.out(g.op("DequantizeLinear", m, g.c(0.03), u8(7)))
    elif kind == "leak":  # 0: the quantised tensor is also a graph output
        q = quant(xs[0], (0, 2, 1, 3))
        g.out(q, TensorProto.UINT8)
        k = g.op("QuantizeLinear", g.op("Relu", xs[1]), g.c(0.02), u8(10))
        s = g.op("QLinearMatMul", q, g.c(0.02), u8(10),
                 g.op("Transpose", k, perm=[0, 2, 3, 1]), g.c(0.02), u8(10),
                 g.c(0.004), u8(3))
        g.out(g.op("DequantizeLinear", s, g.c(0.004), u8(3)))
    elif kind == "const_b":  # 0: a constant B goes to the packed templates
        q = quant(xs[2], (0, 2, 1, 3))
        b = rng.integers(0, 255, (DK, 4)).astype(np.uint8)
        s = g.op("QLinearMatMul", q, g.c(0.02), u8(10), g.c(b, np.uint8), g.c(0.01),
                 u8(128), g.c(0.05), u8(100))
        g.out(g.op("DequantizeLinear", s, g.c(0.05), u8(100)))
    return g


def conv(g, x, cin, cout, k=3, group=1):
    return g.op("Conv", x, g.c(w(cout, cin // group, k, k)), g.c(w(cout, scale=0.1)),
                pads=[k // 2] * 4, group=group)


def channels(kind, g=None):
    """x [1,4,6,6] float; producers concatenated over channels (axis 1),
    which the layout pass stores NHWC: the slices are channel-strided."""
    g = g or G()
    x = g.inp("input", [1, 4, 6, 6])
    a = g.op("Relu", conv(g, x, 4, 6))           # direct conv + epilogue
    b = conv(g, x, 4, 5, k=1)                    # pointwise (a product)
    if kind == "conv":
        c = g.op("Concat", a, b, axis=1)
        cc = 11
    elif kind == "depthwise":
        c = g.op("Concat", a, conv(g, x, 4, 4, group=4), b, axis=1)
        cc = 15
    elif kind == "nested":
        inner = g.op("Concat", a, b, axis=1)
        c = g.op("Concat", conv(g, x, 4, 3), inner, axis=-3)
        cc = 14
    elif kind == "maxpool":  # a producer that cannot take a pitch
        c = g.op("Concat", a, g.op("MaxPool", x, kernel_shape=[3, 3], pads=[1] * 4,
                                   strides=[1, 1]), axis=1)
        cc = 10
    elif kind == "also_read":  # a slice another node reads too
        c = g.op("Concat", a, b, axis=1)
        g.out(conv(g, b, 5, 2))
        cc = 11
    g.out(conv(g, c, cc, 3))
    return g


class Q(G):
    """QOperator int8 graphs: uint8 activations, int8 weights."""

    def t(self, a, dtype):
        nm = self.name("q")
        self.inits.append(numpy_helper.from_array(np.asarray(a, dtype), nm))
        return nm

    def sc(self, v):
        return self.t(np.float32(v), np.float32)

    def zp(self, v):
        return self.t(np.uint8(v), np.uint8)

    def msop(self, op, *ins, **attrs):
        o = self.name("t")
        self.nodes.append(helper.make_node(op, list(ins), [o], name=self.name(op.lower()),
                                           domain="com.microsoft", **attrs))
        return o

    def save(self, name):
        g = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                helper.make_opsetid("com.microsoft", 1)])
        m.ir_version = 8
        path = os.path.join(OUT, name + ".onnx")
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
        return path


def qconv(g, x, sx, zx, cin, cout, sy, zy, k=3, group=1):
    wq = rng.integers(-60, 60, (cout, cin // group, k, k)).astype(np.int8)
    ws = (rng.random(cout) * 0.01 + 0.005).astype(np.float32)
    bias = rng.integers(-500, 500, cout).astype(np.int32)
    return g.op("QLinearConv", x, sx, zx, g.t(wq, np.int8), g.t(ws, np.float32),
                g.t(np.zeros(cout, np.int8), np.int8), g.sc(sy), g.zp(zy),
                g.t(bias, np.int32), pads=[k // 2] * 4, group=group)


def qchannels(kind, g=None):
    """x [1,8,6,6] quantised; QLinearConv producers (pointwise, 3x3,
    depthwise) concatenated over NHWC channels by QLinearConcat (with x
    quantised again, through a layout cast), or by a plain Concat of uint8
    tensors."""
    g = g or Q()
    x = g.inp("input", [1, 8, 6, 6])
    sx, zx = g.sc(0.05), g.zp(128)
    xq = g.op("QuantizeLinear", x, sx, zx)
    so, zo = 0.04, 120  # the concat output's parameters
    a = qconv(g, xq, sx, zx, 8, 16, so, zo, k=1)
    b = qconv(g, xq, sx, zx, 8, 6, so if kind != "scales" else 0.03, zo)
    d = qconv(g, xq, sx, zx, 8, 8, so, zo, group=8)
    ins, scales = [a, b, d], [so, so if kind != "scales" else 0.03, so]
    if kind == "plain":
        c = g.op("Concat", *ins, axis=1)
    else:
        # x quantised again with the output's parameters: NCHW, so a layout
        # cast (k_plan_relayout) writes this slice
        ins.append(g.op("QuantizeLinear", x, g.sc(so), g.zp(zo)))
        scales.append(so)
        args = [g.sc(so), g.zp(zo)]
        for t, s in zip(ins, scales):
            args += [t, g.sc(s), g.zp(zo)]
        c = g.msop("QLinearConcat", *args, axis=1)
    y = qconv(g, c, g.sc(so), g.zp(zo), 30 if kind == "plain" else 38, 4, 0.1, 128)
    g.out(g.op("DequantizeLinear", y, g.sc(0.1), g.zp(128)))
    return g


def several(make, *kinds, cls=G):
    """One model holding each form |make| builds, side by side."""
    g = cls()
    for k in kinds:
        make(*k, g=g) if isinstance(k, tuple) else make(k, g=g)
    return g


# Several forms per model keep the test short (two builds per model).
cases = [
    # causal [S,S] after Mul, padding [1,1,1,S] after Div, a graph input
    # [1,1,S,S], a per-head [1,H,S,1] mask with Softmax over axis 2
    ("attn_masks", several(attention, ("causal",), ("padding", "div"),
                           ("input",), ("per_head", "mul", 2)),
     "fuse-softmax-mask#4"),
    # near misses: the masked scores are a graph output / have another reader
    ("attn_mask_misses", several(
        lambda k, g: attention("causal", leak=k == "leak", second_reader=k == "shared", g=g),
        "leak", "shared"), "fuse-softmax-mask#0"),
    # concat over the sequence axis, nested (2), a slice read again later
    ("concats", several(concat, "seq", "nested", "also_read"), "fold-concat#4"),
    # near misses: strided slices, a graph input, one input twice
    ("concat_misses", several(concat, "last_axis", "graph_input", "twice"),
     "fold-concat#0"),
    # NHWC channel concats of Conv producers (direct + Relu epilogue,
    # pointwise, depthwise), nested (2); near misses beside them (0): a
    # MaxPool slice (no pitch), a slice read again
    ("channel_concats", several(channels, "conv", "depthwise", "nested",
                                "maxpool", "also_read"),
     "fold-concat#4:exact"),
    # int8: QLinearConcat with the output's scale on every input (no step
    # left), a plain uint8 Concat, QLinearConcat with one input
    # requantised (two of three inputs fold, one k_ql_concat step stays)
    ("qchannel_concats", several(qchannels, "equal", "plain", "scales", cls=Q),
     "fold-concat#3:int8:exact"),
    # the same int8 forms on the AMX templates (where the CPU has them)
    ("qchannel_concats_amx", several(qchannels, "equal", "plain", "scales", cls=Q),
     "fold-concat#3:int8:exact:amx"),
    # float and int8 forms on the generic (x86-64) and AVX2 templates
    ("channel_concats_generic", several(channels, "conv", "nested"),
     "fold-concat#3:exact:mcpu=x86-64"),
    ("qchannel_concats_generic", several(qchannels, "equal", "scales", cls=Q),
     "fold-concat#2:int8:exact:mcpu=x86-64"),
    ("qchannel_concats_avx2", several(qchannels, "equal", "scales", cls=Q),
     "fold-concat#2:int8:exact:mcpu=x86-64-v3"),
    # one Add; Tanh, Add, Sub (its Sigmoid epilogue), Mul in a chain
    ("inplace", several(inplace, "add", "chain"), "in-place#5"),
    # near misses: both inputs read later; the other input a graph input
    ("inplace_misses", several(inplace, "later_reader", "graph_input"), "in-place#0"),
    # attention (4), Q·Kᵀ over 12 keys (2), A of a constant product,
    # through Relu, A + an epilogue chain written through the merge:
    # bit-exact with --no-fuse
    ("transposes", several(transpose, "attention", "narrow", "weights", "relu",
                           "epilogue"),
     "fold-transpose#10:exact"),
    # near misses: a second reader, a graph output, a perm whose matrix
    # axes are both strided, a product whose output is also an output
    ("transpose_misses", several(transpose, "shared", "leak", "perm", "product_leak"),
     "fold-transpose#0:exact"),
    # int8 attention: three through QuantizeLinear, the merge written by
    # k_mm_q8_f; byte for byte with the reference
    ("transposes_int8", transpose_int8("attention"), "fold-transpose#4:int8"),
    # near misses: the quantised tensor is an output; a constant B (the int8
    # Transpose of k still folds into the product)
    ("transpose_int8_misses", several(transpose_int8, "leak", "const_b"),
     "fold-transpose#1:int8"),
]
with open(os.path.join(OUT, "specs.txt"), "w") as f:
    for name, g, expect in cases:
        f.write("%s=%s:random=1:expect=%s\n" % (name, g.save(name), expect))
print("wrote %d models to %s" % (len(cases), OUT))
