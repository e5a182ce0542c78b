#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running demo: installs what Ingot
# needs, builds it in build/, builds an fp32 engine from the bundled sample
# CNN, runs it (top-5 classes), and benchmarks it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
cmake -S . -B build -DCMAKE_C_COMPILER=clang-19 >/dev/null
cmake --build build -j"$(nproc)"
ingot=build/bin/ingot
mkdir -p build/demo
echo
echo "== ingot build tests/models/cnn.onnx -o build/demo/cnn.ingot"
$ingot build tests/models/cnn.onnx -o build/demo/cnn.ingot
echo
echo "== ingot run build/demo/cnn.ingot --input input=tests/models/cnn.input.npy --top 5"
$ingot run build/demo/cnn.ingot --input input=tests/models/cnn.input.npy --top 5
echo
echo "== ingot bench build/demo/cnn.ingot"
$ingot bench build/demo/cnn.ingot --input input=tests/models/cnn.input.npy
