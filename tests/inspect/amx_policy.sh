#!/usr/bin/env bash
# `ingot build --amx auto|always|never`: which int8 layers the AMX family
# takes (docs/int8.md, "The AMX family").  On a CPU with amx_int8: a 3x3
# 64->64 QLinearConv runs on AMX by default and on VNNI with --amx never;
# a 3x3 8->8 one, too narrow for the tiles, runs on VNNI by default and on
# AMX with --amx always; a bad value is a usage error.  Skipped (77)
# without amx_int8 or python3 with onnx.  A few seconds under ASan.
# usage: amx_policy.sh INGOT SCRIPT_DIR TMPDIR
set -u
ingot=$1 here=$2 tmp=$3
mkdir -p "$tmp"
if ! grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  echo "skipped: the CPU has no amx_int8"; exit 77
fi
py=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import onnx' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "skipped: needs python3 with onnx"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# expect CHANNELS POLICY KERNEL: the conv's step runs KERNEL
expect() {
  local c=$1 policy=$2 want=$3 eng=$tmp/q$1_$2.ingot got
  [ -f "$tmp/q$c.onnx" ] || "$py" "$here/make_qconv.py" "$tmp/q$c.onnx" "$c" || exit 1
  "$ingot" build "$tmp/q$c.onnx" -o "$eng" ${policy:+--amx $policy} >/dev/null ||
    fail "build $c channels --amx ${policy:-(default)}"
  got=$("$ingot" inspect "$eng" | grep -oE "k_(conv_q8|qconv)[a-z0-9_]*" | head -n 1)
  echo "$c->$c 3x3, --amx ${policy:-(default)}: $got"
  [ "$got" = "$want" ] || fail "$c channels, --amx ${policy:-(default)}: ran $got, wanted $want"
}
expect 64 "" k_conv_q8_amx
expect 64 never k_qconv_vnni
expect 8 "" k_qconv_vnni
expect 8 auto k_qconv_vnni
expect 8 always k_conv_q8_amx
rc=0
"$ingot" build "$tmp/q8.onnx" -o "$tmp/x.ingot" --amx sometimes 2>"$tmp/err.txt" || rc=$?
[ "$rc" -eq 2 ] && grep -q "auto, always or never" "$tmp/err.txt" ||
  fail "--amx sometimes: exit $rc, $(cat "$tmp/err.txt")"
echo "amx policy ok"
