#!/usr/bin/env python3
"""A test FHIR server for the outbox's scenarios: it keeps what it is sent,
absorbs duplicates the way a FHIR server does with conditional creates, and
can be told to misbehave, or to follow a registry's own rules (issue 13).

    fhirstore.py PORT PKI_DIR [--bearer-secret SECRET] [--client-cert required|optional]

HTTPS; a client certificate from PKI_DIR/ca.crt is required (default) or
optional (checked when shown: OAuth-only registries). --bearer-secret: as
control {"bearer_secret": ...} from the start (kept over a restart).

Two views of what arrives, both kept:
- the outbox's figures (as before issue 13): POST of a transaction Bundle:
  each entry with request.ifNoneExist is counted created once (a second one
  with the same condition, or an entry without one whose resource is the same,
  is a duplicate absorbed); POST of a lone resource: the same with the
  If-None-Exist header; POST of a JSON array (a records destination): each
  record kept once by recordId, with the Idempotency-Key header noted. For
  each patient (the Procedure's subject identifier, or the record's first
  patient identifier) the order in which their items were first created is
  kept, to check the outbox's per-patient order ("created", "duplicates",
  "duplicate_records" and their "duplicate_ids", "order", "distinct",
  "idempotency_keys").
- a resource store, as a FHIR server keeps it: resources by type and id.
  Under a base path B (the path before the type: /fhir for https://H:P/fhir):
    POST B (Bundle transaction|batch)   each entry: POST (ifNoneExist: the
        match when there is one, "200 OK"; else created, "201 Created"), PUT
        Type/id or Type?search (update, or create), DELETE Type/id; answered
        with a transaction-response (batch-response) Bundle, one entry per
        request entry, response.status and response.location
        "Type/id/_history/N". A transaction is all or nothing. urn:uuid:
        references to entries of the Bundle become Type/id; conditional
        references (Type?identifier=s|v) become the one match.
    POST B/Type                         create (If-None-Exist honoured): 201
                                        with Location, or 200 with the match
    GET B/Type?identifier=s|v[,s|v]     searchset Bundle (total, entries with
        fullUrl and resource); also _id; no parameter: all of the type;
        other parameters not starting with _: 400
    GET B/Type/id[/_history/N]          the resource, or 404
    PUT B/Type/id                       update (200) or create with that id (201)
    DELETE B/Type/id                    204
    GET B/metadata                      a CapabilityStatement (R4)
  A new resource gets an id ("1", "2", ... across types) and meta.versionId /
  meta.lastUpdated; the rest of meta (security, tag) is kept as sent.

GET /state: the figures as JSON (below). GET /received: every transaction
Bundle taken (200), as it came, oldest first. GET /resources: the store,
{Type: [resource, ...]}. POST /control with a JSON object sets the behaviour
of what comes next (reset first, then the rest):
  {"mode": "ok"}                      answer 200 with a transaction-response
  {"mode": "fail", "status": 503, "retry_after": 2}   refuse every request
  {"mode": "slow", "delay": 3}        answer after delay seconds
  {"refuse": "REC-ID"}                a Bundle holding that record's Procedure
                                      (or that recordId) is refused with 400
  {"unrefuse": "REC-ID"}              that record is taken again (the upstream
                                      fixed): no longer refused
  {"refuse_none": true}               no record is refused any more
  {"reset": true}                     forget everything (not --bearer-secret)
  {"bearer_secret": "SECRET" | null}  every FHIR request needs Authorization:
        Bearer T, T made by oauth_server.py with that secret, not expired;
        else 401, WWW-Authenticate: Bearer error="invalid_token", and an
        OperationOutcome (counted in "unauthorized" and "unauthorized_by_reason":
        missing, malformed, signature, expired, revoked)
  {"tokens_issued_before": EPOCH | null}  tokens whose iat < EPOCH are refused
  {"expire_tokens": true}             the same with EPOCH = now: waits for the
        next whole second and takes it (iat is whole seconds), so every token
        issued before the call is refused and every one issued after it taken
  {"conditional": false}              ifNoneExist / If-None-Exist (and PUT
        Type?search) refused: 400 "conditional create not supported"
  {"max_entries": N | null}           a Bundle of more than N entries: 400
  {"max_observations": N | null}      a Bundle of more than N Observations: 400
  {"check_references": true}          a reference to Type/id that is not on
        the server (nor created by the Bundle), an urn:uuid: that is no
        entry's fullUrl, or a conditional reference without exactly one
        match: 400 "unresolved reference ..."
  {"delay_first": SECONDS}            the next FHIR request is processed at
        once but answered only after SECONDS (a client's timeout; a retry then
        duplicates unless the client searches first)
  {"transaction": false}              no transaction in the CapabilityStatement;
                                      transaction Bundles refused (400)
  {"resource_types": [...]}           the types the CapabilityStatement lists
  {"token_url": URL}                  the CapabilityStatement's SMART oauth-uris
  {"require_security": {"system": S, "code": C} | null}  a resource written
        without that coding in meta.security is refused: 400 (CIBMTR's
        sending-centre tag, rc_<CCN>)
Refusals of these rules count in "refusals": {conditional, max_entries,
max_observations, unresolved_reference, transaction, security}.
State also holds "resources" ({Type: count}), "duplicates_by_identifier"
({Type: copies beyond the first of a resource with the same business
identifier system|value, summed}, every type stored), "duplicated"
({Type: {"system|value": copies}} where more than one), "searches", and
"requests": one per FHIR request, oldest first: {"t", "method", "path",
"status", "n" (entries, or 1), "auth" (an Authorization header was sent),
"key" (Idempotency-Key)}.
"""
import argparse
import copy
import base64
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("pki")
ap.add_argument("--bearer-secret")
ap.add_argument("--client-cert", choices=("required", "optional"), default="required")
args = ap.parse_args()
port, pki = args.port, args.pki
lock = threading.Lock()
TYPES = ["Patient", "Procedure", "Observation", "Provenance", "Consent"]
TYPE_RE = re.compile(r"^[A-Z][A-Za-z]+$")


def fresh():
    return {"mode": "ok", "status": 503, "retry_after": None, "delay": 0, "refuse": [],
            "created": 0, "duplicates": 0, "duplicate_records": 0, "duplicate_ids": [], "keys": {}, "order": {}, "requests": [],
            "idempotency_keys": [], "concurrent": 0, "max_concurrent": 0, "received": [],
            # issue 13
            "bearer_secret": args.bearer_secret, "tokens_issued_before": None,
            "conditional": True, "max_entries": None, "max_observations": None,
            "check_references": False, "delay_first": None, "transaction": True,
            "resource_types": list(TYPES), "token_url": None, "require_security": None,
            "store": {}, "index": {}, "next_id": 1, "unauthorized": 0, "unauthorized_by_reason": {},
            "refusals": {}, "searches": 0}


state = fresh()
SETTINGS = ("mode", "status", "retry_after", "delay", "bearer_secret", "tokens_issued_before",
            "conditional", "max_entries", "max_observations", "check_references", "delay_first",
            "transaction", "resource_types", "token_url", "require_security")
INTERNAL = ("keys", "received", "store", "index", "next_id") + SETTINGS[4:]


class Refusal(Exception):
    """A request refused as a whole: status, OperationOutcome issue."""

    def __init__(self, status, code, diagnostics, counted=None, headers=None):
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics
        self.counted, self.headers = counted, headers or {}


def oo(code, diagnostics, severity="error"):
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


def procedure_record(entry):
    """The record id a mapped Procedure carries (its identifier value), and
    the patient (subject identifier system|value)."""
    res = entry.get("resource") or {}
    if res.get("resourceType") != "Procedure":
        return None, None
    ident = (res.get("identifier") or [{}])[0].get("value")
    subj = (res.get("subject") or {}).get("identifier") or {}
    return ident, f"{subj.get('system')}|{subj.get('value')}"


# ---- tokens (oauth_server.py's) -------------------------------------------

def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_bearer(headers):
    """None when the request may go on, else the reason it may not (state
    locked by the caller)."""
    secret = state["bearer_secret"]
    if secret is None:
        return None
    auth = headers.get("Authorization")
    if not auth:
        return "missing"
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 1:
        return "malformed"
    body, mac = token.strip().split(".")
    want = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(unb64url(mac), want):
            return "signature"
        claims = json.loads(unb64url(body))
    except ValueError:
        return "malformed"
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= time.time():
        return "expired"
    before = state["tokens_issued_before"]
    if before is not None and claims.get("iat", 0) < before:
        return "revoked"
    return None


# ---- searches ---------------------------------------------------------------

def split_unescaped(text, sep):
    out, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i:i + 2]
            i += 2
            continue
        if text[i] == sep:
            out.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    out.append(cur)
    return out


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def token_matches(res, value):
    """FHIR token search on identifier: value is s|v, |v (no system), v (any
    system) or s| (any value of that system)."""
    parts = split_unescaped(value, "|")
    for ident in res.get("identifier") or []:
        if len(parts) == 1:
            if ident.get("value") == unescape(parts[0]):
                return True
            continue
        system, val = unescape(parts[0]), unescape("|".join(parts[1:]))
        if system == "":
            if "system" not in ident and ident.get("value") == val:
                return True
        elif ident.get("system") == system and (val == "" or ident.get("value") == val):
            return True
    return False


def candidates(rtype, value):
    """The ids of rtype that the identifier token value may match (from the
    index: no scan of the store), or None when it would take a scan."""
    index = state["index"].get(rtype) or {}
    parts = split_unescaped(value, "|")
    if len(parts) == 1:
        return set(index.get(("*", unescape(parts[0])), ()))
    system, val = unescape(parts[0]), unescape("|".join(parts[1:]))
    if val == "":
        return None
    return set(index.get((system or None, val), ()))


def search(rtype, query):
    """The resources of rtype that a search query string (URL-encoded)
    matches, or Refusal for a parameter not known here."""
    byid = state["store"].get(rtype) or {}
    found = None
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name == "identifier":
            alts = split_unescaped(value, ",")
            ids = set()
            for a in alts:
                c = candidates(rtype, a)
                ids |= set(byid) if c is None else c
            pool = found if found is not None else [byid[i] for i in sorted(ids, key=int_first)]
            found = [r for r in pool if any(token_matches(r, a) for a in alts)]
            continue
        if found is None:
            found = sorted(byid.values(), key=lambda r: int_first(r["id"]))
        if name == "_id":
            found = [r for r in found if r.get("id") in value.split(",")]
        elif not name.startswith("_"):
            raise Refusal(400, "not-supported", f"search parameter {name} is not supported "
                          "by this server (identifier, _id)")
    if found is None:
        found = sorted(byid.values(), key=lambda r: int_first(r["id"]))
    return found


def int_first(rid):
    """A sort key: numeric ids in number order, before the others."""
    return (0, int(rid), "") if rid.isdigit() else (1, 0, rid)


# ---- the store ----------------------------------------------------------------

def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id():
    n = state["next_id"]
    state["next_id"] += 1
    return str(n)


def put_resource(rtype, rid, res):
    """Stores res as rtype/rid; the new version number."""
    old = (state["store"].get(rtype) or {}).get(rid)
    version = int(((old or {}).get("meta") or {}).get("versionId", "0")) + 1
    res = dict(res, resourceType=rtype, id=rid)
    res["meta"] = dict(res.get("meta") or {}, versionId=str(version), lastUpdated=now_iso())
    if old is not None:
        unindex(rtype, old)
    state["store"].setdefault(rtype, {})[rid] = res
    index = state["index"].setdefault(rtype, {})
    for key in index_keys(res):
        index.setdefault(key, set()).add(rid)
    return version


def index_keys(res):
    """The identifier index's keys of res: (system, value), and ("*", value)
    for a search by value alone; an identifier without system has None."""
    keys = set()
    for ident in res.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            keys.add((ident.get("system"), ident["value"]))
            keys.add(("*", ident["value"]))
    return keys


def unindex(rtype, res):
    index = state["index"].get(rtype) or {}
    for key in index_keys(res):
        ids = index.get(key)
        if ids is not None:
            ids.discard(res["id"])
            if not ids:
                del index[key]


def delete_resource(rtype, rid):
    res = (state["store"].get(rtype) or {}).pop(rid, None)
    if res is not None:
        unindex(rtype, res)


def references(node):
    """Every Reference-like dict (with a string "reference") under node."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for v in node.values():
            yield from references(v)
    elif isinstance(node, list):
        for v in node:
            yield from references(v)


def resolve_references(res, fullurls, pending, base_urls):
    """Rewrites res's references (urn:uuid: of the Bundle, conditional ones,
    absolute ones to this server) to Type/id; Refusal for an unresolved one
    when check_references."""
    check = state["check_references"]
    for ref in references(res):
        r = ref["reference"]
        for b in base_urls:
            if r.startswith(b + "/"):
                r = r[len(b) + 1:]
        if r in fullurls:
            ref["reference"] = fullurls[r]
            continue
        if r.startswith("#"):
            continue
        if r.startswith("urn:"):
            if check:
                raise unresolved(r, "no entry of the Bundle has that fullUrl")
            continue
        if "?" in r:
            rtype, _, query = r.partition("?")
            found = search(rtype, query)
            if len(found) == 1:
                ref["reference"] = f"{rtype}/{found[0]['id']}"
            elif check:
                raise unresolved(r, f"{len(found)} matches")
            continue
        parts = r.split("/")
        if len(parts) in (2, 4) and TYPE_RE.match(parts[0]):
            if check and parts[1] not in (state["store"].get(parts[0]) or {}) and \
                    f"{parts[0]}/{parts[1]}" not in pending:
                raise unresolved(r, "no such resource on this server")
        elif check and not r.startswith(("http:", "https:")):
            raise unresolved(r, "not a reference this server can follow")


def unresolved(ref, why):
    return Refusal(400, "processing", f"unresolved reference {ref}: {why}",
                   "unresolved_reference")


def plan_entry(e, i, conditional_ok):
    """What entry i of a Bundle asks: (method, type, id or None for a new one,
    status, matched existing). Refusal when it cannot be done."""
    req = e.get("request") or {}
    method = (req.get("method") or "").upper()
    url = (req.get("url") or "").lstrip("/")
    res = e.get("resource")
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if method == "POST":
        if not isinstance(res, dict):
            raise Refusal(400, "invalid", f"entry {i}: a POST without a resource")
        rtype = res.get("resourceType") or (parts[0] if parts else None)
        cond = req.get("ifNoneExist")
        if cond:
            if not conditional_ok:
                raise Refusal(400, "not-supported", "conditional create not supported",
                              "conditional")
            found = search(rtype, cond)
            if len(found) > 1:
                raise Refusal(412, "duplicate", f"entry {i}: ifNoneExist {cond} matches "
                              f"{len(found)} resources")
            if found:
                return "POST", rtype, found[0]["id"], "200 OK", True
        return "POST", rtype, None, "201 Created", False
    if method == "PUT":
        if not isinstance(res, dict) or not parts:
            raise Refusal(400, "invalid", f"entry {i}: a PUT needs a resource and Type/id")
        rtype = parts[0]
        if query:
            if not conditional_ok:
                raise Refusal(400, "not-supported", "conditional update not supported",
                              "conditional")
            found = search(rtype, query)
            if len(found) > 1:
                raise Refusal(412, "multiple-matches", f"entry {i}: {url} matches "
                              f"{len(found)} resources")
            if found:
                return "PUT", rtype, found[0]["id"], "200 OK", True
            return "PUT", rtype, None, "201 Created", False
        if len(parts) != 2:
            raise Refusal(400, "invalid", f"entry {i}: PUT to {url}")
        there = parts[1] in (state["store"].get(rtype) or {})
        return "PUT", rtype, parts[1], "200 OK" if there else "201 Created", there
    if method == "DELETE" and len(parts) == 2:
        return "DELETE", parts[0], parts[1], "204 No Content", True
    raise Refusal(400, "not-supported", f"entry {i}: {method} {url} is not supported here")


def check_caps(doc):
    entries = doc.get("entry") or []
    cap = state["max_entries"]
    if cap is not None and len(entries) > cap:
        raise Refusal(400, "too-costly", f"the Bundle has {len(entries)} entries; this server "
                      f"takes at most {cap} per Bundle (max_entries {cap})", "max_entries")
    cap = state["max_observations"]
    nobs = sum(1 for e in entries if (e.get("resource") or {}).get("resourceType") == "Observation")
    if cap is not None and nobs > cap:
        raise Refusal(400, "too-costly", f"the Bundle has {nobs} Observations; this server "
                      f"takes at most {cap} per Bundle (max_observations {cap})",
                      "max_observations")


def run_entries(doc, base_urls):
    """Processes a Bundle's entries into the store (all or nothing); the
    response entries. Refusal when one cannot be done."""
    entries = doc.get("entry") or []
    plans = [plan_entry(e, i, state["conditional"]) for i, e in enumerate(entries)]
    fullurls, pending, out = {}, set(), []
    fresh_ids = []
    for e, (method, rtype, rid, status, matched) in zip(entries, plans):
        if method != "DELETE" and rid is None:
            rid = new_id()
        fresh_ids.append(rid)
        if e.get("fullUrl"):
            fullurls[e["fullUrl"]] = f"{rtype}/{rid}"
        pending.add(f"{rtype}/{rid}")
    resources = []
    want = state["require_security"]
    for i, (e, (method, rtype, _, status, matched), rid) in enumerate(
            zip(entries, plans, fresh_ids)):
        res = copy.deepcopy(e.get("resource"))
        if res is not None and want is not None and not any(
                c.get("system") == want.get("system") and c.get("code") == want.get("code")
                for c in (res.get("meta") or {}).get("security") or []):
            raise Refusal(400, "security", f"entry {i}: {rtype} has no meta.security "
                          f"{want.get('system')}|{want.get('code')}", "security")
        if res is not None:
            resolve_references(res, fullurls, pending, base_urls)
        resources.append(res)
    for (method, rtype, _, status, matched), rid, res in zip(plans, fresh_ids, resources):
        if method == "DELETE":
            delete_resource(rtype, rid)
            out.append({"response": {"status": status}})
            continue
        if method == "POST" and matched:
            version = state["store"][rtype][rid]["meta"]["versionId"]
        else:
            version = put_resource(rtype, rid, res)
        out.append({"fullUrl": f"{base_urls[0]}/{rtype}/{rid}", "response": {
            "status": status, "location": f"{rtype}/{rid}/_history/{version}",
            "etag": f'W/"{version}"'}})
    return out


def duplicates():
    """({Type: extra copies}, {Type: {"system|value": copies}})."""
    counts, dup = {}, {}
    for rtype in state["store"]:
        many = {f"{system or ''}|{value}": len(ids)
                for (system, value), ids in (state["index"].get(rtype) or {}).items()
                if system != "*" and len(ids) > 1}
        counts[rtype] = sum(n - 1 for n in many.values())
        if many:
            dup[rtype] = many
    return counts, dup


def capability(base_url):
    cond = state["conditional"]
    rest = {"mode": "server", "resource": [{
        "type": t, "interaction": [{"code": c} for c in ("create", "read", "search-type", "update")],
        "versioning": "versioned", "conditionalCreate": cond, "conditionalUpdate": cond,
        "searchParam": [{"name": "identifier", "type": "token"}]}
        for t in state["resource_types"]],
        "interaction": ([{"code": "transaction"}] if state["transaction"] else []) +
        [{"code": "batch"}]}
    if state["bearer_secret"] is not None:
        sec = {"service": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
            "code": "SMART-on-FHIR"}]}]}
        if state["token_url"]:
            sec["extension"] = [{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": "token", "valueUri": state["token_url"]}]}]
        rest["security"] = sec
    return {"resourceType": "CapabilityStatement", "status": "active", "date": now_iso()[:10],
            "kind": "instance", "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "implementation": {"description": "cellgate test FHIR store (fhirstore.py)",
                               "url": base_url},
            "rest": [rest]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # -- routing --

    def do_GET(self):
        if self.path == "/received":
            with lock:
                return self.answer(200, state["received"])
        if self.path == "/state":
            with lock:
                doc = {k: v for k, v in state.items() if k not in INTERNAL}
                doc["distinct"] = len(state["keys"])
                doc["resources"] = {t: len(v) for t, v in state["store"].items()}
                doc["duplicates_by_identifier"], doc["duplicated"] = duplicates()
                doc = json.loads(json.dumps(doc))
            return self.answer(200, doc)
        if self.path == "/resources":
            with lock:
                doc = {t: list(v.values()) for t, v in state["store"].items()}
                doc = json.loads(json.dumps(doc))
            return self.answer(200, doc)
        self.fhir("GET", b"")

    def do_PUT(self):
        self.fhir("PUT", self.read_body())

    def do_DELETE(self):
        self.fhir("DELETE", self.read_body())

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        body = self.read_body()
        if self.path == "/control":
            return self.control(json.loads(body))
        self.fhir("POST", body)

    def control(self, ctl):
        if ctl.get("expire_tokens"):
            t = time.time()
            time.sleep(int(t) + 1 - t)
            ctl["tokens_issued_before"] = int(t) + 1
        with lock:
            if ctl.get("reset"):
                state.clear()
                state.update(fresh())
            for k in SETTINGS:
                if k in ctl:
                    state[k] = ctl[k]
            if "refuse" in ctl:
                state["refuse"].append(ctl["refuse"])
            if "unrefuse" in ctl:
                state["refuse"] = [x for x in state["refuse"] if x != ctl["unrefuse"]]
            if ctl.get("refuse_none"):
                state["refuse"] = []
        return self.answer(200, {"ok": True})

    def fhir(self, method, body):
        with lock:
            mode, delay = state["mode"], state["delay"]
            late, state["delay_first"] = state["delay_first"], None
            state["concurrent"] += 1
            state["max_concurrent"] = max(state["max_concurrent"], state["concurrent"])
        self.late = late
        try:
            if mode == "slow" and method != "GET":
                time.sleep(delay)
            self.deliver(method, body)
        finally:
            with lock:
                state["concurrent"] -= 1

    # -- what a request is --

    def where(self):
        """(base path, type, id, version, query, special) of the request's path."""
        path, _, query = self.path.partition("?")
        parts = [p for p in path.split("/") if p]
        if parts and parts[-1] == "metadata":
            return "/" + "/".join(parts[:-1]), None, None, None, query, "metadata"
        if len(parts) >= 4 and parts[-2] == "_history" and TYPE_RE.match(parts[-4]):
            return "/" + "/".join(parts[:-4]), parts[-4], parts[-3], parts[-1], query, None
        if len(parts) >= 2 and TYPE_RE.match(parts[-2]):
            return "/" + "/".join(parts[:-2]), parts[-2], parts[-1], None, query, None
        if parts and TYPE_RE.match(parts[-1]):
            return "/" + "/".join(parts[:-1]), parts[-1], None, None, query, None
        return "/" + "/".join(parts), None, None, None, query, None

    def base_urls(self, base):
        base = base.rstrip("/")
        host = self.headers.get("Host") or f"127.0.0.1:{port}"
        return [f"https://{host}{base}", f"https://127.0.0.1:{port}{base}",
                f"https://localhost:{port}{base}"]

    def deliver(self, method, body):
        now = time.time()
        base, rtype, rid, vid, query, special = self.where()
        doc = None
        if body:
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
        n = len(doc.get("entry") or []) if isinstance(doc, dict) and doc.get(
            "resourceType") == "Bundle" else len(doc) if isinstance(doc, list) else int(bool(body))
        log = {"t": now, "method": method, "path": self.path, "status": None, "n": n,
               "auth": "Authorization" in self.headers,
               "key": self.headers.get("Idempotency-Key")}
        with lock:
            state["requests"].append(log)
            try:
                why = check_bearer(self.headers)
                if why:
                    state["unauthorized"] += 1
                    state["unauthorized_by_reason"][why] = \
                        state["unauthorized_by_reason"].get(why, 0) + 1
                    raise Refusal(401, "login", f"the bearer token is {why}" if why != "missing"
                                  else "a bearer token is required", None,
                                  {"WWW-Authenticate": f'Bearer error="invalid_token", '
                                   f'error_description="{why}"'})
                if state["mode"] == "fail":
                    extra = {}
                    if state["retry_after"] is not None:
                        extra["Retry-After"] = str(state["retry_after"])
                    raise Refusal(state["status"], "transient", "the registry is busy", None,
                                  extra)
                if method == "GET":
                    status, answer, headers = self.read(base, rtype, rid, vid, query, special)
                elif doc is None and method != "DELETE":
                    raise Refusal(400, "structure", "the body is not JSON")
                else:
                    status, answer, headers = self.write(method, doc, base, rtype, rid, query)
            except Refusal as r:
                if r.counted:
                    state["refusals"][r.counted] = state["refusals"].get(r.counted, 0) + 1
                status, answer, headers = r.status, oo(r.code, r.diagnostics), r.headers
            log["status"] = status
        if self.late:
            time.sleep(self.late)
        self.answer(status, answer, headers)

    def read(self, base, rtype, rid, vid, query, special):
        if special == "metadata":
            return 200, capability(self.base_urls(base)[0]), {}
        if rtype and rid:
            res = (state["store"].get(rtype) or {}).get(rid)
            if res is None or vid is not None and res["meta"]["versionId"] != vid:
                raise Refusal(404, "not-found", f"{rtype}/{rid} is not known")
            return 200, res, {"ETag": f'W/"{res["meta"]["versionId"]}"'}
        if rtype:
            state["searches"] += 1
            found = search(rtype, query)
            url = self.base_urls(base)[0]
            return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                         "link": [{"relation": "self", "url": f"{url}/{rtype}?{query}"}],
                         "entry": [{"fullUrl": f"{url}/{rtype}/{r['id']}", "resource": r,
                                    "search": {"mode": "match"}} for r in found]}, {}
        raise Refusal(404, "not-found", f"nothing at {self.path}")

    def write(self, method, doc, base, rtype, rid, query):
        urls = self.base_urls(base)
        bundle = isinstance(doc, dict) and doc.get("resourceType") == "Bundle" and \
            doc.get("type") in ("transaction", "batch") and rtype is None and method == "POST"
        if isinstance(doc, list) or (method == "POST" and rtype is None and not bundle):
            return self.legacy(doc)  # a records destination, or something unknown here
        if bundle:
            if doc["type"] == "transaction":
                if not state["transaction"]:
                    raise Refusal(400, "not-supported", "transaction not supported",
                                  "transaction")
                check_caps(doc)
                self.legacy_refused(doc)
                entries = run_entries(doc, urls)
            else:
                check_caps(doc)
                self.legacy_refused(doc)
                entries = []
                for i, e in enumerate(doc.get("entry") or []):
                    try:
                        entries += run_entries({"entry": [e]}, urls)
                    except Refusal as r:
                        if r.counted:
                            state["refusals"][r.counted] = state["refusals"].get(r.counted, 0) + 1
                        entries.append({"response": {"status": f"{r.status}", "outcome": oo(
                            r.code, r.diagnostics)}})
            self.legacy(doc)
            return 200, {"resourceType": "Bundle", "type": f"{doc['type']}-response",
                         "entry": entries}, {}
        # one resource: POST Type, PUT Type/id or Type?search, DELETE Type/id
        url = rtype + (f"/{rid}" if rid else "") + (f"?{query}" if query else "")
        req = {"method": method, "url": url}
        if method == "POST":
            cond = self.headers.get("If-None-Exist")
            if cond:
                req["ifNoneExist"] = cond
        entry = {"request": req}
        if method != "DELETE":
            if not isinstance(doc, dict) or doc.get("resourceType") != rtype:
                raise Refusal(400, "invalid", f"the body is not a {rtype}")
            if rid and doc.get("id") not in (None, rid):
                raise Refusal(400, "invalid", f"the resource's id is not {rid}")
            entry["resource"] = doc
        out = run_entries({"entry": [entry]}, urls)[0]["response"]
        if method == "POST":
            self.legacy(doc)
        status = int(out["status"].split()[0])
        if method == "DELETE":
            return status, oo("informational", "deleted", "information"), {}
        loc = out["location"]
        rt, i = loc.split("/")[:2]
        return status, state["store"][rt][i], {"Location": f"{urls[0]}/{loc}",
                                               "ETag": out["etag"]}

    # -- the outbox's figures, as before issue 13 --

    def legacy_refused(self, doc):
        for rec, _, _ in self.items(doc):
            if rec in state["refuse"]:
                raise Refusal(400, "business-rule", f"record {rec} is refused by this registry")

    def legacy(self, doc):
        """Counts what doc holds (created, duplicates, order); the answer of
        a records destination's or a lone resource's POST."""
        items = self.items(doc)
        self.legacy_refused(doc)
        if self.headers.get("Idempotency-Key"):
            state["idempotency_keys"].append(self.headers["Idempotency-Key"])
        for rec, patient, key in items:
            if key in state["keys"]:
                state["duplicates"] += 1
                state["duplicate_records"] += rec is not None
                if rec is not None:
                    state["duplicate_ids"].append(rec)
                continue
            state["keys"][key] = True
            state["created"] += 1
            if rec is not None:
                state["order"].setdefault(patient, []).append(rec)
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            state["received"].append(doc)
        return 200, {"resourceType": "Bundle", "type": "transaction-response",
                     "entry": [{"response": {"status": "201 Created"}} for _ in items]}, {}

    def items(self, doc):
        """(record id or None, patient, dedup key) for each thing created."""
        out = []
        if isinstance(doc, list):  # a records destination
            for r in doc:
                p = (r.get("patient", {}).get("identifiers") or [{}])[0]
                out.append((r.get("recordId"), f"{p.get('system')}|{p.get('value')}",
                            "rec:" + str(r.get("recordId"))))
            return out
        if doc.get("resourceType") == "Bundle" and doc.get("type") == "transaction":
            for e in doc.get("entry", []):
                req = e.get("request") or {}
                rec, patient = procedure_record(e)
                key = req.get("ifNoneExist") or json.dumps(e.get("resource"), sort_keys=True)
                out.append((rec, patient, f"{req.get('url')}?{key}"))
            return out
        cond = self.headers.get("If-None-Exist")
        key = cond or json.dumps(doc, sort_keys=True)
        return [(None, None, f"{self.path}?{key}")]

    def answer(self, status, doc, headers=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
ctx.load_verify_locations(f"{pki}/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED if args.client_cert == "required" else ssl.CERT_OPTIONAL


class Server(ThreadingHTTPServer):
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the gateway's timeout) is no news


server = Server(("127.0.0.1", port), Handler)
server.daemon_threads = True
# The handshake in the thread of the connection (its first read), not in
# accept: a client that stalls holds no one else up.
server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                do_handshake_on_connect=False)
print("ready", flush=True)
server.serve_forever()
