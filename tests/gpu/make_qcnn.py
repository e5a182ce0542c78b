"""make_qcnn.py OUT.onnx — a small int8 QOperator CNN whose every step has
a GPU kernel (issue 7): QLinearConv 3x3/2 3->16 (per-channel weight
scales), depthwise QLinearConv 3x3 16, QLinearConv 1x1 16->24 with uint8
weights and a weight zero point (the Σa correction), uint8 activations.
Input x 1x3x20x18, output y.  Deterministic (seed 7)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
inits, nodes = [], []


def const(name, arr):
    inits.append(numpy_helper.from_array(arr, name))
    return name


def qconv(name, x, xs, xz, w, ws, wz, ys, yz, bias, **attrs):
    ins = [x, const(name + ".xs", np.array(xs, np.float32)),
           const(name + ".xz", np.array(xz, np.uint8)),
           const(name + ".w", w), const(name + ".ws", ws),
           const(name + ".wz", wz),
           const(name + ".ys", np.array(ys, np.float32)),
           const(name + ".yz", np.array(yz, np.uint8)),
           const(name + ".b", bias)]
    nodes.append(helper.make_node("QLinearConv", ins, [name + ".y"],
                                  name=name, **attrs))
    return name + ".y"


y = qconv("stem", "x", 0.02, 128,
          rng.integers(-127, 128, (16, 3, 3, 3)).astype(np.int8),
          (0.004 + 0.002 * rng.random(16)).astype(np.float32),
          np.zeros(16, np.int8), 0.05, 120,
          rng.integers(-2000, 2000, (16,)).astype(np.int32),
          pads=[1, 1, 1, 1], strides=[2, 2])
y = qconv("dw", y, 0.05, 120,
          rng.integers(-127, 128, (16, 1, 3, 3)).astype(np.int8),
          np.array(0.01, np.float32), np.array(0, np.int8), 0.08, 110,
          rng.integers(-500, 500, (16,)).astype(np.int32),
          pads=[1, 1, 1, 1], group=16)
y = qconv("pw", y, 0.08, 110,
          rng.integers(0, 256, (24, 16, 1, 1)).astype(np.uint8),
          np.array(0.01, np.float32), np.array(131, np.uint8), 0.1, 128,
          rng.integers(-500, 500, (24,)).astype(np.int32))
nodes[-1].output[0] = "y"
graph = helper.make_graph(
    nodes, "qcnn",
    [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 20, 18])],
    [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 24, 10, 9])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
