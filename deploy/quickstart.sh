#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs what is missing, builds
# cellgate, shows the command line at work on the sample records, then makes
# development certificates, starts the gateway on its embedded defaults
# (mutual TLS on 127.0.0.1:8443, NDJSON files under var/) and posts records
# to it with curl and a client certificate. The gateway is stopped (SIGTERM,
# drained) at the end.
#
# CELLGATE_PORT=9443 ./deploy/quickstart.sh runs the gateway on another port
# (cellgate serve --listen 127.0.0.1:9443): 8443 is also Mirth Connect's.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${CELLGATE_PORT:-8443}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	echo "CELLGATE_PORT must be a port number (1 to 65535), not '$port'" >&2
	exit 2
fi

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

say "Development certificates (certs/dev, made by certs/make-dev-pki.sh)"
[ -f certs/dev/ehr.crt ] || certs/make-dev-pki.sh certs/dev >/dev/null
ls certs/dev | tr '\n' ' '
echo

say "Starting the gateway on its embedded defaults: $cellgate serve --listen 127.0.0.1:$port"

if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
	echo "something already listens on 127.0.0.1:$port (Mirth Connect, say, also uses 8443);" >&2
	echo "stop it, or choose another port: CELLGATE_PORT=9443 $0" >&2
	exit 1
fi
mkdir -p var # for the log below; the gateway makes its own folders
"$cellgate" serve --listen "127.0.0.1:$port" 2>var/cellgate.log &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null; rm -f "$bundle"' EXIT
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
	sleep 0.05
done
head -1 var/cellgate.log

post() { # PATH FILE CONTENT-TYPE [CLIENT]: prints the status and the answer
	curl -sS --cacert certs/dev/ca.crt --cert "certs/dev/${4:-ehr}.crt" --key "certs/dev/${4:-ehr}.key" \
		-H "Content-Type: $3" --data-binary "@$2" -w '\n  -> HTTP %{http_code}\n' \
		"https://localhost:$port$1" | cut -c1-200
}
say "POST /records, each sample record, as the 'ehr' client (mutual TLS)"
for f in tests/data/records/valid-*.json; do
	echo "$f:"
	post /records "$f" application/json
done
say "POST /records, an NDJSON batch of four: one line is not JSON, one record is invalid (400, nothing stored)"
post /records tests/data/golden/batch.ndjson application/x-ndjson
say "POST /fhir, a FHIR transaction Bundle (stored as the record it carries)"
"$cellgate" map --to fhir tests/data/records/valid-heart-failure.json >"$bundle"
post /fhir "$bundle" application/fhir+json
say "The 'registry' client may not post records here (403)"
post /records tests/data/records/valid-copd-exosome.json application/json registry
say "No client certificate: the TLS handshake fails"
curl -sS --cacert certs/dev/ca.crt "https://localhost:$port/healthz" || true
sleep 0.2
echo "  the gateway's log says why:"
grep 'TLS handshake' var/cellgate.log | tail -1 | cut -c1-200

say "Where the records landed: var/ndjson/ (one file per day and kind)"
wc -l var/ndjson/*.ndjson
say "The audit log (var/audit.log): who sent what, no patient data"
tail -3 var/audit.log | cut -c1-220
say "Metrics (GET /metrics, Prometheus text), excerpt"
curl -sS --cacert certs/dev/ca.crt --cert certs/dev/ehr.crt --key certs/dev/ehr.key \
	"https://localhost:$port/metrics" | grep -E '^cellgate_(requests_total|upstream_total|tls)' | head -8

say "Stopping the gateway (SIGTERM: finishes what is in flight, exits 0)"
kill -TERM "$gateway"
wait "$gateway"
echo "exit status $?"
trap 'rm -f "$bundle"' EXIT

say "Store and forward: deploy/cellgate.queue.yaml, records to a FHIR server through the outbox"
# The FHIR server stands in for a registry: the suite's test server
# (tests/integration/gateway/fhirstore.py), HTTPS with the development PKI.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port) admin_port=$(free_port)
start_upstream() {
	python3 tests/integration/gateway/fhirstore.py "$up_port" certs/dev >/dev/null &
	upstream=$!
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$up_port") 2>/dev/null && break
		sleep 0.05
	done
}
upstream_state() { # what the FHIR server holds: records and duplicates absorbed
	curl -sS --cacert certs/dev/ca.crt --cert certs/dev/registry.crt --key certs/dev/registry.key \
		"https://127.0.0.1:$up_port/state" |
		python3 -c 'import json,sys; s=json.load(sys.stdin); print("  the FHIR server holds %d records (%d resources), %d duplicates absorbed" % (sum(len(v) for v in s["order"].values()), s["created"], s["duplicates"]))'
}
start_upstream
export CELLGATE_PORT=$port CELLGATE_UPSTREAM=https://127.0.0.1:$up_port/fhir CELLGATE_ADMIN_PORT=$admin_port
"$cellgate" serve --config deploy/cellgate.queue.yaml 2>var/cellgate-queue.log &
gateway=$!
trap 'kill -TERM $gateway $upstream 2>/dev/null; rm -f "$bundle"' EXIT
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
	sleep 0.05
done
grep -m1 outbox var/cellgate-queue.log | cut -c1-200
say "POST /records: 202 once the record is on disk, with where to follow it"
curl -sS --cacert certs/dev/ca.crt --cert certs/dev/ehr.crt --key certs/dev/ehr.key \
	-H 'Content-Type: application/json' --data-binary @tests/data/records/valid-heart-failure.json \
	-D var/headers.txt "https://localhost:$port/records" | cut -c1-200
echo
grep -iE '^(HTTP|location)' var/headers.txt
location=$(grep -i '^location:' var/headers.txt | tr -d '\r' | cut -d' ' -f2)
sleep 0.5
say "GET $location: delivered"
curl -sS --cacert certs/dev/ca.crt --cert certs/dev/ehr.crt --key certs/dev/ehr.key \
	"https://localhost:$port$location" | cut -c1-300
echo
upstream_state
say "The registry goes down; the hospital's records are still answered 202"
kill "$upstream"
wait "$upstream" 2>/dev/null || true
for f in tests/data/records/valid-*.json; do
	curl -sS -o /dev/null -w "  $f -> HTTP %{http_code}\n" --cacert certs/dev/ca.crt \
		--cert certs/dev/ehr.crt --key certs/dev/ehr.key -H 'Content-Type: application/json' \
		--data-binary "@$f" "https://localhost:$port/records"
done
sleep 1.5
"$cellgate" queue --config deploy/cellgate.queue.yaml stats
say "The registry is back (a new, empty FHIR server process): the outbox delivers what waited (retries back off, 1 s, 2 s...)"
start_upstream
for _ in $(seq 60); do
	"$cellgate" queue --config deploy/cellgate.queue.yaml stats --format json |
		python3 -c 'import json,sys; t=json.load(sys.stdin)["total"]; sys.exit(t["queued"] + t["inFlight"] > 0)' && break
	sleep 0.5
done
"$cellgate" queue --config deploy/cellgate.queue.yaml stats
upstream_state
say "The outbox's metrics (admin listener, plain HTTP on 127.0.0.1:$admin_port), excerpt"
curl -sS "http://127.0.0.1:$admin_port/metrics" | grep -E '^cellgate_outbox_(messages|deliveries_total)' | head -8
kill -TERM "$gateway"
wait "$gateway" || true
kill "$upstream" 2>/dev/null || true
trap 'rm -f "$bundle"' EXIT

cat <<EOT

Next: run it yourself with $cellgate serve --listen 127.0.0.1:$port (Ctrl-C stops it), or with your own
configuration: $cellgate serve --config deploy/cellgate.example.yaml, or with the outbox:
CELLGATE_UPSTREAM=https://your-fhir-server/fhir $cellgate serve --config deploy/cellgate.queue.yaml.
docs/api.md for every endpoint, docs/configuration.md, docs/security.md,
docs/operations.md; docs/cli.md for the command line; ./tests/run.sh for the
test suite.
EOT
