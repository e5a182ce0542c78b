#!/usr/bin/python3
"""Builds a model into an engine and checks that the engine's outputs equal
the reference interpreter's bit for bit.

usage: engine_vs_reference.py INGOT TMP_DIR MODEL [options]
  --input-name NAME      the model's input (default: input)
  --shape DIMS           static input shape, e.g. 1x3x224x224 (passed to
                         both `ingot build` and `ingot run --reference`
                         as --shapes NAME:DIMS; also the random inputs')
  --vector FILE.pb       an input tensor file (repeatable)
  --expect-top1 K        the first --vector's output argmax must be K
  --images DIR LABELS    ImageNet JPEGs through make_imagenet_inputs.py
  --every K              ... every K-th of them (default 50; the
                         environment's INGOT_IMAGENET_EVERY overrides)
  --random N             N pseudo-random inputs (normal, seeded)
  --reference-after STAGE  compare with the reference run on the graph
                         after build pass STAGE (`ingot build --dump-ir
                         STAGE`), e.g. qdq-fold for a QDQ model, whose
                         int8 form is what the engine computes

For every input, `ingot run ENGINE` and `ingot run MODEL --reference` write
their outputs; every output file must be byte-identical.  Prints the
build time, each input's top-1 and the engine's top-1 accuracy on the
images.  Exits 77 (skipped) when numpy is missing (and PIL for --images).
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    t = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd),
                                                    r.returncode, r.stdout))
    return time.time() - t


def outputs(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".npy"))


def main(argv):
    try:
        import numpy as np
    except ImportError as e:
        print("skipped: numpy is needed (Debian python3-numpy): %s" % e)
        return 77
    if len(argv) < 4:
        print(__doc__)
        return 2
    ingot, tmp, model = argv[1:4]
    name, shape, vectors, expect, images, every, nrand, stage = (
        "input", None, [], None, None, 50, 0, None)
    i = 4
    while i < len(argv):
        a = argv[i]
        if a == "--input-name":
            name = argv[i + 1]
        elif a == "--shape":
            shape = argv[i + 1]
        elif a == "--vector":
            vectors.append(argv[i + 1])
        elif a == "--expect-top1":
            expect = int(argv[i + 1])
        elif a == "--images":
            images = (argv[i + 1], argv[i + 2])
            i += 1
        elif a == "--every":
            every = int(argv[i + 1])
        elif a == "--random":
            nrand = int(argv[i + 1])
        elif a == "--reference-after":
            stage = argv[i + 1]
        else:
            print("unknown option %s\n%s" % (a, __doc__))
            return 2
        i += 2
    every = int(os.environ.get("INGOT_IMAGENET_EVERY", every))
    os.makedirs(tmp, exist_ok=True)
    stem = os.path.splitext(os.path.basename(model))[0]
    engine = os.path.join(tmp, stem + ".ingot")
    shapes = ["--shapes", "%s:%s" % (name, shape)] if shape else []
    dump = ["--dump-ir", stage] if stage else []
    secs = run([ingot, "build", model, "-o", engine] + shapes + dump)
    print("%s: built %s in %.1f s (%d bytes)" % (stem, engine, secs,
                                                 os.path.getsize(engine)))
    ref_model = model
    if stage:
        ref_model = "%s.%s.xml" % (engine, stage)
        print("%s: the reference runs %s" % (stem, ref_model))

    inputs = [(v, None) for v in vectors]
    rng = np.random.default_rng(20261122)
    for k in range(nrand):
        dims = [int(d) for d in shape.split("x")]
        p = os.path.join(tmp, "%s_random%d.npy" % (stem, k))
        np.save(p, (rng.standard_normal(dims) * 1.5).astype(np.float32))
        inputs.append((p, None))
    if images:
        import make_imagenet_inputs
        rows = make_imagenet_inputs.make_inputs(
            images[0], images[1], os.path.join(tmp, stem + "_images"), every)
        inputs += [(p, c) for p, c, _ in rows]

    failures, correct, labelled = 0, 0, 0
    for k, (x, label) in enumerate(inputs):
        de = os.path.join(tmp, "%s_out%d_engine" % (stem, k))
        dr = os.path.join(tmp, "%s_out%d_ref" % (stem, k))
        for d in (de, dr):
            os.makedirs(d, exist_ok=True)
            for f in outputs(d):
                os.remove(os.path.join(d, f))
        te = run([ingot, "run", engine, "--input", "%s=%s" % (name, x),
                  "--output", de])
        tr = run([ingot, "run", ref_model, "--reference"] + shapes +
                 ["--input", "%s=%s" % (name, x), "--output", dr])
        fe, fr = outputs(de), outputs(dr)
        if fe != fr or not fe:
            print("FAIL %s: engine wrote %s, reference %s" % (x, fe, fr))
            failures += 1
            continue
        same = all(open(os.path.join(de, f), "rb").read() ==
                   open(os.path.join(dr, f), "rb").read() for f in fe)
        y = np.load(os.path.join(de, fe[0])).reshape(-1)
        yr = np.load(os.path.join(dr, fe[0])).reshape(-1)
        top = int(np.argmax(y))
        note = ""
        if label is not None:
            labelled += 1
            correct += top == label
            note = " (label %d)" % label
        print("%s %s: top-1 %d%s, engine %.2f s, reference %.2f s: %s" % (
            "ok  " if same else "FAIL", os.path.basename(x), top, note, te,
            tr, "bit-exact" if same else
            "%d of %d values differ, max |diff| %g" % (
                int(np.sum(y != yr)), y.size,
                float(np.max(np.abs(y.astype(np.float64) - yr))))))
        if not same:
            failures += 1
        if k == 0 and expect is not None and top != expect:
            print("FAIL %s: top-1 %d, expected %d" % (x, top, expect))
            failures += 1
    if labelled:
        print("%s: engine top-1 %d/%d on the images" % (stem, correct,
                                                        labelled))
    print("%s: %d input(s), %d failure(s)" % (stem, len(inputs), failures))
    return 1 if failures or not inputs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
