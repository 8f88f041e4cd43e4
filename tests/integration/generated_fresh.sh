#!/usr/bin/env bash
# Generated files that are committed must be what their generator makes
# from today's tables: the extension StructureDefinitions and CodeSystems
# (mappings/fhir-extensions/generate.py, Python, run here). The FHIR R4
# tables need npm and are checked by regenerating them by hand (docs/fhir.md).
set -euo pipefail
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$src/mappings/fhir-extensions/generate.py" --out "$work" >/dev/null
fail=0 pass=0
for f in "$work"/*.json; do
	name=$(basename "$f")
	if cmp -s "$f" "$src/mappings/fhir-extensions/$name"; then pass=$((pass + 1)); else
		echo "FAIL mappings/fhir-extensions/$name is stale: run mappings/fhir-extensions/generate.py"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
