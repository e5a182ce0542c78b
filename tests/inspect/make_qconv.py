"""make_qconv.py OUT.onnx [CHANNELS] — one QLinearConv (opset 13): u8 input
1xCx16x16 (scale 0.02, zero point 128), s8 weights CxCx3x3 (scale 0.01),
int32 bias, u8 output; node name "qconv"; C = CHANNELS, default 64.
Deterministic (seed 0)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
C = K = int(sys.argv[2]) if len(sys.argv) > 2 else 64
H = 16
consts = {
    "xs": np.array(0.02, np.float32), "xz": np.array(128, np.uint8),
    "w": rng.integers(-127, 128, (K, C, 3, 3)).astype(np.int8),
    "ws": np.array(0.01, np.float32), "wz": np.array(0, np.int8),
    "ys": np.array(0.05, np.float32), "yz": np.array(128, np.uint8),
    "b": rng.integers(-1000, 1000, (K,)).astype(np.int32),
}
node = helper.make_node(
    "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
    name="qconv", pads=[1, 1, 1, 1])
graph = helper.make_graph(
    [node], "qconv",
    [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, C, H, H])],
    [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, K, H, H])],
    [numpy_helper.from_array(v, k) for k, v in consts.items()])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
