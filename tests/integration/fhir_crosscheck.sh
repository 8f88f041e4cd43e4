#!/usr/bin/env bash
# A second opinion on FHIR: Medplum's validateResource (npm @medplum/core, the
# same definitions package our tables come from) and cellgate must agree that
# every sample in tests/data/fhir/ is valid, and that every file in
# tests/data/fhir/invalid/ is not. Files in tests/data/fhir/stricter/ break
# rules Medplum does not check (docs/fhir.md): cellgate must reject them, and
# what Medplum says is printed for the record. Node and npm serve this test only.
#   fhir_crosscheck.sh CELLGATE
set -euo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
tool=$src/tests/fhir/medplum
cd "$tool"
# Tests run in parallel: one npm ci at a time in this folder.
(
	flock 9
	[ -d node_modules/@medplum/core ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
) 9>"$tool/.npm.lock"
# Medplum wants a global WebSocket, which Node 20 has behind a flag.
node_flags=()
if [ "$(node -e 'process.stdout.write(typeof WebSocket)')" != function ]; then
	node_flags=(--experimental-websocket)
fi
medplum() { node "${node_flags[@]}" --no-warnings validate.mjs "$@"; }

pass=0 fail=0
# cellgate's own OperationOutcomes must be valid FHIR too.
outcome=$(mktemp --suffix=.json)
trap 'rm -f "$outcome"' EXIT
"$cellgate" validate --format outcome "$src/tests/data/golden/worked-example.json" >"$outcome" || true
valid=("$src"/tests/data/fhir/*.json "$src"/mappings/fhir-extensions/*.json "$outcome")
invalid=("$src"/tests/data/fhir/invalid/*.json)

if medplum "${valid[@]}" >out.txt 2>&1; then pass=$((pass + 1)); else
	echo "FAIL Medplum rejects a valid sample:"; grep -v '^ok' out.txt; fail=$((fail + 1)); fi
if "$cellgate" validate "${valid[@]}" >out.txt 2>&1; then pass=$((pass + 1)); else
	echo "FAIL cellgate rejects a valid sample:"; cat out.txt; fail=$((fail + 1)); fi
for f in "${invalid[@]}"; do
	name=$(basename "$f")
	if medplum "$f" >/dev/null 2>&1; then
		echo "FAIL Medplum accepts $name"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
	set +e
	"$cellgate" validate --quiet "$f" >/dev/null 2>&1
	status=$?
	set -e
	if [ "$status" -eq 1 ]; then pass=$((pass + 1)); else
		echo "FAIL cellgate exit $status on $name (want 1)"; fail=$((fail + 1)); fi
done
for f in "$src"/tests/data/fhir/stricter/*.json; do
	name=$(basename "$f")
	set +e
	"$cellgate" validate --quiet "$f" >/dev/null 2>&1
	status=$?
	set -e
	if [ "$status" -eq 1 ]; then pass=$((pass + 1)); else
		echo "FAIL cellgate exit $status on stricter/$name (want 1)"; fail=$((fail + 1)); fi
	if medplum "$f" >/dev/null 2>&1; then
		echo "note stricter/$name: Medplum accepts it, cellgate does not"
	else
		echo "note stricter/$name: both reject it"
	fi
done
rm -f out.txt
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
