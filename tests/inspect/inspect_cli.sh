#!/usr/bin/env bash
# ingot inspect ENGINE as a user runs it: the report (header, compatibility,
# memory plan, steps with provenance and precision, fusions), --json (parsed
# and checked against the model), --ir and --disasm of a step, and bad
# input (a step that does not exist, an engine without IR, corrupt and
# truncated engines), each exiting 1 with a clear message.
# usage: inspect_cli.sh INGOT MODELS_DIR TMPDIR
set -u
ingot=$1 models=$2 tmp=$3
mkdir -p "$tmp"
fails=0
expect() { # expect CODE REGEX -- command...
  local code=$1 re=$2; shift 3
  local out; out=$("$@" 2>&1); local rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq -- "$re" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output: $(head -c 600 <<<"$out")"
    fails=$((fails+1))
  else
    echo "ok   exit $rc: $*"
  fi
}
py=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import onnx' 2>/dev/null; then py=$p; break; fi
done

eng=$tmp/cnn.ingot noir=$tmp/cnn_noir.ingot nofuse=$tmp/cnn_nofuse.ingot
"$ingot" build "$models/cnn.onnx" -o "$eng" --keep-ir "$tmp/cnn.ll" >/dev/null || exit 1
"$ingot" build "$models/cnn.onnx" -o "$noir" >/dev/null || exit 1
"$ingot" build "$models/cnn.onnx" -o "$nofuse" --no-fuse >/dev/null || exit 1
test -s "$tmp/cnn.ll" || { echo "FAIL: --keep-ir FILE.ll wrote nothing"; fails=$((fails+1)); }

# The report.
expect 0 "^runs here   yes" -- "$ingot" inspect "$eng"
expect 0 "sections .*LLVM_IR [0-9]+" -- "$ingot" inspect "$eng"
expect 0 "naive sum +[0-9]+ bytes" -- "$ingot" inspect "$eng"
expect 0 "stem\.conv \+ stem\.bn" -- "$ingot" inspect "$eng"
expect 0 "requested fp32" -- "$ingot" inspect "$eng"
expect 0 "float32  as requested" -- "$ingot" inspect "$eng"
expect 0 "BatchNormalization stem\.bn folded into Conv stem\.conv \(fold-bn\)" -- "$ingot" inspect "$eng"
expect 0 "^llvm ir     not kept" -- "$ingot" inspect "$noir"

# --json parses and agrees with the model: every node a step names exists
# in the ONNX graph, every BatchNormalization is accounted for by a fusion.
if "$ingot" inspect "$eng" --json > "$tmp/cnn.json"; then
  if [ -n "$py" ]; then
    if "$py" - "$tmp/cnn.json" "$models/cnn.onnx" <<'EOF'
import json, sys, onnx
d = json.load(open(sys.argv[1]))
m = onnx.load(sys.argv[2])
names = {n.name for n in m.graph.node}
assert d["schema"] == "ingot-inspect-engine/1", d["schema"]
assert d["compatibility"]["runs_here"] is True
assert d["memory"]["arena_bytes"] <= d["memory"]["naive_bytes"]
assert d["llvm_ir"] is True
for s in d["steps"]:
    assert s["precision"]["requested"] == "fp32"
    assert s["precision"]["chosen"] in ("float32", "none"), s
    for n in s["nodes"]:
        # layout casts the planner inserted are named after their tensor
        assert n in names or n.endswith("__layout"), n
bns = {n.name for n in m.graph.node if n.op_type == "BatchNormalization"}
relus = {n.name for n in m.graph.node if n.op_type == "Relu"}
fused = {f["node"] for f in d["fusions"]}
# fold-bn, the Relu epilogues and the folded Flatten (docs/fusion.md)
assert bns | relus <= fused <= names, (fused, bns, relus)
for f in d["fusions"]:
    if f["node"] in bns:
        assert f["into_op"] == "Conv" and f["node"] in d["steps"][f["step"]]["nodes"]
print("json ok:", len(d["steps"]), "steps,", len(d["fusions"]), "fusions")
EOF
    then echo "ok   --json checked against the model"
    else echo "FAIL: --json"; fails=$((fails+1)); fi
  else
    echo "skipped: the --json check needs python3 with onnx"
  fi
else
  echo "FAIL: inspect --json exited $?"; fails=$((fails+1))
fi

# --ir: the step's function, by index, symbol or node.
expect 0 "^define void @ingot_step_1\(" -- "$ingot" inspect "$eng" --ir 1
expect 0 "model nodes: stem\.conv, stem\.bn" -- "$ingot" inspect "$eng" --ir stem.bn
expect 0 "^define void @ingot_step_2\(" -- "$ingot" inspect "$eng" --ir ingot_step_2
# --disasm: addresses, bytes, instructions; Intel by default, AT&T on ask.
expect 0 "^ +[0-9a-f]+:  ([0-9a-f]{2} )+ +v[a-z0-9]+ [xyz]mm[0-9]+, " -- "$ingot" inspect "$eng" --disasm stem.conv
expect 0 "^ +[0-9a-f]+:  ([0-9a-f]{2} )+ +[a-z0-9]+ .*%[xyz]mm[0-9]+" -- "$ingot" inspect "$eng" --disasm stem.conv --att
# (unfused: with fusion the Flatten moves no data and has no step)
expect 0 "R_X86_64_PLT32 memcpy" -- "$ingot" inspect "$nofuse" --disasm flatten
expect 0 "Relu stem\.relu folded into Conv stem\.conv \(fuse-epilogue\)" -- "$ingot" inspect "$eng"
expect 0 "^\.text\+0x[0-9a-f]+, [0-9]+ bytes, cpu [a-z0-9-]+, Intel syntax$" -- "$ingot" inspect "$noir" --disasm 0

# Bad input.
expect 1 "no step '99': the plan has [0-9]+ steps" -- "$ingot" inspect "$eng" --disasm 99
expect 1 "no step 'nosuch'" -- "$ingot" inspect "$eng" --ir nosuch
expect 1 "has no LLVM IR \(build it with ingot build --keep-ir\)" -- "$ingot" inspect "$noir" --ir 1
head -c 5000 "$eng" > "$tmp/cut.ingot"
cp "$eng" "$tmp/flip.ingot"
printf '\xff\xff\xff\xff' | dd of="$tmp/flip.ingot" bs=1 seek=4000 conv=notrunc 2>/dev/null
printf 'not an engine at all, just some text that is long enough............%0200d' 0 > "$tmp/text.ingot"
for f in cut flip text; do
  for mode in "" "--json" "--disasm 1" "--ir 1" "--check"; do
    # shellcheck disable=SC2086
    expect 1 "$f\.ingot: (header says the file is [0-9]+ bytes but it is 5000 \(truncated\)|checksum mismatch|not an Ingot engine|bad magic)" -- "$ingot" inspect "$tmp/$f.ingot" $mode
  done
done
expect 1 "missing\.ingot: cannot open" -- "$ingot" inspect "$tmp/missing.ingot" --disasm 1
expect 2 "--json applies to engines" -- "$ingot" inspect "$models/cnn.onnx" --json
expect 2 "separate reports" -- "$ingot" inspect "$eng" --ir 1 --disasm 1
expect 2 "--att goes with --disasm" -- "$ingot" inspect "$eng" --att

echo "$fails failed"
[ "$fails" -eq 0 ]
