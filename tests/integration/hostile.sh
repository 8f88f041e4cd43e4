#!/usr/bin/env bash
# Hostile input never crashes cellgate validate nor makes it slow: each case
# must end with exit status 1 (invalid, reported) within its time budget and
# name the expected issue code. Inputs are generated here, not stored.
#   hostile.sh CELLGATE
set -euo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pass=0 fail=0

# check NAME FILE CODE SECONDS [OPTION...]: exit 1, CODE in the output,
# within SECONDS (a generous budget: the test build runs under ASan).
check() {
	local name=$1 file=$2 code=$3 budget=$4 status start end
	shift 4
	start=$(date +%s%N)
	set +e
	timeout $((budget * 3)) "$cellgate" validate --format json "$@" "$file" >out.ndjson 2>err.txt
	status=$?
	set -e
	end=$(date +%s%N)
	local ms=$(((end - start) / 1000000))
	if [ "$status" -ne 1 ]; then
		echo "FAIL $name: exit $status (want 1)"; head -c 600 err.txt; fail=$((fail + 1)); return
	fi
	if ! grep -q "\"code\":\"$code\"" out.ndjson; then
		echo "FAIL $name: no $code in output"; head -c 600 out.ndjson; fail=$((fail + 1)); return
	fi
	if [ "$ms" -gt $((budget * 1000)) ]; then
		echo "FAIL $name: took $ms ms (budget $budget s)"; fail=$((fail + 1)); return
	fi
	echo "ok   $name ($ms ms)"
	pass=$((pass + 1))
}

valid=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' \
	"$src/tests/data/records/valid-heart-failure.json")

: >empty.json
check "empty file" empty.json empty-input 5

head -c 500 <<<"$valid" >truncated.json
check "truncated JSON" truncated.json json-syntax 5

printf '%s' "$valid" | sed 's/Example Cell Therapy Lab/Example \xff\xfe Lab/' >bad-utf8.json
check "invalid UTF-8" bad-utf8.json json-encoding 5

printf '%s' "$valid" | sed 's/Example Cell Therapy Lab/Example \xed\xa0\x80 Lab/' >surrogate.json
check "UTF-8 encoded surrogate" surrogate.json json-encoding 5

python3 -c 'import sys; sys.stdout.write("[" * 100000 + "]" * 100000)' >deep.json
check "nesting 100,000 deep" deep.json json-depth 5

python3 -c 'import sys; sys.stdout.write("{\"a\":" * 100000 + "1" + "}" * 100000)' >deep-objects.json
check "objects nested 100,000 deep" deep-objects.json json-depth 5

printf '%s' "$valid" | sed 's/"weightKg": 82.5/"weightKg": 1e400/' >huge-number.json
check "number 1e400" huge-number.json json-number-range 5

printf '%s' "$valid" | sed 's/"weightKg": 82.5/"weightKg": 1'"$(printf '0%.0s' {1..400})"'/' >long-number.json
check "400-digit number" long-number.json json-number-range 5

printf '%s' "$valid" | sed 's/"Example Cell Therapy Lab"/"Exa\\u0000mple"/' >nul-escape.json
check "\\u0000 escape" nul-escape.json json-nul-char 5

{ printf '%s' "${valid:0:300}"; printf '\0\0\0'; printf '%s' "${valid:300}"; } >nul-bytes.json
check "NUL bytes" nul-bytes.json json-syntax 5

{ printf '%s\n' "$valid"; printf '\0\0\0\0\n'; printf '%s\n' "$valid"; } >nul-line.ndjson
check "NUL line in NDJSON" nul-line.ndjson json-syntax 5

python3 -c '
import sys
sys.stdout.write("{\"recordId\": \"" + "x" * (100 * 1024 * 1024) + "\"}")' >big-string.json
check "100 MB string" big-string.json json-string-too-long 10

python3 -c '
import sys
v = sys.argv[1]
n = (100 * 1024 * 1024) // (len(v) + 1) + 1
sys.stdout.write("[" + ",\n".join(v.replace("HF-2024-0001", "HF-%d" % i) for i in range(n - 1)))
sys.stdout.write(",\n" + v.replace("\"msc\"", "\"mcs\"") + "]")' "$valid" >big-array.json
check "100 MB JSON array, last record bad" big-array.json enum 120

python3 -c '
import sys
v = sys.argv[1]
n = (100 * 1024 * 1024) // (len(v) + 1) + 1
out = sys.stdout
for i in range(n):
    out.write(v.replace("HF-2024-0001", "HF-%d" % i) if i != n // 2 else v.replace("\"male\"", "\"mail\""))
    out.write("\n")' "$valid" >big.ndjson
check "100 MB NDJSON, one bad record" big.ndjson enum 120

python3 -c '
import sys
sys.stdout.write("{" + ",".join("\"k%d\": 1" % i for i in range(1000000)) + "}")' >many-keys.json
check "one million unknown members" many-keys.json json-too-large 10
check "one million unknown members, no size cap" many-keys.json unknown-field 30 \
	--max-record-size 1073741824
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
o = r["outcomes"][0]
r["outcomes"] = [dict(o) for _ in range(30000)]
print(json.dumps(r))' "$src/tests/data/records/valid-heart-failure.json" >many-outcomes.json
check "30,000 outcomes with one id" many-outcomes.json duplicate-id 30 \
	--max-record-size 1073741824

python3 -c '
import sys
sys.stdout.write("{\"schemaVersion\":\"1.0\"" + ",\"schemaVersion\":\"1.0\"" * 100000 + "}")' >dup-keys.json
check "100,000 duplicate members" dup-keys.json json-duplicate-key 10 \
	--max-record-size 1073741824

printf '\xef\xbb\xbf\xef\xbb\xbf{}' >two-boms.json
check "two byte order marks" two-boms.json json-syntax 5

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
