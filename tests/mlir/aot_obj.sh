#!/usr/bin/env bash
# aot_obj.sh ACTFORGE SOURCE_DIR: `actforge gen --backend mlir --emit obj` objects and headers,
# compiled into aot_driver.c with cc and run. Exit 77 (skip) without actforge-mlir.
set -euo pipefail
actforge=$1
src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$actforge" gen relu --backend mlir --emit obj --role forward --out "$out" --quiet 2> "$out/err"; then
  if grep -q "no actforge-mlir" "$out/err"; then cat "$out/err"; exit 77; fi
  cat "$out/err"; exit 1
fi
"$actforge" gen swish --backend mlir --emit obj --role forward,backward,param_grad --dtype f32,bf16 \
  --out "$out" --quiet
cc -std=c99 -O1 -Wall -Wextra -Werror -I"$out" "$src/tests/mlir/aot_driver.c" "$out"/*.o -lm \
  -o "$out/driver"
"$out/driver"
