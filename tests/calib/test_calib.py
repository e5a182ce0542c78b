#!/usr/bin/python3
"""test_calib.py — calibration (passes/calibrate.c, calib_hist.c,
calib_cache.c) against an independent numpy implementation.

    test_calib.py CALIB_CHECK INGOT TMPDIR

What is compared, on synthetic distributions (normal, Laplace, ReLU'd
normal, skewed uniform, bimodal, Student-t with heavy tails, constant 0):
  * histograms: the C histogram equals numpy's bin rule
    floor(|x| * 2048/amax) exactly, and np.histogram up to the elements
    lying within 1e-9 of a bin edge; feeding the data 1, 7, 1000 or all
    elements at a time gives identical counts (batch independence);
  * thresholds, from the same histogram: percentile exactly (same bin);
    entropy and mse: the C choice must minimise numpy's own direct
    evaluation of the objective (KL(P||Q) built bin by bin; the MSE model)
    to within 1e-9 relative — so a near-tie may pick another bin, a wrong
    objective may not;
  * end to end with `ingot calibrate`: the input tensor's range for every
    method against numpy on the raw data (percentile within one bin
    width), and the whole table identical for batch-1 and batch-4 runs of
    the same samples;
  * the cache: written, reused, stale (other weights, other method),
    corrupt, unknown and missing entries; and bad input.
Budget: about 10 s natively, under 60 s with ASan.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

CHECK, INGOT, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
BINS = 2048
failures = []
shutil.rmtree(TMP, ignore_errors=True)
os.makedirs(TMP)


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    if r.returncode not in (0, 1, 2):
        fail("%s: rc %d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
    if "runtime error" in r.stderr or "AddressSanitizer" in r.stderr:
        fail("%s: sanitizer report:\n%s" % (cmd, r.stderr))
    return r


def c_hist(x, amax, chunk):
    p, out = os.path.join(TMP, "x.npy"), os.path.join(TMP, "h.npy")
    np.save(p, x.astype(np.float32))
    r = run([CHECK, "hist", p, repr(amax), str(chunk), out])
    if r.returncode != 0:
        fail("hist: " + r.stdout)
        return np.zeros(BINS, np.uint64)
    return np.load(out)


def c_thresholds(h, amax, mn, mx):
    p = os.path.join(TMP, "h.npy")
    np.save(p, h.astype(np.uint64))
    r = run([CHECK, "thresholds", p, repr(amax), repr(float(mn)), repr(float(mx))])
    return {l.split()[0]: float(l.split()[1]) for l in r.stdout.splitlines()}


# --- numpy reference methods (direct, bin by bin) ----------------------------
def np_percentile(h, amax, p):
    w = amax / BINS
    cdf = np.cumsum(h.astype(np.float64))
    i = int(np.argmax(cdf >= p / 100.0 * cdf[-1]))
    return (i + 1) * w


def np_kl(h, i, L):
    """KL(P||Q) for keeping bins [0, i) with L levels: TensorRT's
    construction with bin 0 counted as bin 1 (see calib_hist.c), evaluated
    directly on normalised distributions; inf where Q is 0 and P is not."""
    h = h.astype(np.float64).copy()
    h[0] = h[1]
    S = h[:i]
    P = S.copy()
    P[i - 1] += h[i:].sum()
    starts = np.arange(L) * i // L
    lengths = np.diff(np.append(starts, i))
    C = np.add.reduceat(S, starts)
    nz = np.add.reduceat((S > 0).astype(np.float64), starts)
    Q = np.repeat(np.divide(C, nz, out=np.zeros(L), where=nz > 0), lengths) * (S > 0)
    m = P > 0
    if np.any(Q[m] == 0):
        return np.inf
    p, q = P / P.sum(), Q / Q.sum()
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def np_mse(h, amax, i, mn, mx):
    w = amax / BINS
    t = i * w
    c = (np.arange(BINS) + 0.5) * w
    hi, lo = max(min(mx, t), 0.0), min(max(mn, -t), 0.0)
    step = (hi - lo) / 255.0
    h = h.astype(np.float64)
    return h[:i].sum() * step * step / 12.0 + float(np.sum(h[i:] * (c[i:] - t) ** 2))


def check_optimal(what, objective, cand, t_c, w):
    i_c = int(round(t_c / w))
    vals = np.array([objective(i) for i in cand])
    best = vals.min()
    got = objective(i_c) if i_c in cand else np.inf
    i_np = cand[int(np.argmin(vals))]
    print("  %s: C bin %d, numpy bin %d, objective %.9g vs min %.9g" % (what, i_c, i_np, got, best))
    if not got <= best * (1 + 1e-9) + 1e-15:
        fail("%s: C threshold bin %d (objective %.12g) is not numpy's minimum %.12g at bin %d" % (
            what, i_c, got, best, i_np))


rng = np.random.default_rng(1234)
N = 60000
dists = {
    "normal": rng.standard_normal(N),
    "laplace": rng.laplace(0, 1, N),
    "relu_normal": np.maximum(rng.standard_normal(N) * 2 + 0.5, 0),
    "uniform_skewed": rng.uniform(-1, 3, N),
    "bimodal": np.concatenate([rng.normal(-2, 0.3, N // 2), rng.normal(5, 1, N // 2)]),
    "student_t3": rng.standard_t(3, N),
    "zeros": np.zeros(N),
}
for name, x in dists.items():
    x = x.astype(np.float32)
    print(name)
    amax = float(np.max(np.abs(x)))
    mn, mx = float(x.min()), float(x.max())
    h = c_hist(x, amax, 1000)
    ax = np.abs(x.astype(np.float64))
    k = 2048.0 / amax if amax > 0 else 0.0
    ref = np.bincount(np.minimum((ax * k).astype(np.int64), BINS - 1), minlength=BINS)
    if not np.array_equal(h.astype(np.int64), ref):
        fail("%s: histogram differs from floor(|x|*2048/amax)" % name)
    if amax > 0:
        nph, _ = np.histogram(ax, bins=BINS, range=(0, amax))
        near = int(np.sum(np.abs(ax * k - np.round(ax * k)) < 1e-9 * BINS))
        if np.abs(nph - ref).sum() > 2 * near:
            fail("%s: histogram differs from np.histogram by %d (edge elements %d)" % (
                name, np.abs(nph - ref).sum(), near))
    for chunk in (1, 7, 0):
        if chunk == 1 and name not in ("normal", "relu_normal"):
            continue  # element by element is slow under ASan: two suffice
        if not np.array_equal(c_hist(x, amax, chunk), h):
            fail("%s: histogram fed %s at a time differs" % (name, chunk or "all"))
    t = c_thresholds(h, amax, mn, mx)
    w = amax / BINS
    if amax == 0:
        if any(v != 0 for v in t.values()):
            fail("zeros: thresholds %s, expected 0" % t)
        continue
    for p, key in ((99.99, "percentile99.99"), (99.0, "percentile99")):
        want = np_percentile(h, amax, p)
        print("  %s: C %.6g numpy %.6g" % (key, t[key], want))
        if abs(t[key] - want) > 1e-9 * amax:
            fail("%s %s: C %.9g numpy %.9g" % (name, key, t[key], want))
    L = 256 if mn >= 0 else 128
    check_optimal(name + " entropy", lambda i: np_kl(h, i, L), list(range(L, BINS + 1)), t["entropy"], w)
    check_optimal(name + " mse", lambda i: np_mse(h, amax, i, mn, mx), list(range(1, BINS + 1)), t["mse"], w)

# --- end to end: ingot calibrate ------------------------------------------------
def make_model(path, wseed, batch="N"):
    W = np.random.default_rng(wseed).standard_normal((16, 8)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["mm"]), helper.make_node("Relu", ["mm"], ["y"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])],
        [numpy_helper.from_array(W, "W")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def table(r):
    """{tensor: (min, max, lo, hi)} from ingot calibrate's stdout."""
    out = {}
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if len(f) == 5:
            out[f[0]] = tuple(float(v) for v in f[1:])
    return out


m = make_model(os.path.join(TMP, "m.onnx"), 1)
m_other = make_model(os.path.join(TMP, "m_other.onnx"), 2)
X = (rng.standard_t(4, (64, 16)) * 1.5 + 0.3).astype(np.float32)
batched = os.path.join(TMP, "batched")
single = os.path.join(TMP, "single")
os.makedirs(batched)
os.makedirs(single)
np.save(os.path.join(batched, "all.npy"), X)
for k in range(64):
    np.save(os.path.join(single, "s%02d.npy" % k), X[k])
xa = np.abs(X.astype(np.float64))
amax = float(xa.max())
for meth in ("minmax", "percentile", "percentile=99", "entropy", "mse"):
    r1 = run([INGOT, "calibrate", m, "--calib", single, "--calib-method", meth, "--shapes", "x:1x16"])
    r4 = run([INGOT, "calibrate", m, "--calib", batched, "--calib-method", meth, "--shapes", "x:4x16"])
    if r1.returncode or r4.returncode:
        fail("calibrate %s: %s %s" % (meth, r1.stderr, r4.stderr))
        continue
    t1, t4 = table(r1), table(r4)
    if t1 != t4 or set(t1) != {"x", "mm", "y"}:
        fail("calibrate %s: batch 1 and batch 4 tables differ or are incomplete:\n%s\n%s" % (
            meth, r1.stdout, r4.stdout))
    mn, mx, lo, hi = t1["x"]
    if abs(mn - X.min()) > 1e-5 * amax or abs(mx - X.max()) > 1e-5 * amax:
        fail("calibrate %s: min/max of x %g %g, numpy %g %g" % (meth, mn, mx, X.min(), X.max()))
    if meth == "minmax":
        want = (min(float(X.min()), 0), max(float(X.max()), 0))
    elif meth.startswith("percentile"):
        p = float(meth.split("=")[1]) if "=" in meth else 99.99
        nph, _ = np.histogram(xa, bins=BINS, range=(0, amax))
        tt = np_percentile(nph, amax, p)
        want = (max(float(X.min()), -tt), min(float(X.max()), tt))
    else:
        want = None
    print("calibrate %s: x range [%g, %g], numpy %s" % (meth, lo, hi, want))
    if want and (abs(lo - want[0]) > amax / BINS * 1.01 + 1e-5 or abs(hi - want[1]) > amax / BINS * 1.01 + 1e-5):
        fail("calibrate %s: x range [%g, %g], numpy [%g, %g] (tolerance one bin)" % (meth, lo, hi, *want))
    if lo > 0 or hi < 0 or lo < mn - 1e-6 or hi > mx + 1e-6:
        fail("calibrate %s: range [%g, %g] must hold 0 and lie in [min, max]" % (meth, lo, hi))
    y = table(r1)["y"]
    if y[0] != 0 or y[2] != 0:
        fail("calibrate %s: ReLU output should have min and lo 0: %s" % (meth, y))

# --- cache ----------------------------------------------------------------------
cache = os.path.join(TMP, "calib.cache")
base = [INGOT, "calibrate", m, "--calib", single, "--shapes", "x:1x16", "--calib-cache", cache]


def expect(what, r, rc, *words, absent=()):
    text = r.stdout + r.stderr
    if r.returncode != rc:
        fail("%s: rc %d, expected %d:\n%s" % (what, r.returncode, rc, text))
    for w in words:
        if w not in text:
            fail("%s: output lacks %r:\n%s" % (what, w, text))
    for w in absent:
        if w in text:
            fail("%s: output has %r:\n%s" % (what, w, text))


r = run(base)
expect("cache absent", r, 0, "absent: calibrating", "written (3 entries)")
ref_table = table(r)
text = open(cache).read()
if "method percentile=99.99" not in text or "ingot-calib-cache 2" not in text:
    fail("cache file lacks its header:\n" + text)
r = run(base)
expect("cache reused", r, 0, "used 3 entries", "from the cache", absent=("calibrating",))
if table(r) != ref_table:
    fail("cache round trip changed the table:\n%s\n%s" % (r.stdout, ref_table))

# the data key: fewer samples, other bytes, another preprocessing, format 1
r = run(base + ["--max-samples", "3"])
expect("stale cache (fewer samples)", r, 0, "stale: made from", "this calibration has 3", "written")
run(base)
first = os.path.join(single, sorted(os.listdir(single))[0])
keep = open(first, "rb").read()
np.save(first, X[0] * 2)
r = run(base)
expect("stale cache (other data)", r, 0, "stale: made from other calibration data", "written")
with open(first, "wb") as f:
    f.write(keep)
r = run(base)
expect("stale cache (data restored)", r, 0, "stale: made from other calibration data")
r = run(base)
expect("cache reused after restore", r, 0, "used 3 entries", absent=("calibrating",))
if table(r) != ref_table:
    fail("the cache of the restored data changed the table")
v1 = open(cache).read().replace("ingot-calib-cache 2", "ingot-calib-cache 1")
with open(cache, "w") as f:
    f.write(v1)
r = run(base)
expect("format-1 cache", r, 0, "stale: format 1 has no key of the calibration data", "written")
r = run([INGOT, "calibrate", m_other] + base[3:])
expect("stale cache (other weights)", r, 0, "rejected, stale: made for another graph", "written")
run(base)
r = run(base + ["--calib-method", "entropy"])
expect("stale cache (other method)", r, 0, "stale: holds method percentile=99.99, asked for entropy")
run(base)  # back to percentile
lines = open(cache).read().splitlines()
with open(cache, "w") as f:
    f.write("\n".join(lines + ["0 1 0 1 no_such_tensor", "0 1 0 1 W"]) + "\n")
r = run(base)
expect("unknown entries", r, 0, "ignored 'no_such_tensor': no such tensor",
       "ignored 'W': not a float tensor", "used 3 entries", absent=("calibrating",))
with open(cache, "w") as f:
    f.write("\n".join(lines[:-1]) + "\n")
r = run(base)
expect("missing entry", r, 0, "rejected, incomplete: 1 tensor(s) have no entry")
with open(cache, "w") as f:
    f.write("\n".join(lines[:-1] + ["-1 zz 0 1 y"]) + "\n")
r = run(base)
expect("corrupt entry", r, 0, "rejected, corrupt: line %d" % len(lines), "written")
with open(cache, "w") as f:
    f.write("\n".join(lines[:-1] + ["1 2 0 3 y"]) + "\n")
r = run(base)
expect("range without 0", r, 0, "need lo <= 0 <= hi")
with open(cache, "wb") as f:
    f.write(b"\x00\xffgarbage\n")
r = run(base)
expect("garbage cache", r, 0, "rejected, corrupt: line 1")
r = run(base)
expect("rewritten cache", r, 0, "used 3 entries")
if table(r) != ref_table:
    fail("the rewritten cache changed the table")

# --- non-finite values: y = Log(x) of x <= 0 is NaN or -inf everywhere ---------
g = helper.make_graph([helper.make_node("Log", ["x"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
mlog = os.path.join(TMP, "mlog.onnx")
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), mlog)
neg = os.path.join(TMP, "neg")
os.makedirs(neg)
np.save(os.path.join(neg, "a.npy"), -np.abs(X[:6, :4]) - 1)
np.save(os.path.join(neg, "b.npy"), np.array([[np.nan, 0, -1, -2]], np.float32))
for meth in ("minmax", "entropy"):
    r = run([INGOT, "calibrate", mlog, "--calib", neg, "--calib-method", meth])
    expect("all-NaN tensor (%s)" % meth, r, 0, "tensor 'y' had no finite value", "1 tensors",
           "tensor 'x': 1 non-finite value(s) left out" if meth == "entropy" else "")
    if "y" in table(r):
        fail("all-NaN tensor (%s): y should have no range:\n%s" % (meth, r.stdout))

# --- bad input ------------------------------------------------------------------
empty = os.path.join(TMP, "empty")
os.makedirs(empty)
expect("empty dir", run([INGOT, "calibrate", m, "--calib", empty, "--shapes", "x:1x16"]), 1, "empty directory")
expect("missing dir", run([INGOT, "calibrate", m, "--calib", os.path.join(TMP, "nope"), "--shapes", "x:1x16"]), 1, "nope")
expect("bad method", run([INGOT, "calibrate", m, "--calib", single, "--calib-method", "kl"]), 1,
       "unknown calibration method 'kl'")
expect("bad percentile", run([INGOT, "calibrate", m, "--calib", single, "--calib-method", "percentile=120"]), 1,
       "(0, 100]")
wrong = os.path.join(TMP, "wrong")
os.makedirs(wrong)
np.save(os.path.join(wrong, "a.npy"), X[:, :8])
expect("wrong shape", run([INGOT, "calibrate", m, "--calib", wrong, "--shapes", "x:1x16"]), 1,
       "a.npy", "input 'x'", "64x8")
expect("no --calib", run([INGOT, "calibrate", m]), 2, "missing --calib")

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok")
