#!/usr/bin/env bash
# The outbox beyond one machine (issue 14), in one run:
#   a. accepted and delivered records/s: keep-alive HTTPS POSTs of one
#      record each (wrk -t2 -c32, SECONDS) through
#        1. one gateway on SQLite (its file on this disk),
#        2. one gateway on PostgreSQL (a server started here, fsync on),
#        3. two gateways on the same PostgreSQL behind HAProxy (TLS
#           passthrough, deploy/haproxy.cfg's settings),
#      each delivering to an upstream (nginx answering 201); accepted: the
#      202s per second while wrk runs; delivered: every accepted record
#      delivered, divided by the time from the start to the last delivery
#      (polled on the admin listeners' /metrics);
#   b. the claim's latency on PostgreSQL, fresh and after a million
#      messages through the states (tests/bench/claim_bench.c).
# Release build; results go into docs/benchmarks.md by hand, with the date
# and the machine (the lines printed last).
#   tests/bench/cluster.sh [SECONDS] [MILLIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-20}
millions=${2:-1}
out=$root/tests/bench/out/cluster
rm -rf "$out"
mkdir -p "$out/pki" "$out/upstream"

./deploy/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
cellgate=$root/build/bench/cellgate
cc -O2 -shared -fPIC -o "$out/wrk_client_cert.so" tests/bench/wrk_client_cert.c -ldl -lssl
incs=(-Ibuild/bench/generated)
for l in core json rules fhirpath validate map policy config dest queue server cli; do
	incs+=("-Igateway/$l")
done
read -r -a libs <<<"$(pkg-config --libs libcjson libcrypto libssl sqlite3 libpq libcurl libevent \
	libevent_openssl libevent_pthreads yaml-0.1)"
cc -O2 "${incs[@]}" -I"$(pkg-config --variable=includedir libpq)" -o "$out/claim_bench" \
	tests/bench/claim_bench.c build/bench/libcellgate.a "${libs[@]}" -lm -lpthread
certs/make-dev-pki.sh "$out/pki" >/dev/null
python3 tests/bench/gen_records.py 20000 3 >"$out/records.ndjson"
ulimit -n 20000 2>/dev/null || ulimit -n 8192 # HAProxy's maxconn 8000 wants 16,000

python3 - "$cellgate" "$out" "$seconds" <<'PY'
import os, re, subprocess, sys, time, urllib.request
root = os.getcwd()
sys.path.insert(0, f"{root}/tests/tools")
from pgserver import PgServer

cellgate, out, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
procs = []

def free_port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait_port(port):
    import socket
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")

up = free_port()
with open(f"{out}/upstream/nginx.conf", "w") as f:
    f.write(f"""daemon off; worker_processes 1; pid {out}/upstream/nginx.pid; error_log {out}/upstream/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {out}/upstream; client_max_body_size 64m;
  server {{ listen 127.0.0.1:{up}; keepalive_requests 1000000;
    location / {{ client_body_buffer_size 1m; return 201 '{{"resourceType":"Bundle","type":"transaction-response"}}'; }} }} }}
""")
procs.append(subprocess.Popen(["nginx", "-c", f"{out}/upstream/nginx.conf", "-p", f"{out}/upstream"]))
wait_port(up)
with open(f"{out}/post.lua", "w") as f:
    f.write(f"""local reqs, i = {{}}, 0
function init(args)
  for line in io.lines("{out}/records.ndjson") do
    reqs[#reqs + 1] = wrk.format("POST", nil, {{["Content-Type"] = "application/json"}}, line)
  end
end
function request() i = i % #reqs + 1; return reqs[i] end
""")

def gateway(name, outbox, instance=None):
    port, adm = free_port(), free_port()
    d = f"{out}/{name}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/cellgate.yaml", "w") as f:
        f.write(f"""listeners:
  - {{address: 127.0.0.1, port: {port}, certificate: {out}/pki/server.crt, key: {out}/pki/server.key,
     client_ca: {out}/pki/ca.crt, crl: {out}/pki/crl.pem}}
clients:
  ehr: {{match: {{san_dns: ehr.clients.cellgate.test}}}}
routes:
  - {{method: POST, path: /records, accept: record, clients: [ehr], destination: registry}}
destinations:
  registry: {{type: fhir, url: "http://127.0.0.1:{up}/fhir", mode: queue,
             delivery: {{batch_items: 1000, concurrency: 4, linger_ms: 50}}}}
outbox: {outbox}
admin: {{port: {adm}}}
logging: {{level: warn}}
""")
    p = subprocess.Popen([cellgate, "serve", "--config", f"{d}/cellgate.yaml", "--mappings",
                          f"{root}/mappings"], cwd=d, stderr=open(f"{d}/cellgate.log", "w"))
    procs.append(p)
    wait_port(port); wait_port(adm)
    return port, adm

def metrics(adm):
    m = {}
    for line in urllib.request.urlopen(f"http://127.0.0.1:{adm}/metrics").read().decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    return m

DELIVERED = 'cellgate_outbox_deliveries_total{destination="registry",outcome="delivered"}'

def run(label, port, admins):
    env = {**os.environ, "WRK_CLIENT_CERT": f"{out}/pki/ehr.crt",
           "WRK_CLIENT_KEY": f"{out}/pki/ehr.key", "LD_PRELOAD": f"{out}/wrk_client_cert.so"}
    t0 = time.monotonic()
    w = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}", "--latency", "-s", f"{out}/post.lua",
                        f"https://localhost:{port}/records"], env=env, capture_output=True,
                       text=True).stdout
    t_wrk = time.monotonic() - t0
    committed = sum(metrics(a)["cellgate_outbox_requests_committed_total"] for a in admins)
    while time.monotonic() - t0 < t_wrk + 300:
        if sum(metrics(a).get(DELIVERED, 0) for a in admins) >= committed:
            break
        time.sleep(0.05)
    t_all = time.monotonic() - t0
    delivered = sum(metrics(a).get(DELIVERED, 0) for a in admins)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", w)
    p99 = re.search(r"99%\s+(\S+)", w)
    print(f"| {label} | {committed / t_wrk:,.0f} | {delivered / t_all:,.0f} | "
          f"{p99.group(1) if p99 else '?'} | {int(non2xx.group(1)) if non2xx else 0} | "
          f"{t_all - t_wrk:.1f} s |", flush=True)

print("| setup | accepted records/s | delivered records/s | p99 | non-202 | drain after wrk |")
print("|---|---|---|---|---|---|")
try:
    port, adm = gateway("sqlite", "{path: var/outbox.db}")
    run("1 gateway, SQLite", port, [adm])
    procs.pop().terminate()
    with PgServer() as pg:
        for n in (1, 2):
            db = f"bench{n}"
            pg.create_database(db)
            url = pg.url(db)
            gws = [gateway(f"pg{n}-{i}", f'{{queue: postgres, database: "{url}", instance: gw{i}}}')
                   for i in range(n)]
            if n == 1:
                run("1 gateway, PostgreSQL", gws[0][0], [gws[0][1]])
            else:
                lb = free_port()
                cfg = open(f"{root}/deploy/haproxy.cfg").read()
                servers = re.findall(r'(?m)^\s*server gw\d "\$\{[A-Z0-9_]+-127\.0\.0\.1\}:(\d+)" '
                                     r'check port (\d+)', cfg)
                for (p, c), (gp, ga) in zip(servers, gws):
                    cfg = cfg.replace(f':{p}" check port {c}', f':{gp}" check port {ga}')
                cfg = re.sub(r'(?m)^\s*server gw3 .*$', '', cfg)
                open(f"{out}/haproxy.cfg", "w").write(cfg)
                hlog = open(f"{out}/haproxy.log", "w")
                procs.append(subprocess.Popen(["haproxy", "-db", "-f", f"{out}/haproxy.cfg"],
                                              env={**os.environ, "CELLGATE_LB_PORT": str(lb)},
                                              stdout=hlog, stderr=hlog))
                wait_port(lb)
                time.sleep(2.5)  # health checks mark both up
                run("2 gateways, PostgreSQL, HAProxy", lb, [a for _, a in gws])
            for _ in range(n + (1 if n == 2 else 0)):
                procs.pop().terminate()
finally:
    for p in procs:
        p.terminate()
PY

echo
echo "Claim latency on PostgreSQL (claim_bench, $millions million messages of history):"
python3 tests/tools/pgserver.py run -- bash -c "\"$out/claim_bench\" \"\$CG_TEST_PG\" $millions"
echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GB; $(date -u +%Y-%m-%d)"
