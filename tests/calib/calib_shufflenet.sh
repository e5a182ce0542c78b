#!/usr/bin/env bash
# calib_shufflenet.sh INGOT MODEL IMAGES TMPDIR — calibration of a real
# model on real images: the fp32 ShuffleNet-v2 of ../shared/data/derived on
# 2 of the ImageNet JPEGs with torchvision preprocessing (entropy method),
# then again from the cache it wrote.  Checks the table has every float
# tensor (188), the input's range is that of normalised 8-bit pixels
# ((0-0.485)/0.229 = -2.1179 to (1-0.406)/0.225 = 2.64), ReLU outputs start
# at 0, and the cached table equals the computed one.
# Budget: 2 images x 2 passes of the reference, about 10 s natively and
# 40 s with ASan.
set -euo pipefail
ingot=$1 model=$2 images=$3 tmp=$4
rm -rf "$tmp" && mkdir -p "$tmp"
pp=resize=256,crop=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225
run() {
  "$ingot" calibrate "$model" --calib "$images" --preprocess "$pp" \
    --max-samples 2 --calib-method entropy --calib-cache "$tmp/cache" "$@"
}
run >"$tmp/t1" 2>"$tmp/log1"
run >"$tmp/t2" 2>"$tmp/log2"
fail() { echo "FAIL: $*"; cat "$tmp/log1" "$tmp/log2"; exit 1; }
grep -q "188 tensors, 2 runs" "$tmp/t1" || fail "first run: $(tail -1 "$tmp/t1")"
grep -q "188 tensors, from the cache" "$tmp/t2" || fail "second run: $(tail -1 "$tmp/t2")"
grep -q "used 188 entries" "$tmp/log2" || fail "cache not used"
diff <(head -n -1 "$tmp/t1") <(head -n -1 "$tmp/t2") >/dev/null ||
  fail "the cached table differs from the computed one"
awk '$1 == "input" { if ($2 < -2.1181 || $3 > 2.6401 || $2 > -1.5 || $3 < 2) bad = 1; seen = 1 }
     $1 == "341_quantized" { if ($2 != 0 || $4 != 0 || $5 <= 0) bad = 1; seen2 = 1 }
     END { exit !(seen && seen2 && !bad) }' "$tmp/t1" ||
  fail "input or ReLU ranges out of bounds: $(grep -E '^(input|341_quantized) ' "$tmp/t1")"
echo ok
