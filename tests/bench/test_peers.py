#!/usr/bin/env python3
"""The parts of bench/run (bench/peers.py) that need no network and no peer:
the --help text, batch variants of a model that an Ingot engine accepts,
the agreement figures (top-1, SQNR, cosine with mean pooling), the
sentences taken from docs/*.md, and error shortening.

The benchmark itself installs the peers from PyPI, so it is not a CTest.

usage: test_peers.py INGOT TMPDIR   (with /usr/bin/python3: numpy + onnx)
"""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import peers  # noqa: E402

failures = []
checks = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    checks.append(what)
    if not cond:
        failures.append(what)


def main():
    ingot, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)

    r = subprocess.run(["bash", os.path.join(ROOT, "bench", "run"), "--help"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "--quick" in r.stdout and "usage: bench/run" in r.stdout,
          "bench/run --help prints the usage and touches nothing")

    # a fixed-batch-1 model made batch 8: Ingot builds it and runs 8 samples
    src = os.path.join(ROOT, "tests", "models", "cnn.onnx")
    v8 = peers.batch_variant(src, 8, os.path.join(tmp, "cnn.b8.onnx"))
    import onnx
    g = onnx.load(v8).graph
    check(g.input[0].type.tensor_type.shape.dim[0].dim_value == 8, "batch variant: input dim 8")
    check(len(g.value_info) == 0, "batch variant: stale shapes dropped")
    eng = os.path.join(tmp, "cnn.b8.ingot")
    r = subprocess.run([ingot, "build", v8, "-o", eng, "--shapes", "input:8x3x32x32"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "ingot builds the batch-8 variant: " + r.stderr.strip()[-200:])
    x1 = np.load(os.path.join(ROOT, "tests", "models", "cnn.input.npy"))
    want = np.load(os.path.join(ROOT, "tests", "models", "cnn.logits.npy"))
    feed = peers.batched([{"input": x1}], 8)
    check(feed["input"].shape == (8, 3, 32, 32), "batched() stacks samples to the batch")
    np.save(os.path.join(tmp, "x8.npy"), feed["input"])
    out = os.path.join(tmp, "out")
    r = subprocess.run([ingot, "run", eng, "--input", "input=" + os.path.join(tmp, "x8.npy"),
                        "--output", out], capture_output=True, text=True)
    check(r.returncode == 0, "ingot runs the batch-8 engine")
    if r.returncode == 0:
        y = np.load(os.path.join(out, "logits.npy"))
        check(y.shape[0] == 8 and np.allclose(y, np.repeat(want, 8, 0), atol=1e-4),
              "every row of the batch-8 output equals the batch-1 expected logits")

    # agreement figures
    mod = peers.Model("m", "cnn", "test", src, [("input", (3, 32, 32), np.float32)], "logits")
    ref = [np.array([[1.0, 3.0, 2.0]]), np.array([[4.0, 0.0, 1.0]])]
    q = [np.array([[1.0, 3.0, 2.1]]), np.array([[0.0, 4.0, 1.0]])]
    text, agree, sqnr = peers.agreement(mod, ref, q)
    signal = 1 + 9 + 4 + 16 + 0 + 1
    noise = 0.01 + 16 + 16
    check(agree == 0.5 and abs(sqnr - 10 * np.log10(signal / noise)) < 1e-9
          and text.startswith("top-1 1/2"), "agreement: top-1 and SQNR by hand (%s)" % text)
    emb = peers.Model("e", "encoder", "test", src, [], "embedding")
    emb.eval = [{"attention_mask": np.array([[1, 1, 0]])}]
    h = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 9.0]]])  # the padded token differs
    hq = np.array([[[2.0, 0.0], [2.0, 0.0], [9.0, 0.0]]])
    text, cos, _ = peers.agreement(emb, [h], [hq])
    check(abs(cos - 1.0) < 1e-12, "agreement: cosine of mean-pooled embeddings ignores "
          "padding (%s)" % text)
    tens = peers.Model("t", "encoder", "test", src, [], "tensor")
    tens.eval = [{}]
    _, cos, _ = peers.agreement(tens, [np.array([1.0, 0.0])], [np.array([0.0, 1.0])])
    check(abs(cos) < 1e-12, "agreement: cosine of orthogonal outputs is 0")

    s = peers.sentences()
    check(len(s) >= 50 and all(40 <= len(x) <= 400 for x in s),
          "sentences(): %d real sentences from docs/*.md" % len(s))
    check(peers.short_error("Traceback\n  x\nValueError: bad | thing\n") ==
          "ValueError: bad / thing", "short_error keeps the last line, no table bars")
    print("%d passed, %d failed" % (len(checks) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
