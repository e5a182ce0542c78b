#!/usr/bin/env bash
# Issue 6, memory planning: the sample CNN's peak activation arena is at
# most 50% of the naive sum of its activation sizes, as `ingot inspect`
# reports it (text and --json agree).
# usage: arena_cnn.sh INGOT PYTHON MODELS TMPDIR
set -euo pipefail
ingot=$1 py=$2 models=$3 tmp=$4
mkdir -p "$tmp"
"$ingot" build "$models/cnn.onnx" -o "$tmp/cnn.ingot" >/dev/null
"$ingot" inspect "$tmp/cnn.ingot" | grep -E "^  (arena|  activations peak|naive sum)"
"$ingot" inspect "$tmp/cnn.ingot" --json | "$py" -c '
import json, sys
m = json.load(sys.stdin)["memory"]
peak, naive = m["activations_peak_bytes"], m["naive_bytes"]
print("peak %d of naive %d bytes = %.1f%%" % (peak, naive, 100.0 * peak / naive))
assert naive > 0 and peak <= naive // 2, "peak arena above 50% of the naive sum"
'
