#!/usr/bin/env bash
# The XML IR at the command line: ingot convert writes .xml + .bin that
# ingot run and ingot inspect read; OpenVINO-made fixtures run; bad files
# exit 1 with a message naming the file, layer and reason (2 for usage
# errors), never crash.  usage: cli_xml.sh INGOT MODELS_DIR TMPDIR
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
in=$models/cnn.input.npy
expect 0 "wrote .*/cnn.xml and .*/cnn.bin" -- "$ingot" convert "$models/cnn.onnx" -o "$tmp/cnn.xml"
expect 0 "#1  index 4  value 4\.5" -- "$ingot" run "$tmp/cnn.xml" --reference --input "input=$in" --top 5
expect 0 "GlobalAveragePool +1" -- "$ingot" inspect "$tmp/cnn.xml"
expect 0 "#1  index 2  value 4\.5" -- "$ingot" run "$models/openvino/mobilenet.xml" --reference --input "input=$models/mobilenet.input.npy" --top 1
expect 0 "Conv +6" -- "$ingot" inspect "$models/openvino/cnn.xml"
expect 0 "QuantizeLinear +10" -- "$ingot" inspect "$models/openvino/cnn_int8.xml"
# XML in, XML out (OpenVINO's file through Ingot), and it still runs.
expect 0 "wrote" -- "$ingot" convert "$models/openvino/transformer.xml" -o "$tmp/t2.xml"
expect 0 "output 'logits'" -- "$ingot" run "$tmp/t2.xml" --reference --input "tokens=$models/transformer.input.npy"

head -c 1500 "$tmp/cnn.xml" > "$tmp/cut.xml"
expect 1 "cut.xml:[0-9]+: malformed XML" -- "$ingot" inspect "$tmp/cut.xml"
cp "$tmp/cnn.xml" "$tmp/short.xml"; head -c 100 "$tmp/cnn.bin" > "$tmp/short.bin"
expect 1 "short.xml: layer [0-9]+ '[^']*' \(Const, line [0-9]+\): needs bytes .* of the \.bin, which has only 100 bytes" -- "$ingot" inspect "$tmp/short.xml"
sed 's/type="ReLU"/type="NoSuchLayer"/' "$models/openvino/cnn.xml" > "$tmp/unknown.xml"; cp "$models/openvino/cnn.bin" "$tmp/unknown.bin"
expect 1 "layer type 'NoSuchLayer' \(opset1\) is not supported" -- "$ingot" inspect "$tmp/unknown.xml"
expect 1 "missing.xml: cannot open" -- "$ingot" inspect "$tmp/missing.xml"
expect 2 "no -o OUT.xml given" -- "$ingot" convert "$models/cnn.onnx"
expect 2 "must end in .xml" -- "$ingot" convert "$models/cnn.onnx" -o "$tmp/out.txt"
expect 0 "usage: ingot convert" -- "$ingot" convert --help
echo "$fails failed"
[ "$fails" -eq 0 ]
