#!/usr/bin/env bash
# issue 7: `ingot build --target cuda` end to end without a GPU, on the
# checked-in int8 CNN tests/gpu/qcnn.onnx (make_qcnn.py): the engine holds
# PTX for every --sm and, with ptxas, cubins whose per-kernel registers,
# shared memory and spills `ingot inspect` shows (text and --json); the
# same engine runs on the CPU bit-exact with the reference; without ptxas
# (INGOT_PTXAS pointing nowhere) the build notes it and writes PTX only;
# bad --sm values, --sm without --target cuda, and a model with a step no
# GPU kernel computes fail naming the reason.
# usage: gpu_cli.sh INGOT SCRIPT_DIR TMPDIR MODELS_DIR
set -u
ingot=$1 here=$2 tmp=$3 models=$4
mkdir -p "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
ptxas=""
for p in "${INGOT_PTXAS:-}" /usr/local/cuda/bin/ptxas "$(command -v ptxas)"; do
  [ -n "$p" ] && [ -x "$p" ] && { ptxas=$p; break; }
done

# 1. build for two sms
out=$("$ingot" build "$here/qcnn.onnx" -o "$tmp/q.ingot" --target cuda --sm 80,sm_90 2>&1) \
  || fail "build --target cuda: $out"
insp=$("$ingot" inspect "$tmp/q.ingot") || fail "inspect"
grep -q "^gpu: PTX for sm_80 (PTX 7.0), sm_90 (PTX 7.8)" <<<"$insp" || fail "no PTX line: $insp"
grep -q "GPU_PTX" <<<"$insp" || fail "no GPU_PTX section"
if [ -n "$ptxas" ]; then
  echo "ptxas: $ptxas"
  grep -q "cubins for sm_80 sm_90" <<<"$insp" || fail "no cubins: $insp"
  # every step: kernel, launch, registers/smem/spills for both sms
  for k in g_relayout g_qconv g_qconv_dw; do
    grep -qE "^  [0-9]+ +$k +[0-9]+x[0-9]+x1 +[0-9]+ +[0-9]+  [1-9][0-9]*/[0-9]+/[0-9]+/[0-9]+ +[1-9][0-9]*/" <<<"$insp" \
      || fail "no ptxas figures for $k: $insp"
  done
  "$ingot" inspect "$tmp/q.ingot" --json > "$tmp/q.json" || fail "inspect --json"
  grep -q '"ptxas":\[{"sm":80,"registers":[1-9]' "$tmp/q.json" || fail "json: no ptxas registers"
  grep -q '"spill_stores":0' "$tmp/q.json" || fail "json: no spills field"
else
  echo "ptxas not found: cubins and ptxas figures SKIPPED"
  grep -q "no cubins" <<<"$insp" || fail "no 'no cubins' line"
fi

# 2. the same engine on the CPU equals the reference, byte for byte
"$ingot" run "$tmp/q.ingot" --input x="$here/qcnn.x.npy" --output "$tmp/eng" >/dev/null || fail "run engine"
"$ingot" run "$here/qcnn.onnx" --reference --input x="$here/qcnn.x.npy" --output "$tmp/ref" >/dev/null || fail "run reference"
cmp -s "$tmp/eng/y.npy" "$tmp/ref/y.npy" || fail "engine output differs from the reference"

# 3. no ptxas: PTX only, with a note
out=$(INGOT_PTXAS=/nonexistent/ptxas "$ingot" build "$here/qcnn.onnx" -o "$tmp/p.ingot" --target cuda 2>&1) \
  || fail "build without ptxas: $out"
grep -q "note: ptxas not found" <<<"$out" || fail "no ptxas note: $out"
insp=$("$ingot" inspect "$tmp/p.ingot") || fail "inspect p"
grep -q "sm_80 (PTX 7.0), sm_86 (PTX 7.1), sm_89 (PTX 7.8), sm_90 (PTX 7.8); no cubins" <<<"$insp" \
  || fail "default sms / no cubins: $insp"

# 4. bad input
expect_error() { # WHAT PATTERN ARGS...
  local what=$1 pat=$2; shift 2
  local o; o=$("$ingot" "$@" 2>&1) && fail "$what: succeeded"
  grep -q -- "$pat" <<<"$o" || fail "$what: '$o' lacks '$pat'"
}
expect_error "--sm 70" "--sm '70'" build "$here/qcnn.onnx" -o "$tmp/b.ingot" --target cuda --sm 70
expect_error "--sm 100" "--sm 'sm_100'" build "$here/qcnn.onnx" -o "$tmp/b.ingot" --target cuda --sm 80,sm_100
expect_error "--sm without cuda" "--sm goes with --target cuda" build "$here/qcnn.onnx" -o "$tmp/b.ingot" --sm 80
expect_error "--target opencl" "--target opencl" build "$here/qcnn.onnx" -o "$tmp/b.ingot" --target opencl
# fp32 models build for cuda too since every sample model's step has a GPU
# kernel (gpu_samples); only DynamicQuantizeLinear's phases have none.
echo "gpu_cli: ok"
