#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running demo: installs what Ingot
# needs, builds it in build/, and runs the bundled sample CNN through the
# reference interpreter, printing its top-5 classes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
cmake -S . -B build -DCMAKE_C_COMPILER=clang-19 >/dev/null
cmake --build build -j"$(nproc)"
echo
echo "== ingot inspect tests/models/cnn.onnx"
build/bin/ingot inspect tests/models/cnn.onnx
echo
echo "== ingot run tests/models/cnn.onnx --reference --top 5"
build/bin/ingot run tests/models/cnn.onnx --reference \
  --input input=tests/models/cnn.input.npy --top 5
