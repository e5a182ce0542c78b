#!/usr/bin/env bash
# check_ldd.sh LIB — libingot_rt.so may depend on libc, libm, libpthread and
# libdl only (DESIGN §2), plus the dynamic loader and the vDSO that ldd
# lists; it must carry the SONAME libingot_rt.so.N and export nothing but
# the public ingot_* API.
set -euo pipefail
lib=$1
allowed='^(libc|libm|libpthread|libdl)\.so\.[0-9]+$'
fail=0

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ ! $soname =~ ^libingot_rt\.so\.[0-9]+$ ]]; then
  echo "FAIL: SONAME is '$soname'"; fail=1
fi

for n in $(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  if [[ $n =~ $allowed ]]; then echo "NEEDED $n"; else echo "FAIL: NEEDED $n"; fail=1; fi
done

while read -r name _; do
  [ -z "$name" ] && continue
  base=$(basename "$name")
  case $base in
    linux-vdso.so.*|ld-linux-x86-64.so.*) echo "ldd    $base (loader)";;
    *) if [[ $base =~ $allowed ]]; then echo "ldd    $base"
       else echo "FAIL: ldd lists $base"; fail=1; fi;;
  esac
done < <(ldd "$lib" | sed 's/^[[:space:]]*//')

bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ && $3 !~ /^ingot_/ {print $3}')
if [ -n "$bad" ]; then echo "FAIL: exports beyond ingot_*: $bad"; fail=1; fi
echo "exports: $(nm -D --defined-only "$lib" | awk '$3 ~ /^ingot_/' | wc -l) ingot_* symbols"
exit $fail
