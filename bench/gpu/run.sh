#!/usr/bin/env bash
# shellcheck disable=SC2317  # the step_* functions are called by name
# One command on a GPU machine: environment, CUDA tests, GPU benchmark, CUDA check of every
# activation, summary. Writes at most 8 files into RESULTS_DIR:
#   env.txt      nvidia-smi, driver, GPU, OS, CUDA toolkit, cuDNN, bundle manifest
#   tests.txt    the CUDA test binaries' output;  tests.xml  their GoogleTest XML, merged
#   bench.json   actforge_gpu_bench (Google Benchmark JSON);  bench.txt  its console output
#   check.json   `actforge check --target cuda --json NAME` of every activation, merged
#   summary.md   steps, ours vs D2D copy vs cuDNN table, check verdicts (bench/gpu/report.py)
#   run.log      everything printed, with timestamps
#
#   bash bench/gpu/run.sh RESULTS_DIR
#
# Binaries: from .gpu-bundle/bundle.tar.xz (bench/gpu/bundle.sh, made on the build machine) when
# it is there, unpacked to /tmp/actforge-gpu; otherwise built here from source into build-gpu-run/
# (that needs the project's build dependencies: Halide 14, LLVM 14, Boost, GoogleTest, Google
# Benchmark; on Debian 12 `bash tools/quickstart.sh test` installs them — see the README).
# Without an NVIDIA GPU every CUDA step skips with the reason. A failed step is recorded and the
# next one runs; the exit code is 1 if any step failed.
#
# Environment: RUN_BUDGET_S (340: the check stops starting activations after this many seconds
# since the start), BENCH_REPETITIONS (5), BENCH_MIN_TIME (0.05 s per repetition), BENCH_ARGS
# (more actforge_gpu_bench flags, e.g. --gpu_n=67108864), BENCH_TIMEOUT_S (200), TEST_TIMEOUT_S
# (120 per binary), TESTS (default "cuda_test aot_cuda_test": the device tests; cuda_compile_test
# is bundled too but needs no GPU), TEST_FILTER (gtest filter, default "-*CudaCompile*": the
# PTX-assembly tests, which need no GPU and take minutes, run on the build machine), CHECK_JOBS (14), CHECK_ARGS (e.g. "--dtype f32,f16"), STEPS (default
# "tests bench check": a subset, in that order), USE_BUNDLE=0 (build from source even with a bundle),
# GPU_BUILD_DIR (the source build's directory, default build-gpu-run/).
set -euo pipefail

if (($# != 1)); then
  echo "usage: bash bench/gpu/run.sh RESULTS_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
rm -f "$out"/{env.txt,tests.txt,tests.xml,bench.json,bench.txt,check.json,summary.md,run.log}
exec > >(tee -a "$out/run.log") 2>&1
tee_pid=$!

start=$(date +%s)
budget=${RUN_BUDGET_S:-340}
steps=${STEPS:-tests bench check}
stamp() { printf '[%s +%3ds] %s\n' "$(date +%T)" "$(($(date +%s) - start))" "$*"; }
declare -a results=() # "step: ok|FAILED ...|skipped ..." lines for summary.md
failed=0
record() { # record STEP STATUS
  results+=("$1: $2")
  [[ $2 == FAILED* ]] && failed=1
  stamp "$1: $2"
}
tmp=$(mktemp -d /tmp/actforge-gpu-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
stamp "actforge GPU run: $root -> $out"

# ---- binaries -----------------------------------------------------------------------------
bin=""
setup_bundle() {
  local dir=/tmp/actforge-gpu archive=$root/.gpu-bundle/bundle.tar.xz
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  if command -v xz >/dev/null; then
    tar -C "$dir" -xJf "$archive" || return 1
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' \
      "$archive" "$dir" || return 1
  fi
  export PATH=$dir/bin:$PATH
  export LD_LIBRARY_PATH=$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # Debian 12's libLLVM wants arc4random from glibc 2.36 (marked weak by bundle.sh): where this
  # glibc is older, the bundle's definition of it.
  local have_glibc
  have_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [[ -n $have_glibc && $(printf '%s\n' "$have_glibc" 2.36 | sort -V | head -1) != 2.36 ]]; then
    stamp "glibc $have_glibc < 2.36: preloading the bundle's arc4random"
    export LD_PRELOAD=$dir/lib/compat/libactforge_glibc_compat.so${LD_PRELOAD:+:$LD_PRELOAD}
  fi
  # Our libstdc++ only where the machine's is older than the one the bundle was built with.
  if ! "$dir/bin/actforge" list >/dev/null 2>"$tmp/probe.err"; then
    if grep -q 'GLIBCXX\|CXXABI\|GCC_' "$tmp/probe.err"; then
      stamp "the machine's libstdc++ is too old: using the bundle's"
      export LD_LIBRARY_PATH=$dir/lib/fallback:$LD_LIBRARY_PATH
    fi
    if ! "$dir/bin/actforge" list >/dev/null 2>"$tmp/probe.err"; then
      cat "$tmp/probe.err"
      return 1
    fi
  fi
  # Test binaries may hold paths of the build machine's checkout (the golden CSV): point that
  # path at this tree when it does not exist here (and we may create it).
  local src
  src=$(sed -n 's/^source_dir: //p' "$dir/MANIFEST")
  if [[ -n $src && ! -e $src && $src != "$root" ]]; then
    mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$root" "$src" 2>/dev/null &&
      stamp "linked $src -> $root (paths compiled into the tests)"
  fi
  bin=$dir/bin
}
setup_source() {
  local build=${GPU_BUILD_DIR:-$root/build-gpu-run}
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTFORGE_BUILD_BENCH=ON \
    -DACTFORGE_BUILD_TESTS=ON -DCMAKE_CXX_FLAGS=-Wno-error=restrict || return 1
  local targets=(actforge actforge_gpu_bench) t all
  all=$(cmake --build "$build" --target help) || return 1
  for t in cuda_test aot_cuda_test cuda_compile_test; do
    grep -q "^$t:" <<<"$all" && targets+=("$t")
  done
  cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" || return 1
  bin=$build/bin
}
if [[ ${USE_BUNDLE:-1} != 0 && -f $root/.gpu-bundle/bundle.tar.xz ]]; then
  stamp "unpacking .gpu-bundle/bundle.tar.xz to /tmp/actforge-gpu"
  if setup_bundle; then record setup "ok (bundle)"; else record setup "FAILED (bundle)"; fi
else
  stamp "no .gpu-bundle/bundle.tar.xz: building from source (needs the build dependencies)"
  if setup_source; then record setup "ok (built from source)"; else record setup "FAILED (build)"; fi
fi
export ACTFORGE_GOLDEN=$root/tests/golden/activations.csv
[[ -f $ACTFORGE_GOLDEN || -z $bin ]] || export ACTFORGE_GOLDEN=$bin/../share/activations.csv
# The bundle's kernel cache (every kernel of this run, compiled on the build machine), copied
# to a private place; without it every kernel is compiled here.
export ACTFORGE_CACHE_DIR=$tmp/kernel-cache
if [[ -n $bin && -d $bin/../cache ]]; then
  cp -a "$bin/../cache" "$ACTFORGE_CACHE_DIR" && chmod 700 "$ACTFORGE_CACHE_DIR" &&
    stamp "kernel cache: $(find "$ACTFORGE_CACHE_DIR" -name '*.so' | wc -l) compiled kernels from the bundle"
fi
# cuDNN for the benchmark's peer: the toolkit's, or a Python wheel's (nvidia-cudnn-cu13).
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9'; then
  cudnn=$(find /usr/local/cuda/lib64 /usr/lib /opt -name 'libcudnn.so.9' 2>/dev/null | head -1 || true)
  if [[ -n $cudnn ]]; then
    LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$cudnn")
    export LD_LIBRARY_PATH
    stamp "cuDNN: $cudnn"
  fi
fi
have() { [[ -n $bin && -x $bin/$1 ]]; }

# ---- environment --------------------------------------------------------------------------
gpu=0
{
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  cpus: $(nproc)"
  echo "kernel: $(uname -srm)"
  grep -h '^PRETTY_NAME' /etc/os-release 2>/dev/null || true
  echo "glibc: $(ldd --version 2>/dev/null | head -1)"
  echo
  if command -v nvidia-smi >/dev/null && nvidia-smi >"$tmp/smi.txt" 2>&1; then
    cat "$tmp/smi.txt"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit,pcie.link.gen.max \
      --format=csv 2>&1 || true
  else
    echo "nvidia-smi: $(command -v nvidia-smi >/dev/null && cat "$tmp/smi.txt" || echo 'not found') — no NVIDIA driver/GPU here"
  fi
  echo
  echo "libcuda: $(ldconfig -p 2>/dev/null | grep -m1 'libcuda.so.1' || echo 'not in ldconfig')"
  echo "cuDNN: $(ldconfig -p 2>/dev/null | grep -m1 'libcudnn.so.9' || ls /usr/local/cuda/lib64/libcudnn.so.9 2>/dev/null || echo 'not found')"
  echo "ptxas: $( (ptxas --version || /usr/local/cuda/bin/ptxas --version) 2>/dev/null | tail -1 || echo 'not found')"
  echo "cmake: $(cmake --version 2>/dev/null | head -1 || echo 'not found')  python3: $(python3 --version 2>&1)"
  echo
  echo "binaries: ${bin:-none}"
  [[ -n $bin && -f $bin/../MANIFEST ]] && cat "$bin/../MANIFEST"
} >"$out/env.txt" 2>&1
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
record env "ok ($( ((gpu)) && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1 || echo 'no GPU'))"

# ---- steps --------------------------------------------------------------------------------
step_tests() {
  local t ran=0 bad=0 rc
  : >"$out/tests.txt"
  for t in ${TESTS:-cuda_test aot_cuda_test}; do
    have "$t" || continue
    ran=1
    stamp "test $t"
    rc=0
    timeout "${TEST_TIMEOUT_S:-120}" "$bin/$t" --gtest_output="xml:$tmp/xml/$t.xml" \
      --gtest_filter="${TEST_FILTER--*CudaCompile*}" >>"$out/tests.txt" 2>&1 || rc=$?
    tail -3 "$out/tests.txt"
    ((rc == 0)) || {
      bad=1
      stamp "$t: exit $rc$( ((rc == 124)) && echo ' (timed out)')"
    }
  done
  # $ACTFORGE_CUDA_DEVICE past the last device (ctest's *_device_ordinal): refused with a sentence.
  for t in cuda_test aot_cuda_test; do
    have "$t" || continue
    local suite=CudaDeviceOrdinal
    [[ $t == aot_cuda_test ]] && suite=AotCudaDeviceOrdinal
    stamp "test $t $suite (ACTFORGE_CUDA_DEVICE=4096)"
    rc=0
    ACTFORGE_CUDA_DEVICE=4096 timeout "${TEST_TIMEOUT_S:-120}" "$bin/$t" \
      --gtest_output="xml:$tmp/xml/${t}_ordinal.xml" --gtest_filter="$suite.*" \
      >>"$out/tests.txt" 2>&1 || rc=$?
    tail -3 "$out/tests.txt"
    ((rc == 0)) || {
      bad=1
      stamp "$t $suite: exit $rc"
    }
  done
  python3 - "$tmp/xml" "$out/tests.xml" <<'EOF' || true
import glob, os, sys, xml.etree.ElementTree as ET
merged = ET.Element("testsuites")
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.xml"))):
    root = ET.parse(f).getroot()
    for suite in (root if root.tag == "testsuites" else [root]):
        suite.set("binary", os.path.basename(f)[:-4])
        merged.append(suite)
if len(merged):
    ET.ElementTree(merged).write(sys.argv[2], encoding="utf-8", xml_declaration=True)
EOF
  ((ran)) || {
    echo "no CUDA test binaries" >>"$out/tests.txt"
    return 3
  }
  ((bad == 0))
}

step_bench() {
  have actforge_gpu_bench || return 3
  local rc=0
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT_S:-200}" "$bin/actforge_gpu_bench" \
    --benchmark_repetitions="${BENCH_REPETITIONS:-5}" --benchmark_report_aggregates_only=true \
    --benchmark_min_time="${BENCH_MIN_TIME:-0.05}" \
    --benchmark_out="$out/bench.json" --benchmark_out_format=json ${BENCH_ARGS:-} 2>&1 |
    tee "$out/bench.txt" || rc=$?
  ((rc == 0)) || return "$rc"
  grep -q '^actforge_gpu_bench: skipped' "$out/bench.txt" && return 4
  return 0
}

step_check() {
  have actforge || return 3
  local names deadline=$((start + budget))
  names=$("$bin/actforge" list --json | python3 -c 'import json, sys; print("\n".join(e["name"] for e in json.load(sys.stdin)))') || return 1
  mkdir -p "$tmp/check"
  stamp "check --target cuda: $(wc -l <<<"$names") activations, ${CHECK_JOBS:-14} at a time, until +$budget s"
  export bin deadline tmp CHECK_ARGS
  # shellcheck disable=SC2016
  xargs -P "${CHECK_JOBS:-14}" -I{} bash -c '
    left=$((deadline - $(date +%s)))
    if ((left < 10)); then echo 125 >"$tmp/check/$1.rc"; exit 0; fi
    rc=0
    timeout "$left" "$bin/actforge" check --target cuda --json ${CHECK_ARGS:-} "$1" \
      >"$tmp/check/$1.json" 2>"$tmp/check/$1.err" || rc=$?
    echo $rc >"$tmp/check/$1.rc"
    printf "  %-16s exit %d\n" "$1" "$rc"' _ {} <<<"$names"
  python3 - "$tmp/check" "$out/check.json" <<'EOF'
import json, os, sys
d, records, bad = sys.argv[1], [], []
for f in sorted(os.listdir(d)):
    if not f.endswith(".rc"):
        continue
    name, rc = f[:-3], int(open(os.path.join(d, f)).read())
    try:
        records += json.load(open(os.path.join(d, name + ".json")))
    except Exception:
        err = open(os.path.join(d, name + ".err")).read().strip()[-300:] \
            if os.path.exists(os.path.join(d, name + ".err")) else ""
        why = {124: "timed out", 125: "not run: time budget spent"}.get(rc, f"exit {rc}: {err}")
        records.append({"activation": name, "role": "-", "target": "cuda", "dtype": "-",
                        "status": "fail" if rc != 125 else "skip", "reason": why})
    if rc not in (0, 125):
        bad.append(f"{name} ({rc})")
json.dump(records, open(sys.argv[2], "w"), indent=1)
n = {s: sum(r.get("status") == s for r in records) for s in ("pass", "fail", "skip")}
print(f"check: {len(records)} records: {n['pass']} pass, {n['fail']} fail, {n['skip']} skip;",
      "nonzero exits:", ", ".join(bad) or "none")
sys.exit(1 if bad else 0)
EOF
  local rc=$?
  ((rc == 0)) || return "$rc"
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(4 if r and all(x.get("status") == "skip" for x in r) else 0)' "$out/check.json"
}

for s in $steps; do
  stamp "step $s"
  rc=0
  "step_$s" || rc=$?
  case $rc in
  0) record "$s" ok ;;
  3) record "$s" "skipped (no binaries)" ;;
  4) record "$s" "skipped (no CUDA device: see $s output)" ;;
  124) record "$s" "FAILED (timed out)" ;;
  *) record "$s" "FAILED (exit $rc)" ;;
  esac
done

# ---- summary ------------------------------------------------------------------------------
{
  echo "# actforge GPU run $(date -u +%FT%TZ)"
  echo
  echo "GPU: $( ((gpu)) && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1 || echo none)"
  echo
  printf -- '- %s\n' "${results[@]}"
  echo
  python3 "$root/bench/gpu/report.py" --bench "$out/bench.json" --check "$out/check.json" 2>&1 || echo "(report.py failed)"
} >"$out/summary.md"
cat "$out/summary.md"
stamp "done in $(($(date +%s) - start)) s: $( ((failed)) && echo 'SOME STEPS FAILED' || echo 'no failures'); results in $out"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null || true
exit "$failed"
