"""Fixtures for the gateway's scenarios (pytest): each test file starts what it
needs: a development PKI, a test upstream, a gateway with its own
configuration, and talks to them with real clients.

Run by ctest, one case per file (tests/CMakeLists.txt), with
CG_BIN (the cellgate binary) and CG_SOURCE_DIR set. A scenario alone:

    CG_BIN=build/test/cellgate CG_SOURCE_DIR=. \
        python3 -m pytest -q tests/integration/gateway/test_hardening.py -k pipelin
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest

BIN = os.path.abspath(os.environ.get("CG_BIN", "build/test/cellgate"))
SRC = os.path.abspath(os.environ.get("CG_SOURCE_DIR", "."))
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc=None, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The development PKI of certs/make-dev-pki.sh, made once per run."""
    d = str(tmp_path_factory.mktemp("pki"))
    subprocess.run([f"{SRC}/certs/make-dev-pki.sh", d], check=True, stdout=subprocess.DEVNULL)
    return d


def records(n, seed):
    """n valid records with recordIds unique to the seed."""
    out = subprocess.run([sys.executable, f"{SRC}/tests/bench/gen_records.py", str(n), str(seed)],
                         check=True, capture_output=True, text=True).stdout
    recs = [json.loads(line) for line in out.splitlines()]
    for i, rec in enumerate(recs):
        rec["recordId"] = f"S{seed}-{i:06d}"
    return recs


def outcome(data):
    doc = json.loads(data)
    assert doc["resourceType"] == "OperationOutcome", doc
    return doc


def split_answer(answer):
    """(status line, header block, body) of the first answer in raw bytes."""
    status_line, _, rest = answer.partition(b"\r\n")
    head, _, body = rest.partition(b"\r\n\r\n")
    return status_line, head, body


class Receiver:
    """tests/integration/gateway/receiver.py: an HTTPS upstream that logs
    what it receives (see its docstring for the paths)."""

    def __init__(self, pki, tmp):
        self.port = free_port()
        self.log = f"{tmp}/upstream.ndjson"
        open(self.log, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable, f"{HERE}/receiver.py", str(self.port), pki, self.log],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.url = f"https://127.0.0.1:{self.port}"

    def requests(self):
        with open(self.log) as f:
            return [json.loads(x) for x in f if x.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def receiver(pki, tmp_path):
    r = Receiver(pki, str(tmp_path))
    yield r
    r.stop()


LISTENER = """
  - address: 127.0.0.1
    port: {port}
    certificate: pki/server.crt
    key: pki/server.key
    client_ca: pki/ca.crt
    crl: pki/crl.pem
"""

# A configuration with one listener, the two development clients, an NDJSON
# route for records and FHIR; {listeners}, {limits} and {extra} are filled in
# by Gateway.
BASE_CONFIG = """
listeners:{listeners}
clients:
  ehr: {{match: {{san_dns: ehr.clients.cellgate.test}}}}
  registry: {{match: {{subject_cn: registry}}}}
routes:
  - {{method: POST, path: /records, accept: record, clients: [ehr], destination: files}}
  - {{method: POST, path: /fhir-files, accept: fhir, clients: [ehr], destination: fhirfiles}}
{routes}
destinations:
  files: {{type: ndjson, folder: var/files}}
  fhirfiles: {{type: ndjson, folder: var/fhirfiles, format: fhir}}
{destinations}
limits:
{limits}
logging:
  level: info
  audit: var/audit.log
workers: {workers}
"""


class Gateway:
    """A `cellgate serve` of its own, in its own folder (pki linked in)."""

    def __init__(self, pki, tmp, routes="", destinations="", limits=None, workers=1,
                 config=None):
        self.pki = pki
        self.dir = tmp
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(f"{self.dir}/pki"):
            os.symlink(pki, f"{self.dir}/pki")
        self.port = free_port()
        lim = {"header_timeout_ms": 2000, "body_timeout_ms": 2000, "idle_timeout_ms": 5000,
               "max_connections": 64}
        lim.update(limits or {})
        self.config = f"{self.dir}/cellgate.yaml"
        text = config if config is not None else BASE_CONFIG.format(
            listeners=LISTENER.format(port=self.port), routes=routes, destinations=destinations,
            limits="\n".join(f"  {k}: {v}" for k, v in lim.items()), workers=workers)
        with open(self.config, "w") as f:
            f.write(text.replace("{port}", str(self.port)))
        self.stderr_path = f"{self.dir}/gateway.log"
        self.proc = None

    def start(self, env=None, args=()):
        """env: variables added to the gateway's environment; args: more
        arguments of `cellgate serve`."""
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config, "--mappings", f"{SRC}/mappings", *args],
            cwd=self.dir, stderr=self.stderr, env={**os.environ, **(env or {})})
        assert wait_port(self.port, self.proc), self.log_text()
        return self

    def context(self, name="ehr", cert=None, key=None):
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        if name:
            ctx.load_cert_chain(cert or f"{self.pki}/{name}.crt", key or f"{self.pki}/{name}.key")
        return ctx

    def call(self, method, path, body=None, ctype="application/json", name="ehr", headers=None,
             ctx=None, timeout=20):
        conn = http.client.HTTPSConnection("localhost", self.port,
                                           context=ctx or self.context(name), timeout=timeout)
        h = dict(headers or {})
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if ctype:
                h["Content-Type"] = ctype
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data

    def tls(self, name="ehr", ctx=None, timeout=10):
        """A TLS socket to the gateway, handshake done."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s = (ctx or self.context(name)).wrap_socket(raw, server_hostname="localhost")
        s.settimeout(timeout)
        return s

    def raw(self, payload, name="ehr", timeout=10):
        """Sends payload over one TLS connection and reads until it closes."""
        with self.tls(name, timeout=timeout) as s:
            try:
                s.sendall(payload)
            except (ssl.SSLError, OSError):
                pass  # the gateway may stop reading once it has answered
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
            except (ssl.SSLError, OSError):
                pass
        return answer

    def log_text(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def log(self):
        """The gateway's log lines (JSON), in order."""
        return [json.loads(x) for x in self.log_text().splitlines() if x.startswith("{")]

    def audit(self):
        p = f"{self.dir}/var/audit.log"
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(x) for x in f if x.strip()]

    def stored(self, folder="files", prefix="records-"):
        d = f"{self.dir}/var/{folder}"
        out = []
        if not os.path.isdir(d):
            return out
        for n in sorted(os.listdir(d)):
            if n.startswith(prefix):
                with open(f"{d}/{n}") as f:
                    out += [json.loads(x) for x in f if x.strip()]
        return out

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        """SIGTERM; the gateway must stop cleanly (exit 0) and its stderr
        must hold nothing but JSON log lines (a sanitizer's report is not)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the gateway did not stop within 40 s of SIGTERM")
        self.stderr.close()
        return code


@pytest.fixture
def gateway_factory(pki, tmp_path):
    made = []

    def make(**kw):
        g = Gateway(pki, str(tmp_path / f"gw{len(made)}"), **kw)
        made.append(g)
        return g

    yield make
    for g in made:
        code = g.stop()
        odd = [x for x in g.log_text().splitlines() if x and not x.startswith("{")]
        assert code == 0 and not odd, f"exit {code}; stderr: {odd[:20]}"


@pytest.fixture
def gateway(gateway_factory):
    """A gateway with the base configuration, started."""
    return gateway_factory().start()
