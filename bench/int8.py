#!/usr/bin/env python3
"""int8 kernels: Ingot's kernel families against this machine's peaks and oneDNN.

Two problems, the issue's (docs/benchmarks.md, issue 4):
  gemm  QLinearMatMul u8 [1024,1024] x s8 [1024,1024] -> u8 (1024^3);
  conv  QLinearConv 3x3, 64 -> 64 channels, 56x56, batch 1, pad 1, u8 x s8
        -> u8, int32 bias.
For each, one-node ONNX models are built into engines with `ingot build`,
once per kernel family, the family forced with --mcpu (native: AMX on this
machine; cascadelake: AVX-512 VNNI; haswell: AVX2; x86-64: generic C).
`ingot inspect --json` records the kernel each engine's product step uses.

Timing, interleaved round by round so that drift on this shared machine hits
every contender alike, 1 and 2 threads:
  - Ingot: `ingot profile ENGINE --format json` (the runtime's profiling API):
    the kernel time is the sum of the medians of the node's steps except the
    NCHW->NHWC relayout of the model input (AMX's pad copy is counted); the
    end-to-end engine latency (`latency_us` median, relayout included) is
    reported beside it;
  - oneDNN: bench/onednn_int8.c (bench_onednn_int8), the same problem with
    the same requantisation, weights in oneDNN's preferred layout, NHWC
    activations, OMP_NUM_THREADS threads; median of its runs.
Peaks come from bench/peak_int8.c (bench_peak_int8, best of 15) run at the
start: the % column divides a family's GOPS by its instruction's peak at the
same thread count (amx: tdpbusd with operands in tiles; vnni: vpdpbusd zmm;
avx2: vpmaddwd on widened int16; generic C has no instruction peak).

Writes the int8 section of docs/benchmarks.md (between the int8.py markers;
the rest of the file is kept) and bench/results/int8.csv.

Needs: build/ built (cmake -S . -B build && cmake --build build -j2), and
oneDNN for the comparison: `apt-get install libdnnl-dev` (Debian 12: oneDNN
2.6), then re-run cmake so bench_onednn_int8 is built.  Without it the
oneDNN columns are empty.
Usage (from the repository root):
    python3 bench/int8.py [--rounds 5] [--families native,cascadelake,...]
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
BIN = os.path.join(BUILD, "bin")
INGOT = os.path.join(BIN, "ingot")
PEAK = os.path.join(BIN, "bench_peak_int8")
ONEDNN = os.path.join(BIN, "bench_onednn_int8")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

FAMILIES = [  # (--mcpu, family label, peak kernel of bench_peak_int8)
    ("native", "amx", "amx"),
    ("cascadelake", "vnni", "vnni"),
    ("haswell", "avx2", "avx2-exact"),
    ("x86-64", "generic", None),
]
PROBLEMS = {
    "gemm": {"what": "GEMM 1024x1024x1024 (QLinearMatMul)",
             "macs": 1024 ** 3, "onednn": ["gemm", "1024", "1024", "1024"]},
    "conv": {"what": "conv 3x3 64->64 56x56 (QLinearConv)",
             "macs": 56 * 56 * 64 * 64 * 9,
             "onednn": ["conv", "64", "56", "56", "64", "3"]},
}

MAKE_MODELS = r"""
import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
out = sys.argv[1]
rng = np.random.default_rng(0)
def save(nodes, name, inp, outp, consts):
    g = helper.make_graph(nodes, name, [inp], [outp],
                          [numpy_helper.from_array(v, k) for k, v in consts.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, "%s/%s.onnx" % (out, name))
c = {"as": np.array(0.02, np.float32), "az": np.array(128, np.uint8),
     "b": rng.integers(-127, 128, (1024, 1024)).astype(np.int8),
     "bs": np.array(0.01, np.float32), "bz": np.array(0, np.int8),
     "ys": np.array(4.0, np.float32), "yz": np.array(128, np.uint8)}
save([helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"],
                       ["y"], name="gemm")], "gemm",
     helper.make_tensor_value_info("a", TensorProto.UINT8, [1024, 1024]),
     helper.make_tensor_value_info("y", TensorProto.UINT8, [1024, 1024]), c)
np.save("%s/gemm.npy" % out, rng.integers(0, 256, (1024, 1024)).astype(np.uint8))
c = {"xs": np.array(0.02, np.float32), "xz": np.array(128, np.uint8),
     "w": rng.integers(-127, 128, (64, 64, 3, 3)).astype(np.int8),
     "ws": np.array(0.01, np.float32), "wz": np.array(0, np.int8),
     "ys": np.array(0.5, np.float32), "yz": np.array(128, np.uint8),
     "b": rng.integers(-1000, 1000, (64,)).astype(np.int32)}
save([helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                       ["y"], name="conv", pads=[1, 1, 1, 1])], "conv",
     helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 64, 56, 56]),
     helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 64, 56, 56]), c)
np.save("%s/conv.npy" % out, rng.integers(0, 256, (1, 64, 56, 56)).astype(np.uint8))
"""


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def machine():
    return benchdoc.machine(["avx2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8"])


def ingot_time(engine, threads, iterations):
    """(kernel us, end-to-end us) of one `ingot profile` run: step times and
    latency as means over the quietest quarter of the runs (see docs/profile-format.md)."""
    warmup = iterations // 10  # slow families: one timed pair, no warm-up
    j = json.loads(run([INGOT, "profile", engine, "--format", "json",
                        "--threads", str(threads), "--iterations", str(iterations),
                        "--warmup", str(warmup)]))
    kern = sum(s["time_us"]["quiet"] for s in j["steps"]
               if not s["kernel"].startswith("k_plan_relayout"))
    return kern, j["latency_us"]["quiet"]


def product_kernel(engine):
    j = json.loads(run([INGOT, "inspect", engine, "--json"]))
    best = max(j["steps"], key=lambda s: s["ops"])
    return best["kernel"]


def write_doc(section):
    benchdoc.write_section(DOC, "int8.py", section)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--families", default=",".join(f[0] for f in FAMILIES))
    ap.add_argument("--budget", type=float, default=0.4,
                    help="seconds of timed runs per measurement (default 0.4)")
    args = ap.parse_args()
    fams = [f for f in FAMILIES if f[0] in args.families.split(",")]
    ncpu = os.cpu_count() or 1
    threads = [1] if ncpu == 1 else [1, 2]
    have_dnnl = os.path.exists(ONEDNN)
    work = tempfile.mkdtemp(prefix="ingot-int8-")
    run(["/usr/bin/python3", "-c", MAKE_MODELS, work])

    peaks = {}
    pj = json.loads(run([PEAK, "--json", "--tries", "15"]))
    for k in pj["kernels"]:
        if k["available"]:
            peaks[k["name"]] = {int(t): g for t, g in k["gops"].items()}

    engines = {}  # (problem, mcpu) -> (path, kernel, iterations)
    for p in PROBLEMS:
        onnx = os.path.join(work, p + ".onnx")
        for mcpu, label, _ in fams:
            eng = os.path.join(work, "%s-%s.ingot" % (p, label))
            run([INGOT, "build", onnx, "-o", eng, "--mcpu", mcpu])
            # Iterations from one probe run, so slow families stay bounded.
            probe, _ = ingot_time(eng, 1, 1)
            iters = int(max(1, min(300, args.budget * 1e6 / max(probe, 1.0))))
            engines[(p, mcpu)] = (eng, product_kernel(eng), iters)

    samples = {}
    dnnl_info = {}
    for r in range(args.rounds):
        for p, spec in PROBLEMS.items():
            for t in threads:
                for mcpu, label, _ in fams:
                    eng, _, iters = engines[(p, mcpu)]
                    k, e2e = ingot_time(eng, t, iters)
                    samples.setdefault((p, label, t, "kernel"), []).append(k)
                    samples.setdefault((p, label, t, "e2e"), []).append(e2e)
                if have_dnnl:
                    env = dict(os.environ, OMP_NUM_THREADS=str(t))
                    j = last_json(run([ONEDNN, "--iterations", "200"] + spec["onednn"], env))
                    samples.setdefault((p, "onednn", t, "kernel"), []).append(j["median_ms"] * 1e3)
                    dnnl_info[p] = (j["impl"], j["version"])
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)

    rows = []
    for p, spec in PROBLEMS.items():
        ops = 2.0 * spec["macs"]
        for t in threads:
            dn = samples.get((p, "onednn", t, "kernel"))
            dn_us = statistics.median(dn) if dn else None
            dn_gops = ops / (dn_us * 1e3) if dn_us else None
            for mcpu, label, peak_name in fams:
                k_us = statistics.median(samples[(p, label, t, "kernel")])
                e_us = statistics.median(samples[(p, label, t, "e2e")])
                gops = ops / (k_us * 1e3)
                pk = peaks.get(peak_name, {}).get(t) if peak_name else None
                rows.append({
                    "problem": p, "family": label, "mcpu": mcpu, "threads": t,
                    "kernel": engines[(p, mcpu)][1],
                    "kernel_us": round(k_us, 2), "engine_us": round(e_us, 2),
                    "gops": round(gops, 1),
                    "peak_gops": round(pk, 1) if pk else "",
                    "pct_peak": round(100 * gops / pk, 1) if pk else "",
                    "onednn_us": round(dn_us, 2) if dn_us else "",
                    "onednn_gops": round(dn_gops, 1) if dn_gops else "",
                    "vs_onednn": round(gops / dn_gops, 2) if dn_gops else "",
                })

    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "int8.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    cpu, n, feats = machine()
    load = os.getloadavg()
    lines = [
        "## int8 kernels vs this machine's peaks and oneDNN", "",
        "Command: `python3 bench/int8.py --rounds %d` (after `cmake --build build`; "
        "oneDNN from `apt-get install libdnnl-dev`)." % args.rounds, "",
        "Machine: %s, %d CPUs (%s), %s, %s. oneDNN %s (Debian, `%s` for GEMM, "
        "`%s` for the conv)." % (
            cpu, n, feats, platform.platform(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            dnnl_info.get("gemm", ("-", "-"))[1],
            dnnl_info.get("gemm", ("-",))[0], dnnl_info.get("conv", ("-",))[0]),
        "",
        "Noise: the machine is shared by six engineers building and testing "
        "(load average %.1f / %.1f / %.1f at the end of this run), so single "
        "runs vary by 2x and more; every figure is a median (over %d rounds, "
        "each the median of its own runs), with Ingot and oneDNN interleaved "
        "round by round. Read the ratios, not the third digit. The 2-thread "
        "rows suffer most: with many runnable processes on 2 CPUs, a step "
        "split over both threads waits for whichever thread the OS "
        "descheduled (Ingot's pool and oneDNN's OpenMP alike), so they can "
        "come out slower than 1 thread; the 1-thread rows are the "
        "comparison to read." % (load[0], load[1], load[2], args.rounds),
        "",
        "GOPS count 1 MAC as 2 ops. Ingot's time is the node's kernel steps "
        "(for AMX: the padded-input copy and the product), without the "
        "NCHW->NHWC relayout of the model input that oneDNN, fed NHWC, does "
        "not pay; the engine column is the whole engine's median latency. "
        "% of peak divides by the family's instruction peak at the same "
        "thread count, measured at the start of this run by "
        "`build/bin/bench_peak_int8` (AMX `tdpbusd` with operands in tiles; "
        "VNNI `vpdpbusd` zmm; AVX2 `vpmaddwd` on widened int16). vs oneDNN is "
        "Ingot GOPS / oneDNN GOPS in the same run (above 1: Ingot faster).", "",
        "| problem | family (`--mcpu`) | kernel | threads | Ingot kernel us | GOPS | % of peak | oneDNN us | oneDNN GOPS | vs oneDNN | engine us |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %s (`%s`) | `%s` | %d | %.1f | %.0f | %s | %s | %s | %s | %.1f |" % (
            r["problem"], r["family"], r["mcpu"], r["kernel"], r["threads"],
            r["kernel_us"], r["gops"],
            ("%.0f%% of %.0f" % (r["pct_peak"], r["peak_gops"])) if r["pct_peak"] != "" else "-",
            r["onednn_us"] if r["onednn_us"] != "" else "-",
            ("%.0f" % r["onednn_gops"]) if r["onednn_gops"] != "" else "-",
            ("%.2f" % r["vs_onednn"]) if r["vs_onednn"] != "" else "-",
            r["engine_us"]))
    goal = []
    for r in rows:
        if r["family"] == "amx" and r["threads"] == 1 and r["vs_onednn"] != "":
            goal.append("%s %.2fx oneDNN at %.0f%% of the AMX peak" % (
                r["problem"], r["vs_onednn"], r["pct_peak"] if r["pct_peak"] != "" else 0))
    if goal:
        lines += ["", "Issue 4's goals (AMX GEMM and conv >= 1.2x oneDNN's GOPS in the "
                  "same run, i.e. >= 55% of peak), 1 thread: " + "; ".join(goal) + "."]
    lines += ["", "Peaks measured in this run (GOPS, best of 15; `bench_peak_int8`):", "",
              "| kernel | what | 1 thread | 2 threads |", "|---|---|---|---|"]
    for k in pj["kernels"]:
        g = k["gops"]
        lines.append("| %s | %s | %s | %s |" % (
            k["name"], k["what"], g.get("1", "-") if k["available"] else "n/a",
            g.get("2", "-") if k["available"] else "n/a"))
    lines += ["", "Raw numbers: `bench/results/int8.csv`.", ""]
    section = "\n".join(lines)
    write_doc(section)
    print(section)


if __name__ == "__main__":
    main()
