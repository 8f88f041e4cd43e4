#!/usr/bin/env bash
# Benchmark of cellgate's FHIR side against Medplum's validator, in one run:
#   - FHIR validation: the same transaction Bundles validated by
#     `cellgate validate` (with the R4 invariants, the default, and with
#     --no-invariants: the invariants' own cost is the difference) and by
#     Medplum's validateResource (Node), which evaluates invariants too;
#   - mapping throughput: records -> Bundles (`map --to fhir`) and back;
#   - a registry's policy on the same records (`cellgate deidentify`: the
#     consent gate, keyed pseudonyms, Safe Harbor), against `map --to fhir`.
#   tests/bench/fhir.sh [RECORDS]        (default 20000)
# cellgate is timed as whole processes (reading, parsing, startup included),
# pinned to one core, best of 3; Medplum on the first 2,000 Bundles, its
# loop only (loading and JSON.parse excluded, which favours it). The table
# goes into docs/benchmarks.md between the fhir markers.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
records=${1:-20000}
out=$root/tests/bench/out
mkdir -p "$out"

./deploy/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
cellgate=build/bench/cellgate
cc -O2 $(for l in core json rules validate map policy config dest queue server cli; do printf -- "-Igateway/%s " "$l"; done) -Ibuild/bench/generated -o "$out/map_bench" tests/bench/map_bench.c \
	build/bench/libcellgate.a $(pkg-config --libs libcjson libcrypto) -lm
(cd tests/fhir/medplum && [ -d node_modules/@medplum/core ] ||
	npm ci --no-audit --no-fund --loglevel=error >/dev/null)

python3 tests/bench/gen_records.py "$records" 7 >"$out/fhir-records.ndjson"

# best SECONDS of 3 runs of a command (its output to the named file)
best() {
	local file=$1 best_s="" i start end s
	shift
	for i in 1 2 3; do
		start=$(date +%s%N)
		taskset -c 0 "$@" >"$file"
		end=$(date +%s%N)
		s=$(awk -v ns=$((end - start)) 'BEGIN {printf "%.4f", ns / 1e9}')
		if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; then
			best_s=$s
		fi
	done
	echo "$best_s"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%d", n / s}'; }

to_fhir=$(best "$out/fhir-bundles.ndjson" "$cellgate" map --to fhir "$out/fhir-records.ndjson")
to_record=$(best "$out/fhir-back.ndjson" "$cellgate" map --to record "$out/fhir-bundles.ndjson")
python3 - "$out/fhir-records.ndjson" "$out/fhir-back.ndjson" <<'PY' ||
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
sys.exit(0 if a == b else 1)
PY
	{ echo "fhir.sh: the round trip changed records" >&2; exit 1; }
inproc=$(taskset -c 0 "$out/map_bench" mappings "$out/fhir-records.ndjson")
ip_fwd=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["to_fhir_per_second"])' "$inproc")
ip_back=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["to_record_per_second"])' "$inproc")
resources=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["entry"]) for l in open(sys.argv[1])))' \
	"$out/fhir-bundles.ndjson")
validate=$(best /dev/null "$cellgate" validate --quiet "$out/fhir-bundles.ndjson")
validate_noinv=$(best /dev/null "$cellgate" validate --quiet --no-invariants "$out/fhir-bundles.ndjson")

# The registry policy of deploy/cellgate.registry.yaml on the same records
# (consent added), as cellgate deidentify applies it (the gateway's code).
python3 - "$out/fhir-records.ndjson" >"$out/fhir-consented.ndjson" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    r["consent"] = {"research": True, "registries": ["STEMCELL-REG"]}
    print(json.dumps(r))
PY
printf 'type: fhir\nregistry_id: STEMCELL-REG\nconsent: required\nidentity: pseudonym-keyed\ndeidentify: safe-harbor\n' \
	>"$out/policy.yaml"
cp tests/data/privacy/kat.key "$out/kat.key" && chmod 600 "$out/kat.key"
to_fhir_c=$(best /dev/null "$cellgate" map --to fhir "$out/fhir-consented.ndjson")
deid=$(best /dev/null "$cellgate" deidentify --policy "$out/policy.yaml" --key "$out/kat.key" \
	"$out/fhir-consented.ndjson")

head -2000 "$out/fhir-bundles.ndjson" >"$out/fhir-bundles-2k.ndjson"
flags=()
[ "$(node -e 'process.stdout.write(typeof WebSocket)')" = function ] || flags=(--experimental-websocket)
medplum=$(node "${flags[@]}" --no-warnings tests/fhir/medplum/bench.mjs "$out/fhir-bundles-2k.ndjson")
m_rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["resources_per_second"])' "$medplum")
m_errors=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$medplum")
c_rate=$(rate "$resources" "$validate")
c_rate_noinv=$(rate "$resources" "$validate_noinv")
# the invariants alone: time with them minus time without, per resource
inv_s=$(awk -v a="$validate" -v b="$validate_noinv" 'BEGIN {printf "%.4f", a - b}')
inv_us=$(awk -v d="$inv_s" -v n="$resources" 'BEGIN {printf "%.2f", d * 1e6 / n}')
times() { awk -v a="$1" -v b="$m_rate" 'BEGIN {printf "%.1f", a / b}'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
table=$(cat <<EOT
Run on $(date -u +%Y-%m-%d) on \`$(hostname)\`: $cpu, $(nproc) cores (one used for cellgate),
$(. /etc/os-release && echo "$PRETTY_NAME"), node $(node --version), @medplum/core 5.2.13.
$records generated records → $records transaction Bundles with $resources resources.

| what | time | throughput | target |
|---|---|---|---|
| \`cellgate validate\` of all Bundles, R4 invariants included (the default; whole process) | ${validate} s | $c_rate resources/s | |
| \`cellgate validate --no-invariants\` (structure only; whole process) | ${validate_noinv} s | $c_rate_noinv resources/s | |
| the invariants alone (with − without) | ${inv_s} s | ${inv_us} µs per resource | |
| Medplum \`validateResource\` (its invariants included), each entry resource of 2,000 Bundles (loop only) | $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$medplum") s | $m_rate resources/s ($m_errors errors) | |
| cellgate with invariants ÷ Medplum | | **$(times "$c_rate")×** | ≥ 50× |
| cellgate without invariants ÷ Medplum | | $(times "$c_rate_noinv")× | (≥ 20×: issue #3) |
| \`cellgate map --to fhir\` (validation included) | ${to_fhir} s | $(rate "$records" "$to_fhir") records/s | (end to end: see below) |
| \`cellgate map --to record\` (FHIR and record validation included) | ${to_record} s | $(rate "$records" "$to_record") records/s | (end to end: see below) |
| mapping alone, in process (\`map_bench.c\`): record → Bundle text | | ${ip_fwd} records/s | ≥ 20,000 |
| mapping alone, in process: Bundle tree → record (record validation included) | | ${ip_back} records/s | ≥ 20,000 |
| \`cellgate map --to fhir\` of the same records with consent | ${to_fhir_c} s | $(rate "$records" "$to_fhir_c") records/s | |
| \`cellgate deidentify\` to FHIR: consent gate, keyed pseudonym, Safe Harbor (dates: year), then mapping | ${deid} s | $(rate "$records" "$deid") records/s | (the policy's cost: the difference) |
EOT
)
echo "$table"
echo "$table" >"$out/fhir.md"
python3 - "$root/docs/benchmarks.md" "$out/fhir.md" <<'PY'
import sys
doc, new = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(doc).read()
begin, end = "<!-- fhir:begin -->", "<!-- fhir:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(doc, "w").write(text[:a] + "\n" + new + "\n" + text[b:])
PY
