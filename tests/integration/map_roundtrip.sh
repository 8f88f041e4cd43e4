#!/usr/bin/env bash
# Record -> FHIR -> record on thousands of generated records (every
# indication, route, cell type, donor type and measure): every Bundle is
# valid by cellgate's validator and by Medplum's, the mapping is
# deterministic (same bytes twice), and every record comes back identical.
#   map_roundtrip.sh CELLGATE [COUNT]
set -euo pipefail
cellgate=$(realpath "$1")
count=${2:-3000}
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

python3 "$src/tests/bench/gen_records.py" "$count" 42 >"$work/records.ndjson"
# The hand-written samples too: they leave out optional members the generator fills.
for f in "$src"/tests/data/records/*.json; do
	python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$f" >>"$work/records.ndjson"
done
count=$((count + $(ls "$src"/tests/data/records/*.json | wc -l)))
"$cellgate" validate --quiet "$work/records.ndjson" && ok "$count generated records are valid" ||
	bad "generated records are not all valid"

"$cellgate" map --to fhir "$work/records.ndjson" >"$work/bundles.ndjson" &&
	ok "map --to fhir" || bad "map --to fhir failed"
"$cellgate" map --to fhir "$work/records.ndjson" >"$work/bundles2.ndjson"
cmp -s "$work/bundles.ndjson" "$work/bundles2.ndjson" && ok "deterministic output" ||
	bad "two runs gave different bytes"
[ "$(wc -l <"$work/bundles.ndjson")" -eq "$count" ] && ok "one Bundle per record" ||
	bad "not one Bundle per record"

"$cellgate" validate --quiet "$work/bundles.ndjson" && ok "every Bundle valid (cellgate)" ||
	{ "$cellgate" validate "$work/bundles.ndjson" | head -20; bad "invalid Bundles"; }

# Medplum, independently (Node; tests only).
medplum=$src/tests/fhir/medplum
# Tests run in parallel: one npm ci at a time in that folder.
(
	flock 9
	[ -d "$medplum/node_modules/@medplum/core" ] ||
		(cd "$medplum" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
) 9>"$medplum/.npm.lock"
flags=()
[ "$(node -e 'process.stdout.write(typeof WebSocket)')" = function ] || flags=(--experimental-websocket)
if node "${flags[@]}" --no-warnings "$medplum/validate.mjs" "$work/bundles.ndjson" >"$work/medplum.txt"; then
	ok "every Bundle and resource valid (Medplum): $(tail -1 "$work/medplum.txt")"
else
	grep -v '^ok' "$work/medplum.txt" | head -20
	bad "Medplum finds errors"
fi

"$cellgate" map --to record "$work/bundles.ndjson" >"$work/back.ndjson" && ok "map --to record" ||
	bad "map --to record failed"
if python3 - "$work/records.ndjson" "$work/back.ndjson" <<'PY'; then ok "all records identical after the round trip"; else bad "records differ"; fi
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
if len(a) != len(b):
    print("count", len(a), len(b)); sys.exit(1)
bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
for i in bad[:3]:
    print("record", i, "differs:\n ", json.dumps(a[i], sort_keys=True)[:400], "\n ", json.dumps(b[i], sort_keys=True)[:400])
# Member order too: the record comes back in the contract's order.
order = [i for i, (x, y) in enumerate(zip(a, b)) if list(x) != list(y)]
print(len(a), "records,", len(bad), "differ,", len(order), "in another member order")
sys.exit(1 if bad else 0)
PY
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
