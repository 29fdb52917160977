#!/usr/bin/env bash
# Runs everything: installs the peer libraries (as root), builds actforge_bench and
# actforge_peer_accuracy (Release, peers found at configure time), runs the benchmark grid with
# repetitions and the accuracy program, and writes
#   bench/results/<date>-<cpu>.json       actforge_bench (Google Benchmark JSON)
#   bench/results/<date>-<cpu>-accuracy.json   actforge_peer_accuracy
#   bench/results/<date>-<cpu>.md / .svg / .txt   report.py: Markdown tables, chart, text tables
# where <cpu> is a short slug of /proc/cpuinfo's model name (xeon-8375c).
#
#   bench/run.sh                       # the whole grid, 5 repetitions, 0.1 s each
#   BENCH_REPETITIONS=3 bench/run.sh --benchmark_filter='gelu|memcpy'
#
# Environment: BUILD_DIR (default <repo>/build-bench), BENCH_REPETITIONS (5), BENCH_MIN_TIME
# (0.1 s per repetition; a 64 Mi case runs at least one iteration anyway), BENCH_INSTALL (1: as
# root, apt-get install the missing peer packages; 0: use what is there), BENCH_ACCURACY (1: run
# actforge_peer_accuracy; 0: skip it), ACCURACY_LOG2_STRIDE (12: every 2^12-th f32 pattern).
# Further arguments go to the benchmark (Google Benchmark flags, --actforge_sizes=...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
repetitions=${BENCH_REPETITIONS:-5}
min_time=${BENCH_MIN_TIME:-0.1}

# The peers of issue 8. Missing ones are skipped by the build; as root they are installed first.
peer_packages=(libdnnl-dev libeigen3-dev libsleef-dev libxnnpack-dev libpthreadpool-dev
  libtorch-dev)
missing=()
for p in "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ ${BENCH_INSTALL:-1} != 0 && $(id -u) == 0 ]]; then
    echo "run.sh: installing the missing peer packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "run.sh: peer packages not installed (their cases are skipped): ${missing[*]}" \
      "(run as root, or apt-get install them)"
  fi
fi

# GCC 12 at -O3 reports a false -Wrestrict inside libstdc++'s std::string (GCC bug 105329):
# keep the warning, not as an error, so the Release build of the library goes through.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTFORGE_BUILD_BENCH=ON \
  -DACTFORGE_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS=-Wno-error=restrict | grep 'actforge_bench peers'
# The mlir cases run the actforge-mlir found beside the benchmark (bin/): build it too where the
# build has it (MLIR 19 found at configure time); elsewhere they are skipped.
targets=(actforge_bench actforge_peer_accuracy)
if ninja -C "$build" -t query actforge-mlir >/dev/null 2>&1; then targets+=(actforge-mlir); fi
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

# libtorch 1.13 dispatches to its AVX2 kernels unless told otherwise.
if [[ -z ${ATEN_CPU_CAPABILITY:-} ]] && grep -qw avx512f /proc/cpuinfo; then
  export ATEN_CPU_CAPABILITY=avx512
  echo "run.sh: the CPU has AVX-512F: ATEN_CPU_CAPABILITY=avx512 (libtorch's AVX-512 kernels)"
fi

# "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz" -> xeon-8375c; "AMD EPYC 7R13 Processor" -> epyc-7r13.
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- |
  sed -E 's/\((R|TM|tm|r)\)//g; s/@.*//; s/\b(Intel|AMD|CPU|Processor|Platinum|Gold|Silver|Bronze|Core|[0-9]+-Core)\b//g' |
  tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed -E 's/^-+//; s/-+$//')
out="$root/bench/results/$(date +%F)-${cpu:-cpu}"
mkdir -p "$root/bench/results"

"$build/bin/actforge_bench" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true \
  --benchmark_min_time="$min_time" \
  --benchmark_out="$out.json" --benchmark_out_format=json \
  "$@"
accuracy=()
if [[ ${BENCH_ACCURACY:-1} != 0 ]]; then
  "$build/bin/actforge_peer_accuracy" --log2_stride="${ACCURACY_LOG2_STRIDE:-12}" \
    --out="$out-accuracy.json" >/dev/null
  accuracy=(--accuracy "$out-accuracy.json")
fi
python3 "$root/bench/report.py" "$out.json" "${accuracy[@]}" --md "$out.md" --svg "$out.svg" |
  tee "$out.txt"
echo "results: $out.json${accuracy:+, $out-accuracy.json}, $out.md, $out.svg, $out.txt"
