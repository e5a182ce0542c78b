#!/usr/bin/python3
"""Top-1 of ImageNet classifiers through `ingot run --reference`.

usage: imagenet_top1.py INGOT IMAGES_DIR LABELS_CSV TMP_DIR [--every K]
                        [--min NAME=PCT ...] [--agree A:B=PCT ...]
                        NAME=MODEL.onnx ...

Preprocesses every K-th labelled image (make_imagenet_inputs.py), runs each
model on each image in the reference interpreter, and prints per model the
top-1 accuracy, then per pair A:B the share of images where A and B predict
the same class.  --min NAME=PCT fails the test when NAME's top-1 is below
PCT percent; --agree A:B=PCT when their agreement is.  Exits 77 (skipped)
when numpy or PIL is missing.  INGOT_IMAGENET_EVERY in the environment
overrides --every (1 = all 100 images).
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_imagenet_inputs  # noqa: E402


def run_model(ingot, model, npy, out_dir, np):
    os.makedirs(out_dir, exist_ok=True)
    cmd = [ingot, "run", model, "--reference", "--shapes",
           "input:1x3x224x224", "--input", "input=" + npy,
           "--output", out_dir]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd),
                                                    r.returncode, r.stdout))
    outs = [f for f in os.listdir(out_dir) if f.endswith(".npy")]
    if len(outs) != 1:
        raise RuntimeError("%s: expected one output, got %s" % (model, outs))
    y = np.load(os.path.join(out_dir, outs[0]))
    os.remove(os.path.join(out_dir, outs[0]))
    return int(np.argmax(y.reshape(-1)))


def main(argv):
    opts = {"--every": [], "--min": [], "--agree": []}
    pos = []
    i = 1
    while i < len(argv):
        if argv[i] in opts:
            opts[argv[i]].append(argv[i + 1])
            i += 2
        else:
            pos.append(argv[i])
            i += 1
    if len(pos) < 5:
        print(__doc__)
        return 2
    ingot, images, labels, tmp = pos[:4]
    models = [m.split("=", 1) for m in pos[4:]]
    every = int(opts["--every"][-1]) if opts["--every"] else 1
    every = int(os.environ.get("INGOT_IMAGENET_EVERY", every))
    for name, path in models:
        if not os.path.exists(path):
            print("skipped: %s is absent" % path)
            return 77

    rows = make_imagenet_inputs.make_inputs(images, labels,
                                            os.path.join(tmp, "inputs"),
                                            every)
    import numpy as np
    pred = {}
    ok = True
    for name, path in models:
        t0 = time.time()
        pred[name] = [run_model(ingot, path, npy, os.path.join(tmp, name),
                                np) for npy, _, _ in rows]
        hits = sum(p == c for p, (_, c, _) in zip(pred[name], rows))
        print("%-24s top-1 %3d/%d = %5.1f%%  (%.1f s)" %
              (name, hits, len(rows), 100.0 * hits / len(rows),
               time.time() - t0))
        pred[name + ".top1"] = 100.0 * hits / len(rows)
    for spec in opts["--min"]:
        name, pct = spec.split("=")
        if pred[name + ".top1"] < float(pct):
            print("FAIL: %s top-1 %.1f%% is below %s%%" %
                  (name, pred[name + ".top1"], pct))
            ok = False
    for spec in opts["--agree"]:
        pair, pct = spec.split("=")
        a, b = pair.split(":")
        same = sum(x == y for x, y in zip(pred[a], pred[b]))
        share = 100.0 * same / len(rows)
        print("agreement %s / %s: %d/%d = %.1f%%" %
              (a, b, same, len(rows), share))
        if share < float(pct):
            print("FAIL: agreement below %s%%" % pct)
            ok = False
    print("top-1 checks: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
