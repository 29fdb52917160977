#!/usr/bin/env bash
# emit_all.sh ACTFORGE MODE: the MLIR backend's text for every library activation (every role it
# has; f32, f16, bf16; AVX-512 and AVX2 vector widths, and the GPU form).
#   verify  every module parses and verifies with mlir-opt-19 (what IREE or another MLIR 19
#           pipeline would be handed)
#   ptx     every GPU module becomes PTX for sm_90 through actforge-mlir (NVVM), and ptxas
#           assembles it for sm_90; its .entry is there with one parameter per argument
# Exit 77 (skip) when the tool the mode needs is missing.
set -euo pipefail
actforge=$1
mode=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
names=$("$actforge" list --json | grep -o '"name": "[^"]*"' | cut -d'"' -f4 | grep -vx maxout)
roles=forward,backward,backward_from_output,param_grad
case $mode in
verify)
  opt=$(command -v mlir-opt-19 || true)
  [ -n "$opt" ] || { echo "skip: no mlir-opt-19 (apt-get install mlir-19-tools)"; exit 77; }
  for target in x86-64-avx512 x86-64-avx2; do
    "$actforge" gen $names --backend mlir --target "$target" --role "$roles" \
      --dtype f32,f16,bf16 --out "$out/$target" --quiet
  done
  "$actforge" gen $names --backend mlir --target cuda --role forward,backward,backward_from_output \
    --dtype f32,f16,bf16 --out "$out/cuda" --quiet
  count=0
  for f in "$out"/*/*.mlir; do
    "$opt" "$f" -o /dev/null || { echo "mlir-opt-19 rejects $(basename "$f")"; exit 1; }
    count=$((count + 1))
  done
  [ "$count" -gt 400 ] || { echo "only $count modules"; exit 1; }
  echo "ok: $count modules verified by mlir-opt-19"
  ;;
ptx)
  ptxas=/usr/local/cuda/bin/ptxas
  [ -x "$ptxas" ] || { echo "skip: no $ptxas (the CUDA toolkit)"; exit 77; }
  "$actforge" gen $names --backend mlir --target cuda --emit ptx \
    --role forward,backward,backward_from_output --dtype f32,f16,bf16 --out "$out" --quiet
  count=0
  for f in "$out"/*.ptx; do
    kernel=$(basename "$f" .ptx)
    "$ptxas" -arch=sm_90 "$f" -o /dev/null || { echo "ptxas rejects $kernel.ptx"; exit 1; }
    grep -q "^.visible .entry $kernel(" "$f" || { echo "$kernel.ptx has no .entry $kernel"; exit 1; }
    if grep -qE "^\.extern|call.*__nv_" "$f"; then
      echo "$kernel.ptx has unresolved externals"; exit 1
    fi
    count=$((count + 1))
  done
  [ "$count" -gt 150 ] || { echo "only $count PTX files"; exit 1; }
  echo "ok: $count PTX kernels assembled by ptxas for sm_90"
  ;;
*) echo "usage: emit_all.sh ACTFORGE verify|ptx"; exit 2 ;;
esac
