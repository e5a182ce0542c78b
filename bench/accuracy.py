#!/usr/bin/env python3
"""Int8 accuracy: Ingot's calibrated int8 engines beside ONNX Runtime's
quantize_static, on the same calibration and evaluation samples; writes the
"Results" section of docs/accuracy.md.

Run with the venv that has onnxruntime (and onnx):
    bench/.venv/bin/python bench/accuracy.py [--ingot build/bin/ingot]
        [--methods minmax,entropy,percentile] [--models NAME,...]
        [--mnist-eval N] [--out docs/accuracy.md]

For each model and calibration method:
  * Ingot: `ingot build MODEL --int8 --calib CALIB --calib-method M`, then
    `ingot compare MODEL ENGINE --data EVAL --json --labels LABELS`
    (figures against Ingot's fp32 reference interpreter);
  * ORT: quantize_static(QDQ, per-channel, u8 activations / s8 weights, the
    same calibration samples, the same method; percentile 99.99 like
    Ingot's default), the QDQ model run in ORT, its outputs compared with
    the fp32 model's outputs in ORT the same way (SQNR over all elements,
    max abs error, mean cosine, top-1 agreement, top-1 accuracy).
Models and data (../shared/data, MANIFEST.md):
  * derived fp32 ImageNet models: the 100 images of imagenet/images,
    preprocessed (RGB, resize 256, centre crop 224, /255, ImageNet mean and
    std, NCHW) with PIL here, saved as .npy; they are both the calibration
    and the evaluation set: there are no other images.
  * MNIST (mnist-8.onnx): raw 0-255 pixels; calibrate on the first 500 test
    digits, judge on the other 9,500 (--mnist-eval limits that).
  * the sample models tests/models/cnn.onnx and mobilenet.onnx: 128
    standard-normal calibration samples and 256 other ones to judge on (no
    labels: agreement only).
Every step's failure is recorded in the table (e.g. "--int8 not available")
instead of stopping the run.
"""
import argparse
import csv
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
ORT_METHOD = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


def imagenet_batch():
    from PIL import Image
    rows = list(csv.DictReader(open(os.path.join(DATA, "imagenet", "labels.csv"))))
    xs, labels = [], []
    for r in rows:
        im = Image.open(os.path.join(DATA, "imagenet", "images", r["file"])).convert("RGB")
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((max(256, round(w * s)), max(256, round(h * s))), Image.BILINEAR)
        w, h = im.size
        l, t = (w - 224) // 2, (h - 224) // 2
        im = im.crop((l, t, l + 224, t + 224))
        a = (np.asarray(im, np.float32) / 255.0 - MEAN) / STD
        xs.append(a.transpose(2, 0, 1))
        labels.append(int(r["class_index_0_999"]))
    return np.stack(xs).astype(np.float32), np.array(labels)


def mnist():
    d = os.path.join(DATA, "mnist", "testset")
    with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x.astype(np.float32), y.astype(np.int64)


def models(args):
    """(name, model path, input name, input shape, calib x, eval x, labels)"""
    out = []
    want = set(args.models.split(",")) if args.models else None
    def add(*m):
        if want is None or m[0] in want:
            out.append(m)
    if want is None or want & {"shufflenet-v2", "mobilenetv2"}:
        x, y = imagenet_batch()
        add("shufflenet-v2", os.path.join(DATA, "derived", "shufflenet-v2-fp32-from-int8.onnx"),
            "input", (1, 3, 224, 224), x, x, y)
        add("mobilenetv2", os.path.join(DATA, "derived", "mobilenetv2-fp32-from-int8.onnx"),
            "input", (1, 3, 224, 224), x, x, y)
    if want is None or "mnist" in want:
        x, y = mnist()
        n = args.mnist_eval
        add("mnist", os.path.join(DATA, "mnist", "mnist-8.onnx"), "Input3", (1, 1, 28, 28),
            x[:500], x[500:500 + n], y[500:500 + n])
    rng = np.random.default_rng(11)
    for name in ("cnn", "mobilenet"):
        add(name, os.path.join(ROOT, "tests", "models", name + ".onnx"), "input",
            (1, 3, 32, 32), rng.standard_normal((128, 3, 32, 32)).astype(np.float32),
            rng.standard_normal((256, 3, 32, 32)).astype(np.float32), None)
    return out


def figures(ref, got, labels):
    ref = ref.astype(np.float64)
    got = got.astype(np.float64)
    noise = ((ref - got) ** 2).sum()
    sig = (ref ** 2).sum()
    cos = [(a @ b) / np.sqrt((a @ a) * (b @ b)) for a, b in zip(ref, got)]
    r = {"sqnr_db": float("inf") if noise == 0 else 10 * np.log10(sig / noise),
         "max_abs_err": float(np.abs(ref - got).max()), "cosine": float(np.mean(cos)),
         "top1_agreement": float((ref.argmax(1) == got.argmax(1)).mean())}
    if labels is not None:
        r["top1_engine"] = float((got.argmax(1) == labels).mean())
        r["top1_reference"] = float((ref.argmax(1) == labels).mean())
    return r


def ort_side(path, inp, shape, calib, evalx, labels, method, tmp):
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {inp: x.reshape(shape)}

    q = os.path.join(tmp, "ort_%s.onnx" % method)
    pre = os.path.join(tmp, "ort_pre.onnx")
    if not os.path.exists(pre):  # ORT's recommended step (shapes, BN folding)
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization.shape_inference import quant_pre_process
        m = onnx.load(path)
        opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
        src0 = path
        if opset < 13:  # per-channel DequantizeLinear (axis) needs opset 13
            src0 = os.path.join(tmp, "opset13.onnx")
            onnx.save(version_converter.convert_version(m, 13), src0)
        try:
            quant_pre_process(src0, pre)
        except Exception:
            pre = src0
    src = pre if os.path.exists(pre) else path
    extra = {"CalibPercentile": 99.99} if method == "percentile" else {}
    quantize_static(src, q, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, ORT_METHOD[method]),
                    extra_options=extra)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    f = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    g = ort.InferenceSession(q, so, providers=["CPUExecutionProvider"])
    ref = np.concatenate([f.run(None, {inp: x.reshape(shape)})[0] for x in evalx])
    got = np.concatenate([g.run(None, {inp: x.reshape(shape)})[0] for x in evalx])
    return figures(ref.reshape(len(evalx), -1), got.reshape(len(evalx), -1), labels)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        lines = [l for l in (p.stderr + p.stdout).splitlines() if l.strip()]
        err = [l for l in lines if l.startswith("ingot")] or lines or ["exit %d" % p.returncode]
        raise RuntimeError(err[0])
    return p.stdout


PREPROCESS = "resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw"


def ingot_side(ingot, path, shape, inp, calib, eval_dir, labels_file, method, tmp):
    """|calib|: a list of --calib argument lists to try in order (images with
    --preprocess first for ImageNet, then the same images as .npy)."""
    eng = os.path.join(tmp, "ingot_%s.ingot" % method)
    shapes = ["--shapes", "%s:%s" % (inp, "x".join(map(str, shape)))]
    for i, c in enumerate(calib):
        try:
            run([ingot, "build", path, "-o", eng, "--int8", "--calib-method", method]
                + c + shapes)
            break
        except RuntimeError:
            if i == len(calib) - 1:
                raise
    cmd = [ingot, "compare", path, eng, "--data", eval_dir, "--json"] + shapes
    if labels_file:
        cmd += ["--labels", labels_file]
    d = json.loads(run(cmd))["outputs"][0]
    d["calib"] = " ".join(c)
    return {k: (float(v) if isinstance(v, str) else v) for k, v in d.items()
            if k in ("sqnr_db", "max_abs_err", "cosine", "top1_agreement",
                     "top1_engine", "top1_reference", "calib")}


def cell(r, k, pct=False):
    if isinstance(r, str):
        return "n/a"
    v = r.get(k)
    if v is None:
        return "-"
    if pct:
        return "%.2f%%" % (100 * v)
    return "%.2f" % v if k == "sqnr_db" else ("%.6f" % v if k == "cosine" else "%.4g" % v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingot", default=os.path.join(ROOT, "build", "bin", "ingot"))
    ap.add_argument("--methods", default="minmax,entropy,percentile")
    ap.add_argument("--models", default="")
    ap.add_argument("--mnist-eval", type=int, default=9500)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "accuracy.md"))
    args = ap.parse_args()
    rows, notes = [], []
    started = time.time()
    for name, path, inp, shape, calib, evalx, labels in models(args):
        with tempfile.TemporaryDirectory() as tmp:
            cd, ed = os.path.join(tmp, "calib"), os.path.join(tmp, "eval")
            os.makedirs(cd)
            os.makedirs(ed)
            np.save(os.path.join(cd, "calib.npy"), calib.reshape((-1,) + shape[1:]))
            np.save(os.path.join(ed, "eval.npy"), evalx.reshape((-1,) + shape[1:]))
            lf = None
            if labels is not None:
                lf = os.path.join(tmp, "labels.txt")
                open(lf, "w").write("".join("%d\n" % v for v in labels))
            for method in args.methods.split(","):
                t0 = time.time()
                calib_args = [["--calib", cd]]
                if name in ("shufflenet-v2", "mobilenetv2"):
                    calib_args.insert(0, ["--calib", os.path.join(DATA, "imagenet", "images"),
                                          "--preprocess", PREPROCESS])
                try:
                    ing = ingot_side(args.ingot, path, shape, inp, calib_args, ed, lf,
                                     method, tmp)
                except Exception as e:  # recorded, not fatal
                    ing = "ingot: %s" % e
                    notes.append("%s/%s: %s" % (name, method, e))
                try:
                    o = ort_side(path, inp, shape, calib, evalx, labels, method, tmp)
                except Exception as e:
                    o = "ort: %s" % e
                    notes.append("%s/%s ORT: %s" % (name, method, e))
                rows.append((name, method, len(calib), len(evalx), ing, o))
                print("%s %s: ingot %s | ort %s (%.0f s)" % (name, method, ing, o,
                                                             time.time() - t0), flush=True)
    write(args, rows, notes, time.time() - started)


def write(args, rows, notes, seconds):
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime
    lines = ["## Results", "",
             "Written by `bench/.venv/bin/python bench/accuracy.py%s` on %s (%d CPUs, %s), "
             "ONNX Runtime %s, %s UTC, %.0f s." % (
                 ((" --models " + args.models) if args.models else "") +
                 (" --methods " + args.methods if args.methods != "minmax,entropy,percentile"
                  else "") +
                 (" --mnist-eval %d" % args.mnist_eval if args.mnist_eval != 9500 else ""),
                 cpu, os.cpu_count(), platform.platform(), onnxruntime.__version__,
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()), seconds), "",
             "Each side against its own fp32 run of the same model on the same samples: "
             "Ingot against its reference interpreter (`ingot compare`), ONNX Runtime's "
             "QDQ model against the fp32 model in ONNX Runtime. Top-1 is accuracy against "
             "the labels (ImageNet, MNIST); agreement is with the fp32 argmax.", "",
             "| model | method | calib / eval | tool | SQNR dB | max abs err | cosine | "
             "top-1 agreement | top-1 | fp32 top-1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, method, nc, ne, ing, o in rows:
        for tool, r in (("Ingot", ing), ("ORT", o)):
            lines.append("| %s | %s | %d / %d | %s | %s | %s | %s | %s | %s | %s |" % (
                name, method, nc, ne, tool, cell(r, "sqnr_db"), cell(r, "max_abs_err"),
                cell(r, "cosine"), cell(r, "top1_agreement", True), cell(r, "top1_engine", True),
                cell(r, "top1_reference", True)))
    if notes:
        lines += ["", "Not measured (the step failed; the message is the tool's):", ""]
        lines += ["- %s" % n for n in notes]
    text = open(args.out).read() if os.path.exists(args.out) else "# Accuracy\n"
    head = text.split("\n## Results")[0].rstrip("\n")
    open(args.out, "w").write(head + "\n\n" + "\n".join(lines) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    sys.exit(main())
