#!/usr/bin/env bash
# profile_cli.sh MODE INGOT MODELS TMP — `ingot profile` tests.
#   build   builds cnn, mobilenet and transformer engines into TMP
#   models  per model: the steps' times sum to within 10% of the
#           end-to-end latency (1 thread, 3000 profiled runs interleaved with
#           3000 unprofiled ones), every step names nodes of the ONNX model,
#           the Chrome trace has one step event per step per iteration, the
#           table lists every step, the SVG has a bar per step; a
#           stale cached peak (below what a step achieves) is measured again
#   bad     missing, foreign, truncated, corrupt and incompatible engines
#           and bad options: exit 1 (2 for usage) with a clear message
set -euo pipefail
mode=$1 ingot=$2 models=$3 tmp=$4
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
check="$py $here/check_profile.py"
export XDG_CACHE_HOME="$tmp/cache" # the peak cache, not the user's
mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

case $mode in
build)
  for m in cnn mobilenet transformer; do
    "$ingot" build "$models/$m.onnx" -o "$tmp/$m.ingot"
  done
  ;;
models)
  for m in cnn mobilenet transformer; do
    eng=$tmp/$m.ingot
    "$ingot" profile "$eng" --threads 1 --iterations 3000 --warmup 200 \
      --format json --output "$tmp/$m.json"
    $check json "$models/$m.onnx" "$tmp/$m.json" 0.10
    steps=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine"]["steps"])' "$tmp/$m.json")
    "$ingot" profile "$eng" --threads 2 --iterations 7 --warmup 1 \
      --format chrome --output "$tmp/$m.trace.json"
    $check chrome "$tmp/$m.trace.json" "$steps" 7 2
    rows=$("$ingot" profile "$eng" --iterations 20 --warmup 1 |
           awk '/^step /{t=1; next} /^total/{t=0} t && NF' | wc -l)
    [ "$rows" -eq "$steps" ] || fail "$m: table has $rows rows for $steps steps"
  done
  # a cached peak that a step exceeds is stale: profile measures again
  cache=$XDG_CACHE_HOME/ingot/peak.txt
  awk '!/^#/ {$4 = "0.50"} {print}' "$cache" >"$cache.low"
  mv "$cache.low" "$cache"
  out=$("$ingot" profile "$tmp/cnn.ingot" --threads 1 --iterations 20)
  grep -Eq '^peak .* 1 thread [0-9.]+ GFLOP/s \(measured now\)' <<<"$out" ||
    fail "a stale cached peak of 0.5 GFLOP/s was not measured again: $(grep '^peak' <<<"$out")"
  grep -q '1 thread 0.5 GFLOP/s' <<<"$out" && fail "the stale peak is still used"
  "$ingot" profile "$tmp/cnn.ingot" --iterations 50 --format svg \
    --output "$tmp/cnn.svg"
  $check svg "$tmp/cnn.svg" \
    "$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine"]["steps"])' "$tmp/cnn.json")"
  echo "profile models ok"
  ;;
bad)
  # expect_fail CODE PATTERN ARGS...: exit CODE, stderr matching PATTERN
  expect_fail() {
    local code=$1 pat=$2 rc=0
    shift 2
    "$ingot" profile "$@" >"$tmp/out.txt" 2>"$tmp/err.txt" || rc=$?
    [ "$rc" -eq "$code" ] || fail "profile $*: exit $rc, wanted $code ($(cat "$tmp/err.txt"))"
    grep -Eq -e "$pat" "$tmp/err.txt" || fail "profile $*: '$(cat "$tmp/err.txt")' does not match '$pat'"
    echo "ok ($rc): profile $* -> $(head -1 "$tmp/err.txt")"
  }
  good=$tmp/cnn.ingot
  expect_fail 1 "nope.ingot" "$tmp/nope.ingot"
  expect_fail 1 "cnn.onnx" "$models/cnn.onnx"
  head -c 5000 "$good" >"$tmp/truncated.ingot"
  expect_fail 1 "truncated.ingot" "$tmp/truncated.ingot"
  # one flipped byte in the middle: the checksum catches it
  cp "$good" "$tmp/flipped.ingot"
  size=$(stat -c %s "$good")
  $py - "$tmp/flipped.ingot" $((size / 2)) <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x40; open(p, "wb").write(b)
PY
  expect_fail 1 "flipped.ingot.*(checksum|CRC)" "$tmp/flipped.ingot"
  # an engine that needs a CPU feature this runtime/machine lacks: bit 40
  # of the header's cpu_features (offset 40, engine_format.h), which no
  # runtime knows; the checksum does not cover the header
  cp "$good" "$tmp/alien.ingot"
  $py - "$tmp/alien.ingot" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[40 + 5] |= 0x01; open(p, "wb").write(b)
PY
  expect_fail 1 "alien.ingot.*CPU features" "$tmp/alien.ingot"
  expect_fail 2 "missing ENGINE"
  expect_fail 2 "--format" "$good" --format pdf
  expect_fail 2 "--iterations" "$good" --iterations 0
  expect_fail 2 "unknown" "$good" --bogus
  expect_fail 1 "no/such/dir" "$good" --iterations 2 --output "$tmp/no/such/dir/x.json"
  expect_fail 1 "not an input" "$good" --input nosuch="$models/cnn.input.npy"
  echo "profile bad input ok"
  ;;
*) fail "unknown mode $mode" ;;
esac
