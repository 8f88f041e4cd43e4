#!/usr/bin/env bash
# The outbox (issue 11), in one run, on the disk its store lives on:
#   a. the disk's raw rate of durable writes: 4 KB + fdatasync, one at a
#      time (tests/bench/fsync_rate.c), in the store's folder;
#   b. group commit in process (tests/bench/outbox_bench.c): the writer
#      thread (cg_writer_start) on a fresh store, 4, 16 and 64 submitter
#      threads each putting one message and waiting until it is durable,
#      with the 11 KB mapped Bundle and with the 2.5 KB record as the body:
#      durable messages/s, commits/s and the group size (jobs / commits);
#   c. end to end: keep-alive HTTPS POSTs of one record each, with a client
#      certificate, by wrk (-t2 -c32, SECONDS, after a 3 s warm-up), through
#      cellgate in queue mode (validate, map to the FHIR Bundle, durable
#      commit, 202) while its forwarder delivers batches to the upstream
#      (nginx answering 201), then the same POSTs through nginx proxy_pass
#      to the same upstream. The posts cycle through 20,000 generated records
#      (20,000 patients: the outbox keeps one patient's messages in order, so
#      a batch holds one message per patient). Reported: acknowledged
#      requests/s (202s), p50/p99, 503s and timeouts if any, the outbox's
#      depth when wrk stops and how long it takes to drain (every committed
#      message delivered, polled on the admin listener's /metrics), the
#      writer's commits in the run, and the CPU time and file bytes of the
#      gateway's threads (workers, writer, forwarder) over the run and the
#      drain, per request.
# The table goes into docs/benchmarks.md between the outbox markers.
#   tests/bench/outbox.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-30}
out=$root/tests/bench/out/outbox
rm -rf "$out"
mkdir -p "$out/pki" "$out/nginx" "$out/upstream" "$out/var"

./deploy/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
cellgate=$root/build/bench/cellgate
cc -O2 -shared -fPIC -o "$out/wrk_client_cert.so" tests/bench/wrk_client_cert.c -ldl -lssl
cc -O2 -o "$out/fsync_rate" tests/bench/fsync_rate.c
incs=(-Ibuild/bench/generated)
for l in core json rules validate map config dest queue server cli; do incs+=("-Igateway/$l"); done
read -r -a libs <<<"$(pkg-config --libs libcjson libcrypto sqlite3 libpq)"
cc -O2 "${incs[@]}" -o "$out/outbox_bench" tests/bench/outbox_bench.c build/bench/libcellgate.a \
	"${libs[@]}" -lm -lpthread
certs/make-dev-pki.sh "$out/pki" >/dev/null
ulimit -n 8192

python3 tests/bench/gen_records.py 20000 3 >"$out/records.ndjson"
head -1 "$out/records.ndjson" >"$out/record.json"
"$cellgate" map --to fhir --mappings mappings "$out/record.json" >"$out/bundle.json"

# a. The disk, then b. group commit on it, before any server runs.
fsync=$("$out/fsync_rate" "$out/var" 3000)
bench=()
for body in bundle record; do
	for t in 4 16 64; do
		bench+=("$("$out/outbox_bench" "$out/var/bench.db" "$out/$body.json" "$t" 3)")
	done
done
rm -f "$out"/var/bench.db*

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up=$(free_port) gw=$(free_port) ng=$(free_port) adm=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.05; done; exit 1; }

# The upstream and the TLS proxy: as in proxy.sh.
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

# Queue mode, the store in $out/var (the disk measured above). Delivery:
# batches of up to 1,000 Bundles (batch_bytes, 4 MB by default, cuts them
# at about 370), 4 in flight, 50 ms linger: fewer, bigger claims; batches
# of 100 with a 5 ms linger measured about 15% fewer requests/s here.
batch_items=1000 concurrency=4 linger_ms=50
cat >"$out/cellgate.yaml" <<EOT
listeners:
  - {address: 127.0.0.1, port: $gw, certificate: pki/server.crt, key: pki/server.key,
     client_ca: pki/ca.crt, crl: pki/crl.pem}
clients:
  ehr: {match: {san_dns: ehr.clients.cellgate.test}}
routes:
  - {method: POST, path: /records, accept: record, clients: [ehr], destination: registry}
destinations:
  registry: {type: fhir, url: "http://127.0.0.1:$up/fhir", mode: queue,
             delivery: {batch_items: $batch_items, concurrency: $concurrency, linger_ms: $linger_ms}}
outbox: {path: var/outbox.db}
admin: {port: $adm}
logging: {level: warn}
EOT
"$cellgate" serve --config "$out/cellgate.yaml" --mappings mappings 2>"$out/cellgate.log" &
gateway=$!
pids+=("$gateway")
wait_port "$up"; wait_port "$ng"; wait_port "$gw"; wait_port "$adm"

# Each wrk thread cycles through the 20,000 records, requests made once.
cat >"$out/post.lua" <<EOT
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
check() {
	curl -sS -o /dev/null -w '%{http_code}' --cacert "$out/pki/ca.crt" --cert "$out/pki/ehr.crt" \
		--key "$out/pki/ehr.key" -H 'Content-Type: application/json' \
		--data-binary @"$out/record.json" "https://localhost:$1/records"
}
[ "$(check "$gw")" = 202 ] || { echo "cellgate does not answer 202" >&2; exit 1; }
[ "$(check "$ng")" = 201 ] || { echo "nginx does not answer 201" >&2; exit 1; }

run_wrk() { # PORT DURATION -> wrk output
	WRK_CLIENT_CERT=$out/pki/ehr.crt WRK_CLIENT_KEY=$out/pki/ehr.key \
		LD_PRELOAD=$out/wrk_client_cert.so \
		wrk -t2 -c32 -d"$2" --latency -s "$out/post.lua" "https://localhost:$1/records"
}
metric() { # NAME (with its labels, as /metrics prints them) -> value
	curl -sS "http://127.0.0.1:$adm/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
delivered() { metric 'cellgate_outbox_deliveries_total{destination="registry",outcome="delivered"}'; }
committed() { metric cellgate_outbox_requests_committed_total; }
# Until every committed message is delivered (one message per request
# here): seconds it took, polled every 20 ms, at most 120 s.
drain() {
	python3 - "$adm" <<'PY'
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
t0 = time.monotonic()
while time.monotonic() - t0 < 120:
    m = {}
    for line in urllib.request.urlopen(url).read().decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    d = m.get('cellgate_outbox_deliveries_total{destination="registry",outcome="delivered"}', 0)
    if d >= m["cellgate_outbox_requests_committed_total"]:
        print("%.2f" % (time.monotonic() - t0))
        sys.exit(0)
    time.sleep(0.02)
print("none")
PY
}
# Per thread of the gateway: CPU time (user + system, ms), bytes handed to
# write/pwrite and bytes read (wchar, rchar: SQLite's WAL and database,
# checkpoints included), as "ms:written:read". Threads in the order they
# are made (ascending ids): main, the ndjson writer, the outbox's writer
# and forwarder, then one worker per core.
threads() {
	local t
	for t in /proc/"$gateway"/task/*; do echo "${t##*/}"; done | sort -n | while read -r t; do
		printf '%s:%s:%s ' \
			"$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' /proc/"$gateway"/task/"$t"/stat)" \
			"$(awk '$1 == "wchar:" {print $2}' /proc/"$gateway"/task/"$t"/io)" \
			"$(awk '$1 == "rchar:" {print $2}' /proc/"$gateway"/task/"$t"/io)"
	done
	echo
}
cpu_ms() { # PIDS (comma-separated)
	local total=0 p
	for p in ${1//,/ }; do
		total=$((total + $(awk '{print $14 + $15}' /proc/"$p"/stat)))
	done
	echo $((total * 1000 / $(getconf CLK_TCK)))
}
nginx_pids=$(pgrep -d, -P "$nginx_master"),$nginx_master
upstream_pids=$(pgrep -d, -P "$upstream_master"),$upstream_master

# Warm-up of both, and the gateway's warm-up drained before the run.
run_wrk "$gw" 3s >/dev/null
run_wrk "$ng" 3s >/dev/null
[ "$(drain)" != none ] || { echo "the warm-up did not drain" >&2; exit 1; }

curl -sS "http://127.0.0.1:$adm/metrics" >"$out/metrics-before.txt"
d0=$(delivered) c0=$(committed) g0=$(threads) u0=$(cpu_ms "$upstream_pids")
wrk_cpu=$({ TIMEFORMAT='%3U %3S'; time run_wrk "$gw" "${seconds}s" >"$out/wrk-queue.txt"; } 2>&1)
c1=$(committed) d1=$(delivered)
depth_end=$(metric cellgate_outbox_depth)
curl -sS "http://127.0.0.1:$adm/metrics" >"$out/metrics.txt"
drain_s=$(drain)
g1=$(threads) u1=$(cpu_ms "$upstream_pids") d2=$(delivered)
n0=$(cpu_ms "$nginx_pids")
ng_wrk_cpu=$({ TIMEFORMAT='%3U %3S'; time run_wrk "$ng" "${seconds}s" >"$out/wrk-nginx.txt"; } 2>&1)
n1=$(cpu_ms "$nginx_pids")

# nginx's errors void the run; the gateway's 503s and timeouts (the outbox
# could not commit in time) are a result, shown in its row.
if grep -q -e 'Non-2xx' -e 'Socket errors' "$out/wrk-nginx.txt"; then
	echo "outbox.sh: errors during nginx's run:" >&2
	cat "$out/wrk-nginx.txt" >&2
	exit 1
fi
errors() { # wrk output -> "; N non-2xx, M timeouts", or nothing
	awk '/Non-2xx or 3xx responses:/ {n += $5; s = s sep $5 " non-2xx"; sep = ", "}
		/Socket errors/ {gsub(",", ""); t = $10; n += t; if (t) {s = s sep t " timeouts"; sep = ", "}}
		END {if (n) printf "; %s", s}' "$1"
}
field() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
rps() { awk '/^Requests\/sec:/ {printf "%d", $2}' "$1"; }
requests() { awk '/requests in/ {print $1}' "$1"; }
q_rps=$(rps "$out/wrk-queue.txt") ng_rps=$(rps "$out/wrk-nginx.txt")
q_n=$(requests "$out/wrk-queue.txt") ng_n=$(requests "$out/wrk-nginx.txt")
# Per thread over the run and the drain: [0] main, [1] ndjson, [2] writer,
# [3] forwarder, [4..] workers; each "ms:written:read".
read -r -a ga <<<"$g0"
read -r -a gb <<<"$g1"
[ "${#gb[@]}" -eq $((4 + $(nproc))) ] || { echo "outbox.sh: unexpected threads: $g1" >&2; exit 1; }
part() { # THREAD FIELD(1 ms, 2 written, 3 read) -> the difference
	local a b
	a=$(cut -d: -f"$2" <<<"${ga[$1]}") b=$(cut -d: -f"$2" <<<"${gb[$1]}")
	echo $((b - a))
}
workers_cpu=0
for ((i = 4; i < ${#gb[@]}; i++)); do workers_cpu=$((workers_cpu + $(part "$i" 1))); done
gw_cpu=0
for ((i = 0; i < ${#gb[@]}; i++)); do gw_cpu=$((gw_cpu + $(part "$i" 1))); done
per_req() { awk -v ms="$1" -v n="$2" 'BEGIN {printf "%.0f", ms * 1000 / n}'; }
kb_req() { awk -v b="$1" -v n="$2" 'BEGIN {printf "%.0f", b / 1024 / n}'; }
wrk_us() { awk -v t="$1" -v n="$2" 'BEGIN {split(t, a, " "); printf "%.0f", (a[1] + a[2]) * 1e6 / n}'; }
mval() { awk -v k="$2" '$1 == k {print $2}' "$out/$1"; }
mdiff() { awk -v a="$(mval metrics-before.txt "$1")" -v b="$(mval metrics.txt "$1")" 'BEGIN {print b - a}'; }
batches=$(mdiff 'cellgate_outbox_batch_items_count{destination="registry"}')
items=$(mdiff 'cellgate_outbox_batch_items_sum{destination="registry"}')
commits=$(mdiff cellgate_outbox_commit_seconds_count)
commit_sum=$(mdiff cellgate_outbox_commit_seconds_sum)
jobs=$(mdiff cellgate_outbox_requests_committed_total)
hist=$(awk 'NR == FNR && /^cellgate_outbox_commit_seconds_bucket/ {before[$1] = $2; next}
	/^cellgate_outbox_commit_seconds_bucket/ {
		match($1, /le="[^"]*"/); le = substr($1, RSTART + 4, RLENGTH - 5)
		printf "%s≤ %s: %d", sep, (le == "+Inf" ? "∞" : le * 1000 " ms"), $2 - before[$1]; sep = ", " }' \
	"$out/metrics-before.txt" "$out/metrics.txt")
js() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
disk=$(df -h "$out/var" | awk 'NR == 2 {print $1 ", " $6 " (" $2 ", " $4 " free)"}')
fs=$(findmnt -n -o FSTYPE --target "$out/var" 2>/dev/null || echo "?")
sqlite=$(pkg-config --modversion sqlite3)
table=$(cat <<EOT
Run on $(date -u +%Y-%m-%d) on \`$(hostname)\`: $cpu, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);
the store on $disk, $fs; SQLite $sqlite (WAL, synchronous=FULL).

The disk, one thread (\`tests/bench/fsync_rate.c\`, 3,000 times 4 KB + \`fdatasync\` in the
store's folder):

| | fsyncs/s | µs each |
|---|---|---|
| rewriting the same 4 KB | **$(js "$fsync" in_place_per_s)** | $(js "$fsync" in_place_us) |
| appending 4 KB (the file grows) | **$(js "$fsync" append_per_s)** | $(js "$fsync" append_us) |

Group commit in process (\`tests/bench/outbox_bench.c\`: the writer thread on a fresh
store, each submitter putting one message and waiting until it is durable, 3 s each;
CPU and bytes are the whole process's, per message):

| body | submitters | durable messages/s | commits/s | group size | p50 | p99 | commit mean | CPU µs/message | bytes written / read per message |
|---|---|---|---|---|---|---|---|---|---|
$(for j in "${bench[@]}"; do
	python3 - "$j" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
body = "Bundle, %.1f KB" % (j["body_bytes"] / 1000) if j["body_bytes"] > 5000 else "record, %.1f KB" % (j["body_bytes"] / 1000)
print("| %s | %d | **%d** | %d | %.1f | %.2f ms | %.2f ms | %.2f ms | %.0f | %d / %d |" % (
    body, j["threads"], j["messages_per_s"], j["commits_per_s"], j["group"], j["p50_ms"],
    j["p99_ms"], j["commit_mean_ms"], j["cpu_us_per_message"], j["written_per_message"],
    j["read_per_message"]))
PY
done)

End to end, wrk -t2 -c32 -d${seconds}s, keep-alive, TLS with a client certificate, 20,000
different records (20,000 patients, 2.5 KB each, an 11 KB Bundle mapped) posted in turn, one a request. Delivery:
batch_items $batch_items, concurrency $concurrency, linger_ms $linger_ms.

| | requests/s | p50 | p99 | CPU µs/request: proxy | upstream | wrk |
|---|---|---|---|---|---|---|
| cellgate, queue mode: validate, map, durable commit, 202 (forwarder delivering meanwhile; CPU until drained$(errors "$out/wrk-queue.txt")) | **$q_rps** | $(field "$out/wrk-queue.txt" 50%) | $(field "$out/wrk-queue.txt" 99%) | $(per_req "$gw_cpu" "$q_n") | $(per_req $((u1 - u0)) "$q_n") | $(wrk_us "$wrk_cpu" "$q_n") |
| nginx: TLS + proxy_pass to the same upstream | **$ng_rps** | $(field "$out/wrk-nginx.txt" 50%) | $(field "$out/wrk-nginx.txt" 99%) | $(per_req $((n1 - n0)) "$ng_n") | | $(wrk_us "$ng_wrk_cpu" "$ng_n") |
| cellgate ÷ nginx | **$(awk -v a="$q_rps" -v b="$ng_rps" 'BEGIN {printf "%.2f", a / b}')×** | | | | |

| the outbox in that run | |
|---|---|
| requests committed (202) / delivered during the run | $((c1 - c0)) / $((d1 - d0)) |
| depth when wrk stopped: \`cellgate_outbox_depth\` / committed − delivered | **$depth_end** / $((c1 - d1)) |
| drain: from wrk's end until every committed message was delivered | **$drain_s s** (delivered in all: $((d2 - d0))) |
| the writer's commits in the run, requests per commit | $commits, $(awk -v j="$jobs" -v c="$commits" 'BEGIN {printf "%.1f", j / c}') |
| commit time: mean; the writer busy committing | $(awk -v s="$commit_sum" -v c="$commits" -v w="$seconds" 'BEGIN {printf "%.2f ms; %.0f%% of the run", s * 1000 / c, s * 100 / w}') |
| commit time histogram (commits of the run, cumulative) | $hist |
| upstream requests (batches) in the run, messages per batch | $batches, $(awk -v i="$items" -v b="$batches" 'BEGIN {printf "%.1f", i / b}') |
| per request, over the run and the drain: CPU µs, workers / writer / forwarder | $(per_req "$workers_cpu" "$q_n") / $(per_req "$(part 2 1)" "$q_n") / $(per_req "$(part 3 1)" "$q_n") |
| … KB written to files: writer / forwarder | $(kb_req "$(part 2 2)" "$q_n") / $(kb_req "$(part 3 2)" "$q_n") |
| … KB read from files: writer / forwarder | $(kb_req "$(part 2 3)" "$q_n") / $(kb_req "$(part 3 3)" "$q_n") |
EOT
)
echo "$table"
python3 - "$root/docs/benchmarks.md" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- outbox:begin -->", "<!-- outbox:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(path, "w").write(text[:a] + "\n" + table + "\n" + text[b:])
PY
