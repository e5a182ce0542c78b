#!/usr/bin/env bash
# Issue 6, memory planning: the sample CNN's peak activation arena is at
# most 50% of the naive sum of its activation sizes, as `ingot inspect`
# reports it (text and --json agree), and `ingot inspect --memory` lists
# the plan tensor by tensor, inside the arena.
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
# The plan tensor by tensor: every mapped tensor with its place, the step
# that writes it and the step that reuses its bytes.
"$ingot" inspect "$tmp/cnn.ingot" --memory > "$tmp/memory.txt"
cat "$tmp/memory.txt"
"$py" - "$tmp/memory.txt" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"\s+(\d+)\s+(\d+)\s+(input|step (\d+))\s+(-|step (\d+))\s+(\S+)$", line)
    if m:
        w = -1 if m.group(3) == "input" else int(m.group(4))
        r = 10**9 if m.group(5) == "-" else int(m.group(6))
        rows.append((int(m.group(1)), int(m.group(2)), w, r, m.group(7)))
# 20 tensors unfused; fused (docs/fusion.md) the Conv and Add outputs that
# a Relu epilogue consumes are never stored
assert len(rows) == 15, len(rows)
assert any(r[4] == "logits" for r in rows) and any(r[4] == "stem.relu_out" for r in rows)
text = open(sys.argv[1]).read()
arena = int(re.search(r"arena (\d+) bytes", text).group(1))
assert all(o + n <= arena for o, n, *_ in rows), "a tensor outside the arena"
# every write after the first step lands in bytes whose earlier tensor
# the plan lists as reused by exactly that step or later
for a in rows:
    if a[3] < 10**9:
        assert any(b[2] == a[3] and b[0] < a[0] + a[1] and a[0] < b[0] + b[1]
                   for b in rows), a
m = re.search(r"activations peak (\d+) of (\d+) bytes naive", text)
assert m and int(m.group(1)) * 2 <= int(m.group(2)), "no peak line, or above 50%"
print("ok   memory plan: %d tensors" % len(rows))
PY
