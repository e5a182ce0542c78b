#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running demo: installs what Ingot
# needs, builds it in build/, then, from the bundled sample CNN, builds an
# fp32 engine and an int8 engine (calibrated on 128 generated sample
# images), runs both (top-5 classes), compares the int8 engine with the
# fp32 model on 32 other images, and benchmarks both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
cmake -S . -B build -DCMAKE_C_COMPILER=clang-19 >/dev/null
cmake --build build -j"$(nproc)"
ingot=build/bin/ingot
py=/usr/bin/python3 # Debian's, with python3-numpy from .ci/setup
[ -x "$py" ] || py=python3
mkdir -p build/demo
run() { echo; echo "== $*"; "$@"; }
run $ingot build tests/models/cnn.onnx -o build/demo/cnn.ingot
# Calibration and held-out inputs like the sample input (no data ships).
"$py" tests/models/make_calib_data.py build/demo/data 128 32 >/dev/null
run $ingot build tests/models/cnn.onnx -o build/demo/cnn.int8.ingot \
  --int8 --calib build/demo/data/calib
run $ingot run build/demo/cnn.ingot --input input=tests/models/cnn.input.npy --top 5
run $ingot run build/demo/cnn.int8.ingot --input input=tests/models/cnn.input.npy --top 5
run $ingot compare tests/models/cnn.onnx build/demo/cnn.int8.ingot \
  --data build/demo/data/heldout
run $ingot bench build/demo/cnn.ingot --input input=tests/models/cnn.input.npy
run $ingot bench build/demo/cnn.int8.ingot --input input=tests/models/cnn.input.npy
