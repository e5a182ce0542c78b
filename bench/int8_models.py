#!/usr/bin/env python3
"""Int8 engine latency of the sample models against the fp32 engine and
against ONNX Runtime (fp32, and int8 QDQ from quantize_static), in one run.

For each sample model (tests/models/{cnn,mobilenet,transformer}.onnx) this
  - makes 128 calibration inputs (tests/models/make_calib_data.py for the
    CNNs; the transformer's own sample input repeated with noise);
  - builds the fp32 engine (`ingot build`) and the int8 engine
    (`ingot build --int8 --calib DIR`, default method);
  - quantises the model with ONNX Runtime's quantize_static (QDQ,
    per-channel, u8 activations / s8 weights, MinMax) on the same inputs;
then times, interleaved round by round so that drift on this shared
machine hits every contender alike, at 1 thread:
  Ingot fp32 and int8 engines (`ingot bench --json`), ONNX Runtime fp32 and
  QDQ int8 (in-process around session.run, sequential, all graph
  optimisations).  Medians of per-round medians.

Writes its own section of docs/benchmarks.md (between its markers) and
bench/results/int8_models.csv.  Usage, from the repository root, after
`cmake --build build`:
    bench/.venv/bin/python bench/int8_models.py [--rounds 5] [--iterations 100]
(bench/fp32.py creates bench/.venv with onnxruntime on first use.)
"""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import benchdoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INGOT = os.path.join(ROOT, "build", "bin", "ingot")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
MODELS = ["cnn", "mobilenet", "transformer"]


def calib_inputs(model, d):
    """128 float32 inputs of the model's input shape in directory |d|."""
    os.makedirs(d, exist_ok=True)
    if model in ("cnn", "mobilenet"):
        gen = os.path.join(ROOT, "tests", "models", "make_calib_data.py")
        subprocess.run([sys.executable, gen, d, "128", "0"], check=True,
                       capture_output=True)
        sub = os.path.join(d, "calib")
        return sub, [np.load(os.path.join(sub, f)) for f in sorted(os.listdir(sub))]
    x = np.load(os.path.join(ROOT, "tests", "models", model + ".input.npy"))
    rng = np.random.default_rng(7)
    xs = []
    for i in range(128):
        if x.dtype.kind == "f":
            y = (x + rng.standard_normal(x.shape) * 0.1).astype(x.dtype)
        else:  # token ids: a random permutation of the sample's tokens
            y = x.reshape(-1)[rng.permutation(x.size)].reshape(x.shape)
        np.save(os.path.join(d, "%04d.npy" % i), y)
        xs.append(y)
    return d, xs


def ort_qdq(src, dst, inp_name, xs, work):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(xs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {inp_name: x}

    pre = os.path.join(work, os.path.basename(src) + ".pre.onnx")
    try:
        quant_pre_process(src, pre)
    except Exception:
        pre = src
    quantize_static(pre, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def time_ort(s, feed, iters):
    for _ in range(5):
        s.run(None, feed)
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        s.run(None, feed)
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def time_ingot(engine, iters):
    out = subprocess.run([INGOT, "bench", engine, "--json", "--threads", "1",
                          "--iterations", str(iters)], check=True,
                         capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return float(j["latency_ms"]["median"])


def machine():
    cpu, n, feats = benchdoc.machine(["avx2", "avx512f", "avx512_vnni", "amx_tile",
                                      "amx_int8"])
    return "%s, %d CPUs (%s), %s" % (cpu, n, feats, platform.platform())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=100)
    args = ap.parse_args()
    import onnxruntime
    work = tempfile.mkdtemp(prefix="ingot-int8-")
    setup = {}
    for m in MODELS:
        onnx_path = os.path.join(ROOT, "tests", "models", m + ".onnx")
        cdir, xs = calib_inputs(m, os.path.join(work, m + "-calib"))
        fp32 = os.path.join(work, m + ".fp32.ingot")
        int8 = os.path.join(work, m + ".int8.ingot")
        subprocess.run([INGOT, "build", onnx_path, "-o", fp32], check=True,
                       capture_output=True)
        subprocess.run([INGOT, "build", onnx_path, "-o", int8, "--int8", "--calib",
                        cdir], check=True, capture_output=True)
        qdq = os.path.join(work, m + ".qdq.onnx")
        s32 = ort_session(onnx_path)
        name = s32.get_inputs()[0].name
        ort_qdq(onnx_path, qdq, name, xs, work)
        feed = {name: np.load(os.path.join(ROOT, "tests", "models", m + ".input.npy"))}
        setup[m] = dict(fp32=fp32, int8=int8, s32=s32, s8=ort_session(qdq), feed=feed,
                        fp32_bytes=os.path.getsize(fp32), int8_bytes=os.path.getsize(int8))
    keys = ["ingot_fp32", "ingot_int8", "ort_fp32", "ort_int8"]
    samples = {m: {k: [] for k in keys} for m in MODELS}
    for _ in range(args.rounds):
        for m in MODELS:
            s = setup[m]
            samples[m]["ingot_fp32"].append(time_ingot(s["fp32"], args.iterations))
            samples[m]["ingot_int8"].append(time_ingot(s["int8"], args.iterations))
            samples[m]["ort_fp32"].append(time_ort(s["s32"], s["feed"], args.iterations))
            samples[m]["ort_int8"].append(time_ort(s["s8"], s["feed"], args.iterations))
    rows = []
    for m in MODELS:
        med = {k: statistics.median(v) for k, v in samples[m].items()}
        rows.append(dict(model=m, **{k + "_ms": "%.4f" % v for k, v in med.items()},
                         fp32_engine_bytes=setup[m]["fp32_bytes"],
                         int8_engine_bytes=setup[m]["int8_bytes"]))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "int8_models.csv"), "w",
              newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    load = os.getloadavg()
    lines = [
        "## int8 engines of the sample models vs fp32 and ONNX Runtime int8",
        "",
        "Command: `bench/.venv/bin/python bench/int8_models.py --rounds %d "
        "--iterations %d` (after `cmake --build build`)." % (args.rounds, args.iterations),
        "",
        "Machine: %s, %s UTC. ONNX Runtime %s (CPU provider, 1 thread, sequential, all "
        "graph optimisations); its int8 model is `quantize_static` QDQ, per-channel, "
        "u8/s8, MinMax, on the same 128 calibration inputs Ingot's `--int8 --calib` "
        "used (default method). Load average at the end: %.1f / %.1f / %.1f: the "
        "machine is shared, so read the ratios (every contender is timed in every "
        "round, interleaved), not the absolute times." % (
            machine(), time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            onnxruntime.__version__, *load),
        "",
        "Median latency in ms at 1 thread (median of %d rounds, each the median of %d "
        "runs)." % (args.rounds, args.iterations),
        "",
        "| model | Ingot fp32 | Ingot int8 | int8 speed-up | ORT fp32 | ORT int8 (QDQ) "
        "| Ingot int8 vs ORT int8 | engine bytes fp32 / int8 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f32, i8 = float(r["ingot_fp32_ms"]), float(r["ingot_int8_ms"])
        o32, o8 = float(r["ort_fp32_ms"]), float(r["ort_int8_ms"])
        lines.append("| %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx faster | %d / %d (%.0f%%) |" % (
            r["model"], f32, i8, f32 / i8, o32, o8, o8 / i8, r["fp32_engine_bytes"],
            r["int8_engine_bytes"], 100.0 * r["int8_engine_bytes"] / r["fp32_engine_bytes"]))
    lines += ["", "Raw numbers: `bench/results/int8_models.csv`.", ""]
    section = "\n".join(lines)
    benchdoc.write_section(DOC, "int8_models.py", section)
    print(section)


if __name__ == "__main__":
    main()
