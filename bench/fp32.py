#!/usr/bin/env python3
"""fp32 engine latency against the reference interpreter and ONNX Runtime.

For each sample model (tests/models/*.onnx) this builds an fp32 engine with
`ingot build`, then measures, interleaved round by round so that drift on
this shared machine hits every tool alike:
  - the Ingot engine (`ingot bench --json`), 1 thread and all threads;
  - ONNX Runtime's CPU provider (same threads, sequential execution, all
    graph optimisations on), timed in-process around session.run;
  - Ingot's reference interpreter (`ingot bench MODEL --reference`), once
    per round (it is the semantic baseline, not a speed contender).
It also records the engine's load time, file size and arena, the peak RSS
of `ingot run`, and libingot_rt's stripped text size.

Writes docs/benchmarks.md (the fp32 table, the machine, the command) and
bench/results/fp32.csv.  Usage (from the repository root):
    python3 bench/fp32.py [--rounds 5] [--iterations 200]
It creates bench/.venv with onnxruntime from PyPI on first use.
"""
import argparse
import csv
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import benchdoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
INGOT = os.path.join(BUILD, "bin", "ingot")
MODELS = ["cnn", "mobilenet", "transformer"]
VENV = os.path.join(ROOT, "bench", ".venv")


def venv_python():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "-q",
                               "onnxruntime", "numpy"])
    return py


ORT_SNIPPET = r"""
import json, sys, time, numpy as np, onnxruntime as ort
path, inp, threads, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = np.load(inp)
feed = {s.get_inputs()[0].name: x}
for _ in range(10): s.run(None, feed)
ms = []
for _ in range(iters):
    t0 = time.perf_counter(); s.run(None, feed); ms.append((time.perf_counter() - t0) * 1e3)
ms.sort()
print(json.dumps({"median": ms[len(ms) // 2], "min": ms[0], "version": ort.__version__}))
"""


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_kb(cmd):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True,
                         capture_output=True, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def machine():
    return benchdoc.machine(["avx2", "fma", "avx512f", "avx512_vnni", "amx_tile",
                             "amx_int8", "avx512_bf16"])


def rt_text_size():
    lib = os.path.join(BUILD, "lib", "libingot_rt.so")
    if not os.path.exists(lib):
        return None
    with tempfile.TemporaryDirectory() as d:
        stripped = os.path.join(d, "rt.so")
        subprocess.check_call(["strip", "-o", stripped, lib])
        out = subprocess.run(["size", "-A", stripped], capture_output=True,
                             text=True, check=True).stdout
        m = re.search(r"^\.text\s+(\d+)", out, re.M)
        return (int(m.group(1)) if m else None, os.path.getsize(stripped))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    py = venv_python()
    ncpu = os.cpu_count()
    thread_counts = [1] if ncpu == 1 else [1, ncpu]
    work = tempfile.mkdtemp(prefix="ingot-bench-")
    rows = []
    engines = {}
    for m in MODELS:
        onnx = os.path.join(ROOT, "tests", "models", m + ".onnx")
        eng = os.path.join(work, m + ".ingot")
        t0 = time.perf_counter()
        subprocess.run([INGOT, "build", onnx, "-o", eng], check=True,
                       capture_output=True)
        engines[m] = (onnx, eng, time.perf_counter() - t0)
    samples = {}
    for r in range(args.rounds):
        for m in MODELS:
            onnx, eng, _ = engines[m]
            inp = os.path.join(ROOT, "tests", "models", m + ".input.npy")
            for t in thread_counts:
                j = run_json([INGOT, "bench", eng, "--json", "--threads", str(t),
                              "--iterations", str(args.iterations),
                              "--input", inp])
                samples.setdefault((m, "ingot", t), []).append(j["latency_ms"]["median"])
                samples.setdefault((m, "ingot-load", t), []).append(j.get("load_ms", float("nan")))
                j = run_json([py, "-c", ORT_SNIPPET, onnx, inp, str(t),
                              str(args.iterations)])
                samples.setdefault((m, "ort", t), []).append(j["median"])
                samples[("ort-version",)] = [j["version"]]
            j = run_json([INGOT, "bench", onnx, "--reference", "--json",
                          "--iterations", "20", "--input", inp])
            samples.setdefault((m, "reference", 1), []).append(j["latency_ms"]["median"])
    ort_version = samples[("ort-version",)][0]
    for m in MODELS:
        onnx, eng, build_s = engines[m]
        inp = os.path.join(ROOT, "tests", "models", m + ".input.npy")
        rss = peak_rss_kb([INGOT, "run", eng, "--input", inp])
        for t in thread_counts:
            ing = statistics.median(samples[(m, "ingot", t)])
            ort = statistics.median(samples[(m, "ort", t)])
            ref = statistics.median(samples[(m, "reference", 1)])
            load = statistics.median(samples[(m, "ingot-load", t)])
            rows.append({
                "model": m, "threads": t,
                "ingot_ms": round(ing, 4), "ort_ms": round(ort, 4),
                "reference_ms": round(ref, 3) if t == 1 else "",
                "ort_over_ingot": round(ort / ing, 2),
                "engine_load_ms": round(load, 3),
                "engine_bytes": os.path.getsize(eng),
                "onnx_bytes": os.path.getsize(onnx),
                "build_s": round(build_s, 2),
                "ingot_run_peak_rss_kb": rss,
            })
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    csv_path = os.path.join(ROOT, "bench", "results", "fp32.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    cpu, n, feats = machine()
    rt = rt_text_size()
    lines = [
        "# Benchmarks", "",
        "## fp32 engines vs ONNX Runtime and the reference interpreter", "",
        "Command: `python3 bench/fp32.py --rounds %d --iterations %d` (after "
        "`bash examples/demo.sh` has built `build/`)." % (args.rounds, args.iterations),
        "",
        "Machine: %s, %d CPUs (%s), %s, %s. ONNX Runtime %s (PyPI, CPU "
        "provider, sequential, all graph optimisations). Ingot engines built "
        "with `ingot build MODEL -o ENGINE` (fp32, `--mcpu native`)." % (
            cpu, n, feats, platform.platform(), time.strftime("%Y-%m-%d"),
            ort_version),
        "",
        "Latencies are medians over %d rounds. Each round's figure is the "
        "median of %d runs after 10 warm-up runs, with the tools interleaved "
        "round by round. The ratio column is ORT / Ingot: above 1 means Ingot "
        "is faster." % (args.rounds, args.iterations),
        "",
        "| model | threads | Ingot ms | ORT ms | ORT/Ingot | reference ms | engine load ms | engine / onnx bytes | `ingot run` peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %d | %.4f | %.4f | %.2f | %s | %.3f | %d / %d | %d KiB |" % (
            r["model"], r["threads"], r["ingot_ms"], r["ort_ms"],
            r["ort_over_ingot"], r["reference_ms"] or "",
            r["engine_load_ms"], r["engine_bytes"], r["onnx_bytes"],
            r["ingot_run_peak_rss_kb"]))
    if rt:
        lines += ["", "`libingot_rt.so`, stripped: .text %d bytes, file %d bytes." % rt]
    lines += ["", "Raw numbers: `bench/results/fp32.csv`.", ""]
    doc = os.path.join(ROOT, "docs", "benchmarks.md")
    # Keep the sections other scripts own (bench/int8.py's,
    # bench/int8_models.py's: each between its own markers).
    if os.path.exists(doc):
        old = open(doc).read()
        for m in re.finditer(r"<!-- (bench/[\w.]+): begin -->.*?<!-- \1: end -->\n?",
                             old, re.S):
            lines += [m.group(0)]
    with open(doc, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
