#!/usr/bin/env bash
# The sample models (tests/models: cnn, mobilenet, transformer) on the GPU
# path: `ingot build --target cuda --sm 80,90` fp32 and `--int8 --calib`
# must succeed, with ptxas accepting every kernel for both sms when the
# CUDA toolkit is there (ingot inspect lists a cubin per sm and ptxas
# figures per kernel); then every step of each plan runs on its GPU kernel
# in the SIMT emulator (test_gpu_samples) against the reference: fp32
# within 1e-4 of max(1, max|want|), int8 bit-exact against the reference
# run of the int8 graph the build wrote (--dump-ir qdq-fold).  Then the
# channel-concat cases of make_fusion_cases.py (strided slices) the same way.
# usage: gpu_samples.sh INGOT TEST_GPU_SAMPLES MODELS_DIR TMP
set -euo pipefail
ingot=$1 runner=$2 models=$3 tmp=$4
py=/usr/bin/python3
[ -x "$py" ] || py=python3
rm -rf "$tmp" && mkdir -p "$tmp/tcal"
"$py" "$models/make_calib_data.py" "$tmp/data" 8 1 >/dev/null
cp "$models/transformer.input.npy" "$tmp/tcal/0000.npy"
ptxas=${INGOT_PTXAS:-/usr/local/cuda/bin/ptxas}
if [ -x "$ptxas" ]; then have_ptxas=1; else
  have_ptxas=0
  echo "gpu_samples: no ptxas at $ptxas: PTX only, ptxas not checked"
fi
fail=0
check_engine() { # ENGINE
  local out
  out=$("$ingot" inspect "$1")
  [[ $out == *"PTX for sm_80"* && $out == *"sm_90"* ]] || {
    echo "FAIL: $1 has no PTX for sm_80 and sm_90"; fail=1; }
  if [ $have_ptxas = 1 ]; then
    [[ $out == *"cubins for sm_80 sm_90"* ]] || {
      echo "FAIL: $1: no cubins"; echo "$out" | grep -i gpu; fail=1; }
  fi
}
for m in cnn mobilenet transformer; do
  cal=$tmp/data/calib
  [ $m = transformer ] && cal=$tmp/tcal
  "$ingot" build "$models/$m.onnx" -o "$tmp/$m.cuda" --target cuda \
    --sm 80,90 >/dev/null
  check_engine "$tmp/$m.cuda"
  "$ingot" build "$models/$m.onnx" -o "$tmp/$m.int8.cuda" --target cuda \
    --sm 80,90 --int8 --calib "$cal" --dump-ir qdq-fold >/dev/null
  check_engine "$tmp/$m.int8.cuda"
  "$runner" "$models/$m.onnx" "$models/$m.input.npy" 1e-4 || fail=1
  "$runner" "$tmp/$m.int8.cuda.qdq-fold.xml" "$models/$m.input.npy" 0 || fail=1
  echo "gpu_samples: $m fp32 and int8 built for sm_80/90 and checked"
done
# fold-concat's channel-strided slices (docs/fusion.md) on the GPU
# kernels: the fp32 and int8 channel-concat cases of engine_fusion_cases.
"$py" "$models/make_fusion_cases.py" "$tmp/fc" >/dev/null
"$py" -c "import numpy as np, sys
r = np.random.default_rng(3)
for c in (4, 8):
    np.save(sys.argv[1] + '/x%d.npy' % c, r.standard_normal((1, c, 6, 6)).astype(np.float32))" "$tmp"
"$runner" "$tmp/fc/channel_concats.onnx" "$tmp/x4.npy" 1e-4 || fail=1
"$runner" "$tmp/fc/qchannel_concats.onnx" "$tmp/x8.npy" 0 || fail=1
echo "gpu_samples: channel-strided concats checked"
exit $fail
