#!/usr/bin/env bash
# ingot compare, as a user runs it (budget: about 20 s under ASan).
#  1. an fp32 engine of the sample CNN against its model: SQNR very high,
#     top-1 agreement 100%, per-layer table of real node names;
#  2. an int8 engine (QDQ form of qsmall, make_qsmall.py; qdq-fold makes
#     its convs QLinearConv) against the fp32 qsmall: SQNR finite and
#     plausible (20-80 dB), the per-layer table dequantises the uint8
#     tensor r1_q, matches it to the fp32 r1 and names the node conv1;
#  3. bad input: model and engine that do not match, empty and missing
#     data directories, a data file of the wrong shape: exit 1 with a
#     message naming the file or tensor.
# usage: cli_compare.sh INGOT SOURCE_DIR TMP
set -euo pipefail
ingot=$1 src=$2 tmp=$3
models=$src/tests/models
mkdir -p "$tmp/data" "$tmp/data16" "$tmp/empty" "$tmp/dirs/s0" "$tmp/dirs/s1"
py=/usr/bin/python3
# Samples: the CNN's test vector plus seven random ones (a batch file).
$py - "$tmp" <<'PY'
import sys, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(3)
np.save(t + "/data/a_batch.npy", rng.standard_normal((7, 3, 32, 32)).astype(np.float32))
np.save(t + "/data16/b.npy", rng.standard_normal((12, 3, 16, 16)).astype(np.float64))
for i in range(2):
    np.save(t + "/dirs/s%d/input.npy" % i, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
np.save(t + "/bad.npy", np.zeros((2, 3, 5, 5), np.float32))
PY
cp "$models/cnn.input.npy" "$tmp/data/b_vector.npy"
val() { # FIELD JSON: the first value of "FIELD"
  $py -c 'import json,sys; d=json.loads(sys.argv[2]); print(d["outputs"][0][sys.argv[1]])' "$1" "$2"
}

"$ingot" build "$models/cnn.onnx" -o "$tmp/cnn.ingot" >/dev/null
j=$("$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/data" --json)
echo "$j"
test "$($py -c 'import json,sys; print(json.loads(sys.argv[1])["samples"])' "$j")" = 8
$py -c 'import sys; assert float(sys.argv[1]) > 100, sys.argv[1]' "$(val sqnr_db "$j")"
test "$(val top1_agreement "$j")" = 1
out=$("$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/data" --per-layer --top 0)
echo "$out"
grep -q "layer1.1.conv,layer1.1.bn" <<<"$out"
grep -q "top-1 agreement: 8 of 8 rows" <<<"$out"
# One subdirectory per sample works the same way.
out=$("$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/dirs")
grep -q ": 2 samples" <<<"$out"

"$ingot" build "$src/tests/compare/qsmall_qdq.onnx" -o "$tmp/q.ingot" >/dev/null
out=$("$ingot" compare "$src/tests/compare/qsmall.onnx" "$tmp/q.ingot" --data "$tmp/data16" --per-layer)
echo "$out"
grep -q "uint8  r1_q .*conv1" <<<"$out"
j=$("$ingot" compare "$src/tests/compare/qsmall.onnx" "$tmp/q.ingot" --data "$tmp/data16" --json --per-layer)
$py -c 'import sys; q = float(sys.argv[1]); assert 20 < q < 80, q' "$(val sqnr_db "$j")"
$py - "$j" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
layers = {l["tensor"]: l for l in d["layers"]}
r1 = layers["r1_q"]
assert r1["model_tensor"] == "r1" and r1["dtype"] == "uint8", r1
assert 20 < float(r1["sqnr_db"]) < 80, r1
assert r1["nodes"].split(",")[0] == "conv1", r1
PY

fails() { # WANT-IN-MESSAGE CMD...: exit 1 with WANT in stderr
  local want=$1; shift
  set +e
  msg=$("$@" 2>&1 >/dev/null); rc=$?
  set -e
  echo "rc=$rc: $msg"
  test $rc -eq 1
  grep -q -- "$want" <<<"$msg"
}
fails "do not match" "$ingot" compare "$models/cnn.onnx" "$tmp/q.ingot" --data "$tmp/data"
fails "no samples" "$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/empty"
fails "$tmp/missing" "$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/missing"
cp "$tmp/bad.npy" "$tmp/empty/bad.npy"
fails "bad.npy: shape 2x3x5x5 does not fit input 'input'" \
  "$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" --data "$tmp/empty"
rm "$tmp/empty/bad.npy"
set +e; "$ingot" compare "$models/cnn.onnx" "$tmp/cnn.ingot" >/dev/null 2>&1; rc=$?; set -e
test $rc -eq 2 # usage: no --data
echo "compare ok"
