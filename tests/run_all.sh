#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds
# everything with AddressSanitizer + UBSan (INGOT_SANITIZE=ON) in
# build-asan/, and runs every CTest test (unit, conformance, models, bad
# input, fuzz).  Usage: bash tests/run_all.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang-19 -DINGOT_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j"$(nproc)"
cd build-asan
ctest --output-on-failure -j"$(nproc)" "$@"
