#!/usr/bin/env python3
"""Build Ingot's sample models: three small ONNX models of real architectures.

Run by hand, not by CI.  The outputs are checked in next to this script.

Debian's python3-onnx (1.12) has no onnx.reference.ReferenceEvaluator, so run
this with a newer onnx from PyPI in a throwaway venv:

    python3 -m venv /tmp/onnxvenv
    /tmp/onnxvenv/bin/pip install onnx numpy
    /tmp/onnxvenv/bin/python tests/models/make_models.py

(from the repository root; the script always writes next to itself.)

It writes, in tests/models/:

    cnn.onnx          small ResNet-style CNN   input [1,3,32,32] -> logits [1,10]
    mobilenet.onnx    MobileNetV2-style CNN    input [1,3,32,32] -> logits [1,10]
    transformer.onnx  2-layer post-LN encoder  tokens int64 [1,16]
                                               -> hidden [1,16,32], logits [1,4]

and for each model <name>.input.npy (the value of its one graph input: "input"
for the CNNs, "tokens" for the transformer) plus the expected outputs <name>.<output>.npy computed by onnx.reference.ReferenceEvaluator.
Each model is also run through an independent float64 numpy forward pass in
this script, and the two must agree within 1e-5.

All weights come from numpy.random.RandomState (the legacy generator, whose
streams numpy keeps stable across versions) with fixed seeds, so the outputs
are reproducible.  Every model is opset 17 (ai.onnx), ir_version 8, and passes
onnx.checker.check_model(full_check=True).
"""

import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

OPSET = 17
IR_VERSION = 8
HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-5


# --------------------------------------------------------------------------
# Graph building helpers
# --------------------------------------------------------------------------

class Builder:
    """Collects nodes and initializers for one graph."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.w = {}  # name -> numpy array (for the numpy reference)
        self.counter = {}

    def uniq(self, base):
        n = self.counter.get(base, 0)
        self.counter[base] = n + 1
        return f"{base}_{n}"

    def init(self, name, arr):
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        self.inits.append(numpy_helper.from_array(arr, name))
        self.w[name] = arr
        return name

    def node(self, op, inputs, outputs=None, name=None, **attrs):
        name = name or self.uniq(op.lower())
        if outputs is None:
            outputs = [name + "_out"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    # -- weight generators ------------------------------------------------
    def conv_weight(self, name, cout, cin_per_group, k):
        fan_in = cin_per_group * k * k
        w = self.rng.standard_normal((cout, cin_per_group, k, k)) * math.sqrt(2.0 / fan_in)
        return self.init(name, w.astype(np.float32))

    def bn_params(self, prefix, c):
        """Non-trivial BatchNormalization parameters and running stats."""
        scale = self.rng.uniform(0.6, 1.4, c)
        bias = self.rng.standard_normal(c) * 0.1
        mean = self.rng.standard_normal(c) * 0.2
        var = self.rng.uniform(0.4, 1.6, c)
        return [self.init(prefix + ".weight", scale.astype(np.float32)),
                self.init(prefix + ".bias", bias.astype(np.float32)),
                self.init(prefix + ".running_mean", mean.astype(np.float32)),
                self.init(prefix + ".running_var", var.astype(np.float32))]


def make_model(b, name, inputs, outputs, doc):
    graph = helper.make_graph(b.nodes, name, inputs, outputs, initializer=b.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="ingot-tests-make_models",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------
# Independent numpy reference (float64)
# --------------------------------------------------------------------------

def np_conv(x, w, b=None, stride=1, pad=0, group=1):
    n, cin, h, wd = x.shape
    cout, cpg, kh, kw = w.shape
    assert cin == cpg * group
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, cout, oh, ow))
    opg = cout // group
    for g in range(group):
        xs = xp[:, g * cpg:(g + 1) * cpg]
        ws = w[g * opg:(g + 1) * opg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
                out[:, g * opg:(g + 1) * opg] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_bn(x, scale, bias, mean, var, eps=1e-5):
    s = lambda a: a.reshape(1, -1, 1, 1).astype(np.float64)
    return (x - s(mean)) / np.sqrt(s(var) + eps) * s(scale) + s(bias)


def np_maxpool(x, k, stride):
    n, c, h, w = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride])
    return out


def np_layernorm(x, scale, bias, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * scale + bias


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


_erf = np.vectorize(math.erf)


def np_gelu(x):
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def f64(d):
    return {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in d.items()}


def relu(x):
    return np.maximum(x, 0.0)


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def spread_classifier(rng, feats, ncls, target_std, min_gap):
    """Classifier weights [ncls, d] scaled so the logits for `feats` have a
    standard deviation of `target_std`, redrawn (deterministically) until the
    top-6 logits (or all, if fewer) are at least `min_gap` apart, so a top-5
    printed in a demo is unambiguous and survives small (e.g. int8) errors."""
    d = feats.shape[-1]
    for _ in range(1000):
        w = rng.standard_normal((ncls, d))
        b = rng.standard_normal(ncls) * 0.1
        w *= target_std / (feats @ w.T).std()
        top = np.sort((feats @ w.T + b).ravel())[::-1][:6]
        if np.all(-np.diff(top) >= min_gap):
            return w.astype(np.float32), b.astype(np.float32)
    raise RuntimeError("no well-separated classifier found")


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def image_input(seed):
    """A deterministic 32x32 RGB 'image' in [0,1] (smooth gradients, a disc,
    stripes, a little noise), normalized with the ImageNet mean/std."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    disc = ((xx - 0.62) ** 2 + (yy - 0.4) ** 2 < 0.07).astype(np.float64)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + 0.5 * yy) * 3)
    r = 0.55 * xx + 0.35 * disc + 0.1 * stripes
    g = 0.6 * yy + 0.3 * (1 - disc) * stripes
    bch = 0.8 * (1 - xx) * (1 - yy) + 0.2 * disc
    img = np.stack([r, g, bch]) + rng.standard_normal((3, 32, 32)) * 0.03
    img = np.clip(img, 0.0, 1.0)
    mean = np.array([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = np.array([0.229, 0.224, 0.225]).reshape(3, 1, 1)
    return ((img - mean) / std)[None].astype(np.float32)


# --------------------------------------------------------------------------
# 1. ResNet-style CNN
# --------------------------------------------------------------------------

def build_cnn():
    rng = np.random.RandomState(1)
    b = Builder(rng)

    def conv_bn(x, prefix, cin, cout, k, stride, pad, conv_bias=False, act=True):
        w = b.conv_weight(prefix + ".conv.weight", cout, cin, k)
        ins = [x, w]
        if conv_bias:
            ins.append(b.init(prefix + ".conv.bias",
                              (rng.standard_normal(cout) * 0.1).astype(np.float32)))
        y = b.node("Conv", ins, name=prefix + ".conv", kernel_shape=[k, k],
                   strides=[stride, stride], pads=[pad] * 4)
        y = b.node("BatchNormalization", [y] + b.bn_params(prefix + ".bn", cout),
                   name=prefix + ".bn", epsilon=1e-5)
        if act:
            y = b.node("Relu", [y], name=prefix + ".relu")
        return y

    def basic_block(x, prefix, cin, cout, stride):
        y = conv_bn(x, prefix + ".1", cin, cout, 3, stride, 1)
        y = conv_bn(y, prefix + ".2", cout, cout, 3, 1, 1, act=False)
        if stride != 1 or cin != cout:
            sc = conv_bn(x, prefix + ".downsample", cin, cout, 1, stride, 0, act=False)
        else:
            sc = x
        y = b.node("Add", [y, sc], name=prefix + ".add")
        return b.node("Relu", [y], name=prefix + ".relu")

    # The stem conv has a bias (exercises BN folding into an existing bias);
    # the others have none, as in torchvision.
    x = conv_bn("input", "stem", 3, 16, 3, 1, 1, conv_bias=True)          # 16x32x32
    x = b.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])  # 16x16x16
    x = basic_block(x, "layer1", 16, 16, 1)                                 # 16x16x16
    x = basic_block(x, "layer2", 16, 32, 2)                                 # 32x8x8 (1x1 projection)
    x = b.node("GlobalAveragePool", [x], name="gap")                        # 32x1x1
    feat = b.node("Flatten", [x], name="flatten", axis=1)                   # [1,32]

    # Classifier scaled so the logits of the sample input spread over a few units.
    inp = image_input(100)
    f = cnn_numpy_features(f64(b.w), inp.astype(np.float64))
    fcw, fcb = spread_classifier(rng, f, 10, 2.5, 0.5)
    b.node("Gemm", [feat, b.init("fc.weight", fcw), b.init("fc.bias", fcb)], ["logits"],
           name="fc", transB=1)

    model = make_model(
        b, "ingot_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        "Small ResNet-style CNN (stem, maxpool, 2 basic blocks, GAP, FC) for Ingot tests.")
    return model, {"input": inp}, lambda feeds: {"logits": cnn_numpy(f64(b.w), feeds["input"])}


def cnn_numpy_features(w, x):
    def cbr(x, p, stride, pad, act=True):
        y = np_conv(x, w[p + ".conv.weight"], w.get(p + ".conv.bias"), stride, pad)
        y = np_bn(y, w[p + ".bn.weight"], w[p + ".bn.bias"], w[p + ".bn.running_mean"],
                  w[p + ".bn.running_var"])
        return relu(y) if act else y

    def block(x, p, stride):
        y = cbr(x, p + ".1", stride, 1)
        y = cbr(y, p + ".2", 1, 1, act=False)
        sc = cbr(x, p + ".downsample", stride, 0, act=False) if p + ".downsample.conv.weight" in w else x
        return relu(y + sc)

    x = cbr(x, "stem", 1, 1)
    x = np_maxpool(x, 2, 2)
    x = block(x, "layer1", 1)
    x = block(x, "layer2", 2)
    return x.mean(axis=(2, 3))


def cnn_numpy(w, x):
    f = cnn_numpy_features(w, x.astype(np.float64))
    return f @ w["fc.weight"].T + w["fc.bias"]


# --------------------------------------------------------------------------
# 2. MobileNetV2-style CNN
# --------------------------------------------------------------------------

# (expand ratio, out channels, stride) of each inverted-residual block
MBV2_BLOCKS = [(1, 8, 1), (4, 8, 1), (4, 16, 2), (4, 16, 1)]
MBV2_STEM = 8
MBV2_LAST = 64


def build_mobilenet():
    rng = np.random.RandomState(2)
    b = Builder(rng)
    zero = b.init("relu6.min", np.array(0.0, dtype=np.float32))
    six = b.init("relu6.max", np.array(6.0, dtype=np.float32))

    def conv_bn(x, prefix, cin, cout, k, stride, group=1, act=True):
        w = b.conv_weight(prefix + ".conv.weight", cout, cin // group, k)
        y = b.node("Conv", [x, w], name=prefix + ".conv", kernel_shape=[k, k],
                   strides=[stride, stride], pads=[k // 2] * 4, group=group)
        y = b.node("BatchNormalization", [y] + b.bn_params(prefix + ".bn", cout),
                   name=prefix + ".bn", epsilon=1e-5)
        if act:
            y = b.node("Clip", [y, zero, six], name=prefix + ".relu6")
        return y

    x = conv_bn("input", "stem", 3, MBV2_STEM, 3, 2)                   # 8x16x16
    cin = MBV2_STEM
    for i, (t, cout, s) in enumerate(MBV2_BLOCKS):
        p = f"block{i}"
        hidden = cin * t
        y = x
        if t != 1:
            y = conv_bn(y, p + ".expand", cin, hidden, 1, 1)
        y = conv_bn(y, p + ".dw", hidden, hidden, 3, s, group=hidden)
        y = conv_bn(y, p + ".project", hidden, cout, 1, 1, act=False)
        if s == 1 and cin == cout:
            y = b.node("Add", [x, y], name=p + ".add")
        x, cin = y, cout
    x = conv_bn(x, "last", cin, MBV2_LAST, 1, 1)                          # 64x8x8
    x = b.node("GlobalAveragePool", [x], name="gap")                      # 64x1x1
    feat = b.node("Reshape", [x, b.init("flatten.shape", np.array([1, -1], dtype=np.int64))],
                  name="flatten")                                           # [1,64]

    inp = image_input(200)
    f = mobilenet_numpy_features(f64(b.w), inp.astype(np.float64))
    fcw, fcb = spread_classifier(rng, f, 10, 2.5, 0.5)
    b.node("Gemm", [feat, b.init("fc.weight", fcw), b.init("fc.bias", fcb)], ["logits"],
           name="fc", transB=1)

    model = make_model(
        b, "ingot_mobilenet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        "Small MobileNetV2-style CNN (inverted residuals, depthwise convs, ReLU6) for Ingot tests.")
    return model, {"input": inp}, lambda feeds: {"logits": mobilenet_numpy(f64(b.w), feeds["input"])}


def mobilenet_numpy_features(w, x):
    def cb(x, p, stride, group=1, act=True):
        k = w[p + ".conv.weight"].shape[-1]
        y = np_conv(x, w[p + ".conv.weight"], None, stride, k // 2, group)
        y = np_bn(y, w[p + ".bn.weight"], w[p + ".bn.bias"], w[p + ".bn.running_mean"],
                  w[p + ".bn.running_var"])
        return relu6(y) if act else y

    x = cb(x, "stem", 2)
    cin = MBV2_STEM
    for i, (t, cout, s) in enumerate(MBV2_BLOCKS):
        p = f"block{i}"
        y = cb(x, p + ".expand", 1) if t != 1 else x
        y = cb(y, p + ".dw", s, group=cin * t)
        y = cb(y, p + ".project", 1, act=False)
        x = x + y if (s == 1 and cin == cout) else y
        cin = cout
    x = cb(x, "last", 1)
    return x.mean(axis=(2, 3))


def mobilenet_numpy(w, x):
    f = mobilenet_numpy_features(w, x.astype(np.float64))
    return f @ w["fc.weight"].T + w["fc.bias"]


# --------------------------------------------------------------------------
# 3. Transformer encoder
# --------------------------------------------------------------------------

VOCAB, SEQ, D, HEADS, FF, LAYERS, NCLS = 100, 16, 32, 4, 64, 2, 4
DK = D // HEADS


def build_transformer():
    rng = np.random.RandomState(3)
    b = Builder(rng)

    def lin_w(name, din, dout, gain=1.0):
        w = rng.standard_normal((din, dout)) * (gain / math.sqrt(din))
        return b.init(name, w.astype(np.float32))

    def lin_b(name, n):
        return b.init(name, (rng.standard_normal(n) * 0.05).astype(np.float32))

    def linear(x, p, din, dout, gain=1.0):
        y = b.node("MatMul", [x, lin_w(p + ".weight", din, dout, gain)], name=p + ".matmul")
        return b.node("Add", [y, lin_b(p + ".bias", dout)], name=p + ".add")

    def layernorm(x, p, out=None):
        s = b.init(p + ".weight", rng.uniform(0.8, 1.2, D).astype(np.float32))
        bb = b.init(p + ".bias", (rng.standard_normal(D) * 0.05).astype(np.float32))
        return b.node("LayerNormalization", [x, s, bb], [out] if out else None, name=p,
                      axis=-1, epsilon=1e-5)

    heads_shape = b.init("shape.heads", np.array([1, SEQ, HEADS, DK], dtype=np.int64))
    model_shape = b.init("shape.model", np.array([1, SEQ, D], dtype=np.int64))
    inv_sqrt_dk = b.init("attn.scale", np.array(1.0 / math.sqrt(DK), dtype=np.float32))
    sqrt2 = b.init("gelu.sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    one = b.init("gelu.one", np.array(1.0, dtype=np.float32))
    half = b.init("gelu.half", np.array(0.5, dtype=np.float32))

    emb = b.init("embed.weight", (rng.standard_normal((VOCAB, D)) * 0.5).astype(np.float32))
    pos = b.init("pos_embed", (rng.standard_normal((1, SEQ, D)) * 0.1).astype(np.float32))
    x = b.node("Gather", [emb, "tokens"], name="embed", axis=0)          # [1,16,32]
    x = b.node("Add", [x, pos], name="pos_add")

    for l in range(LAYERS):
        p = f"layer{l}"

        def heads(t, perm, nm):
            t = b.node("Reshape", [t, heads_shape], name=f"{p}.attn.{nm}.split")
            return b.node("Transpose", [t], name=f"{p}.attn.{nm}.transpose", perm=perm)

        # Q/K gain 2 so the attention is clearly non-uniform.
        q = heads(linear(x, p + ".attn.q", D, D, 2.0), [0, 2, 1, 3], "q")  # [1,4,16,8]
        k = heads(linear(x, p + ".attn.k", D, D, 2.0), [0, 2, 3, 1], "k")  # [1,4,8,16]
        v = heads(linear(x, p + ".attn.v", D, D), [0, 2, 1, 3], "v")       # [1,4,16,8]
        s = b.node("MatMul", [q, k], name=p + ".attn.qk")                   # [1,4,16,16]
        s = b.node("Mul", [s, inv_sqrt_dk], name=p + ".attn.scale")
        a = b.node("Softmax", [s], name=p + ".attn.softmax", axis=-1)
        o = b.node("MatMul", [a, v], name=p + ".attn.av")                   # [1,4,16,8]
        o = b.node("Transpose", [o], name=p + ".attn.merge_transpose", perm=[0, 2, 1, 3])
        o = b.node("Reshape", [o, model_shape], name=p + ".attn.merge")     # [1,16,32]
        o = linear(o, p + ".attn.out", D, D)
        x = b.node("Add", [x, o], name=p + ".attn.residual")
        x = layernorm(x, p + ".ln1")

        h = linear(x, p + ".ff1", D, FF)                                     # [1,16,64]
        g = b.node("Div", [h, sqrt2], name=p + ".gelu.div")
        g = b.node("Erf", [g], name=p + ".gelu.erf")
        g = b.node("Add", [g, one], name=p + ".gelu.add")
        g = b.node("Mul", [h, g], name=p + ".gelu.mul")
        g = b.node("Mul", [g, half], name=p + ".gelu.mul_half")
        h = linear(g, p + ".ff2", FF, D)
        x = b.node("Add", [x, h], name=p + ".ff.residual")
        x = layernorm(x, p + ".ln2", "hidden" if l == LAYERS - 1 else None)

    pooled = b.node("ReduceMean", ["hidden"], name="pool", axes=[1], keepdims=0)  # [1,32]

    rs = np.random.RandomState(300)
    tokens = rs.randint(0, VOCAB, size=(1, SEQ)).astype(np.int64)
    f = transformer_numpy_features(f64(b.w), tokens).mean(axis=1)
    clw, clb = spread_classifier(rng, f, NCLS, 2.0, 0.5)
    b.node("Gemm", [pooled, b.init("cls.weight", clw), b.init("cls.bias", clb)], ["logits"],
           name="cls", transB=1)

    model = make_model(
        b, "ingot_transformer",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, SEQ])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [1, SEQ, D]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, NCLS])],
        "Small 2-layer post-LN transformer encoder (4-head self-attention, erf GELU) for Ingot tests.")

    def ref(feeds):
        hid = transformer_numpy_features(f64(b.w), feeds["tokens"])
        return {"hidden": hid, "logits": hid.mean(axis=1) @ b.w["cls.weight"].T.astype(np.float64)
                + b.w["cls.bias"]}
    return model, {"tokens": tokens}, ref


def transformer_numpy_features(w, tokens):
    x = w["embed.weight"][tokens] + w["pos_embed"]                       # [1,16,32]
    for l in range(LAYERS):
        p = f"layer{l}"
        lin = lambda t, n: t @ w[n + ".weight"] + w[n + ".bias"]
        split = lambda t: t.reshape(1, SEQ, HEADS, DK).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + ".attn." + n)) for n in "qkv")
        a = np_softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(DK))
        o = (a @ v).transpose(0, 2, 1, 3).reshape(1, SEQ, D)
        x = np_layernorm(x + lin(o, p + ".attn.out"), w[p + ".ln1.weight"], w[p + ".ln1.bias"])
        h = lin(np_gelu(lin(x, p + ".ff1")), p + ".ff2")
        x = np_layernorm(x + h, w[p + ".ln2.weight"], w[p + ".ln2.bias"])
    return x


# --------------------------------------------------------------------------

def main():
    total = 0
    for name, build in [("cnn", build_cnn), ("mobilenet", build_mobilenet),
                        ("transformer", build_transformer)]:
        model, feeds, numpy_ref = build()
        path = os.path.join(HERE, name + ".onnx")
        onnx.save(model, path)
        onnx.checker.check_model(path, full_check=True)

        sess = ReferenceEvaluator(model)
        out_names = [o.name for o in model.graph.output]
        outs = dict(zip(out_names, sess.run(None, feeds)))
        ref = numpy_ref(feeds)
        files = [path]
        for in_name, arr in feeds.items():
            fn = os.path.join(HERE, f"{name}.input.npy")  # one input per model
            np.save(fn, arr)
            files.append(fn)
        for o in model.graph.output:
            got = outs[o.name]
            want_shape = [d.dim_value for d in o.type.tensor_type.shape.dim]
            assert list(got.shape) == want_shape, (name, o.name, got.shape, want_shape)
            assert got.dtype == np.float32, (name, o.name, got.dtype)
            err = float(np.max(np.abs(got.astype(np.float64) - ref[o.name])))
            assert err <= TOL, f"{name}.{o.name}: ReferenceEvaluator vs numpy differ by {err}"
            fn = os.path.join(HERE, f"{name}.{o.name}.npy")
            np.save(fn, got)
            files.append(fn)
            print(f"{name}.{o.name}: shape {list(got.shape)}, max |evaluator - numpy| = {err:.2e}")
        if "logits" in outs:
            lg = outs["logits"][0]
            order = np.argsort(-lg)
            print(f"  logits {np.array2string(lg, precision=3)}")
            print(f"  top-5 {order[:5].tolist()}  range {lg.max() - lg.min():.3f}")
        for fn in files:
            sz = os.path.getsize(fn)
            total += sz
            print(f"  {os.path.relpath(fn, HERE)}: {sz} bytes")
    print(f"total {total} bytes; onnx {onnx.__version__}, numpy {np.__version__}")
    assert total < 2 * 1024 * 1024


if __name__ == "__main__":
    sys.exit(main())
