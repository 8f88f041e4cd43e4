#!/usr/bin/env bash
# Golden-file tests of `cellgate validate`: for every input in
# tests/data/golden/ (NAME.json, NAME.ndjson), the text and the JSON output
# and the exit status must equal NAME.expected.txt and NAME.expected.ndjson.
#   golden.sh CELLGATE            compare
#   UPDATE_GOLDEN=1 golden.sh CELLGATE    rewrite the expected files (review the diff!)
set -euo pipefail
cellgate=$(realpath "$1")
dir=$(dirname "$0")/../data/golden
cd "$dir"
pass=0 fail=0
for input in *.json *.ndjson; do
	case "$input" in *.expected.*) continue ;; esac
	name=${input%.*}
	for format in text json; do
		ext=$([ "$format" = text ] && echo txt || echo ndjson)
		expected="$name.expected.$ext"
		set +e
		actual=$("$cellgate" validate --format "$format" "$input" 2>&1)
		status=$?
		set -e
		actual="$actual"$'\n'"exit $status"
		if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
			printf '%s\n' "$actual" >"$expected"
			continue
		fi
		if [ ! -f "$expected" ]; then
			echo "FAIL $input ($format): no $expected (run with UPDATE_GOLDEN=1)"
			fail=$((fail + 1))
		elif diff -u "$expected" <(printf '%s\n' "$actual"); then
			pass=$((pass + 1))
		else
			echo "FAIL $input ($format)"
			fail=$((fail + 1))
		fi
	done
done
# Every JSON line of the json outputs must parse, and say the same as the text.
if [ "${UPDATE_GOLDEN:-}" != 1 ]; then
	for f in *.expected.ndjson; do
		if ! grep -v '^exit ' "$f" | python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert set(o) == {"file", "index", "line", "recordId", "valid", "issues"}, o.keys()
    assert o["valid"] == (not any(i["severity"] == "error" for i in o["issues"]))
    for i in o["issues"]:
        assert set(i) == {"severity", "code", "path", "line", "column", "message"}
        assert i["path"] == "" or i["path"].startswith("/")
'; then
			echo "FAIL $f: not the documented JSON shape"
			fail=$((fail + 1))
		else
			pass=$((pass + 1))
		fi
	done
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
