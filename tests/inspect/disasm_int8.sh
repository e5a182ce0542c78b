#!/usr/bin/env bash
# issue 5, Done means: `--disasm` shows vpdpbusd or tdpbusd for an int8
# conv on a machine that has them.  Builds an engine from a QLinearConv
# model (u8 activations, s8 weights, 64->64 channels 3x3), disassembles the
# conv's step and looks for AVX512-VNNI `vpdpbusd` or AMX `tdpbusd`.
# Skipped (77) when the CPU has neither avx512_vnni nor amx_int8, when
# python3 with onnx (to write the model) is missing.  Fails when the conv's
# step does not use a VNNI or AMX kernel (k_qconv_vnni, k_qconv_amx;
# docs/int8.md "Packed weights" names the families) or has no vpdpbusd.
# usage: disasm_int8.sh INGOT SCRIPT_DIR TMPDIR
set -u
ingot=$1 here=$2 tmp=$3
mkdir -p "$tmp"
if ! grep -qwE "avx512_vnni|amx_int8" /proc/cpuinfo 2>/dev/null; then
  echo "skipped: the CPU has neither avx512_vnni nor amx_int8"; exit 77
fi
py=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import onnx' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "skipped: needs python3 with onnx"; exit 77; }
"$py" "$here/make_qconv.py" "$tmp/qconv.onnx" || exit 1
"$ingot" build "$tmp/qconv.onnx" -o "$tmp/qconv.ingot" >/dev/null || exit 1
insp=$("$ingot" inspect "$tmp/qconv.ingot") || exit 1
kernel=$(grep -oE "k_(conv_q8|qconv)[a-z0-9_]*" <<<"$insp" | head -n 1)
case "$kernel" in
  *vnni*|*amx*) ;;
  *) echo "FAIL: the int8 conv runs '$kernel', not a VNNI or AMX kernel, on a CPU that has them"; exit 1 ;;
esac
"$ingot" inspect "$tmp/qconv.ingot" --disasm qconv > "$tmp/qconv.s" || exit 1
head -n 2 "$tmp/qconv.s"
n=$(grep -cE "\s(vpdpbusd|tdpbusd)\s" "$tmp/qconv.s")
echo "vpdpbusd/tdpbusd instructions: $n"
if [ "$n" -eq 0 ]; then
  echo "FAIL: the int8 conv's code has no vpdpbusd or tdpbusd; its most"
  echo "frequent instructions are:"
  tail -n +3 "$tmp/qconv.s" | cut -c46- | awk '{print $1}' | sort | uniq -c |
    sort -rn | head -n 8
  exit 1
fi
