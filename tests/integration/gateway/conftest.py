"""Fixtures for the gateway's scenarios (pytest): each test file starts what it
needs: a development PKI, a test upstream, a gateway with its own
configuration, and talks to them with real clients.

Run by ctest, one case per file (tests/CMakeLists.txt: gateway/<name>, and
gateway-tsan/<name> in a ThreadSanitizer build), with CG_BIN (the cellgate
binary) and CG_SOURCE_DIR set. Every test passes alone, e.g.:

    CG_BIN=build/dev/cellgate CG_SOURCE_DIR=. \
        /usr/bin/python3 -m pytest -q tests/integration/gateway/test_connections.py -k pipelin

(Debian's python3, which has pytest.) Fixtures with module scope
(shared_gateway, module_gateway_factory, module_receiver) serve tests that
only add to a gateway's state, with record ids of their own (records(n, seed)).
"""
import http.client
import json
import os
import re
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


def read_all(s):
    """What a socket gives until the peer closes it (or fails)."""
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except (ssl.SSLError, OSError):
        pass
    return answer


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


def openssl(*steps):
    """Runs `openssl STEP...` for each step, quietly; a failure raises."""
    for step in steps:
        subprocess.run(["openssl", *step], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def issuing_ca(pki, folder, name, crl=True):
    """An intermediate CA under the development CA of pki, as hospitals'
    PKIs have them, and a client certificate it issues (for the ehr client).
    Made in folder/name: ca.crt, ca.key, ext.cnf (also an `openssl ca`
    configuration, to revoke with), leaf.crt, leaf.key, chain.crt (the leaf,
    then the intermediate) and crl.pem (valid 2 days). crl: that CRL is
    appended to pki/crl.pem, the gateway's CRL file. Returns folder/name."""
    d = f"{folder}/{name}"
    os.makedirs(f"{d}/db")
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("[ica]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,"
                "cRLSign\n[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,"
                "digitalSignature\nextendedKeyUsage=clientAuth\n"
                "subjectAltName=DNS:ehr.clients.cellgate.test\n"
                f"[ca]\ndefault_ca=i\n[i]\ndatabase={d}/db/index.txt\ncrlnumber={d}/db/crlnumber\n"
                f"certificate={d}/ca.crt\nprivate_key={d}/ca.key\ndefault_md=sha256\n"
                "default_crl_days=2\n")
    open(f"{d}/db/index.txt", "w").close()
    with open(f"{d}/db/crlnumber", "w") as f:
        f.write("1000\n")
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    openssl(
        ["genpkey", *ec, "-out", f"{d}/ca.key"],
        ["req", "-new", "-key", f"{d}/ca.key", "-subj", f"/O=hospital/CN={name}", "-out", f"{d}/ca.csr"],
        ["x509", "-req", "-in", f"{d}/ca.csr", "-CA", f"{pki}/ca.crt", "-CAkey", f"{pki}/ca.key",
         "-set_serial", "77", "-days", "2", "-extfile", f"{d}/ext.cnf", "-extensions", "ica",
         "-out", f"{d}/ca.crt"],
        ["genpkey", *ec, "-out", f"{d}/leaf.key"],
        ["req", "-new", "-key", f"{d}/leaf.key", "-subj", "/O=hospital/CN=ehr", "-out", f"{d}/leaf.csr"],
        ["x509", "-req", "-in", f"{d}/leaf.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
         "-set_serial", "78", "-days", "2", "-extfile", f"{d}/ext.cnf", "-extensions", "leaf",
         "-out", f"{d}/leaf.crt"],
        ["ca", "-config", f"{d}/ext.cnf", "-gencrl", "-out", f"{d}/crl.pem"])
    with open(f"{d}/chain.crt", "w") as out:
        for part in ("leaf.crt", "ca.crt"):
            with open(f"{d}/{part}") as f:
                out.write(f.read())
    if crl:
        with open(f"{d}/crl.pem") as f, open(f"{pki}/crl.pem", "a") as out:
            out.write(f.read())
    return d


def copy_pki(pki, folder):
    """A copy of pki in folder, for a test that changes its files (CRL,
    server certificate); root-crl.pem keeps the development CA's own CRL."""
    shutil.copytree(pki, folder, symlinks=True)
    shutil.copy(f"{folder}/crl.pem", f"{folder}/root-crl.pem")
    return folder


@pytest.fixture
def own_pki(pki, tmp_path):
    """A copy of the development PKI that the test may change."""
    return copy_pki(pki, str(tmp_path / "own-pki"))


@pytest.fixture(scope="session")
def hospital_pki(pki, tmp_path_factory):
    """The development PKI and two intermediate CAs under it, each with an
    ehr client (issuing_ca): issuing-ca, whose CRL is in crl.pem, and
    other-issuing-ca, whose CRL is not. Not to be changed (session-wide)."""
    d = copy_pki(pki, str(tmp_path_factory.mktemp("hospital") / "pki"))
    issuing_ca(d, d, "issuing-ca", crl=True)
    issuing_ca(d, d, "other-issuing-ca", crl=False)
    return d


@pytest.fixture(scope="session")
def stranger(tmp_path_factory):
    """(certificate, key) of an ehr client from a CA the gateway does not trust."""
    d = str(tmp_path_factory.mktemp("stranger"))
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{d}/stranger.key", "-out", f"{d}/stranger.crt", "-days", "2",
             "-subj", "/CN=ehr", "-addext", "subjectAltName=DNS:ehr.clients.cellgate.test"])
    return f"{d}/stranger.crt", f"{d}/stranger.key"


def records(n, seed):
    """n valid records with recordIds unique to the seed."""
    out = subprocess.run([sys.executable, f"{SRC}/tests/bench/gen_records.py", str(n), str(seed)],
                         check=True, capture_output=True, text=True).stdout
    recs = [json.loads(line) for line in out.splitlines()]
    for i, rec in enumerate(recs):
        rec["recordId"] = f"S{seed}-{i:06d}"
    return recs


def map_to_fhir(folder, *recs):
    """`cellgate map --to fhir` of recs: one Bundle (text) a line."""
    p = f"{folder}/to-map.ndjson"
    with open(p, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in recs))
    return subprocess.run([BIN, "map", "--to", "fhir", "--mappings", f"{SRC}/mappings", p],
                          check=True, capture_output=True, text=True).stdout


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


class FhirStore:
    """tests/integration/gateway/fhirstore.py: a FHIR server that keeps what
    it is sent, absorbs duplicates and can be told to misbehave (control; see
    its docstring). bearer_secret: Bearer tokens of an OAuthServer with that
    secret are required from the start (and after a restart); client_cert:
    "required" (default) or "optional" (registries reached by OAuth only)."""

    def __init__(self, pki, port=None, bearer_secret=None, client_cert="required"):
        self.pki = pki
        self.port = port or free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.fhir_url = f"{self.url}/fhir"
        self.bearer_secret = bearer_secret
        self.client_cert = client_cert
        self.proc = None
        self.start()

    def start(self):
        extra = ["--client-cert", self.client_cert]
        if self.bearer_secret is not None:
            extra += ["--bearer-secret", self.bearer_secret]
        self.proc = subprocess.Popen(
            [sys.executable, f"{HERE}/fhirstore.py", str(self.port), self.pki, *extra],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def resources(self, rtype=None):
        """What the store holds: {Type: [resource, ...]}, or the list of rtype."""
        doc = self._call("GET", "/resources")
        return doc if rtype is None else doc.get(rtype, [])

    def fhir(self, method, path, doc=None, token=None, headers=None):
        """(status, headers, JSON body) of a FHIR request to /fhir{path}, with
        the registry's certificate and, given a token, Authorization: Bearer."""
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        ctx.load_cert_chain(f"{self.pki}/registry.crt", f"{self.pki}/registry.key")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=20)
        h = {"Content-Type": "application/fhir+json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        conn.request(method, f"/fhir{path}", body=json.dumps(doc) if doc is not None else None,
                     headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), json.loads(data) if data else None

    def _call(self, method, path, doc=None):
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        ctx.load_cert_chain(f"{self.pki}/registry.crt", f"{self.pki}/registry.key")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=20)
        conn.request(method, path, body=json.dumps(doc) if doc is not None else None)
        data = conn.getresponse().read()
        conn.close()
        return json.loads(data)

    def state(self):
        return self._call("GET", "/state")

    def received(self):
        """The transaction Bundles it took, oldest first."""
        return self._call("GET", "/received")

    def control(self, **kw):
        return self._call("POST", "/control", kw)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def fhirstore(pki):
    f = FhirStore(pki)
    yield f
    f.stop()


@pytest.fixture
def token_secret():
    """The secret an OAuthServer signs its tokens with and a FhirStore checks
    them with (random, one per test)."""
    return os.urandom(16).hex()


class OAuthServer:
    """tests/integration/gateway/oauth_server.py: an OAuth2 token endpoint
    (client_credentials; client_secret_basic, client_secret_post,
    private_key_jwt) whose tokens a FhirStore with the same secret takes.
    url: https://127.0.0.1:PORT; token_url: url + "/token"; control(**kw) and
    state() as in its docstring."""

    def __init__(self, pki, secret, port=None):
        self.pki = pki
        self.secret = secret
        self.port = port or free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.token_url = f"{self.url}/token"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, f"{HERE}/oauth_server.py", str(self.port), self.pki, self.secret],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def _call(self, method, path, body=None, headers=None):
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=20)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), json.loads(data) if data else None

    def state(self):
        return self._call("GET", "/state")[2]

    def control(self, **kw):
        return self._call("POST", "/control", json.dumps(kw))[2]

    def token(self, form, headers=None):
        """(status, headers, JSON body) of POST /token with form (a dict,
        form-encoded) and headers."""
        import urllib.parse
        h = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self._call("POST", "/token", urllib.parse.urlencode(form), h)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def oauth(pki, token_secret):
    o = OAuthServer(pki, token_secret)
    yield o
    o.stop()


@pytest.fixture
def bearer_fhirstore(pki, token_secret):
    """A FhirStore that requires the oauth fixture's tokens (same secret) and
    takes clients without a certificate."""
    f = FhirStore(pki, bearer_secret=token_secret, client_cert="optional")
    yield f
    f.stop()


class ConnectProxy:
    """tests/integration/gateway/connect_proxy.py: a forward proxy (CONNECT;
    absolute-URI requests) that counts what passes. credentials: "user:password"
    it demands (Proxy-Authorization: Basic), or None. url: http://127.0.0.1:PORT;
    state(): its counts (see its docstring)."""

    def __init__(self, folder, credentials=None, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.credentials = credentials
        self.state_file = f"{folder}/proxy-{self.port}.json"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, f"{HERE}/connect_proxy.py", str(self.port), self.state_file,
             *([self.credentials] if self.credentials else [])],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def state(self):
        with open(self.state_file) as f:
            return json.load(f)

    def settled(self, seconds=10):
        """state() once no tunnel is open (a tunnel's bytes are counted when
        it closes), or as it is after seconds."""
        deadline = time.time() + seconds
        while (s := self.state())["open_tunnels"] and time.time() < deadline:
            time.sleep(0.05)
        return s

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def connect_proxy_factory(tmp_path):
    """make(credentials=None): a ConnectProxy, stopped after the test."""
    made = []

    def make(credentials=None):
        made.append(ConnectProxy(str(tmp_path), credentials))
        return made[-1]

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def connect_proxy(connect_proxy_factory):
    """A ConnectProxy without credentials."""
    return connect_proxy_factory()


def _b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_key():
    """A new RSA-2048 private key (python3-cryptography)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key():
    """A new EC P-384 private key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP384R1())


def public_pem(key):
    """The PEM (SubjectPublicKeyInfo) of a private key's public half."""
    from cryptography.hazmat.primitives import serialization
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key):
    """The PEM (PKCS#8, unencrypted) of a private key."""
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def jwk_of(key, kid):
    """The public JWK of key (RSA {kty, n, e} or EC P-384 {kty, crv, x, y})."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    pub = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        return {"kty": "RSA", "kid": kid, "alg": "RS384", "use": "sig",
                "n": _b64url(pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")),
                "e": _b64url(pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big"))}
    return {"kty": "EC", "kid": kid, "alg": "ES384", "use": "sig", "crv": "P-384",
            "x": _b64url(pub.x.to_bytes(48, "big")), "y": _b64url(pub.y.to_bytes(48, "big"))}


def sign_jwt(claims, key, alg, kid=None, header=None):
    """A compact JWS of claims: alg RS384 (PKCS#1 v1.5, SHA-384), ES384 (R||S,
    96 bytes), HS256 (key: bytes) or none (no signature). header: more or
    other header fields."""
    import hashlib
    import hmac
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    h = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {}), **(header or {})}
    signing_input = (_b64url(json.dumps(h).encode()) + "." +
                     _b64url(json.dumps(claims).encode())).encode()
    if alg == "RS384":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    elif alg == "ES384":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        sig = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    elif alg == "HS256":
        sig = hmac.new(key, signing_input, hashlib.sha256).digest()
    else:
        sig = b""
    return signing_input.decode() + "." + _b64url(sig)


def client_assertion(client_id, token_url, key, alg="RS384", kid=None, header=None, **claims):
    """A SMART Backend Services client assertion: iss = sub = client_id,
    aud = token_url, exp in 4 minutes, iat now, a fresh jti; claims override
    (a claim given as None is left out)."""
    import uuid
    now = int(time.time())
    c = {"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + 240, "iat": now,
         "jti": str(uuid.uuid4())}
    c.update(claims)
    c = {k: v for k, v in c.items() if v is not None}
    return sign_jwt(c, key, alg, kid, header)


class JwksHost:
    """A plain-HTTP server in the test process serving a JWKS (self.jwks, a
    dict: change it at will) at url (http://127.0.0.1:PORT/jwks.json); hits
    counts the fetches."""

    def __init__(self):
        import http.server
        import threading
        host = self
        self.jwks = {"keys": []}
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host.hits += 1
                data = json.dumps(host.jwks).encode()
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_host():
    h = JwksHost()
    yield h
    h.stop()


@pytest.fixture
def receiver(pki, tmp_path):
    r = Receiver(pki, str(tmp_path))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def module_receiver(pki, tmp_path_factory):
    """A receiver shared by the tests of a module."""
    r = Receiver(pki, str(tmp_path_factory.mktemp("upstream")))
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


def full_config(upstream, extra_clients="", max_body=1048576):
    """A configuration with a bit of everything: two listeners (ECDSA on
    {port}, RSA on {port_rsa}), routes to files, to FHIR and records
    upstreams and to failing ones (upstream: a Receiver's URL; /up/down
    goes to a port where nothing listens), short timeouts and two workers.
    extra_clients: more clients of /records (", registry")."""
    up = upstream
    ident = "certificate: pki/registry.crt\n    key: pki/registry.key\n    ca: pki/ca.crt"
    return f"""
listeners:
  - address: 127.0.0.1
    port: {{port}}
    certificate: pki/server.crt
    key: pki/server.key
    client_ca: pki/ca.crt
    crl: pki/crl.pem
  - address: 127.0.0.1
    port: {{port_rsa}}
    certificate: pki/server-rsa.crt
    key: pki/server-rsa.key
    client_ca: pki/ca.crt
    crl: pki/crl.pem
clients:
  ehr: {{match: {{san_dns: ehr.clients.cellgate.test}}}}
  registry: {{match: {{subject_cn: registry}}}}
routes:
  - {{method: POST, path: /records, accept: record, clients: [ehr{extra_clients}], destination: files}}
  - {{method: POST, path: /fhir, accept: fhir, clients: [ehr], destination: upstream}}
  - {{method: POST, path: /to-fhir, accept: record, clients: [ehr], destination: upstream}}
  - {{method: POST, path: /to-fhir-files, accept: record, clients: [ehr], destination: fhirfiles}}
  - {{method: POST, path: /fhir-files, accept: fhir, clients: [ehr], destination: manyfiles}}
  - {{method: POST, path: /to-registry, accept: fhir, clients: [ehr], destination: registry-api}}
  - {{method: POST, path: /up/reject, accept: record, clients: [ehr], destination: reject}}
  - {{method: POST, path: /up/fail, accept: record, clients: [ehr], destination: fail}}
  - {{method: POST, path: /up/slow, accept: record, clients: [ehr], destination: slow}}
  - {{method: POST, path: /up/down, accept: record, clients: [ehr], destination: down}}
destinations:
  files: {{type: ndjson, folder: var/files}}
  fhirfiles: {{type: ndjson, folder: var/fhirfiles, format: fhir}}
  manyfiles: {{type: ndjson, folder: var/manyfiles, format: fhir}}
  upstream:
    type: fhir
    mode: direct
    url: {up}/ok/fhir
    {ident}
  registry-api:
    type: records
    mode: direct
    url: {up}/ok/records
    {ident}
  reject:
    type: fhir
    mode: direct
    url: {up}/reject/fhir
    {ident}
  fail:
    type: fhir
    mode: direct
    url: {up}/fail/fhir
    {ident}
  slow:
    type: fhir
    mode: direct
    url: {up}/slow/fhir
    timeout_ms: 1000
    {ident}
  down:
    type: fhir
    mode: direct
    url: https://127.0.0.1:{free_port()}/fhir
    {ident}
limits:
  max_body_bytes: {max_body}
  header_timeout_ms: 1000
  body_timeout_ms: 1000
  idle_timeout_ms: 5000
  max_connections: 64
logging:
  level: info
  audit: var/audit.log
workers: 2
"""


class Gateway:
    """A `cellgate serve` of its own, in its own folder (pki linked in).
    A configuration given whole (config=) may hold {port} and {port_rsa},
    replaced with free ports (self.port, self.port_rsa)."""

    def __init__(self, pki, tmp, routes="", destinations="", limits=None, workers=1,
                 config=None):
        self.pki = pki
        self.dir = tmp
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(f"{self.dir}/pki"):
            os.symlink(pki, f"{self.dir}/pki")
        self.port = free_port()
        self.port_rsa = free_port()
        lim = {"header_timeout_ms": 2000, "body_timeout_ms": 2000, "idle_timeout_ms": 5000,
               "max_connections": 64}
        lim.update(limits or {})
        self.config = f"{self.dir}/cellgate.yaml"
        text = config if config is not None else BASE_CONFIG.format(
            listeners=LISTENER.format(port=self.port), routes=routes, destinations=destinations,
            limits="\n".join(f"  {k}: {v}" for k, v in lim.items()), workers=workers)
        self.two_listeners = "{port_rsa}" in text
        self.write_config(text)
        self.stderr_path = f"{self.dir}/gateway.log"
        self.proc = None

    def write_config(self, text):
        """Replaces the configuration file (at once, as an editor's rename
        does), {port} and {port_rsa} filled in."""
        text = text.replace("{port}", str(self.port)).replace("{port_rsa}", str(self.port_rsa))
        with open(self.config + ".new", "w") as f:
            f.write(text)
        os.replace(self.config + ".new", self.config)

    def start(self, env=None, args=(), preexec=None):
        """env: variables added to the gateway's environment; args: more
        arguments of `cellgate serve`; preexec: run in the child before
        the gateway (limits)."""
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config, "--mappings", f"{SRC}/mappings", *args],
            cwd=self.dir, stderr=self.stderr, env={**os.environ, **(env or {})},
            preexec_fn=preexec)
        assert wait_port(self.port, self.proc), self.log_text()
        if self.two_listeners:
            assert wait_port(self.port_rsa, self.proc), self.log_text()
        # The listeners open before the signal handlers are in place (a
        # SIGHUP or SIGTERM in between would end the gateway); the gateway
        # says "listening on" once they are (at level info, as configured
        # here). Slow under ThreadSanitizer.
        if re.search(r"(?m)^  level: (info|debug)", self.config_text()):
            assert self.wait_log('"listening on ', seconds=30), self.log_text()
        return self

    def config_text(self):
        with open(self.config) as f:
            return f.read()

    def context(self, name="ehr", cert=None, key=None):
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        if name:
            ctx.load_cert_chain(cert or f"{self.pki}/{name}.crt", key or f"{self.pki}/{name}.key")
        return ctx

    def call(self, method, path, body=None, ctype="application/json", name="ehr", headers=None,
             ctx=None, timeout=20, port=None):
        conn = http.client.HTTPSConnection("localhost", port or self.port,
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

    def tls(self, name="ehr", ctx=None, timeout=10, port=None):
        """A TLS socket to the gateway, handshake done."""
        raw = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout)
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
            return read_all(s)

    def log_text(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def wait_log(self, text, times=1, seconds=10):
        """True once the gateway's log holds text at least `times` times (the
        gateway may log a refused handshake after the client saw the alert)."""
        deadline = time.time() + seconds
        while self.log_text().count(text) < times:
            if time.time() > deadline:
                return False
            time.sleep(0.05)
        return True

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

    def reload(self, wait=False):
        """SIGHUP; wait: until the gateway has logged the reload's outcome
        (loaded or refused; the new configuration is in place once loaded)."""
        done = self.log_text().count('"reload: ')
        self.proc.send_signal(signal.SIGHUP)
        if wait:
            assert self.wait_log('"reload: ', times=done + 1, seconds=30), self.log_text()[-2000:]

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


def _gateways(pki, folder):
    """A maker of gateways in folder (make(pki=..., **Gateway's keywords);
    pki: another PKI folder than the development one), and a stopper that
    stops them all and fails unless each stopped cleanly."""
    made = []

    def make(pki=pki, **kw):
        g = Gateway(pki, f"{folder}/gw{len(made)}", **kw)
        made.append(g)
        return g

    def stop_all():
        bad = []
        for g in made:
            if g.proc is None:
                continue  # never started
            code = g.stop()
            odd = [x for x in g.log_text().splitlines() if x and not x.startswith("{")]
            if code != 0 or odd:
                # the whole report, a line each: a ThreadSanitizer report's
                # stacks (which library, which of our calls) are past its
                # first 20 lines, and pytest's temporary folders are gone
                # three runs later
                shown = "\n    ".join(odd[:400])
                bad.append(f"{g.dir}: exit {code}; stderr:\n    {shown}")
        assert not bad, "\n".join(bad)

    return make, stop_all


@pytest.fixture
def gateway_factory(pki, tmp_path):
    make, stop_all = _gateways(pki, str(tmp_path))
    yield make
    stop_all()


@pytest.fixture(scope="module")
def module_gateway_factory(pki, tmp_path_factory):
    """gateway_factory for gateways shared by the tests of a module."""
    make, stop_all = _gateways(pki, str(tmp_path_factory.mktemp("gateways")))
    yield make
    stop_all()


@pytest.fixture
def gateway(gateway_factory):
    """A gateway with the base configuration, started."""
    return gateway_factory().start()


@pytest.fixture
def full_gateway(gateway_factory, receiver):
    """A gateway with full_config() towards the receiver, started."""
    return gateway_factory(config=full_config(receiver.url)).start()


@pytest.fixture(scope="module")
def shared_gateway(module_gateway_factory, module_receiver):
    """full_gateway shared by the tests of a module: for tests that leave
    nothing behind that another test could trip on (own record ids)."""
    return module_gateway_factory(config=full_config(module_receiver.url)).start()


def handshake_fails(gw, ctx, port=None):
    """The error of a request whose handshake fails, None when it succeeds."""
    try:
        gw.call("GET", "/healthz", ctx=ctx, port=port)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        return str(e)
    return None


def s_client(gw, *args, cert="ehr"):
    """openssl s_client to the gateway with a development client certificate."""
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{gw.port}", "-servername", "localhost",
         "-CAfile", f"{gw.pki}/ca.crt", "-cert", f"{gw.pki}/{cert}.crt", "-key",
         f"{gw.pki}/{cert}.key", *args],
        input="", capture_output=True, text=True, timeout=20)


def mine(stored, seed):
    """The stored records whose ids records(n, seed) made."""
    return [r for r in stored if r.get("recordId", "").startswith(f"S{seed}-")]
