#!/usr/bin/python3
"""Fused engines against unfused ones (docs/fusion.md): for each model,
`ingot build` (fused, the default; with --dump-ir of the graph after the
last graph pass before layout) and `ingot build --no-fuse`, then on the same inputs:

  - the fused engine must run fewer steps than the unfused one;
  - float models: its outputs must equal the unfused engine's within a
    relative 1e-5 (the fusion passes replace subgraphs by ops computed in
    one go; the planner's epilogues are bit-exact) and the reference's on
    the fused graph within 1e-4;
  - int8 models (int8 in the spec): its outputs must equal the reference
    interpreter's on the fused graph (`--dump-ir qdq-fold`: the fusion
    passes run before calibration, so this is the fused, quantised graph)
    byte for byte.

usage: fusion_engines.py INGOT TMP_DIR [--table FILE.md] [--specs FILE] SPEC...
  SPEC  NAME=MODEL[:input=NAME][:shape=DIMS][:file=X.npy][:random=N][:int8]
             [:expect=KEY#N,KEY#N...][:exact][:amx][:mcpu=CPU]
        (random inputs are seeded normal floats, or ints in [0, 100) for
        an int64 input, for every input of the model; file= gives the one
        input's file instead; expect= requires exactly N "fuse:" lines of
        the fused build's --verbose log ending in "(KEY)", e.g.
        expect=fuse-softmax-mask#2,fold-concat#0; exact requires the fused
        engine's outputs to equal the unfused engine's byte for byte; amx
        builds both with --amx always, which a CPU without AMX ignores;
        mcpu builds both for that CPU, e.g. x86-64 for the generic templates)
--specs FILE reads more SPECs, one a line.  Prints one line per model; --table writes the markdown rows of
docs/fusion.md.  Exits 77 (skipped) when numpy is missing.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True

STAGE = "qdq-fold"  # after the fusions and quantisation (passes/pipeline.c)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd),
                                                    r.returncode, r.stdout))
    return r.stdout


def parse_spec(s):
    name, rest = s.split("=", 1)
    parts = rest.split(":")
    spec = {"name": name, "model": parts[0], "input": "input", "shape": None,
            "file": None, "random": 2, "int8": False, "expect": "",
            "exact": False, "amx": False}
    for p in parts[1:]:
        if p in ("int8", "exact", "amx"):
            spec[p] = True
        else:
            k, v = p.split("=", 1)
            spec[k] = int(v) if k == "random" else v
    return spec


def steps_of(log):
    m = re.search(r"engine: (\d+) steps", log)
    if not m:
        raise RuntimeError("no step count in the build log:\n" + log)
    return int(m.group(1))


def outputs(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".npy"))


def check_model(np, ingot, tmp, sp):
    name, model = sp["name"], sp["model"]
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    shapes = (["--shapes", "%s:%s" % (sp["input"], sp["shape"])]
              if sp["shape"] else [])
    flags = shapes + (["--amx", "always"] if sp["amx"] else []) + (
        ["--mcpu", sp["mcpu"]] if sp.get("mcpu") else [])
    fused, unfused = os.path.join(d, "fused.ingot"), os.path.join(d,
                                                                  "unfused.ingot")
    log_f = run([ingot, "build", model, "-o", fused, "--verbose",
                 "--dump-ir", STAGE] + flags)
    s_f = steps_of(log_f)
    s_u = steps_of(run([ingot, "build", model, "-o", unfused, "--verbose",
                        "--no-fuse"] + flags))
    graph = fused + "." + STAGE + ".xml"
    inputs = []
    if sp["file"]:
        inputs.append(["%s=%s" % (sp["input"], sp["file"])])
    else:
        info = run([ingot, "inspect", unfused])
        found = re.findall(r"^\s*input\s+(\S+)\s+(\w+)\s+\[([\d, ]+)\]",
                           info, re.M)
        if not any(nm == sp["input"] for nm, _, _ in found):
            raise RuntimeError("input %s not found in:\n%s" % (sp["input"],
                                                               info))
        rng = np.random.default_rng(42)
        for i in range(sp["random"]):
            feeds = []
            for nm, dtype, dims in found:
                dims = [int(x) for x in dims.split(",")]
                x = (rng.integers(0, 100, dims).astype(dtype)
                     if dtype.startswith("int") else
                     rng.standard_normal(dims).astype(dtype))
                p = os.path.join(d, "in%d_%s.npy" % (i, nm))
                np.save(p, x)
                feeds.append("%s=%s" % (nm, p))
            inputs.append(feeds)
    worst_u = worst_r = 0.0
    exact_r = exact_u = True
    fails = []
    for i, x in enumerate(inputs):
        dirs = {}
        for tag, cmd in (("f", [ingot, "run", fused]),
                         ("u", [ingot, "run", unfused]),
                         ("r", [ingot, "run", graph, "--reference"] + shapes)):
            o = os.path.join(d, "out%d_%s" % (i, tag))
            os.makedirs(o, exist_ok=True)
            feeds = []
            for feed in x:
                feeds += ["--input", feed]
            run(cmd + feeds + ["--output", o])
            dirs[tag] = o
        for f in outputs(dirs["f"]):
            a = np.load(os.path.join(dirs["f"], f))
            for tag in ("u", "r"):
                b = np.load(os.path.join(dirs[tag], f))
                same = (open(os.path.join(dirs["f"], f), "rb").read() ==
                        open(os.path.join(dirs[tag], f), "rb").read())
                diff = (float(np.max(np.abs(a.astype(np.float64) - b) /
                                     np.maximum(1.0, np.abs(b))))
                        if a.size and a.dtype.kind == "f" else
                        (0.0 if same else float("inf")))
                if diff != diff:  # NaN: max() below would drop it
                    diff = float("inf")
                if tag == "u":
                    worst_u, exact_u = max(worst_u, diff), exact_u and same
                else:
                    worst_r, exact_r = max(worst_r, diff), exact_r and same
    if s_f >= s_u:
        fails.append("fused %d steps, unfused %d" % (s_f, s_u))
    for want in filter(None, sp["expect"].split(",")):
        key, n = want.rsplit("#", 1)
        got = sum(1 for ln in log_f.splitlines()
                  if ln.startswith("fuse: ") and ln.endswith("(%s)" % key))
        if got != int(n):
            fails.append("%d %s fusion(s), expected %s" % (got, key, n))
    if sp["exact"] and not exact_u:
        fails.append("fused engine differs from the unfused one")
    if sp["int8"]:
        if not exact_r:
            fails.append("int8 engine differs from the reference of the "
                         "fused graph")
    else:
        if worst_u > 1e-5:
            fails.append("max rel diff %.3g to the unfused engine" % worst_u)
        if worst_r > 1e-4:
            fails.append("max rel diff %.3g to the reference" % worst_r)
    row = ("| %s | %s | %d | %d | %s | %s |" % (
        name, "int8" if sp["int8"] else "fp32", s_u, s_f,
        "bit-exact" if exact_u else "%.2g" % worst_u,
        ("bit-exact" if exact_r else "%.2g" % worst_r)))
    print("%s %s: %d -> %d steps; vs unfused %s; vs reference of the fused "
          "graph %s (%d input(s))%s" % (
              "FAIL" if fails else "ok  ", name, s_u, s_f,
              "bit-exact" if exact_u else "max rel %.3g" % worst_u,
              "bit-exact" if exact_r else "max rel %.3g" % worst_r,
              len(inputs), ": " + "; ".join(fails) if fails else ""))
    return row, not fails


def main(argv):
    try:
        import numpy as np
    except ImportError as e:
        print("skipped: numpy is needed (Debian python3-numpy): %s" % e)
        return 77
    if len(argv) < 4 and "--specs" not in argv:
        print(__doc__)
        return 2
    ingot, tmp = argv[1], argv[2]
    table, specs, i = None, [], 3
    while i < len(argv):
        if argv[i] == "--table":
            table = argv[i + 1]
            i += 2
            continue
        if argv[i] == "--specs":
            with open(argv[i + 1]) as f:
                specs += [parse_spec(ln.strip()) for ln in f if ln.strip()]
            i += 2
            continue
        specs.append(parse_spec(argv[i]))
        i += 1
    rows, ok = [], True
    for sp in specs:
        if not os.path.exists(sp["model"]):
            print("skip %s: %s is absent" % (sp["name"], sp["model"]))
            continue
        try:
            row, good = check_model(np, ingot, tmp, sp)
        except RuntimeError as e:
            print("FAIL %s: %s" % (sp["name"], e))
            row, good = None, False
        ok = ok and good
        if row:
            rows.append(row)
    if table:
        with open(table, "w") as f:
            f.write("| model | precision | steps unfused | steps fused | "
                    "fused vs unfused (max rel) | fused vs reference of the "
                    "fused graph (max rel) |\n|---|---|---|---|---|---|\n")
            f.write("\n".join(rows) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
