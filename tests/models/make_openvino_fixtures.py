#!/usr/bin/env python3
"""Make the OpenVINO IR fixtures in tests/models/openvino/ from the sample
ONNX models, with OpenVINO itself (and NNCF for the int8 one).

Run by hand, not by CI; the outputs are checked in.  From the repository
root:

    python3 -m venv /tmp/ovvenv
    /tmp/ovvenv/bin/pip install openvino nncf numpy
    /tmp/ovvenv/bin/python tests/models/make_openvino_fixtures.py

It writes, in tests/models/openvino/:

    cnn.xml/.bin, mobilenet.xml/.bin, transformer.xml/.bin
        openvino.convert_model(<model>.onnx), saved fp32
        (save_model(..., compress_to_fp16=False)).  OpenVINO rewrites the
        graphs as it converts (BatchNormalization folded into the
        convolutions, GlobalAveragePool as ReduceMean, Gemm as MatMul+Add,
        LayerNormalization as MVN+Multiply+Add, the Erf pattern as Gelu,
        attention as ScaledDotProductAttention); Ingot must read what it
        actually writes.  Their outputs are checked against the ONNX
        originals' expected outputs (tests/models/<model>.<output>.npy).

    cnn_int8.xml/.bin, cnn_int8.logits.npy
        cnn.xml quantised by nncf.quantize (FakeQuantize layers, what NNCF
        writes for int8 models) with a calibration set of 16 inputs made
        here from the sample input (deterministic noise), offline.  The
        .npy is OpenVINO's own CPU output for the sample input, computed
        unfused (see run_unfused) in f32, which the
        test compares with Ingot's reference run of the imported graph.

The tests are in tests/CMakeLists.txt (section "XML IR").
"""

import os
import sys

import numpy as np
import openvino as ov

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "openvino")
MODELS = ["cnn", "mobilenet", "transformer"]
# The CPU plugin runs fp32 models in bf16 on CPUs with AMX unless told not
# to; the checks here want fp32.
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def convert(name):
    model = ov.convert_model(os.path.join(HERE, name + ".onnx"))
    ov.save_model(model, os.path.join(OUT, name + ".xml"),
                  compress_to_fp16=False)
    return model


def check_fp32(core, name):
    """OpenVINO's own run of the fixture agrees with the ONNX expectations."""
    compiled = core.compile_model(os.path.join(OUT, name + ".xml"), "CPU",
                                  F32)
    x = np.load(os.path.join(HERE, name + ".input.npy"))
    res = compiled([x])
    for out in compiled.outputs:
        want = np.load(os.path.join(HERE, f"{name}.{out.get_any_name()}.npy"))
        err = np.max(np.abs(res[out] - want) / np.maximum(1, np.abs(want)))
        print(f"{name}: OpenVINO output '{out.get_any_name()}' max rel err "
              f"{err:.3g}")


def run_unfused(core, path, x):
    """OpenVINO's CPU run of |path| as the opset specification computes it:
    with low-precision transformations off and every layer's output made a
    model output, the plugin cannot fuse FakeQuantize into its neighbours
    (its fused int8 kernels round differently, by up to 0.5 on the
    quantised transformer's logits).  Returns the first output."""
    model = core.read_model(path)
    first = model.outputs[0]
    ops = [op for op in model.get_ordered_ops()
           if op.get_type_name() not in ("Parameter", "Const", "Result")
           and op.get_output_size() > 0]
    model.add_outputs([op.output(0) for op in ops])
    cfg = dict(F32, LP_TRANSFORMS_MODE=False)
    compiled = core.compile_model(model, "CPU", cfg)
    res = compiled([x])
    return res[compiled.outputs[model.outputs.index(first)]]


def quantize_cnn(core):
    try:
        import nncf
    except ImportError:
        print("nncf is not installed: no int8 fixture", file=sys.stderr)
        return
    model = core.read_model(os.path.join(OUT, "cnn.xml"))
    x = np.load(os.path.join(HERE, "cnn.input.npy"))
    rng = np.random.RandomState(7)
    calib = [x + 0.25 * rng.standard_normal(x.shape).astype(np.float32)
             for _ in range(16)]
    q = nncf.quantize(model, nncf.Dataset(calib), subset_size=16)
    ov.save_model(q, os.path.join(OUT, "cnn_int8.xml"), compress_to_fp16=False)
    y = run_unfused(core, os.path.join(OUT, "cnn_int8.xml"), x)
    np.save(os.path.join(OUT, "cnn_int8.logits.npy"), y.astype(np.float32))
    print("cnn_int8: OpenVINO logits", np.round(y, 3))


def main():
    os.makedirs(OUT, exist_ok=True)
    core = ov.Core()
    for name in MODELS:
        convert(name)
        check_fp32(core, name)
    quantize_cnn(core)
    print("openvino", ov.__version__)


if __name__ == "__main__":
    main()
