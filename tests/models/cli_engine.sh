#!/usr/bin/env bash
# The README's engine workflow, as a user types it: build an engine from the
# sample CNN, inspect it, run it (top-5 must match the reference), bench it,
# dump the IR after a pass and run that.  usage: cli_engine.sh INGOT MODELS TMP
set -euo pipefail
ingot=$1 models=$2 tmp=$3
mkdir -p "$tmp"
eng="$tmp/cnn.ingot"
"$ingot" build "$models/cnn.onnx" -o "$eng" --dump-ir fold-bn
# Deterministic: the same model and options give the same bytes, whatever
# the output file is called.
"$ingot" build "$models/cnn.onnx" -o "$tmp/again.ingot" --dump-ir fold-bn >/dev/null 2>&1
cmp "$eng" "$tmp/again.ingot"
"$ingot" inspect "$eng" --check
insp=$("$ingot" inspect "$eng")  # not piped: grep -q would close the pipe early
grep -q "k_plan_relayout" <<<"$insp"
ref=$("$ingot" run "$models/cnn.onnx" --reference --input "input=$models/cnn.input.npy" --top 5 | grep '#')
got=$("$ingot" run "$eng" --input "input=$models/cnn.input.npy" --top 5 --output "$tmp/out" | grep '#')
# Same classes in the same order; values agree to the printed precision.
diff <(awk '{print $1, $3}' <<<"$ref") <(awk '{print $1, $3}' <<<"$got")
test -s "$tmp/out/logits.npy"
bench=$("$ingot" bench "$eng" --iterations 20 --warmup 2 --json)
grep -q '"median"' <<<"$bench"  # not piped: under pipefail an early grep exit fails it
# The dumped graph re-imports and runs to the same answer.
dump=$("$ingot" run "$eng.fold-bn.xml" --reference --input "input=$models/cnn.input.npy" --top 1 | grep '#1')
grep -q "index 4" <<<"$dump"
echo "engine workflow ok"
