#!/usr/bin/env python3
"""A test OAuth2 token endpoint (issue 13): client credentials, with the
client authenticated by a secret or by a signed JWT (SMART Backend Services).

    oauth_server.py PORT PKI_DIR SHARED_SECRET

HTTPS with PKI_DIR/server.crt (no client certificate asked: token endpoints
of registries authenticate the client in the request). Prints "ready".

POST /token (application/x-www-form-urlencoded), grant_type=client_credentials
(another: 400 unsupported_grant_type), optional scope, the client
authenticated one way of three (more than one: 400 invalid_request):
  client_secret_basic  Authorization: Basic base64(urlencode(id):urlencode(secret))
  client_secret_post   client_id and client_secret form fields
  private_key_jwt      client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
                       and client_assertion: a compact JWS, RS384 or ES384 (raw R||S),
                       iss == sub == client_id (and == the client_id field when given),
                       aud == https://127.0.0.1:PORT/token (or https://localhost:PORT/token),
                       exp in the future and at most 300 s ahead (5 s leeway), jti new,
                       nbf / iat (optional) not in the future (5 s / 60 s leeway)
A refused client: 401 {"error": "invalid_client", "error_description": "REASON: ..."}
(with WWW-Authenticate: Basic when the client tried Basic), counted under
REASON in state()["refused"].

Success: 200 {"access_token": T, "token_type": "bearer", "expires_in": N, "scope": S}
with T = b64url(json {"client", "exp", "iat", "n"}) "." b64url(HMAC-SHA256(key, first part)),
key = the bytes of SHARED_SECRET as given (its ASCII text): fhirstore.py checks
these tokens with the same secret, without asking this server.

GET /.well-known/smart-configuration: the token endpoint and what it takes.
GET /state, POST /control (JSON object; reset first, then the rest):
  {"clients": {"ID": {"secret": "S"} | {"public_key_pem": PEM} | {"jwks_url": URL}
                     | {"jwks": {"keys": [...]}} , ...}}
      registers clients (merged; a null value removes one). Optional per client:
      "methods": [allowed methods], "scopes": [allowed scopes] (a scope asked
      outside them: 400 invalid_scope), "scope": the scope granted when none is
      asked, "jwks_client_cert": "registry" (a PKI_DIR name whose crt/key are
      shown when fetching an https jwks_url; the server is checked with ca.crt).
      JWKS keys: RSA {kty, n, e} or EC P-384 {kty: "EC", crv: "P-384", x, y},
      base64url without padding, chosen by the JWS header's kid (required).
      The JWKS is fetched on every assertion (a rotated key is seen at once).
  {"expires_in": N}   expires_in of the tokens issued (default 300)
  {"down": true}      /token answers 503 (counted as refused "down")
  {"delay": S}        /token answers after S seconds
  {"reset": true}     forget everything: clients, counts, jtis seen, settings
state(): {"token_requests", "issued", "refused": {reason: n},
          "by_method": {method: tokens issued}, "attempts_by_method": {method: n},
          "jwks_fetches", "log": [{"t", "method", "client", "status", "reason", "n"}]}
"""
import base64
import hashlib
import hmac
import json
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

port, pki, shared_secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
TOKEN_URLS = (f"https://127.0.0.1:{port}/token", f"https://localhost:{port}/token")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_EXP_AHEAD = 300
LEEWAY = 5
lock = threading.Lock()


def fresh():
    return {"clients": {}, "expires_in": 300, "down": False, "delay": 0, "jtis": set(),
            "token_requests": 0, "issued": 0, "refused": {}, "by_method": {},
            "attempts_by_method": {}, "jwks_fetches": 0, "counter": 0, "log": []}


state = fresh()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    if not isinstance(text, str) or any(c in text for c in "=+/ \n"):
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64int(text):
    return int.from_bytes(unb64url(text), "big")


class Refused(Exception):
    def __init__(self, status, error, reason, detail, basic=False):
        super().__init__(detail)
        self.status, self.error, self.reason, self.detail, self.basic = (
            status, error, reason, detail, basic)


def invalid_client(reason, detail, basic=False):
    return Refused(401, "invalid_client", reason, detail, basic)


def key_of_jwk(jwk, alg):
    kty = jwk.get("kty")
    if alg == "RS384" and kty == "RSA":
        return rsa.RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key()
    if alg == "ES384" and kty == "EC" and jwk.get("crv") == "P-384":
        return ec.EllipticCurvePublicNumbers(b64int(jwk["x"]), b64int(jwk["y"]),
                                             ec.SECP384R1()).public_key()
    raise invalid_client("key", f"the key {jwk.get('kid')!r} ({kty}) does not fit {alg}")


def fetch_jwks(client):
    url = client["jwks_url"]
    ctx = None
    if url.startswith("https:"):
        ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
        name = client.get("jwks_client_cert")
        if name:
            ctx.load_cert_chain(f"{pki}/{name}.crt", f"{pki}/{name}.key")
    with lock:
        state["jwks_fetches"] += 1
    try:
        with urllib.request.urlopen(url, timeout=5, context=ctx) as r:
            return json.loads(r.read())
    except Exception as e:  # any failure to get the keys refuses the client
        raise invalid_client("jwks", f"the JWKS at {url} could not be fetched: {e}")


def public_key(client, header, alg):
    if "public_key_pem" in client:
        key = serialization.load_pem_public_key(client["public_key_pem"].encode())
        if alg == "RS384" and not isinstance(key, rsa.RSAPublicKey) or alg == "ES384" and not (
                isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"):
            raise invalid_client("key", f"the client's key does not fit {alg}")
        return key
    jwks = client.get("jwks") or (fetch_jwks(client) if "jwks_url" in client else None)
    if jwks is None:
        raise invalid_client("method", "the client has no key registered (private_key_jwt)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise invalid_client("kid", "the assertion's header has no kid")
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == kid:
            if jwk.get("alg") not in (None, alg):
                raise invalid_client("key", f"the key {kid!r} is for {jwk.get('alg')}, not {alg}")
            return key_of_jwk(jwk, alg)
    raise invalid_client("kid", f"no key with kid {kid!r} in the client's JWKS")


def verify(key, alg, signing_input, sig):
    try:
        if alg == "RS384":
            key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA384())
        else:
            if len(sig) != 96:
                raise InvalidSignature()
            der = encode_dss_signature(int.from_bytes(sig[:48], "big"),
                                       int.from_bytes(sig[48:], "big"))
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise invalid_client("signature", "the assertion's signature does not verify")


def check_assertion(form):
    """The client id of a valid client_assertion, else Refused."""
    if form.get("client_assertion_type") != JWT_BEARER:
        raise invalid_client("assertion_type", f"client_assertion_type is not {JWT_BEARER}")
    jws = form.get("client_assertion", "")
    parts = jws.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        sig = unb64url(parts[2])
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("not JSON objects")
    except ValueError as e:
        raise invalid_client("malformed", f"the client_assertion is not a compact JWS: {e}")
    alg = header.get("alg")
    if alg not in ("RS384", "ES384"):
        raise invalid_client("alg", f"alg {alg!r} is not taken (RS384 or ES384)")
    client_id = form.get("client_id") or claims.get("iss")
    with lock:
        client = state["clients"].get(client_id) if isinstance(client_id, str) else None
    if client is None:
        raise invalid_client("unknown_client", f"no client {client_id!r}")
    allowed(client, "private_key_jwt")
    verify(public_key(client, header, alg), alg, f"{parts[0]}.{parts[1]}".encode(), sig)
    if claims.get("iss") != client_id:
        raise invalid_client("iss", f"iss {claims.get('iss')!r} is not the client {client_id!r}")
    if claims.get("sub") != client_id:
        raise invalid_client("sub", f"sub {claims.get('sub')!r} is not the client {client_id!r}")
    if "client_id" in form and form["client_id"] != claims.get("iss"):
        raise invalid_client("client_id", "client_id is not the assertion's iss")
    aud = claims.get("aud")
    if not (aud in TOKEN_URLS or isinstance(aud, list) and any(a in TOKEN_URLS for a in aud)):
        raise invalid_client("aud", f"aud {aud!r} is not this token endpoint ({TOKEN_URLS[0]})")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise invalid_client("exp_missing", "the assertion has no numeric exp")
    if exp <= now:
        raise invalid_client("expired", f"the assertion expired {now - exp:.0f} s ago")
    if exp > now + MAX_EXP_AHEAD + LEEWAY:
        raise invalid_client("exp_too_far", f"exp is {exp - now:.0f} s ahead, more than "
                             f"{MAX_EXP_AHEAD} s")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, (int, float)) or nbf > now + LEEWAY):
        raise invalid_client("nbf", "the assertion is not valid yet (nbf)")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, (int, float)) or iat > now + 60):
        raise invalid_client("iat", "iat is not a time in the past")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise invalid_client("jti_missing", "the assertion has no jti")
    with lock:
        if (client_id, jti) in state["jtis"]:
            raise invalid_client("replay", f"jti {jti!r} was used before")
        state["jtis"].add((client_id, jti))
    return client_id, client


def allowed(client, method, basic=False):
    if method not in client.get("methods", [method]):
        raise invalid_client("method", f"the client may not authenticate by {method}", basic)


def check_secret(client_id, secret, method):
    basic = method == "client_secret_basic"
    with lock:
        client = state["clients"].get(client_id)
    if client is None:
        raise invalid_client("unknown_client", f"no client {client_id!r}", basic)
    if "secret" not in client:
        raise invalid_client("method", "the client has no secret (it signs assertions)", basic)
    allowed(client, method, basic)
    if not hmac.compare_digest(client["secret"].encode(), secret.encode()):
        raise invalid_client("secret", "wrong client secret", basic)
    return client_id, client


def authenticate(headers, form):
    """(method, client id, client) or Refused."""
    auth = headers.get("Authorization")
    used = [m for m, present in (("client_secret_basic", auth is not None),
                                 ("client_secret_post", "client_secret" in form),
                                 ("private_key_jwt", "client_assertion" in form
                                  or "client_assertion_type" in form)) if present]
    if len(used) > 1:
        raise Refused(400, "invalid_request", "several_methods",
                      f"more than one client authentication: {', '.join(used)}")
    if not used:
        raise invalid_client("no_authentication", "no client authentication")
    method = used[0]
    with lock:
        state["attempts_by_method"][method] = state["attempts_by_method"].get(method, 0) + 1
    if method == "client_secret_basic":
        scheme, _, cred = auth.partition(" ")
        try:
            if scheme.lower() != "basic":
                raise ValueError(scheme)
            uid, sep, pw = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
            if not sep:
                raise ValueError("no colon")
        except (ValueError, UnicodeDecodeError):
            raise invalid_client("malformed", "the Authorization header is not Basic id:secret",
                                 True)
        uid, pw = urllib.parse.unquote_plus(uid), urllib.parse.unquote_plus(pw)
        if "client_id" in form and form["client_id"] != uid:
            raise invalid_client("client_id", "client_id is not the Basic user", True)
        return (method, *check_secret(uid, pw, method))
    if method == "client_secret_post":
        if "client_id" not in form:
            raise invalid_client("client_id", "client_secret without client_id")
        return (method, *check_secret(form["client_id"], form["client_secret"], method))
    return (method, *check_assertion(form))


def token_for(client_id):
    with lock:
        state["counter"] += 1
        n = state["counter"]
        expires_in = state["expires_in"]
    now = int(time.time())
    body = b64url(json.dumps({"client": client_id, "exp": now + expires_in, "iat": now, "n": n},
                             separators=(",", ":")).encode())
    mac = hmac.new(shared_secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{b64url(mac)}", expires_in, n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/state":
            with lock:
                doc = {k: v for k, v in state.items() if k not in ("jtis", "counter")}
                doc = json.loads(json.dumps(doc))
            return self.answer(200, doc)
        if self.path == "/.well-known/smart-configuration":
            return self.answer(200, {
                "token_endpoint": TOKEN_URLS[0], "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic", "client_secret_post", "private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "capabilities": ["client-confidential-asymmetric"]})
        self.answer(404, {"error": "not_found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?")[0]
        if path == "/control":
            return self.control(json.loads(body or b"{}"))
        if path != "/token":
            return self.answer(404, {"error": "not_found"})
        with lock:
            state["token_requests"] += 1
            down, delay = state["down"], state["delay"]
        if delay:
            time.sleep(delay)
        entry = {"t": time.time(), "method": None, "client": None}
        try:
            if down:
                raise Refused(503, "temporarily_unavailable", "down", "the token endpoint is down")
            form = self.form(body)
            grant = form.get("grant_type")
            if grant is None:
                raise Refused(400, "invalid_request", "invalid_request", "no grant_type")
            if grant != "client_credentials":
                raise Refused(400, "unsupported_grant_type", "unsupported_grant_type",
                              f"grant_type {grant!r} is not taken")
            method, client_id, client = authenticate(self.headers, form)
            entry.update(method=method, client=client_id)
            scope = form.get("scope", client.get("scope", ""))
            if "scopes" in client and any(s not in client["scopes"] for s in scope.split()):
                raise Refused(400, "invalid_scope", "scope", f"scope {scope!r} is not allowed")
        except Refused as r:
            with lock:
                state["refused"][r.reason] = state["refused"].get(r.reason, 0) + 1
                state["log"].append({**entry, "status": r.status, "reason": r.reason, "n": None})
            extra = {"Cache-Control": "no-store"}
            if r.basic:
                extra["WWW-Authenticate"] = 'Basic realm="cellgate-test-oauth"'
            return self.answer(r.status, {"error": r.error,
                                          "error_description": f"{r.reason}: {r.detail}"}, extra)
        token, expires_in, n = token_for(client_id)
        with lock:
            state["issued"] += 1
            state["by_method"][method] = state["by_method"].get(method, 0) + 1
            state["log"].append({**entry, "status": 200, "reason": None, "n": n})
        self.answer(200, {"access_token": token, "token_type": "bearer",
                          "expires_in": expires_in, "scope": scope},
                    {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def form(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise Refused(400, "invalid_request", "invalid_request",
                          f"Content-Type {ctype!r} is not application/x-www-form-urlencoded")
        try:
            pairs = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True,
                                           strict_parsing=bool(body))
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "invalid_request", "invalid_request", "the form does not parse")
        form = {}
        for k, v in pairs:
            if k in form:
                raise Refused(400, "invalid_request", "invalid_request", f"{k} given twice")
            form[k] = v
        return form

    def control(self, ctl):
        with lock:
            if ctl.get("reset"):
                state.clear()
                state.update(fresh())
            for k, v in (ctl.get("clients") or {}).items():
                if v is None:
                    state["clients"].pop(k, None)
                else:
                    state["clients"][k] = v
            for k in ("expires_in", "down", "delay"):
                if k in ctl:
                    state[k] = ctl[k]
        self.answer(200, {"ok": True})

    def answer(self, status, doc, headers=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
server = Server(("127.0.0.1", port), Handler)
# The handshake in the thread of the connection (its first read), not in
# accept: a client that stalls holds no one else up.
server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                do_handshake_on_connect=False)
print("ready", flush=True)
server.serve_forever()
