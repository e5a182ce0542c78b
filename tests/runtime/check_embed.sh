#!/usr/bin/env bash
# check_embed.sh BUILD SRC WORK MAKE_ENGINE OBJECT CC [FLAGS]
# Installs the runtime component of the build into WORK/prefix
# (cmake --install --component rt: library, header, CMake package,
# pkg-config file; independent of the rest of the build) and builds
# examples/embed against that installed package three ways — CMake
# find_package(Ingot) with Ingot::rt and with Ingot::rt_static, and
# cc $(pkg-config --cflags --libs ingot-rt) — then runs each on a test
# engine and checks its output.  FLAGS (the sanitizer flags in a
# sanitized build) go to every compile and link.
set -euo pipefail
build=$1 src=$2 work=$3 make_engine=$4 object=$5 cc=$6 flags=${7:-}
rm -rf "$work"
mkdir -p "$work/engines"
prefix=$work/prefix
cmake --install "$build" --component rt --prefix "$prefix" >/dev/null
"$make_engine" "$object" "$work/engines" >/dev/null
expect='output y [1x3x4x5] = -13 -12 -11 -10'

check() {  # check NAME COMMAND...
  local name=$1; shift
  local out
  out=$("$@" "$work/engines/simple.ingot" x="$work/engines/x.npy" --threads 2)
  echo "$out" | sed "s/^/  [$name] /"
  if ! grep -qF -- "$expect" <<<"$out"; then
    echo "FAIL: $name: expected '$expect'"; exit 1
  fi
}

for kind in shared static; do
  opt=OFF; [ $kind = static ] && opt=ON
  cmake -S "$src/examples/embed" -B "$work/cmake-$kind" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DEMBED_STATIC=$opt >/dev/null
  cmake --build "$work/cmake-$kind" >/dev/null
  deps=$(ldd "$work/cmake-$kind/embed")
  if [ $kind = shared ] && ! grep -qF "$prefix/" <<<"$deps"; then
    echo "FAIL: the CMake build does not use the installed libingot_rt.so"; exit 1
  fi
  check "cmake $kind" "$work/cmake-$kind/embed"
done

pcdir=$(dirname "$(find "$prefix" -name ingot-rt.pc | head -1)")
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir ingot-rt)
# shellcheck disable=SC2046,SC2086
"$cc" $flags "$src/examples/embed/main.c" -o "$work/embed-pkgconfig" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs ingot-rt)
check pkg-config env LD_LIBRARY_PATH="$libdir" "$work/embed-pkgconfig"
echo "embed example: built and ran against $prefix (CMake shared/static, pkg-config)"
