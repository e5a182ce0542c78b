#!/usr/bin/python3
"""test_dataset.py — the dataset loader (ir/dataset.h) against numpy and PIL.

    test_dataset.py DATASET_DUMP TMPDIR

DATASET_DUMP (tests/data/dataset_dump.c) opens a data path for a model and
writes every feed as .npy; this script makes the models and data, runs it
and checks:
  * .npy single samples, batched files split into samples, a batch-4 model
    taking 4 samples per run across files, leftover samples reported;
  * ONNX TensorProto .pb files and the ONNX test-data layout;
  * two-input models: files named after the inputs, and input_K.pb;
  * PNG and JPEG with --preprocess, against the PIL + numpy pipeline that
    torchvision users write (see check_image for the tolerance and why);
  * MNIST IDX image files, raw and gzip, exactly (no resize, scale 1 or
    255), batched, and corrupt ones;
  * bad input: each case must fail with a message naming the file/input
    and the reason.
Budget: about 5 s natively, under 30 s with ASan.
  * 24 randomly mutated or truncated images: decoded or rejected with a
    message, never a crash.
"""
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
from PIL import Image

DUMP, TMP = sys.argv[1], sys.argv[2]
os.makedirs(TMP, exist_ok=True)
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def model(path, inputs):
    """A model with one Relu per input; |inputs| = [(name, shape, dtype)]."""
    nodes, vin, vout = [], [], []
    for name, shape, dt in inputs:
        vin.append(helper.make_tensor_value_info(name, dt, shape))
        vout.append(helper.make_tensor_value_info(name + "_out", dt, shape))
        nodes.append(helper.make_node("Relu", [name], [name + "_out"]))
    g = helper.make_graph(nodes, "g", vin, vout)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save(m, path)
    return path


def fresh(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run(model_path, data, pp=None):
    out = fresh("out")
    cmd = [DUMP, model_path, data, out] + ([pp] if pp else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1) or r.stderr.strip():
        fail("%s crashed or wrote to stderr (rc %d):\n%s" % (cmd, r.returncode, r.stderr))
    feeds = {}
    for f in sorted(os.listdir(out)):
        k, i = f[4:-4].split("_in")
        feeds.setdefault(int(k), {})[int(i)] = np.load(os.path.join(out, f))
    return r.returncode, r.stdout, [feeds[k] for k in sorted(feeds)]


def expect_feeds(what, got, want):
    rc, log, feeds = got
    if rc != 0:
        fail("%s: failed: %s" % (what, log.strip()))
        return log
    if len(feeds) != len(want):
        fail("%s: %d feeds, expected %d" % (what, len(feeds), len(want)))
        return log
    for k, (f, w) in enumerate(zip(feeds, want)):
        for i, wi in enumerate(w):
            if f[i].dtype != wi.dtype or f[i].shape != wi.shape or not np.array_equal(f[i], wi):
                fail("%s: feed %d input %d differs (%s %s vs %s %s)" % (
                    what, k, i, f[i].dtype, f[i].shape, wi.dtype, wi.shape))
    return log


def expect_error(what, got, *words):
    rc, log, _ = got
    if rc != 1 or "error:" not in log:
        fail("%s: expected an error, got rc %d: %s" % (what, rc, log.strip()))
        return
    for w in words:
        if w not in log:
            fail("%s: error lacks %r: %s" % (what, w, log.strip()))


rng = np.random.default_rng(7)
F = TensorProto.FLOAT

# --- .npy: single samples, batched files, batch-4 model ------------------
m1 = model(os.path.join(TMP, "m1.onnx"), [("x", [1, 2, 3], F)])
m4 = model(os.path.join(TMP, "m4.onnx"), [("x", [4, 2, 3], F)])
mdyn = model(os.path.join(TMP, "mdyn.onnx"), [("x", ["N", 2, 3], F)])
rows = rng.standard_normal((10, 2, 3)).astype(np.float32)
d = fresh("npy")
np.save(os.path.join(d, "a.npy"), rows[0])        # [2,3]: one sample
np.save(os.path.join(d, "b.npy"), rows[1:2])      # [1,2,3]: one sample
np.save(os.path.join(d, "c.npy"), rows[2:9])      # [7,2,3]: seven
np.save(os.path.join(d, "d.npy"), rows[9:10])
with open(os.path.join(d, "labels.csv"), "w") as f:
    f.write("not data\n")
log = expect_feeds("npy batch 1", run(m1, d), [[rows[k:k + 1]] for k in range(10)])
if "ignored" not in log or "labels.csv" not in log:
    fail("npy batch 1: labels.csv not reported as ignored: " + log)
expect_feeds("npy dynamic batch", run(mdyn, d), [[rows[k:k + 1]] for k in range(10)])
log = expect_feeds("npy batch 4", run(m4, d), [[rows[0:4]], [rows[4:8]]])
if "2 sample(s) of input 'x' left over" not in log:
    fail("npy batch 4: leftover not reported: " + log)
expect_feeds("npy single file", run(m1, os.path.join(d, "c.npy")),
             [[rows[k:k + 1]] for k in range(2, 9)])

# --- .pb and the ONNX test-data layout ------------------------------------
d = fresh("pb")
for k in range(3):
    s = os.path.join(d, "test_data_set_%d" % k)
    os.makedirs(s)
    t = numpy_helper.from_array(rows[k:k + 1], "x")
    with open(os.path.join(s, "input_0.pb"), "wb") as f:
        f.write(t.SerializeToString())
    with open(os.path.join(s, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(np.zeros(3, np.float32), "y").SerializeToString())
expect_feeds("pb test-data layout", run(m1, d), [[rows[k:k + 1]] for k in range(3)])

# --- two inputs ------------------------------------------------------------
m2 = model(os.path.join(TMP, "m2.onnx"), [("x", [1, 2, 3], F), ("ids", [2, 4], TensorProto.INT64)])
ids = rng.integers(0, 100, (6, 4)).astype(np.int64)
d = fresh("two")
os.makedirs(os.path.join(d, "s0"))
np.save(os.path.join(d, "s0", "x.npy"), rows[0:1])
np.save(os.path.join(d, "s0", "ids.npy"), ids[0:2])
os.makedirs(os.path.join(d, "s1"))
with open(os.path.join(d, "s1", "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(rows[1:2]).SerializeToString())
with open(os.path.join(d, "s1", "input_1.pb"), "wb") as f:
    f.write(numpy_helper.from_array(ids[2:4]).SerializeToString())
np.save(os.path.join(d, "x.npy"), rows[2:3])  # top-level set
np.save(os.path.join(d, "ids.npy"), ids[4:6])
expect_feeds("two inputs", run(m2, d),
             [[rows[2:3], ids[4:6]], [rows[0:1], ids[0:2]], [rows[1:2], ids[2:4]]])
os.remove(os.path.join(d, "s1", "input_1.pb"))
expect_error("two inputs, one missing", run(m2, d), "s1", "no file for input 'ids'")

# --- images -------------------------------------------------------------------
def pil_pipeline(path, resize, crop, mean, std, color, size=None):
    """What a torchvision user writes: Resize(resize) + CenterCrop(crop) +
    ToTensor + Normalize, in PIL and numpy; returns float64 [C,H,W]."""
    im = Image.open(path)
    im = im.convert("L" if color == "gray" else "RGB")
    if size:
        im = im.resize((size[1], size[0]), Image.BILINEAR)
    if resize:
        w, h = im.size
        if w <= h:
            nw, nh = resize, int(resize * h / w)
        else:
            nh, nw = resize, int(resize * w / h)
        im = im.resize((nw, nh), Image.BILINEAR)
    if crop:
        w, h = im.size
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        im = im.crop((left, top, left + crop, top + crop))
    a = np.asarray(im, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if color == "bgr":
        a = a[:, :, ::-1]
    a = (a / 255.0 - np.array(mean)) / np.array(std)
    return a.transpose(2, 0, 1)


def check_image(what, got, want_chw, std, nhwc=False, tol_px=1.05):
    """Tolerance: PIL resizes in 8 bits with 22-bit fixed-point taps and
    rounds after the horizontal pass and at the end (<= 0.5 step each; the
    vertical taps sum to 1, so the first rounding carries through at most
    0.5); we keep floats.  So |ours - PIL| <= 1 step of 1/255 in pixel
    units, 1.05 with the fixed-point taps' error, i.e. 1.05/255/std after
    Normalize.  Gray adds PIL's integer luma rounding (0.5 step).  The mean
    error must stay below 0.35 steps (PIL's final rounding alone gives
    0.25), which a wrong filter or an off-by-one crop would not meet."""
    rc, log, feeds = got
    if rc != 0 or len(feeds) != 1:
        fail("%s: %s" % (what, log.strip()))
        return
    x = feeds[0][0][0].astype(np.float64)
    if nhwc:
        x = x.transpose(2, 0, 1)
    if x.shape != want_chw.shape:
        fail("%s: shape %s, PIL gives %s" % (what, x.shape, want_chw.shape))
        return
    err = np.abs(x - want_chw) * 255.0 * np.array(std).reshape(-1, 1, 1)
    print("%s: max |diff| %.3f, mean %.3f (8-bit steps)" % (what, err.max(), err.mean()))
    if err.max() > tol_px or err.mean() > 0.35:
        fail("%s: max %.3f mean %.3f steps from PIL (tolerance %.2f / 0.35)" % (
            what, err.max(), err.mean(), tol_px))


yy, xx = np.mgrid[0:240, 0:320]
base = np.stack([(xx * 0.8) % 256, (yy + xx * 0.3) % 256, 128 + 100 * np.sin(xx / 9.0) * np.cos(yy / 13.0)], -1)
base = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
d = fresh("img")
Image.fromarray(base).save(os.path.join(d, "a.jpg"), quality=90)
Image.fromarray(base[:170, :150]).save(os.path.join(d, "b.png"))
Image.fromarray(base[:, :, 1]).save(os.path.join(d, "c_gray.jpg"), quality=85)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
pp = "resize=64,crop=56,mean=0.485,0.456,0.406,std=0.229,0.224,0.225"
mimg = model(os.path.join(TMP, "mimg.onnx"), [("x", [1, 3, 56, 56], F)])
for name in ["a.jpg", "b.png", "c_gray.jpg"]:
    p = os.path.join(d, name)
    check_image("%s nchw rgb" % name, run(mimg, p, pp), pil_pipeline(p, 64, 56, mean, std, "rgb"), std)
p = os.path.join(d, "a.jpg")
mhwc = model(os.path.join(TMP, "mhwc.onnx"), [("x", [1, 48, 48, 3], F)])
check_image("a.jpg nhwc bgr", run(mhwc, p, "resize=50,crop=48,color=bgr,layout=nhwc,scale=255"),
            pil_pipeline(p, 50, 48, [0, 0, 0], [1, 1, 1], "bgr"), [1, 1, 1], nhwc=True)
mgray = model(os.path.join(TMP, "mgray.onnx"), [("x", [1, 1, 28, 28], F)])
check_image("a.jpg gray, default geometry", run(mgray, p, "mean=0.5,std=0.5"),
            pil_pipeline(p, 0, 0, [0.5], [0.5], "gray", size=(28, 28)), [0.5], tol_px=1.55)
check_image("b.png enlarged (no antialias)", run(mimg, os.path.join(d, "b.png"), "resize=200,crop=56"),
            pil_pipeline(os.path.join(d, "b.png"), 200, 56, [0, 0, 0], [1, 1, 1], "rgb"), [1, 1, 1])
rc, log, feeds = run(mimg, d, pp)
if rc != 0 or len(feeds) != 3:
    fail("image directory: %d feeds: %s" % (len(feeds), log))

# --- MNIST IDX ------------------------------------------------------------------
digits = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
def idx_header(a):
    return bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in a.shape)


header = idx_header(digits)
d = fresh("idx")
open(os.path.join(d, "t-images-idx3-ubyte"), "wb").write(header + digits.tobytes())
with gzip.open(os.path.join(d, "u-images-idx3-ubyte.gz"), "wb") as f:
    f.write(idx_header(digits[:3]) + digits[:3].tobytes())
open(os.path.join(d, "t-labels-idx1-ubyte"), "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 5]) + bytes(5))
mmn = model(os.path.join(TMP, "mmnist.onnx"), [("x", [1, 1, 28, 28], F)])
f32 = digits.astype(np.float32)[:, None]
log = expect_feeds("IDX raw and gzip, scale=1", run(mmn, d, "scale=1"),
                   [[f32[k:k + 1]] for k in range(5)] + [[f32[k:k + 1]] for k in range(3)])
if "t-labels-idx1-ubyte" not in log:
    fail("IDX: the label file is not reported as ignored: " + log)
mmn2 = model(os.path.join(TMP, "mmnist2.onnx"), [("x", [2, 1, 28, 28], F)])
expect_feeds("IDX batch 2, /255", run(mmn2, os.path.join(d, "t-images-idx3-ubyte")),
             [[f32[0:2] / np.float32(255)], [f32[2:4] / np.float32(255)]])
e = fresh("idxbad")
open(os.path.join(e, "a.idx"), "wb").write(header + digits.tobytes()[:1000])
expect_error("truncated IDX", run(mmn, e, "scale=1"), "a.idx", "truncated")
open(os.path.join(e, "a.idx"), "wb").write(b"\x01\x02\x08\x03" + header[4:] + digits.tobytes())
expect_error("IDX bad magic", run(mmn, e, "scale=1"), "a.idx", "not an IDX file")
open(os.path.join(e, "a.idx"), "wb").write(bytes([0, 0, 0x0D, 3]) + header[4:] + digits.tobytes())
expect_error("IDX float data", run(mmn, e, "scale=1"), "a.idx", "only unsigned bytes")
with gzip.open(os.path.join(e, "a.idx.gz"), "wb") as f:
    f.write(header + digits.tobytes())
os.remove(os.path.join(e, "a.idx"))
raw = open(os.path.join(e, "a.idx.gz"), "rb").read()
open(os.path.join(e, "a.idx.gz"), "wb").write(raw[: len(raw) // 2])
expect_error("truncated gzip IDX", run(mmn, e, "scale=1"), "a.idx.gz")

# --- bad input --------------------------------------------------------------
expect_error("missing path", run(m1, os.path.join(TMP, "nope")), "nope")
expect_error("empty directory", run(m1, fresh("empty")), "empty directory")
d = fresh("nousable")
open(os.path.join(d, "readme.txt"), "w").write("x")
expect_error("no usable files", run(m1, d), "no usable files")
d = fresh("baddtype")
np.save(os.path.join(d, "a.npy"), rows[0:1].astype(np.float64))
expect_error("wrong dtype", run(m1, d), "a.npy", "input 'x'", "float32", "float64")
d = fresh("badshape")
np.save(os.path.join(d, "a.npy"), np.zeros((1, 3, 2), np.float32))
expect_error("wrong shape", run(m1, d), "a.npy", "input 'x'", "Nx2x3", "1x3x2")
d = fresh("corrupt")
jpg = open(os.path.join(TMP, "img", "a.jpg"), "rb").read()
open(os.path.join(d, "t.jpg"), "wb").write(jpg[: len(jpg) // 2])
expect_error("truncated JPEG", run(mimg, d, pp), "t.jpg", "corrupt JPEG")
open(os.path.join(d, "t.jpg"), "wb").write(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
expect_error("corrupt PNG", run(mimg, d, pp), "t.jpg", "corrupt PNG")
open(os.path.join(d, "t.jpg"), "wb").write(b"hello")
expect_error("not an image", run(mimg, d, pp), "t.jpg", "not a PNG or JPEG")
expect_error("bad preprocess key", run(mimg, os.path.join(TMP, "img"), "rezise=3"), "unknown key 'rezise'")
expect_error("bad preprocess value", run(mimg, os.path.join(TMP, "img"), "std=0"), "std=0")
expect_error("crop mismatch", run(mimg, os.path.join(TMP, "img"), "resize=64,crop=50"),
             "crop 50x50", "56x56")
expect_error("image for an int input", run(m2, os.path.join(TMP, "img", "a.jpg")), "one-input model")
expect_error("too few samples", run(m4, os.path.join(TMP, "npy", "a.npy")), "takes 4 samples")

# Mutated images (fixed seed): each must decode or fail with a message,
# never crash (run() flags a crash or sanitizer output on stderr).
d = fresh("mutated")
mrng = np.random.default_rng(99)
png = open(os.path.join(TMP, "img", "b.png"), "rb").read()
outcomes = {0: 0, 1: 0}
for k in range(24):
    src = bytearray(jpg if k % 2 == 0 else png)
    for _ in range(int(mrng.integers(1, 6))):
        src[int(mrng.integers(0, len(src)))] = int(mrng.integers(0, 256))
    if k % 6 == 5:
        src = src[: int(mrng.integers(10, len(src)))]
    p = os.path.join(d, "m.jpg")
    open(p, "wb").write(bytes(src))
    rc, log, _ = run(mimg, p, pp)
    if rc in outcomes:
        outcomes[rc] += 1
    if rc == 1 and "m.jpg" not in log:
        fail("mutated image %d: the error does not name the file: %s" % (k, log.strip()))
print("mutated images: %d decoded, %d rejected" % (outcomes[0], outcomes[1]))

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok")
