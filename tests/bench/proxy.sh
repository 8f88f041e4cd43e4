#!/usr/bin/env bash
# The gateway against nginx, in one run, on the same machine and certificates:
#   - keep-alive HTTPS POSTs of one record (2.5 KB) with a client certificate,
#     driven by wrk (-t2 -c32, 15 s, after a 3 s warm-up);
#   - cellgate validates the record, maps it to a FHIR transaction Bundle and
#     POSTs that to the upstream; nginx terminates TLS and proxy_passes the
#     same body to the same upstream, checking nothing;
#   - the upstream is a third process (nginx answering 201), plain HTTP on
#     localhost, the same for both;
#   - resident memory of each, idle and with 1,000 open TLS connections.
# Both use every core (cellgate workers = cores, nginx worker_processes auto).
# Two more cellgate runs show where its time goes: validation only, and
# validation with the record forwarded unmapped. Those three are direct
# (mode: direct: forwarded before the answer). A fourth is queue mode
# (issue 11): validated, mapped, committed durably to the outbox and
# answered 202, while the forwarder delivers batches to the same upstream;
# it posts 20,000 generated records in turn (20,000 patients: the outbox
# keeps one patient's messages in order, one of them per batch) and its CPU
# time counts until every message is delivered (tests/bench/outbox.sh has
# the rest of the outbox's figures).
# The table goes into docs/benchmarks.md between the proxy markers.
#   tests/bench/proxy.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-15}
out=$root/tests/bench/out/proxy
rm -rf "$out"
mkdir -p "$out/pki" "$out/nginx" "$out/upstream" "$out/var"

./deploy/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
cellgate=$root/build/bench/cellgate
cc -O2 -shared -fPIC -o "$out/wrk_client_cert.so" tests/bench/wrk_client_cert.c -ldl -lssl
read -r -a curl_flags <<<"$(pkg-config --cflags --libs libcurl)"
cc -O2 -o "$out/curl_post" tests/bench/curl_post.c "${curl_flags[@]}"
incs=(-Ibuild/bench/generated)
for l in core json rules validate map config dest queue server cli; do incs+=("-Igateway/$l"); done
read -r -a libs <<<"$(pkg-config --libs libcjson libcrypto sqlite3)"
cc -O2 "${incs[@]}" -o "$out/ingest_bench" tests/bench/ingest_bench.c build/bench/libcellgate.a \
	"${libs[@]}" -lm -lpthread
certs/make-dev-pki.sh "$out/pki" >/dev/null
ulimit -n 8192

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up=$(free_port) gw=$(free_port) ng=$(free_port) adm=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.05; done; exit 1; }

# The upstream: nginx answering 201 with a small transaction-response.
cat >"$out/upstream/nginx.conf" <<EOT
daemon off; worker_processes 1; pid $out/upstream/nginx.pid; error_log $out/upstream/error.log;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $out/upstream; client_max_body_size 20m;
  server { listen 127.0.0.1:$up; keepalive_requests 1000000;
    location / { client_body_buffer_size 1m; return 201 '{"resourceType":"Bundle","type":"transaction-response"}'; } }
}
EOT
nginx -c "$out/upstream/nginx.conf" -p "$out/upstream" &
upstream_master=$!
pids+=("$upstream_master")

# nginx as the TLS proxy: the same certificates, client certificates
# required, Mozilla intermediate, keep-alive to the upstream.
cat >"$out/nginx/nginx.conf" <<EOT
daemon off; worker_processes auto; pid $out/nginx/nginx.pid; error_log $out/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $out/nginx; proxy_temp_path $out/nginx;
  client_max_body_size 10m; client_body_buffer_size 1m;
  upstream registry { server 127.0.0.1:$up; keepalive 64; }
  server {
    listen 127.0.0.1:$ng ssl; keepalive_requests 1000000;
    ssl_certificate $out/pki/server.crt; ssl_certificate_key $out/pki/server.key;
    ssl_client_certificate $out/pki/ca.crt; ssl_verify_client on; ssl_crl $out/pki/crl.pem;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers off;
    ssl_session_cache shared:SSL:10m;
    location /healthz { return 200 'ok'; }
    location / { proxy_pass http://registry/fhir; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOT
nginx -c "$out/nginx/nginx.conf" -p "$out/nginx" &
nginx_master=$!
pids+=("$nginx_master")

cat >"$out/cellgate.yaml" <<EOT
listeners:
  - {address: 127.0.0.1, port: $gw, certificate: pki/server.crt, key: pki/server.key,
     client_ca: pki/ca.crt, crl: pki/crl.pem}
clients:
  ehr: {match: {san_dns: ehr.clients.cellgate.test}}
routes:
  - {method: POST, path: /records, accept: record, clients: [ehr], destination: registry}
  - {method: POST, path: /passthrough, accept: record, clients: [ehr], destination: registry-api}
  - {method: POST, path: /validate-only, accept: record, clients: [ehr]}
  - {method: POST, path: /queued, accept: record, clients: [ehr], destination: registry-queue}
destinations:
  registry: {type: fhir, url: "http://127.0.0.1:$up/fhir", mode: direct}
  registry-api: {type: records, url: "http://127.0.0.1:$up/records", mode: direct}
  registry-queue: {type: fhir, url: "http://127.0.0.1:$up/fhir", mode: queue,
                   delivery: {batch_items: 1000, concurrency: 4, linger_ms: 50}}
outbox: {path: var/outbox.db}
admin: {port: $adm}
logging: {level: warn}
EOT
"$cellgate" serve --config "$out/cellgate.yaml" --mappings mappings 2>"$out/cellgate.log" &
gateway=$!
pids+=("$gateway")
wait_port "$up"; wait_port "$ng"; wait_port "$gw"; wait_port "$adm"

python3 tests/bench/gen_records.py 1 3 >"$out/record.json"
cat >"$out/post.lua" <<EOT
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$out/record.json", "rb"); wrk.body = f:read("*a"); f:close()
EOT
# The queue row's requests: 20,000 records, each wrk thread posting them in
# turn, the requests made once.
python3 tests/bench/gen_records.py 20000 3 >"$out/records.ndjson"
cat >"$out/post-many.lua" <<EOT
local reqs, i = {}, 0
function init(args)
	for line in io.lines("$out/records.ndjson") do
		reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, line)
	end
end
function request()
	i = i % #reqs + 1
	return reqs[i]
end
EOT
# One request through each first: both must answer 2xx, or the run is void.
check() {
	curl -sS -o /dev/null -w '%{http_code}' --cacert "$out/pki/ca.crt" --cert "$out/pki/ehr.crt" \
		--key "$out/pki/ehr.key" -H 'Content-Type: application/json' \
		--data-binary @"$out/record.json" "https://localhost:$1${2:-/records}"
}
[ "$(check "$gw")" = 200 ] || [ "$(check "$gw")" = 201 ] || { echo "cellgate does not answer 2xx" >&2; exit 1; }
[ "$(check "$ng")" = 201 ] || { echo "nginx does not answer 201" >&2; exit 1; }
[ "$(check "$gw" /queued)" = 202 ] || { echo "cellgate does not answer 202 in queue mode" >&2; exit 1; }

run_wrk() { # PORT DURATION [PATH [SCRIPT]] -> wrk output
	WRK_CLIENT_CERT=$out/pki/ehr.crt WRK_CLIENT_KEY=$out/pki/ehr.key \
		LD_PRELOAD=$out/wrk_client_cert.so \
		wrk -t2 -c32 -d"$2" --latency -s "${4:-$out/post.lua}" "https://localhost:$1${3:-/records}"
}
rss() { # PIDS (comma-separated) -> kB
	local total=0 p
	for p in ${1//,/ }; do total=$((total + $(awk '/^VmRSS/ {print $2}' /proc/"$p"/status))); done
	echo "$total"
}
nginx_pids=$(pgrep -d, -P "$nginx_master"),$nginx_master
upstream_pids=$(pgrep -d, -P "$upstream_master"),$upstream_master
idle_cg=$(rss "$gateway") idle_ng=$(rss "$nginx_pids")

# CPU time (user + system) of processes, in ms: what a request costs each
# of them, whatever the machine's load, where requests/s only tells how the
# three of them shared two cores.
cpu_ms() { # PIDS (comma-separated)
	local total=0 p
	for p in ${1//,/ }; do
		total=$((total + $(awk '{print $14 + $15}' /proc/"$p"/stat)))
	done
	echo $((total * 1000 / $(getconf CLK_TCK)))
}
# The queue row's outbox, on the admin listener: every committed request's
# message delivered (one a request here), waited for at most 120 s.
metric() { curl -sS "http://127.0.0.1:$adm/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
drained() {
	for _ in $(seq 6000); do
		[ "$(metric 'cellgate_outbox_deliveries_total{destination="registry-queue",outcome="delivered"}')" = \
			"$(metric cellgate_outbox_requests_committed_total)" ] && return
		sleep 0.02
	done
	echo "proxy.sh: the outbox did not drain" >&2
	exit 1
}
measure() { # NAME PROXY_PIDS PORT [PATH [SCRIPT [drain]]] -> wrk-NAME.txt and cpu-NAME.txt
	local p0 u0 p1 u1 wrk_cpu
	p0=$(cpu_ms "$2") u0=$(cpu_ms "$upstream_pids")
	wrk_cpu=$({ TIMEFORMAT='%3U %3S'; time run_wrk "$3" "${seconds}s" "${4:-}" "${5:-}" >"$out/wrk-$1.txt"; } 2>&1)
	if [ -n "${6:-}" ]; then
		local t0
		t0=$(date +%s.%N)
		drained
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}' >"$out/drain-$1.txt"
	fi
	p1=$(cpu_ms "$2") u1=$(cpu_ms "$upstream_pids")
	awk -v n="$(awk '/requests in/ {print $1}' "$out/wrk-$1.txt")" -v p=$((p1 - p0)) \
		-v u=$((u1 - u0)) -v w="$wrk_cpu" 'BEGIN {
			split(w, t, " ")
			printf "%.0f %.0f %.0f\n", p * 1000 / n, u * 1000 / n, (t[1] + t[2]) * 1e6 / n }' >"$out/cpu-$1.txt"
}
cpu_field() { awk -v i="$2" '{print $i}' "$out/cpu-$1.txt"; }

run_wrk "$gw" 3s >/dev/null
measure cellgate "$gateway" "$gw"
run_wrk "$ng" 3s >/dev/null
measure nginx "$nginx_pids" "$ng"
# Where cellgate's time goes: the same requests with less work.
measure passthrough "$gateway" "$gw" /passthrough
measure validate "$gateway" "$gw" /validate-only
# libcurl alone: the same Bundle POSTed to the same upstream, one thread.
"$cellgate" map --to fhir --mappings mappings "$out/record.json" >"$out/bundle.json"
# Best of three (the kindest run to libcurl), with its CPU time per request.
curl_alone=0 curl_us=0
for _ in 1 2 3; do
	t=$({ TIMEFORMAT='%3U %3S'; time "$out/curl_post" "http://127.0.0.1:$up/fhir" \
		"$out/bundle.json" 50000 >"$out/curl_post.json"; } 2>&1)
	r=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_per_second"])' \
		"$out/curl_post.json")
	if [ "$r" -gt "$curl_alone" ]; then
		curl_alone=$r
		curl_us=$(awk -v t="$t" 'BEGIN {split(t, a, " "); printf "%.0f", (a[1] + a[2]) * 1e6 / 50000}')
	fi
done
# cellgate's own work on the same body, in process (no TLS, HTTP or sockets).
inproc=$("$out/ingest_bench" mappings "$out/record.json" 20000)
inproc_field() { python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])[sys.argv[2]]))' "$inproc" "$1"; }
busy_cg=$(python3 tests/bench/hold_connections.py "$gw" "$out/pki" "$gateway" 1000)
busy_ng=$(python3 tests/bench/hold_connections.py "$ng" "$out/pki" "$nginx_pids" 1000)
# Queue mode, last (after the memory figures, which stay comparable with
# runs before the outbox): its warm-up delivered before it starts; the
# gateway's RSS once it has drained.
run_wrk "$gw" 3s /queued "$out/post-many.lua" >/dev/null
drained
measure queue "$gateway" "$gw" /queued "$out/post-many.lua" drain
after_q=$(rss "$gateway")

field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
rps() { awk '/^Requests\/sec:/ {printf "%d", $2}' "$1"; }
errors() { # wrk output -> "; N non-2xx, M timeouts", or nothing
	awk '/Non-2xx or 3xx responses:/ {n += $5; s = s sep $5 " non-2xx"; sep = ", "}
		/Socket errors/ {gsub(",", ""); t = $10; n += t; if (t) {s = s sep t " timeouts"; sep = ", "}}
		END {if (n) printf "; %s", s}' "$1"
}
# Errors void the run, but for queue mode's, whose 503s (the outbox could
# not commit in time) are a result: counted in its row.
for f in "$out"/wrk-*.txt; do
	if [ "$f" != "$out/wrk-queue.txt" ] && grep -q -e 'Non-2xx' -e 'Socket errors' "$f"; then
		echo "proxy.sh: errors during the run:" >&2
		cat "$f" >&2
		exit 1
	fi
done
cg_rps=$(rps "$out/wrk-cellgate.txt") ng_rps=$(rps "$out/wrk-nginx.txt") q_rps=$(rps "$out/wrk-queue.txt")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }
table=$(cat <<EOT
Run on $(date -u +%Y-%m-%d) on \`$(hostname)\`: $cpu, $(nproc) cores, shared by wrk, the
gateway under test and the upstream. $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2),
wrk -t2 -c32 -d${seconds}s, keep-alive, TLS with a client certificate (ECDSA P-256).

| | requests/s | p50 | p99 | RSS idle | RSS, 1,000 TLS connections |
|---|---|---|---|---|---|
| cellgate: validate, map to FHIR (11 KB Bundle), forward | **$cg_rps** | $(field "$out/wrk-cellgate.txt" 50%) | $(field "$out/wrk-cellgate.txt" 99%) | $(mb "$idle_cg") | $(mb "$busy_cg") |
| nginx: TLS + proxy_pass of the same body | **$ng_rps** | $(field "$out/wrk-nginx.txt" 50%) | $(field "$out/wrk-nginx.txt" 99%) | $(mb "$idle_ng") | $(mb "$busy_ng") |
| cellgate ÷ nginx | **$(awk -v a="$cg_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a / b}')×** | | | | |
| cellgate in queue mode: validate, map, durable commit, 202 (20,000 records in turn; forwarder delivering in batches meanwhile$(errors "$out/wrk-queue.txt")) | **$q_rps** | $(field "$out/wrk-queue.txt" 50%) | $(field "$out/wrk-queue.txt" 99%) | $(mb "$after_q") after the run | |
| queue mode ÷ nginx | **$(awk -v a="$q_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a / b}')×** | | | | |

Where cellgate's time goes (same run, same client, less work per request), and
what one request costs each process in CPU time (user + system, µs, from
\`/proc/PID/stat\` over the run, divided by the requests served):

| | requests/s | p50 | p99 | CPU µs/request: proxy | upstream | wrk | all three |
|---|---|---|---|---|---|---|---|
$(for r in "nginx:nginx: TLS, proxy_pass" "validate:cellgate: validate, answer (no destination)" "passthrough:cellgate: validate, forward the record as it is (\`records\` destination, libcurl)" "cellgate:cellgate: validate, map to FHIR, forward the Bundle (\`fhir\` destination)" "queue:cellgate, queue mode: validate, map, commit, 202; the forwarder's batches (CPU until all delivered, $(cat "$out/drain-queue.txt") s after wrk's end)"; do
	n=${r%%:*} label=${r#*:}
	echo "| $label | $(rps "$out/wrk-$n.txt") | $(field "$out/wrk-$n.txt" 50%) | $(field "$out/wrk-$n.txt" 99%) | $(cpu_field "$n" 1) | $(cpu_field "$n" 2) | $(cpu_field "$n" 3) | $(($(cpu_field "$n" 1) + $(cpu_field "$n" 2) + $(cpu_field "$n" 3))) |"
done)

The parts alone, measured in the same run, CPU µs per request:

| | µs |
|---|---|
| nginx's whole proxy path (TLS, HTTP, proxy_pass), from the table above | $(cpu_field nginx 1) |
| cellgate's work in process (\`tests/bench/ingest_bench.c\`, best of 3, no TLS, HTTP or sockets): validate | $(inproc_field validate_us) |
| … validate and copy the record out (\`records\` destination) | $(inproc_field validate_copy_us) |
| … validate and map to the FHIR Bundle (\`fhir\` destination) | $(inproc_field validate_map_us) |
| libcurl alone (\`tests/bench/curl_post.c\`, plain multi interface, one thread, 32 in flight, best of 3 at $curl_alone requests/s): one POST of the Bundle to the same upstream, user + system | $curl_us |
EOT
)
echo "$table"
python3 - "$root/docs/benchmarks.md" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- proxy:begin -->", "<!-- proxy:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(path, "w").write(text[:a] + "\n" + table + "\n" + text[b:])
PY
