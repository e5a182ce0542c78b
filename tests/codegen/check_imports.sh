#!/bin/sh
# check_imports.sh LLC LLVM_NM BITCODE_DIR
# Generated code may call only memcpy, memset and memmove (the runtime's
# loader resolves nothing else).  Compiles every kernel source's bitcode as
# it stands (each function keeps the -march of its family) and lists any
# other undefined symbol, per file: typically a libm function such as
# floorf or rintf, which x86-64 without SSE4.1 has no instruction for.
# cg_module_emit refuses such an engine too, but only when a model uses
# the template; this catches it when the kernel is written.
# generic/test_kernels.c calls floorf on purpose (tests/codegen/test_llvm.c).
set -u
llc=$1 nm=$2 dir=$3
status=0
found=0
for bc in "$dir"/*/*.bc; do
  [ -e "$bc" ] || continue
  case "$bc" in */generic/test_kernels.bc) continue ;; esac
  found=1
  undef=$("$llc" -O2 -mcpu=x86-64 -relocation-model=pic -filetype=obj "$bc" -o - |
          "$nm" --undefined-only --format=just-symbols - |
          grep -v -x -e memcpy -e memset -e memmove)
  if [ -n "$undef" ]; then
    echo "${bc#$dir/}: calls $(echo $undef | tr '\n' ' ')(only memcpy, memset, memmove are allowed)"
    status=1
  fi
done
[ $found = 1 ] || { echo "no kernel bitcode under $dir"; exit 1; }
[ $status = 0 ] && echo "kernel imports: only memcpy/memset/memmove"
exit $status
