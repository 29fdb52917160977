#!/usr/bin/env bash
# The fpga kernels' record: bench/fpga/run.sh OUT [FIXED [MAX_ERROR]] (default 16.10 and 1e-3).
# Generates every library activation's HLS C (forward and backward) in fixed point, writes the
# table of measured errors and resource estimates (OUT/README-table.md) and the check records
# of both modes (OUT/fpga-fixed-check.json, OUT/fpga-f32-check.json). Needs a build (build/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
actforge=${ACTFORGE:-$here/../../build/bin/actforge}
out=${1:?usage: run.sh OUT [FIXED [MAX_ERROR]]}
fixed=${2:-16.10}
bound=${3:-1e-3}
mkdir -p "$out/kernels"
names=$("$actforge" list --json | python3 -c 'import json,sys; print(" ".join(e["name"] for e in json.load(sys.stdin)))')
order=$(echo "$names" | tr ' ' ',')
for n in $names; do
  case $n in
    maxout) "$actforge" gen maxout --target fpga --fixed "$fixed" --param k=2 --out "$out/kernels" --quiet ;;
    threshold) "$actforge" gen threshold --target fpga --fixed "$fixed" --max-error "$bound" \
                 --param threshold=0.5,value=-2 --out "$out/kernels" --quiet ;;
    *) "$actforge" gen "$n" --target fpga --fixed "$fixed" --max-error "$bound" --out "$out/kernels" --quiet ;;
  esac
done
python3 "$here/table.py" "$out/kernels" "$order" > "$out/README-table.md"
"$actforge" check --all --target fpga --fixed "$fixed" --max-error "$bound" --json > "$out/fpga-fixed-check.json" || true
"$actforge" check --all --target fpga --json > "$out/fpga-f32-check.json" || true
rm -rf "$out/kernels"
echo "wrote $out/README-table.md, fpga-fixed-check.json, fpga-f32-check.json"
