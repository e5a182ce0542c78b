#!/usr/bin/env python3
"""A transformer encoder with outlier channels, for the accuracy-driven
mixed-precision tests and docs/accuracy.md (issue 6), generated at test time,
never checked in.

usage: make_outlier_transformer.py OUTDIR [N_CALIB [N_HELDOUT]]

Writes OUTDIR/transformer_outlier.onnx, OUTDIR/calib/NNNN.npy (default 64)
and OUTDIR/heldout/NNNN.npy (default 200): int64 [1,16] token sequences.

The model is the sample transformer (tests/models/transformer.onnx, made by
make_models.py) with what large trained transformers are known for: a few
channels much larger than the rest.  In both layers the attention values V
get OUTLIER_CHANNELS multiplied by OUTLIER_GAIN (columns of the v weight and
bias) and the output projection reads them divided by it (rows of the out
weight).  Attention is linear in V, so the model computes the same function
as the sample transformer (up to float rounding), but the tensors from V to
the output projection carry channels OUTLIER_GAIN times larger than the
rest.  Per-tensor int8 activations spend their 256 steps on those channels;
the layers that write or read them (v, av, out) lose most of their
resolution, the others do not.  So plain int8 misses an accuracy target
that falling back a few layers to fp32 meets.
Deterministic (fixed seeds).
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

OUTLIER_CHANNELS = [5, 21]
OUTLIER_GAIN = 50.0
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    out = sys.argv[1]
    n_calib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    n_held = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    m = onnx.load(os.path.join(HERE, "transformer.onnx"))
    inits = {t.name: t for t in m.graph.initializer}

    def scale(name, fn):
        t = inits[name]
        a = numpy_helper.to_array(t).copy()
        a = fn(a).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(a, name))

    ch = OUTLIER_CHANNELS
    for layer in ("layer0", "layer1"):
        def up(a):  # v's weight [in, out] columns and bias [out]
            a[..., ch] *= OUTLIER_GAIN
            return a

        def down(a):  # out's weight [in, out] rows
            a[ch, :] /= OUTLIER_GAIN
            return a
        scale(layer + ".attn.v.weight", up)
        scale(layer + ".attn.v.bias", up)
        scale(layer + ".attn.out.weight", down)
    m.graph.name = "transformer_outlier"
    onnx.checker.check_model(m)
    os.makedirs(out, exist_ok=True)
    onnx.save(m, os.path.join(out, "transformer_outlier.onnx"))
    vocab = numpy_helper.to_array(inits["embed.weight"]).shape[0]
    seq = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    for sub, n, seed in (("calib", n_calib, 1000), ("heldout", n_held, 5000)):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        for k in range(n):
            rng = np.random.RandomState(seed + k)
            x = rng.randint(0, vocab, size=seq).astype(np.int64)
            np.save(os.path.join(out, sub, "%04d.npy" % k), x)


if __name__ == "__main__":
    main()
