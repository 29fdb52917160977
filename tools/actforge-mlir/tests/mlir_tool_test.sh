#!/usr/bin/env bash
# mlir_tool_test.sh CASE ACTFORGE_MLIR CC PTXAS WORKDIR: one test of the actforge-mlir driver
# (registered by ../CMakeLists.txt, label mlir). Exit 0 pass, 1 fail, 77 skip with the reason
# printed (CTest's SKIP_RETURN_CODE): hardware or tools this machine lacks skip, never pass.
set -uo pipefail
test_case=$1 tool=$2 cc=$3 ptxas=$4 work=$5
data=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
# expect CODE REGEX COMMAND...: COMMAND exits with CODE and its output (stdout and stderr
# together) matches the extended regular expression REGEX.
expect() {
  local code=$1 pattern=$2 output status
  shift 2
  output=$("$@" 2>&1)
  status=$?
  [ "$status" -eq "$code" ] || fail "exit $status, expected $code: $*"$'\n'"$output"
  grep -qE -- "$pattern" <<<"$output" || fail "output does not match /$pattern/: $*"$'\n'"$output"
  echo "ok: exit $code, /$pattern/: ${*:2}"
}
require_cpu() {
  local flag
  for flag; do grep -qw "$flag" /proc/cpuinfo || skip "this CPU lacks $flag"; done
}
relu=$data/relu_cpu.mlir

case_usage() {
  expect 2 "usage: actforge-mlir <command>" "$tool"
  expect 0 "commands:" "$tool" --help
  expect 2 "unknown command 'frobnicate'" "$tool" frobnicate
  for command in verify compile run ptx; do
    expect 0 "usage: actforge-mlir $command" "$tool" $command --help
  done
  expect 2 "-o is required" "$tool" compile "$relu" --target host
  expect 2 "--target is required" "$tool" compile "$relu" -o relu.o
  expect 2 "unknown target 'armv9'" "$tool" compile "$relu" -o relu.o --target armv9
  expect 2 "unknown --emit 'exe'" "$tool" compile "$relu" -o relu.o --target host --emit exe
  expect 2 "unknown option '--fast-math'" "$tool" compile "$relu" -o relu.o --fast-math
  expect 2 "name one input file" "$tool" verify "$relu" "$relu"
  expect 2 "--entry is required" "$tool" run "$relu" --target host
  expect 2 "-o needs a value" "$tool" ptx "$data/relu_gpu.mlir" -o
}

case_verify() {
  for module in relu_cpu.mlir relu_gpu.mlir exp_gpu.mlir muladd_cpu.mlir; do
    output=$("$tool" verify "$data/$module" 2>&1) || fail "verify $module: $output"
    [ -z "$output" ] || fail "verify $module printed: $output"
  done
  echo "ok: the samples verify silently"
}

case_verify_error() {
  expect 1 "invalid.mlir:5:3: error: 'func.return' op has 0 operands" \
    "$tool" verify "$data/invalid.mlir"
  expect 1 "error: /nonexistent.mlir: cannot read it" "$tool" verify /nonexistent.mlir
}

case_compile_errors() {
  expect 1 "log1p_cpu.mlir:4:8: error: .*math.log1p" \
    "$tool" compile "$data/log1p_cpu.mlir" -o log1p.o --target host
  [ ! -e log1p.o ] || fail "a failed compile left log1p.o"
  expect 1 "error: .*cannot write no/such/dir/relu.o" \
    "$tool" compile "$relu" -o no/such/dir/relu.o --target host
}

# The CPU pipeline in the order of issue 7 (memref before arith); mlir-opt-19 runs the printed
# text to the same module.
case_pipeline() {
  pipeline=$("$tool" compile "$relu" -o relu.llvm.mlir --target host --emit mlir-llvm \
    --print-pipeline) || fail "compile --print-pipeline"
  passes=$(grep -oE '(^|[(,])[a-z][a-z0-9-]*' <<<"${pipeline#builtin.module(}" | tr -d '(,' | tr '\n' ' ')
  expected="inline canonicalize cse convert-vector-to-scf convert-scf-to-cf convert-math-to-llvm "
  expected+="arith-expand convert-vector-to-llvm expand-strided-metadata finalize-memref-to-llvm "
  expected+="convert-arith-to-llvm convert-func-to-llvm convert-cf-to-llvm reconcile-unrealized-casts "
  [ "$passes" = "$expected" ] || fail "passes: $passes"$'\n'"expected: $expected"
  grep -q "include-bf16=true" <<<"$pipeline" || fail "arith-expand without include-bf16: $pipeline"
  grep -q "approximate-log1p=false" <<<"$pipeline" || fail "log1p approximated: $pipeline"
  echo "ok: the pipeline is $passes"
  mlir_opt=$(command -v mlir-opt-19 || echo /usr/lib/llvm-19/bin/mlir-opt)
  [ -x "$mlir_opt" ] || skip "no mlir-opt-19 to run the printed pipeline"
  "$mlir_opt" "$relu" --pass-pipeline="$pipeline" -o mlir-opt.mlir || fail "mlir-opt rejects it"
  cmp -s relu.llvm.mlir mlir-opt.mlir || fail "mlir-opt gives another module: $(diff relu.llvm.mlir mlir-opt.mlir)"
  echo "ok: mlir-opt-19 runs the printed pipeline to the same module"
}

# IEEE rounding of every op: no fused multiply-add appears, flags that allow one are rejected.
case_strict_fp() {
  require_cpu avx2 fma
  "$tool" compile "$data/muladd_cpu.mlir" -o muladd.s --target x86-64-avx2 --emit asm || fail "asm"
  grep -q vfmadd muladd.s && fail "a*b+c was fused: $(grep vfmadd muladd.s)"
  grep -q vmulps muladd.s && grep -q vaddps muladd.s || fail "no vmulps/vaddps in muladd.s"
  "$tool" compile "$data/muladd_cpu.mlir" -o muladd.ll --target x86-64-avx2 --emit llvm || fail "ll"
  grep -E '\b(fast|contract|reassoc|afn|nnan|ninf|nsz|arcp)\b' muladd.ll && fail "fast-math flags"
  echo "ok: a*b+c stays vmulps + vaddps, no fast-math flags in the IR"
  expect 1 "@muladd: .*fmul contract.* has fast-math flags" \
    "$tool" compile "$data/contract_cpu.mlir" -o contract.o --target x86-64-avx2
  expect 1 "llvm.fmuladd.* leaves the choice between fused and unfused rounding" \
    "$tool" compile "$data/vector_fma_cpu.mlir" -o fma.o --target x86-64-avx2
}

# compile, then link with the C driver (and into a shared library: the object is PIC) and run;
# the code uses the target's widest vector registers (VECTOR_REGISTER, if given).
relu_object() {
  local target=$1 vector_register=${2:-}
  "$tool" compile "$relu" -o relu.o --target "$target" || fail "compile --target $target"
  readelf -h relu.o | grep -q "REL (Relocatable file)" || fail "relu.o is not a relocatable ELF"
  "$cc" -std=c99 -O1 "$data/relu_driver.c" relu.o -o relu_driver -lm || fail "link"
  ./relu_driver || fail "relu_driver on the $target object"
  "$cc" -shared relu.o -o librelu.so || fail "relu.o does not link into a shared library"
  "$cc" -std=c99 -O1 "$data/relu_driver.c" -L. -lrelu -Wl,-rpath,"$work" -o relu_shared -lm
  ./relu_shared || fail "relu_driver on librelu.so"
  "$tool" compile "$relu" -o relu.s --target "$target" --emit asm || fail "--emit asm"
  [ -z "$vector_register" ] || grep -q "%$vector_register" relu.s ||
    fail "no $vector_register register in the $target code"
  echo "ok: relu_fwd for $target passes relu_driver, as an object and in a shared library"
}
case_relu_avx512() {
  require_cpu avx512f avx512cd avx512bw avx512dq avx512vl
  relu_object x86-64-avx512 zmm
}
case_relu_avx2() {
  require_cpu avx2 fma f16c
  relu_object x86-64-avx2 ymm
  grep -q "%zmm" relu.s && fail "zmm registers in x86-64-avx2 code"
  true
}
case_relu_host() { relu_object host; }

# run: the JIT gives what the object gives.
case_run() {
  "$tool" compile "$relu" -o relu.o --target host || fail "compile"
  "$cc" -std=c99 "$data/relu_driver.c" relu.o -o relu_driver -lm || fail "link"
  ./relu_driver write 1000 x.bin y_object.bin || fail "relu_driver write"
  expect 0 "^rc=0$" "$tool" run "$relu" --entry relu_fwd --target host \
    --args in:x.bin,out:y_jit.bin:4000,i64:1000
  cmp y_object.bin y_jit.bin || fail "run and the object disagree"
  if grep -qw avx512f /proc/cpuinfo; then
    expect 0 "^rc=0$" "$tool" run "$relu" --entry relu_fwd --target x86-64-avx512 \
      --args in:x.bin,out:y_avx512.bin:4000,i64:1000
    cmp y_object.bin y_avx512.bin || fail "x86-64-avx512 run and the object disagree"
  fi
  : >empty.bin
  expect 0 "^rc=0$" "$tool" run "$relu" --entry relu_fwd --target host \
    --args in:empty.bin,out:y0.bin:0,i64:0
  [ -e y0.bin ] && [ ! -s y0.bin ] || fail "out:y0.bin:0 is not an empty file"
  expect 0 "^rc=42$" "$tool" run "$data/rc.mlir" --entry answer --target host --args i64:41
  expect 0 "^rc=0$" "$tool" run "$relu" --entry relu_fwd --target host --args null,null,i64:0
}

case_run_guard() {
  "$tool" compile "$relu" -o relu.o --target host || fail "compile"
  "$cc" -std=c99 "$data/relu_driver.c" relu.o -o relu_driver -lm || fail "link"
  ./relu_driver write 1000 x.bin y.bin || fail "relu_driver write"
  expect 1 "@relu_fwd wrote past the 3996 bytes of out:short.bin" "$tool" run "$relu" \
    --entry relu_fwd --target host --args in:x.bin,out:short.bin:3996,i64:1000
}

case_run_errors() {
  : >x.bin
  run=("$tool" run "$relu" --entry relu_fwd --target host)
  expect 2 "--args has 2 items but @relu_fwd takes 3 arguments" "${run[@]}" --args in:x.bin,i64:0
  expect 2 "--args item 2 does not fit argument 2 of @relu_fwd, of type !llvm.ptr" \
    "${run[@]}" --args in:x.bin,i64:3,i64:0
  expect 2 "'foo:1' is none of in:FILE" "${run[@]}" --args in:x.bin,foo:1,i64:0
  expect 2 "'z' is not a number" "${run[@]}" --args in:x.bin,out:y.bin:z,i64:0
  expect 2 "'1e3' is not an i64" "${run[@]}" --args in:x.bin,null,i64:1e3
  expect 2 "@relu_fwd_elem is private" "$tool" run "$relu" --entry relu_fwd_elem --target host \
    --args in:x.bin
  expect 2 "the module defines no function @nope" "$tool" run "$relu" --entry nope \
    --target host --args null
  expect 2 "@nothing must return one i32" "$tool" run "$data/rc.mlir" --entry nothing \
    --target host --args i64:1
  expect 1 "cannot read /nonexistent.bin" "${run[@]}" --args in:/nonexistent.bin,null,i64:0
}

# The hard rule: MLIR/LLVM 19 only, never Halide or LLVM 14, in the process.
case_no_halide() {
  libraries=$(ldd "$tool") || fail "ldd $tool"
  grep -iE "halide|llvm-14|LLVM\.so\.14" <<<"$libraries" && fail "Halide or LLVM 14 is linked"
  grep -q "libMLIR.so.19" <<<"$libraries" || fail "libMLIR.so.19 is not linked: $libraries"
  grep -q "libLLVM.so.19" <<<"$libraries" || fail "libLLVM.so.19 is not linked: $libraries"
  echo "ok: links libMLIR.so.19 and libLLVM.so.19, no Halide, no LLVM 14"
}

# The PTX entry's parameter list: one line per .param.
ptx_params() { sed -n "/\.entry $1(/,/^)/p" "$2" | grep -c "\.param \.u64"; }
assemble() {
  [ -x "$ptxas" ] || skip "no ptxas ($ptxas) to assemble $1 (its text checks passed)"
  "$ptxas" -arch=sm_90 "$1" -o /dev/null || fail "ptxas rejects $1"
  echo "ok: ptxas -arch=sm_90 assembles $1"
}

case_ptx() {
  "$tool" ptx "$data/relu_gpu.mlir" -o relu.ptx || fail "ptx"
  grep -q "^\.target sm_90$" relu.ptx || fail "not sm_90 PTX"
  grep -q "^\.visible \.entry relu_fwd($" relu.ptx || fail "no .entry relu_fwd"
  [ "$(ptx_params relu_fwd relu.ptx)" = 3 ] || fail "relu_fwd does not take (ptr x, ptr y, i64 n)"
  "$tool" ptx "$data/relu_gpu.mlir" -o relu80.ptx --chip sm_80 --features +ptx70 || fail "sm_80"
  grep -q "^\.target sm_80$" relu80.ptx && grep -q "^\.version 7\.0$" relu80.ptx ||
    fail "--chip sm_80 --features +ptx70 not honoured"
  echo "ok: .entry relu_fwd with 3 .u64 parameters (x, y, n)"
  assemble relu.ptx
}

case_ptx_libdevice() {
  libdevice=/usr/local/cuda/nvvm/libdevice/libdevice.10.bc
  [ -f "$libdevice" ] || skip "no $libdevice"
  "$tool" ptx "$data/exp_gpu.mlir" -o exp.ptx || fail "ptx"
  grep -q "__nv_" exp.ptx && fail "libdevice was not linked: $(grep __nv_ exp.ptx)"
  [ "$(ptx_params exp_fwd exp.ptx)" = 2 ] || fail "exp_fwd does not take two pointers"
  echo "ok: math.exp linked from libdevice, .entry exp_fwd with 2 .u64 parameters"
  assemble exp.ptx
}

case_ptx_errors() {
  expect 1 "relu_gpu_dynamic_memref.mlir:5:5: error: argument 0 is 'memref<\?xf32>'" \
    "$tool" ptx "$data/relu_gpu_dynamic_memref.mlir" -o dynamic.ptx
  expect 1 "calls __nv_expf from libdevice, and /nonexistent.bc does not exist" \
    "$tool" ptx "$data/exp_gpu.mlir" -o exp.ptx --libdevice /nonexistent.bc
  expect 1 "expected one gpu.module, found 0" "$tool" ptx "$relu" -o relu.ptx
}

declare -F "case_$test_case" >/dev/null || fail "unknown case '$test_case'"
"case_$test_case"
