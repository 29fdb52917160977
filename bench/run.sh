#!/usr/bin/env bash
# Builds actforge_bench (Release, peers found at configure time) and runs the suite with
# repetitions; writes bench/results/<date>-<host>.json and prints the ratio tables (report.py).
#
#   bench/run.sh                       # the whole grid, 5 repetitions, 0.1 s each
#   BENCH_REPETITIONS=3 bench/run.sh --benchmark_filter='gelu|memcpy'
#
# Environment: BUILD_DIR (default <repo>/build-bench), BENCH_REPETITIONS (5),
# BENCH_MIN_TIME (0.1 s per repetition; a 64Mi case runs at least one iteration anyway).
# Further arguments go to the benchmark (Google Benchmark flags, --actforge_sizes=...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
repetitions=${BENCH_REPETITIONS:-5}
min_time=${BENCH_MIN_TIME:-0.1}

# GCC 12 at -O3 reports a false -Wrestrict inside libstdc++'s std::string (GCC bug 105329):
# keep the warning, not as an error, so the Release build of the library goes through.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTFORGE_BUILD_BENCH=ON \
  -DACTFORGE_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS=-Wno-error=restrict >/dev/null
# The mlir cases run the actforge-mlir found beside the benchmark (bin/): build it too where the
# build has it (MLIR 19 found at configure time); elsewhere they are skipped.
targets=(actforge_bench)
if ninja -C "$build" -t query actforge-mlir >/dev/null 2>&1; then targets+=(actforge-mlir); fi
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)"

mkdir -p "$root/bench/results"
out="$root/bench/results/$(date +%F)-$(hostname -s)"
"$build/bin/actforge_bench" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true \
  --benchmark_min_time="$min_time" \
  --benchmark_out="$out.json" --benchmark_out_format=json \
  "$@"
python3 "$root/bench/report.py" "$out.json" | tee "$out.txt"
echo "results: $out.json, $out.txt"
