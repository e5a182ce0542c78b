#!/usr/bin/env bash
# The int8 "Done means" of issue 4 on a sample model: calibrated on 128
# generated inputs (make_calib_data.py), the int8 engine keeps top-1
# agreement >= 99% with the fp32 engine on 200 held-out inputs and an
# output SQNR >= MIN_SQNR dB; its output is bit-exact with the reference
# interpreter running the engine's own quantised graph (--dump-ir
# qdq-fold); and, when MAX_SIZE_PCT is given, the int8 engine's weights
# are at most that % of the fp32 engine's (the whole files are printed:
# for models this small the specialised code, not the weights, dominates
# the file).  About 20 s under ASan.
# usage: int8_accuracy.sh INGOT HARNESS PYTHON MODELS TMP NAME MIN_SQNR
#                         [MAX_SIZE_PCT] [BUILD OPTIONS...]
set -euo pipefail
ingot=$1 harness=$2 python=$3 models=$4 tmp=$5 name=$6 min_sqnr=$7
max_pct=${8:-}
shift 8 || shift $#
mkdir -p "$tmp"
data="$tmp/data"
[ -d "$data/heldout" ] || "$python" "$models/make_calib_data.py" "$data" 128 200
"$ingot" build "$models/$name.onnx" -o "$tmp/$name.fp32.ingot" >/dev/null
"$ingot" build "$models/$name.onnx" -o "$tmp/$name.int8.ingot" --int8 \
  --calib "$data/calib" --dump-ir qdq-fold "$@" >/dev/null
fp32=$(stat -c %s "$tmp/$name.fp32.ingot")
int8=$(stat -c %s "$tmp/$name.int8.ingot")
weights() {
  local view
  view=$("$ingot" inspect "$1")  # not piped: awk would close the pipe early
  awk '$1 == "weights" {print $2; exit}' <<<"$view"
}
wf=$(weights "$tmp/$name.fp32.ingot")
wq=$(weights "$tmp/$name.int8.ingot")
echo "$name: engine fp32 $fp32 bytes, int8 $int8 bytes" \
     "($((100 * int8 / fp32))%); weights fp32 $wf, int8 $wq" \
     "($((100 * wq / wf))%)"
if [ -n "$max_pct" ] && [ $((100 * wq)) -gt $((max_pct * wf)) ]; then
  echo "the int8 engine's weights are more than $max_pct% of the fp32" \
       "engine's" >&2
  exit 1
fi
"$harness" "$tmp/$name.fp32.ingot" "$tmp/$name.int8.ingot" \
  "$tmp/$name.int8.ingot.qdq-fold.xml" "$data/heldout" 99 "$min_sqnr" 8
