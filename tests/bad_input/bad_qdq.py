#!/usr/bin/env python3
"""Bad QDQ models and bad int8 build options get a clear error, never a
crash or a silent wrong engine (issue 4, "Bad input").

usage: bad_qdq.py INGOT SAMPLE_CNN.onnx TMPDIR

Each case writes a small model (or uses the sample CNN), runs `ingot build`
on it, and checks: exit status 1 (2 for usage errors; never a signal or 0),
and that stderr names the node, the input and the reason.  About 2 s (no engine is built:
every case fails before code generation).
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INGOT, CNN, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(TMP, exist_ok=True)
failures = 0


def model(name, q_scale, q_zp, dq_scale=None, dq_zp=None, dq_axis=0,
          w_dtype=np.int8, w_shape=(6, 3, 3, 3)):
    """x -> Q -> DQ -> Conv(DQ(w)) -> y, with the given parameters."""
    inits = [numpy_helper.from_array(np.asarray(q_scale, np.float32), "xs"),
             numpy_helper.from_array(np.asarray(q_zp), "xz"),
             numpy_helper.from_array(np.ones(w_shape, w_dtype), "wq"),
             numpy_helper.from_array(
                 np.asarray(dq_scale if dq_scale is not None
                            else np.full(w_shape[0], 0.1), np.float32), "ws"),
             numpy_helper.from_array(
                 np.asarray(dq_zp if dq_zp is not None
                            else np.zeros(w_shape[0], w_dtype)), "wz")]
    attrs = {} if dq_axis is None else {"axis": dq_axis}
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"],
                         name="quant_x"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"],
                         name="dequant_x"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"],
                         name="dequant_w", **attrs),
        helper.make_node("Conv", ["xd", "wd"], ["y"], name="conv"),
    ]
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(TMP, name + ".onnx")
    onnx.save(m, path)
    return path


def expect(name, args, *needles, status=1):
    global failures
    r = subprocess.run([INGOT, "build"] + args + ["-o",
                        os.path.join(TMP, name + ".ingot")],
                       capture_output=True, text=True)
    err = r.stderr.strip().splitlines()
    last = err[-1] if err else ""
    ok = r.returncode == status and all(n in r.stderr for n in needles)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: status {r.returncode}: {last}")
    if not ok:
        print(f"     expected status {status} and {needles} in stderr:\n"
              f"{r.stderr}")
        failures += 1


u8 = np.uint8
expect("scale_zero", [model("scale_zero", 0.0, u8(128))],
       "quant_x", "y_scale (input 1)", "is 0", "positive and finite")
expect("scale_nan", [model("scale_nan", np.nan, u8(128))],
       "quant_x", "y_scale (input 1)", "nan", "positive and finite")
expect("scale_negative_channel",
       [model("scale_neg", 0.02, u8(128),
              dq_scale=[0.1, 0.1, -0.1, 0.1, 0.1, 0.1])],
       "dequant_w", "x_scale (input 1) element 2", "-0.1",
       "positive and finite")
expect("zero_point_type",
       [model("zp_type", 0.02, np.int32(128))],
       "quant_x", "y_zero_point (input 2) is int32", "uint8 or int8")
expect("zero_point_mismatch",
       [model("zp_mismatch", 0.02, u8(128),
              dq_zp=np.zeros(6, np.uint8))],
       "dequant_w", "x_zero_point (input 2) is uint8", "x's type, int8")
expect("per_channel_length",
       [model("pc_len", 0.02, u8(128), dq_scale=np.full(5, 0.1),
              dq_zp=np.zeros(5, np.int8))],
       "dequant_w", "scale has 5 elements but axis 0", "has 6")
expect("axis_out_of_range",
       [model("axis", 0.02, u8(128), dq_axis=4)],
       "dequant_w", "axis 4 is out of range for rank 4")
# Options of the int8 build.
expect("int8_without_calib", [CNN, "--int8"],
       "--int8 needs calibration data (--calib DATA)",
       "no QuantizeLinear/DequantizeLinear or QLinear nodes")
# Usage errors exit with 2, like every ingot usage error.
expect("calib_without_int8", [CNN, "--calib", TMP],
       "go with --int8", status=2)
expect("bad_method", [CNN, "--int8", "--calib", TMP, "--calib-method",
                      "median"], "unknown calibration method 'median'")
expect("bad_scheme", [CNN, "--int8", "--calib", TMP, "--act-scheme", "u4"],
       "--act-scheme u4: use u8 or s8", status=2)
expect("bad_override", [CNN, "--int8", "--calib", TMP, "--layer-precision",
                        "stem.conv=fp16"], "write NAME=fp32, NAME=int8 or NAME=bf16")
sys.exit(1 if failures else 0)
