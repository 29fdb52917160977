#!/usr/bin/env bash
# expect.sh CODE REGEX COMMAND...: run COMMAND, pass when it exits with CODE and its output
# (stdout and stderr together) matches the extended regular expression REGEX.
set -u
want_code=$1
pattern=$2
shift 2
output=$("$@" 2>&1)
code=$?
if [ "$code" -ne "$want_code" ]; then
  printf 'exit code %s, expected %s. Output:\n%s\n' "$code" "$want_code" "$output"
  exit 1
fi
if ! grep -qE -- "$pattern" <<<"$output"; then
  printf 'output does not match /%s/:\n%s\n' "$pattern" "$output"
  exit 1
fi
echo "ok: exit $code, output matches /$pattern/"
