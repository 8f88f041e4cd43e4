#!/usr/bin/env bash
# The R4 core invariants (mappings/fhir-r4/invariants.json) through the
# FHIRPath engine, opt-in (`validate --invariants`, issue 15's first stage):
# the valid samples break no invariant of error severity (dom-6, a warning,
# is expected of resources without narrative), and a resource that breaks
# obs-6 is refused with obs-6 by the engine as well as by the hand-written
# check it is to replace.
#   invariants.sh CELLGATE
set -euo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
pass=0 fail=0
for f in "$src"/tests/data/fhir/*.json; do
	out=$("$cellgate" validate --invariants --mappings "$src/mappings" "$f" 2>&1 || true)
	if grep -q "error\[fhir-invariant\]" <<<"$out"; then
		echo "FAIL $(basename "$f"): an invariant error on a valid sample:"
		grep "fhir-invariant" <<<"$out" | head -5
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
out=$("$cellgate" validate --invariants --mappings "$src/mappings" \
	"$src/tests/data/fhir/invalid/obs6-value-and-absent-reason.json" 2>&1 || true)
if grep -q "error\[fhir-invariant\] (root): obs-6:" <<<"$out"; then pass=$((pass + 1)); else
	echo "FAIL obs-6 not found by the engine:"; echo "$out" | head -5; fail=$((fail + 1)); fi
out=$("$cellgate" validate --invariants --mappings "$src/mappings" \
	"$src/tests/data/fhir/procedure-msc.json" 2>&1 || true)
if grep -q "warning\[fhir-invariant-warning\] (root): dom-6:" <<<"$out"; then
	pass=$((pass + 1)); else
	echo "FAIL dom-6 (no narrative) not found as a warning:"; echo "$out" | head -5
	fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
