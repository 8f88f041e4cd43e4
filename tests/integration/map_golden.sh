#!/usr/bin/env bash
# Golden-file tests of `cellgate map`: record-*.json are mapped --to fhir and
# fhir-*.json --to record; standard output, standard error and the exit
# status must equal NAME.expected (the Bundles are deterministic, byte for byte).
#   map_golden.sh CELLGATE         compare
#   UPDATE_GOLDEN=1 map_golden.sh CELLGATE   rewrite (review the diff!)
set -euo pipefail
cellgate=$(realpath "$1")
cd "$(dirname "$0")/../data/map"
pass=0 fail=0
for input in record-*.json fhir-*.json; do
	case "$input" in *.expected*) continue ;; esac
	to=$([ "${input%%-*}" = record ] && echo fhir || echo record)
	set +e
	out=$("$cellgate" map --to "$to" --pretty "$input" 2>&1)
	status=$?
	set -e
	actual="$out"$'\n'"exit $status"
	expected=${input%.json}.expected
	if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
		printf '%s\n' "$actual" >"$expected"
	elif diff -u "$expected" <(printf '%s\n' "$actual") >/dev/null; then
		pass=$((pass + 1))
	else
		diff -u "$expected" <(printf '%s\n' "$actual") | head -30
		echo "FAIL $input (--to $to)"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
