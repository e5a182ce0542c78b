#!/usr/bin/env python3
"""The parts of bench/run (bench/peers.py) that need no network and no peer:
the --help text, batch variants of a model that an Ingot engine accepts
(and the rewrite of Reshape shapes that fix batch 1, checked row by row
against batch 1 with Ingot), the folding of initializer Reshapes, the
artefact cache (keys, hits, failures, --no-cache), the per-cell time
budget, the choice of the worst misses to profile, the agreement figures
(top-1, SQNR, cosine with mean pooling), the sentences taken from
docs/*.md, and error shortening.

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
    # every helper of peers.py runs the binary under test (CI has only the
    # ASan build, not build/bin/ingot)
    peers.INGOT = ingot

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

    # models that fix batch 1 in Reshape constants: rewritten, and each row
    # of the batch-8 result equals the batch-1 result of its sample
    for name, inp, shape, dtype in (("mobilenet", "input", (3, 32, 32), np.float32),
                                    ("transformer", "tokens", (16,), np.int64)):
        src = os.path.join(ROOT, "tests", "models", name + ".onnx")
        rw1 = peers.batch_rewrite(src, 1, os.path.join(tmp, name + ".b1.onnx"))
        rw8 = peers.batch_rewrite(src, 8, os.path.join(tmp, name + ".b8.onnx"))
        rw0 = peers.batch_rewrite(src, 0, os.path.join(tmp, name + ".bN.onnx"))
        d0 = onnx.load(os.path.join(tmp, name + ".bN.onnx")).graph.input[0].type.tensor_type
        check(rw1 == [] and len(rw8) >= 1 and rw0 == [] and
              d0.shape.dim[0].dim_param == "batch",
              "batch_rewrite %s: %d Reshape(s) rewritten at batch 8 (%s), none at batch 1 "
              "or with a symbolic batch" % (name, len(rw8), ",".join(rw8[:2])))
        rng = np.random.default_rng(1)
        if dtype == np.int64:
            xs = [rng.integers(0, 50, (1,) + shape).astype(dtype) for _ in range(8)]
        else:
            xs = [rng.standard_normal((1,) + shape).astype(dtype) for _ in range(8)]
        outs = {}
        for b in (1, 8):
            eng = os.path.join(tmp, "%s.b%d.ingot" % (name, b))
            sh = "%s:%s" % (inp, "x".join(str(x) for x in (b,) + shape))
            r = subprocess.run([ingot, "build", os.path.join(tmp, "%s.b%d.onnx" % (name, b)),
                                "-o", eng, "--shapes", sh], capture_output=True, text=True)
            check(r.returncode == 0, "ingot builds the rewritten %s at batch %d: %s" % (
                name, b, r.stderr.strip()[-200:]))
            if r.returncode:
                break
            res = []
            for i in range(0, 8, b):
                f = os.path.join(tmp, "%s.x%d.npy" % (name, b))
                np.save(f, np.concatenate(xs[i:i + b]))
                o = os.path.join(tmp, "%s.out%d" % (name, b))
                r = subprocess.run([ingot, "run", eng, "--input", "%s=%s" % (inp, f),
                                    "--output", o], capture_output=True, text=True)
                if r.returncode:
                    break
                y = [x for x in sorted(os.listdir(o)) if x.endswith(".npy")]
                res.append(np.load(os.path.join(o, y[0])))
            outs[b] = np.concatenate(res) if len(res) == 8 // b else None
        if len(outs) == 2 and outs[1] is not None and outs[8] is not None:
            check(outs[8].shape == outs[1].shape and np.allclose(outs[8], outs[1], atol=1e-4,
                                                                 rtol=1e-4),
                  "%s batch 8 rows equal the batch-1 results of the same samples" % name)

    eng1 = os.path.join(tmp, "mobilenet.b1.ingot")
    if os.path.exists(eng1):
        t = peers.profile_text(eng1, 1, 1.0)
        rows = [l for l in t.splitlines() if l.startswith("| ") and "---" not in l]
        check(rows[:1] == ["| step | nodes | op | family | µs | share | GOPS |"] and
              len(rows) == 9, "profile_text: the eight slowest steps of `ingot profile` "
              "as a table")

    # a Reshape of an initializer is folded; initializers listed as inputs
    # are taken out of the inputs
    from onnx import TensorProto, helper, numpy_helper
    w0 = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(2, 2, 3), "w0")
    shp = numpy_helper.from_array(np.array([4, 3], np.int64), "shape")
    g = helper.make_graph(
        [helper.make_node("Reshape", ["w0", "shape"], ["w"], name="wr"),
         helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("w0", TensorProto.FLOAT, [2, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w0, shp])
    src = os.path.join(tmp, "fold.onnx")
    fm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 8)])
    fm.ir_version = 3
    onnx.save(fm, src)
    rw = peers.batch_rewrite(src, 8, os.path.join(tmp, "fold.b8.onnx"))
    g8 = onnx.load(os.path.join(tmp, "fold.b8.onnx")).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g8.initializer}
    check(rw == [] and [n.op_type for n in g8.node] == ["MatMul"] and
          [i.name for i in g8.input] == ["x"] and set(inits) == {"w"} and
          inits["w"].shape == (4, 3) and
          np.array_equal(inits["w"].reshape(-1), np.arange(12, dtype=np.float32)) and
          g8.input[0].type.tensor_type.shape.dim[0].dim_value == 8 and
          onnx.load(os.path.join(tmp, "fold.b8.onnx")).ir_version == 4,
          "batch_rewrite folds Reshape(initializer), drops initializers from the inputs "
          "(IR 3 becomes 4) and unused initializers")

    # the cache: a key of the inputs; a hit skips the build and keeps its time
    art = os.path.join(tmp, "cache", "art.bin")
    calls = []

    def build(content=b"x"):
        calls.append(1)
        os.makedirs(os.path.dirname(art), exist_ok=True)
        with open(art, "wb") as f:
            f.write(content)
        return {"bytes": len(content)}
    for f in (art, art + ".key.json"):
        if os.path.exists(f):
            os.remove(f)
    k1 = peers.cache_key(src=peers.file_sha(src), tool="1.0", opts=["--int8"])
    k2 = peers.cache_key(src=peers.file_sha(src), tool="1.1", opts=["--int8"])
    check(k1 != k2 and k1 == peers.cache_key(opts=["--int8"], tool="1.0",
                                             src=peers.file_sha(src)),
          "cache_key: canonical (argument order), and a new tool version is a new key")
    r1, hit1 = peers.cached(art, k1, build)
    r2, hit2 = peers.cached(art, k1, build)
    check(not hit1 and hit2 and len(calls) == 1 and r2["build_s"] == r1["build_s"] and
          r2["bytes"] == 1, "cached: the second call with the same key is a hit and keeps "
          "the build time")
    r3, hit3 = peers.cached(art, k2, build)
    check(not hit3 and len(calls) == 2, "cached: another key rebuilds")
    os.remove(art)
    r4, hit4 = peers.cached(art, k2, build)
    check(not hit4 and len(calls) == 3, "cached: a missing artefact rebuilds")

    def fail():
        calls.append(1)
        raise ValueError("bad | model")
    r5, _ = peers.cached(art, k1, fail)
    r6, hit6 = peers.cached(art, k1, fail)
    check(hit6 and len(calls) == 4 and r6["error"] == "ValueError: bad / model" and
          not os.path.exists(art), "cached: a failure is cached with its reason")

    def killed():
        calls.append(1)
        raise peers.ToolError("Ingot: killed", signal=True)
    peers.cached(art, k2, killed)
    _, hit7 = peers.cached(art, k2, killed)
    check(not hit7 and len(calls) == 6, "cached: a process killed by a signal is not cached")
    memo = os.path.join(tmp, "cache", "figure")
    rec1, _ = peers.cached(memo, k1, lambda: {"value": 0.5}, outputs=[])
    rec2, hit = peers.cached(memo, k1, lambda: {"value": 0.7}, outputs=[])
    check(hit and rec2["value"] == 0.5, "cached: a result with no file (outputs=[]) is a "
          "hit the second time")
    peers.NO_CACHE = True
    peers.cached(art, k1, build)
    peers.NO_CACHE = False
    check(len(calls) == 7, "cached: --no-cache rebuilds")
    check(peers.samples_sha([{"a": np.zeros(3, np.float32)}]) !=
          peers.samples_sha([{"a": np.zeros(3, np.float64)}]),
          "samples_sha: the dtype is part of the data's key")

    check(all(hasattr(peers.Peer, m) for m in ("ready", "run", "close")),
          "Peer: a worker's ready(), run() and close()")

    # the time budget of a cell
    pr = peers.planned_runs
    check(pr(0.001, 0.3, 200, 2, 2.0) == 200 and pr(0.01, 0.3, 200, 2, 2.0) == 30 and
          pr(0.5, 0.3, 200, 2, 2.0) == 2 and pr(1.5, 0.3, 200, 2, 2.0) == 1 and
          pr(3.0, 0.3, 200, 2, 2.0) == 1,
          "planned_runs: budget, min runs, max runs and the per-cell cap (%s)" % [
              pr(x, 0.3, 200, 2, 2.0) for x in (0.001, 0.01, 0.5, 1.5, 3.0)])
    miss = [("a", 1, 1, "", 0.9), ("a", 8, 1, "", 0.5), ("b", 1, 1, "", 0.7),
            ("c", 1, 2, "", 0.1), ("d", 1, 1, "", None), ("e", 1, 1, "", 0.95)]
    check([x[:2] for x in peers.worst_misses(miss, 2)] == [("a", 8), ("b", 1)],
          "worst_misses: the two models furthest from the goal at 1 thread, worst batch")

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
