#!/usr/bin/env bash
# ingot inspect --check refuses, naming the feature, an engine built with
# --mcpu for a CPU this machine is not: graniterapids needs amx-fp16, which
# Sapphire Rapids (and every older x86) lacks.  Nothing runs the engine's
# code: --check reads the header, inspect and --disasm read the file.
# Skipped (77) on a machine that has AMX-FP16.
# usage: check_mcpu.sh INGOT MODELS_DIR TMPDIR
set -u
ingot=$1 models=$2 tmp=$3
mkdir -p "$tmp"
if grep -qw amx_fp16 /proc/cpuinfo 2>/dev/null; then
  echo "skipped: this CPU has amx_fp16, so a graniterapids engine runs here"
  exit 77
fi
eng=$tmp/cnn_gnr.ingot
"$ingot" build "$models/cnn.onnx" -o "$eng" --mcpu graniterapids >/dev/null || exit 1
fails=0
out=$("$ingot" inspect "$eng" --check 2>&1); rc=$?
echo "$out"
if [ "$rc" -ne 1 ] || ! grep -q "lacks: .*amx-fp16" <<<"$out"; then
  echo "FAIL: --check exited $rc; it must exit 1 naming amx-fp16"; fails=$((fails+1))
fi
# The engine records the feature; inspect still describes it and says why
# it cannot run; the disassembler reads it like any other.
out=$("$ingot" inspect "$eng" 2>&1); rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "^needs .*amx-fp16" <<<"$out" ||
   ! grep -q "^runs here   no: .*amx-fp16" <<<"$out" ||
   ! grep -q "cpu graniterapids" <<<"$out"; then
  echo "FAIL: inspect of the graniterapids engine (exit $rc):"; echo "$out" | head -8
  fails=$((fails+1))
fi
if ! "$ingot" inspect "$eng" --disasm 1 | grep -q "cpu graniterapids, Intel syntax"; then
  echo "FAIL: --disasm of the graniterapids engine"; fails=$((fails+1))
fi
# ingot run refuses it too, before mapping any code.
out=$("$ingot" run "$eng" --input "input=$models/cnn.input.npy" 2>&1); rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "amx-fp16" <<<"$out"; then
  echo "FAIL: ingot run exited $rc: $out"; fails=$((fails+1))
fi
echo "$fails failed"
[ "$fails" -eq 0 ]
