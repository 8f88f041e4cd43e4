#!/usr/bin/env python3
"""A test upstream: a small HTTPS endpoint that records what it receives.

    receiver.py PORT PKI_DIR LOG

Requires a client certificate from PKI_DIR/ca.crt (the gateway's own
identity towards destinations). What it does depends on the first path
segment, so one receiver serves every case of the tests:
  /ok/...      201 with a transaction-response Bundle
  /reject/...  422 with an OperationOutcome
  /fail/...    500 with an OperationOutcome
  /slow/...    answers 201 after 5 s
  /big/...     201 with a 2 MB body (past the gateway's 1 MB cap)
  /bigreject/... 422 with a 2 MB OperationOutcome
Every request is appended to LOG as one JSON line: path, headers of interest,
the client certificate's subject and the body.
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, pki, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        peer = self.connection.getpeercert() or {}
        subject = dict(x[0] for x in peer.get("subject", ()))
        with lock, open(log_path, "a") as f:
            f.write(json.dumps({
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "request_id": self.headers.get("X-Request-Id"),
                "client_cn": subject.get("commonName"),
                "body": body.decode("utf-8"),
            }) + "\n")
        mode = self.path.split("/")[1]
        if mode == "slow":
            time.sleep(5)
        if mode == "fail":
            self.answer(500, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "fatal", "code": "exception",
                 "diagnostics": "the registry database is down"}]})
        elif mode == "big":
            self.answer(201, {"resourceType": "Bundle", "type": "transaction-response",
                              "entry": [{"response": {"status": "201 Created"}}],
                              "padding": "x" * (2 << 20)})
        elif mode == "bigreject":
            self.answer(422, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "business-rule",
                 "diagnostics": "y" * (2 << 20)}]})
        elif mode == "reject":
            self.answer(422, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "business-rule",
                 "diagnostics": "the registry refuses this"}]})
        else:
            self.answer(201, {"resourceType": "Bundle", "type": "transaction-response",
                              "entry": [{"response": {"status": "201 Created"}}]})

    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
ctx.load_verify_locations(f"{pki}/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
