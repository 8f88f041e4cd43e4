#!/usr/bin/env python3
"""A test FHIR server for the outbox's scenarios: it keeps what it is sent,
absorbs duplicates the way a FHIR server does with conditional creates, and
can be told to misbehave.

    fhirstore.py PORT PKI_DIR

HTTPS with a required client certificate (PKI_DIR/ca.crt). POST of a
transaction Bundle: each entry with request.ifNoneExist is created once (a
second one with the same condition is counted as a duplicate absorbed, as a
server would answer 200 instead of 201); POST of a lone resource: the same
with the If-None-Exist header; POST of a JSON array (a records destination):
each record kept once by recordId, with the Idempotency-Key header noted.
For each patient (the Procedure's subject identifier, or the record's first
patient identifier) the order in which their items were first created is
kept, to check the outbox's per-patient order.

GET /state: the figures as JSON. GET /received: every transaction Bundle
taken (200), as it came, oldest first. POST /control with a JSON object sets the
behaviour of what comes next:
  {"mode": "ok"}                      answer 200 with a transaction-response
  {"mode": "fail", "status": 503, "retry_after": 2}   refuse every request
  {"mode": "slow", "delay": 3}        answer after delay seconds
  {"refuse": "REC-ID"}                a Bundle holding that record's Procedure
                                      (or that recordId) is refused with 400
  {"unrefuse": "REC-ID"}              that record is taken again (the upstream
                                      fixed): no longer refused
  {"refuse_none": true}               no record is refused any more
  {"reset": true}                     forget everything
Every request's arrival time, size and status are kept in "requests".
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, pki = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()


def fresh():
    return {"mode": "ok", "status": 503, "retry_after": None, "delay": 0, "refuse": [],
            "created": 0, "duplicates": 0, "duplicate_records": 0, "keys": {}, "order": {}, "requests": [],
            "idempotency_keys": [], "concurrent": 0, "max_concurrent": 0, "received": []}


state = fresh()


def procedure_record(entry):
    """The record id a mapped Procedure carries (its identifier value), and
    the patient (subject identifier system|value)."""
    res = entry.get("resource") or {}
    if res.get("resourceType") != "Procedure":
        return None, None
    ident = (res.get("identifier") or [{}])[0].get("value")
    subj = (res.get("subject") or {}).get("identifier") or {}
    return ident, f"{subj.get('system')}|{subj.get('value')}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/received":
            with lock:
                return self.answer(200, state["received"])
        if self.path != "/state":
            return self.answer(404, {"resourceType": "OperationOutcome"})
        with lock:
            doc = {k: v for k, v in state.items() if k not in ("keys", "received")}
            doc["distinct"] = len(state["keys"])
        self.answer(200, doc)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/control":
            ctl = json.loads(body)
            with lock:
                if ctl.get("reset"):
                    state.clear()
                    state.update(fresh())
                for k in ("mode", "status", "retry_after", "delay"):
                    if k in ctl:
                        state[k] = ctl[k]
                if "refuse" in ctl:
                    state["refuse"].append(ctl["refuse"])
                if "unrefuse" in ctl:
                    state["refuse"] = [x for x in state["refuse"] if x != ctl["unrefuse"]]
                if ctl.get("refuse_none"):
                    state["refuse"] = []
            return self.answer(200, {"ok": True})
        with lock:
            mode, delay = state["mode"], state["delay"]
            state["concurrent"] += 1
            state["max_concurrent"] = max(state["max_concurrent"], state["concurrent"])
        try:
            self.deliver(body, mode, delay)
        finally:
            with lock:
                state["concurrent"] -= 1

    def deliver(self, body, mode, delay):
        if mode == "slow":
            time.sleep(delay)
        doc = json.loads(body)
        now = time.time()
        with lock:
            if state["mode"] == "fail":
                state["requests"].append({"t": now, "status": state["status"], "n": 0,
                                          "key": self.headers.get("Idempotency-Key")})
                extra = {}
                if state["retry_after"] is not None:
                    extra["Retry-After"] = str(state["retry_after"])
                return self.answer(state["status"], {
                    "resourceType": "OperationOutcome", "issue": [{
                        "severity": "error", "code": "transient",
                        "diagnostics": "the registry is busy"}]}, extra)
            items = self.items(doc)
            for rec, _, _ in items:
                if rec in state["refuse"]:
                    state["requests"].append({"t": now, "status": 400, "n": len(items)})
                    return self.answer(400, {"resourceType": "OperationOutcome", "issue": [{
                        "severity": "error", "code": "business-rule",
                        "diagnostics": f"record {rec} is refused by this registry"}]})
            if self.headers.get("Idempotency-Key"):
                state["idempotency_keys"].append(self.headers["Idempotency-Key"])
            for rec, patient, key in items:
                if key in state["keys"]:
                    state["duplicates"] += 1
                    state["duplicate_records"] += rec is not None
                    continue
                state["keys"][key] = True
                state["created"] += 1
                if rec is not None:
                    state["order"].setdefault(patient, []).append(rec)
            state["requests"].append({"t": now, "status": 200, "n": len(items),
                                      "key": self.headers.get("Idempotency-Key")})
            if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
                state["received"].append(doc)
        self.answer(200, {"resourceType": "Bundle", "type": "transaction-response",
                          "entry": [{"response": {"status": "201 Created"}}
                                    for _ in items]})

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
ctx.verify_mode = ssl.CERT_REQUIRED
class Server(ThreadingHTTPServer):
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the gateway's timeout) is no news


server = Server(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
