#!/usr/bin/env bash
# tune_gen.sh ACTFORGE: `actforge tune` writes an entry for relu's forward kernel (in cache, a
# few seconds), and `actforge gen --verbose` then builds that kernel with the entry's schedule.
set -euo pipefail
actforge=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$actforge" tune relu --role forward --size-class cache --budget 3 --no-autoschedulers \
  --db "$dir/db.json" --json >"$dir/out.json" 2>"$dir/log"
python3 - "$dir/out.json" "$dir/db.json" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
db = json.load(open(sys.argv[2]))
assert len(out) == 1, out
e = out[0]
assert e["key"]["role"] == "forward" and e["key"]["size_class"] == "cache", e
assert e["n"] == 16384 and e["tuned_ns"] > 0 and e["default_ns"] >= e["tuned_ns"], e
assert e["memcpy_ns"] > 0 and e["trials"] >= 1, e
assert db["schema"] == 1 and db["entries"] == out, db
print("tuned:", e["schedule_name"], "speedup", e["speedup"])
PY
grep -q "candidate 1/" "$dir/log" || { echo "no progress lines:"; cat "$dir/log"; exit 1; }
ACTFORGE_TUNING_DB="$dir/db.json" "$actforge" gen relu --role forward --out "$dir/gen" --quiet \
  --verbose 2>"$dir/gen.log"
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["schedule_name"])' \
  "$dir/out.json")
grep -q "relu_fwd_f32_.*_$name: tuned schedule $name" "$dir/gen.log" ||
  { echo "gen did not take the entry:"; cat "$dir/gen.log"; exit 1; }
compgen -G "$dir/gen/*_$name.o" >/dev/null || { echo "no object with the tuned schedule"; exit 1; }
# Into a file, not a pipe: `grep -q` would quit at the first match and, with pipefail, a slow
# (sanitizer) actforge still writing would die of SIGPIPE.
ACTFORGE_TUNING_DB=none "$actforge" gen relu --role forward --out "$dir/gen2" --quiet --verbose \
  2>"$dir/gen2.log"
grep -q "default schedule" "$dir/gen2.log" ||
  { echo "ACTFORGE_TUNING_DB=none not honoured:"; cat "$dir/gen2.log"; exit 1; }
out=$("$actforge" tune --import "$dir/db.json" --db "$dir/merged.json")
grep -q "imported 1 entries" <<<"$out" || { echo "import: $out"; exit 1; }
cmp -s <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$dir/db.json") \
  <(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$dir/merged.json") ||
  { echo "import changed the entries"; exit 1; }
echo ok
