#!/usr/bin/env bash
# plot_svg.sh ACTFORGE: `actforge plot` writes valid SVG (xmllint parses it), with one <path> per
# curve (solid f, dashed f' with --derivative), the legend naming every curve, XML-escaped names,
# and a curve broken (a new sub-path) where the function is not finite.
set -euo pipefail
actforge=$1
command -v xmllint >/dev/null || { echo "xmllint missing (Debian package libxml2-utils)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$actforge" plot relu sigmoid "x<1 ? x : log(x-2)" --derivative --range -3:4 --out "$dir/a.svg" \
  2>"$dir/log"
xmllint --noout "$dir/a.svg"
curves=$(grep -c '<path class="curve"' "$dir/a.svg")
[ "$curves" = 6 ] || { echo "expected 6 curves, found $curves"; exit 1; }
dashed=$(grep -c '<path class="curve".*stroke-dasharray' "$dir/a.svg")
[ "$dashed" = 3 ] || { echo "expected 3 dashed derivative curves, found $dashed"; exit 1; }
for name in relu sigmoid "relu&apos;" "sigmoid&apos;" "x&lt;1 ? x : log(x-2)"; do
  grep -qF ">$name</text>" "$dir/a.svg" || { echo "legend lacks $name"; exit 1; }
done
# log(x-2) is NaN on [1, 2): the third curve breaks there and starts again after 2.
grep -F 'data-name="x&lt;1 ? x : log(x-2)"' "$dir/a.svg" | grep -q ' M' ||
  { echo "the non-finite values did not break the curve"; exit 1; }
"$actforge" plot gelu --out - >"$dir/b.svg"
xmllint --noout "$dir/b.svg"
[ "$(grep -c '<path class="curve"' "$dir/b.svg")" = 1 ] || { echo "stdout plot: not one curve"; exit 1; }
echo ok
