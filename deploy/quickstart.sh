#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs what is missing, builds
# cellgate, and shows it at work on the sample records. (The running gateway
# joins this script with issue #4.)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing missing Debian packages (if any)"
./deploy/install-deps.sh

say "Building (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
cellgate=build/release/cellgate
"$cellgate" version

say "Validating the sample records (tests/data/records/)"
"$cellgate" validate tests/data/records/*.json

say "A record with typical mistakes (tests/data/golden/worked-example.json)"
set +e
"$cellgate" validate tests/data/golden/worked-example.json
status=$?
set -e
echo "exit status $status: 1 means invalid records were found"
[ "$status" -eq 1 ]

say "A batch as NDJSON, one JSON result per record (--format json)"
set +e
"$cellgate" validate --format json tests/data/golden/batch.ndjson | cut -c1-160
set -e

say "The same record as FHIR R4: a transaction Bundle (first lines; cellgate map)"
bundle=$(mktemp)
trap 'rm -f "$bundle"' EXIT
"$cellgate" map --to fhir --pretty tests/data/records/valid-copd-exosome.json >"$bundle"
head -24 "$bundle"
echo "  ... ($(wc -l <"$bundle") lines: a Procedure and one Observation per outcome)"

say "And back: FHIR -> record is lossless"
# The mapping is deterministic: the record that comes back maps to the very
# same bytes as the original only if nothing was lost.
back=$(mktemp)
"$cellgate" map --to fhir tests/data/records/valid-copd-exosome.json |
	"$cellgate" map --to record - >"$back"
if cmp -s <("$cellgate" map --to fhir tests/data/records/valid-copd-exosome.json) \
	<("$cellgate" map --to fhir "$back"); then
	echo "record -> FHIR -> record: identical"
else
	echo "record -> FHIR -> record: DIFFERENT" >&2
	exit 1
fi
rm -f "$back"

cat <<EOT

Next: $cellgate validate --help, docs/cli.md for every option and issue code,
docs/record-format.md for the record, docs/mapping.md for FHIR,
./tests/run.sh for the test suite.
EOT
