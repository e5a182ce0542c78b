#!/usr/bin/env python3
"""Accuracy-driven mixed precision beside ONNX Runtime: writes the marked
"mixed precision" table of docs/accuracy.md (issue 6).

Run with the venv that has onnxruntime (and onnx):
    bench/.venv/bin/python bench/mixed_precision.py [--ingot build/bin/ingot]
        [--target sqnr=20] [--iterations 500] [--out docs/accuracy.md]

The model is the outlier-channel transformer that
tests/models/make_outlier_transformer.py makes (64 calibration and 200
evaluation token sequences): plain int8 misses the target there.  Rows, all
on the same 200 evaluation inputs the builds never saw, in one invocation:
  * fp32: Ingot's fp32 engine; ONNX Runtime on the fp32 model;
  * plain int8: `ingot build --int8 --calib`; ORT quantize_static (QDQ,
    per-channel s8 weights, u8 activations, Percentile 99.99 like Ingot's
    default calibration, the same 64 calibration inputs);
  * auto-mixed: `ingot build --int8 --calib --accuracy-target T`; ORT
    quantize_static with nodes_to_exclude = the layers Ingot's search fell
    back (its sensitivity report), everything else as above;
  * ORT only: the same plus the bias Adds after those layers, which ORT
    quantises as nodes of their own and Ingot leaves fp32.
Accuracy: each side against its own fp32 run (Ingot: `ingot compare`
against the reference interpreter; ORT: the QDQ model against the fp32
model in ORT): the lowest output SQNR and the top-1 agreement of the logits.
Latency: median of single-input runs on 1 thread (`ingot bench --threads 1`;
ORT intra_op_num_threads 1, the same input), measured back to back here.
"""
import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdoc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("%s: %s" % (" ".join(cmd[:3]), (p.stderr or p.stdout).strip()))
    return p.stdout


def ingot_figures(ingot, model, engine, data):
    d = json.loads(run([ingot, "compare", model, engine, "--data", data, "--json"]))
    outs = d["outputs"]
    sq = min(float(o["sqnr_db"]) for o in outs)
    top = [o["top1_agreement"] for o in outs if "top1_agreement" in o]
    return sq, (top[0] if top else None)


def ingot_latency(ingot, engine, feed, iters):
    d = json.loads(run([ingot, "bench", engine, "--threads", "1", "--iterations",
                        str(iters), "--input", "tokens=" + feed, "--json"]))
    return float(d["latency_ms"]["median"]) * 1000.0


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_latency(sess, x, iters):
    for _ in range(10):
        sess.run(None, {"tokens": x})
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(None, {"tokens": x})
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e6


def bias_adds(model, nodes):
    """The Add nodes that add a constant to the output of one of |nodes|:
    Ingot keeps such an Add in fp32 (it has no int8 form with a constant
    input), ORT quantises it unless told not to."""
    import onnx
    g = onnx.load(model).graph
    consts = {t.name for t in g.initializer}
    outs = {o for n in g.node if n.name in nodes for o in n.output}
    return [n.name for n in g.node if n.op_type == "Add" and any(i in outs for i in n.input)
            and any(i in consts for i in n.input)]


def sqnr(ref, got):
    ref, got = ref.astype(np.float64), got.astype(np.float64)
    noise = ((ref - got) ** 2).sum()
    return float("inf") if noise == 0 else float(10 * np.log10((ref ** 2).sum() / noise))


def ort_quantize(src, dst, calib, exclude):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"tokens": x}

    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.Percentile,
                    extra_options={"CalibPercentile": 99.99},
                    nodes_to_exclude=list(exclude))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingot", default=os.path.join(ROOT, "build", "bin", "ingot"))
    ap.add_argument("--target", default="sqnr=20")
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "accuracy.md"))
    args = ap.parse_args()
    import onnxruntime
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "models",
                                                     "make_outlier_transformer.py"),
                        tmp, "64", "200"], check=True)
        model = os.path.join(tmp, "transformer_outlier.onnx")
        calib_dir, eval_dir = os.path.join(tmp, "calib"), os.path.join(tmp, "heldout")
        calib = [np.load(os.path.join(calib_dir, f)) for f in sorted(os.listdir(calib_dir))]
        evalx = [np.load(os.path.join(eval_dir, f)) for f in sorted(os.listdir(eval_dir))]
        feed = os.path.join(eval_dir, sorted(os.listdir(eval_dir))[0])
        ing = lambda n: os.path.join(tmp, n + ".ingot")
        run([args.ingot, "build", model, "-o", ing("fp32")])
        run([args.ingot, "build", model, "-o", ing("int8"), "--int8", "--calib", calib_dir])
        report = os.path.join(tmp, "sens.csv")
        t0 = time.time()
        run([args.ingot, "build", model, "-o", ing("auto"), "--int8", "--calib", calib_dir,
             "--accuracy-target", args.target, "--sensitivity-report", report])
        search_s = time.time() - t0
        sens = list(csv.DictReader(open(report)))
        import shutil
        shutil.copy(os.path.join(tmp, "sens.svg"),
                    os.path.join(os.path.dirname(args.out), "sensitivity-outlier.svg"))
        fallback = [r["node"] for r in sens if r["fallback"] == "yes"]
        # ORT: fp32, plain, with the same layers excluded.
        q_plain, q_excl = os.path.join(tmp, "ort_int8.onnx"), os.path.join(tmp, "ort_excl.onnx")
        q_bias = os.path.join(tmp, "ort_excl_bias.onnx")
        ort_quantize(model, q_plain, calib, [])
        ort_quantize(model, q_excl, calib, fallback)
        bias = bias_adds(model, fallback)
        ort_quantize(model, q_bias, calib, fallback + bias)
        f32 = ort_session(model)
        ref = [f32.run(None, {"tokens": x}) for x in evalx]
        rows = []
        for label, eng, qpath in (("fp32", "fp32", None), ("plain int8", "int8", q_plain),
                                  ("auto-mixed (%d layers fp32)" % len(fallback), "auto",
                                   q_excl),
                                  ("ORT only: also excluding their %d bias Adds" % len(bias),
                                   None, q_bias)):
            if eng:
                s_ing, t_ing = ingot_figures(args.ingot, model, ing(eng), eval_dir)
                lat_ing = ingot_latency(args.ingot, ing(eng), feed, args.iterations)
            else:
                s_ing = t_ing = lat_ing = None
            if qpath is None:
                sess, s_ort, t_ort = f32, float("inf"), 1.0
            else:
                sess = ort_session(qpath)
                got = [sess.run(None, {"tokens": x}) for x in evalx]
                s_ort = min(sqnr(np.stack([r[k] for r in ref]), np.stack([g[k] for g in got]))
                            for k in range(len(ref[0])))
                lr = np.stack([r[1] for r in ref]).reshape(len(evalx), -1)
                lg = np.stack([g[1] for g in got]).reshape(len(evalx), -1)
                t_ort = float((lr.argmax(1) == lg.argmax(1)).mean())
            lat_ort = ort_latency(sess, evalx[0], args.iterations)
            rows.append((label, s_ing, t_ing, lat_ing, s_ort, t_ort, lat_ort))
            print(rows[-1], flush=True)
    write(args, rows, fallback, sens, search_s, time.time() - started,
          onnxruntime.__version__)


def db(v):
    return "exact" if v == float("inf") else "%.2f" % v


def write(args, rows, fallback, sens, search_s, seconds, ort_version):
    cpu, ncpu, _ = benchdoc.machine([])
    n_layers = len(sens)
    lines = [
        "Written by `bench/.venv/bin/python bench/mixed_precision.py%s` on %s (%d CPUs, %s), "
        "ONNX Runtime %s, %s UTC, %.0f s." % (
            "" if args.target == "sqnr=20" else " --target " + args.target,
            cpu, ncpu, platform.platform(), ort_version,
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()), seconds),
        "",
        "Model: the outlier-channel transformer (`tests/models/make_outlier_transformer.py`), "
        "64 calibration and 200 evaluation token sequences. Target `--accuracy-target %s`. "
        "Ingot's search (%.0f s, LLVM code generation included) ranked %d layers and fell "
        "back %d: %s. ORT's auto-mixed row is `quantize_static(..., nodes_to_exclude=[those "
        "%d nodes])`. In ONNX Runtime's QDQ model that is not the same engine: the bias "
        "Add after each excluded MatMul is a node of its own, which ORT still quantises "
        "(so the outlier tensors still pass through int8), while Ingot has no int8 Add "
        "with a constant input and leaves it fp32; the last row excludes those Adds too." % (
            args.target, search_s, n_layers, len(fallback),
            ", ".join("`%s`" % n for n in fallback), len(fallback)),
        "",
        "![Per-layer sensitivity](sensitivity-outlier.svg)",
        "",
        "| configuration | Ingot SQNR dB | Ingot top-1 agreement | Ingot µs | ORT SQNR dB | "
        "ORT top-1 agreement | ORT µs | ORT / Ingot time |",
        "|---|---|---|---|---|---|---|---|"]
    for label, s_i, t_i, l_i, s_o, t_o, l_o in rows:
        if l_i is None:
            lines.append("| %s | – | – | – | %s | %.2f%% | %.1f | – |" % (
                label, db(s_o), 100 * t_o, l_o))
            continue
        lines.append("| %s | %s | %.2f%% | %.1f | %s | %.2f%% | %.1f | %.2f× |" % (
            label, db(s_i), 100 * (t_i if t_i is not None else 1), l_i, db(s_o), 100 * t_o,
            l_o, l_o / l_i))
    lines += ["",
              "SQNR is the lowest over the two outputs (`hidden`, `logits`); top-1 agreement is "
              "on `logits`; fp32 rows are each tool against itself. Latency: median of %d "
              "single-input runs on 1 thread, both tools in this one invocation." %
              args.iterations]
    text = open(args.out).read()
    begin, _ = benchdoc.markers("mixed_precision.py")
    if begin not in text and "\n## Results" in text:
        # New section: before "## Results", which bench/accuracy.py rewrites.
        head, tail = text.split("\n## Results", 1)
        text = head.rstrip("\n") + "\n\n" + begin + "\n" + benchdoc.markers(
            "mixed_precision.py")[1] + "\n\n## Results" + tail
        open(args.out, "w").write(text)
    benchdoc.write_section(args.out, "mixed_precision.py", "\n".join(lines))
    print("wrote", args.out)


if __name__ == "__main__":
    sys.exit(main())
