#!/usr/bin/env bash
# Bad input at the command line: each case must exit with status 1 (2 for
# usage errors) and print a message naming the file, tensor or option and
# the reason — never crash.  usage: cli_bad_input.sh INGOT MODELS_DIR TMPDIR
set -u
ingot=$1 models=$2 tmp=$3
mkdir -p "$tmp"
fails=0
expect() { # expect CODE REGEX -- command...
  local code=$1 re=$2; shift 3
  local out; out=$("$@" 2>&1); local rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq -- "$re" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output: $out"; fails=$((fails+1))
  else
    echo "ok   exit $rc: $(head -n1 <<<"$out")"
  fi
}
head -c 1000 "$models/cnn.onnx" > "$tmp/truncated.onnx"
printf 'this is not a protobuf at all\n' > "$tmp/garbage.onnx"
: > "$tmp/empty.onnx"
printf 'NOTNUMPY' > "$tmp/bad.npy"
head -c 300 "$models/cnn.input.npy" > "$tmp/short.npy"
printf "\x93NUMPY\x01\x00\x0c\x00{'descr': '>" > "$tmp/cut.npy"

expect 1 "truncated.onnx: not a valid ONNX model" -- "$ingot" inspect "$tmp/truncated.onnx"
expect 1 "garbage.onnx: not a valid ONNX model" -- "$ingot" inspect "$tmp/garbage.onnx"
expect 1 "empty.onnx: the file is empty" -- "$ingot" inspect "$tmp/empty.onnx"
expect 1 "missing.onnx: cannot open" -- "$ingot" inspect "$tmp/missing.onnx"
expect 1 "input 'input' must have shape 1x3x32x32, got 1x16x32" -- "$ingot" run "$models/cnn.onnx" --reference --input "input=$models/transformer.hidden.npy"
expect 1 "input 'tokens' must be int64, got float32" -- "$ingot" run "$models/transformer.onnx" --reference --input "tokens=$models/cnn.input.npy"
expect 1 "bad.npy: not a valid .npy file" -- "$ingot" run "$models/cnn.onnx" --reference --input "input=$tmp/bad.npy"
expect 1 "cut.npy: not a valid .npy file: 'descr' is cut short" -- "$ingot" run "$models/cnn.onnx" --reference --input "input=$tmp/cut.npy"
expect 1 "short.npy: data is shorter than its shape needs" -- "$ingot" run "$models/cnn.onnx" --reference --input "input=$tmp/short.npy"
expect 1 "'nosuch' is not an input" -- "$ingot" run "$models/cnn.onnx" --reference --input "nosuch=$models/cnn.input.npy"
expect 1 "no --input for graph input 'input'" -- "$ingot" run "$models/cnn.onnx" --reference
expect 1 "--shapes: 'oops' is not an input" -- "$ingot" inspect "$models/cnn.onnx" --shapes oops:1x2
expect 1 "--shapes: bad dims" -- "$ingot" inspect "$models/cnn.onnx" --shapes input:1xAx3
expect 1 "dim 1 is fixed at 3 by the model, not 4" -- "$ingot" inspect "$models/cnn.onnx" --shapes input:1x4x32x32
expect 2 "unknown or incomplete option '--bogus'" -- "$ingot" run "$models/cnn.onnx" --bogus
expect 2 "unknown command 'frobnicate'" -- "$ingot" frobnicate
echo "$fails failed"
[ "$fails" -eq 0 ]
