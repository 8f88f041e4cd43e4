#!/usr/bin/env python3
"""A test outbound HTTP proxy (issue 13): hospital networks send everything
through one, and this one counts what passes.

    connect_proxy.py PORT STATE_FILE [USER:PASSWORD]

Plain HTTP on 127.0.0.1:PORT. CONNECT host:port opens a tunnel (HTTPS goes
through it untouched); a request with an absolute URI (GET http://h:p/x) is
forwarded to that server (Connection: close, one request per connection).
With USER:PASSWORD, each needs Proxy-Authorization: Basic base64(USER:PASSWORD);
without it, or wrong: 407 with Proxy-Authenticate: Basic realm="cellgate-test-proxy".
A target that cannot be reached: 502. Anything else: 400 / 405.
Prints "ready" once listening. After each event (connection refused, tunnel
opened, tunnel closed, request forwarded) the counts are written, whole
(rename), to STATE_FILE as JSON: a tunnel is counted before its 200 is sent
and a forwarded request before its answer is (the answer is read whole
first), but a tunnel's bytes only once it has closed ("open_tunnels" 0):
  {"connections", "tunnels", "open_tunnels", "requests", "refused" (407s),
   "failed" (502s), "bad" (400/405s), "bytes_up" (client to target),
   "bytes_down", "bytes", "targets": {"host:port": {"tunnels", "requests",
   "bytes_up", "bytes_down"}}, "log": [{"t", "kind": "CONNECT"|method,
   "target", "status", "auth" (a Proxy-Authorization header was sent)}]}
"""
import base64
import hmac
import json
import os
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

port, state_file = int(sys.argv[1]), sys.argv[2]
credentials = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()
counts = {"connections": 0, "tunnels": 0, "open_tunnels": 0, "requests": 0, "refused": 0,
          "failed": 0, "bad": 0, "bytes_up": 0, "bytes_down": 0, "bytes": 0, "targets": {},
          "log": []}


def save():
    """Writes the counts (lock held)."""
    tmp = f"{state_file}.tmp"
    with open(tmp, "w") as f:
        json.dump(counts, f)
    os.replace(tmp, state_file)


def event(target=None, **add):
    with lock:
        for k, v in add.items():
            if k == "log":
                counts["log"].append(v)
                continue
            counts[k] += v
            if target and k in ("tunnels", "requests", "bytes_up", "bytes_down"):
                t = counts["targets"].setdefault(
                    target, {"tunnels": 0, "requests": 0, "bytes_up": 0, "bytes_down": 0})
                t[k] += v
        counts["bytes"] = counts["bytes_up"] + counts["bytes_down"]
        save()


def read_head(sock):
    """The request head (bytes up to the blank line) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 65536:
            return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def authorized(headers):
    if credentials is None:
        return True
    got = headers.get("proxy-authorization", "")
    scheme, _, cred = got.partition(" ")
    want = base64.b64encode(credentials.encode()).decode()
    return scheme.lower() == "basic" and hmac.compare_digest(cred.strip(), want)


def relay(a, b, target):
    """Copies both ways until either side closes; bytes counted per direction."""
    up = down = 0
    socks = [a, b]
    try:
        while True:
            ready, _, _ = select.select(socks, [], [], 60)
            if not ready:
                break
            done = False
            for s in ready:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                (b if s is a else a).sendall(data)
                if s is a:
                    up += len(data)
                else:
                    down += len(data)
            if done:
                break
    except OSError:
        pass
    return up, down


class Handler(socketserver.BaseRequestHandler):
    def reply(self, status, reason, headers=(), body=b""):
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}",
                 "Connection: close", *headers]
        self.request.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def handle(self):
        sock = self.request
        event(connections=1)
        head, rest = read_head(sock)
        if head is None:
            return
        line, *hlines = head.split("\r\n")
        headers = {}
        for h in hlines:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        try:
            method, uri, _ = line.split(" ")
        except ValueError:
            event(bad=1)
            return self.reply(400, "Bad Request")
        entry = {"t": time.time(), "kind": method, "target": None, "status": None,
                 "auth": "proxy-authorization" in headers}
        if method == "CONNECT":
            target = uri
        else:
            u = urllib.parse.urlsplit(uri)
            if u.scheme != "http" or not u.hostname:
                entry["status"] = 400
                event(bad=1, log=entry)
                return self.reply(400, "Bad Request", body=b"absolute http:// URIs only\n")
            target = f"{u.hostname}:{u.port or 80}"
        entry["target"] = target
        if not authorized(headers):
            entry["status"] = 407
            event(refused=1, log=entry)
            return self.reply(407, "Proxy Authentication Required",
                              ['Proxy-Authenticate: Basic realm="cellgate-test-proxy"'])
        host, _, tport = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(tport)), timeout=10)
        except (OSError, ValueError):
            entry["status"] = 502
            event(failed=1, log=entry)
            return self.reply(502, "Bad Gateway")
        upstream.settimeout(None)
        with upstream:
            if method == "CONNECT":
                entry["status"] = 200
                event(target, tunnels=1, open_tunnels=1, log=entry)
                sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                up, down = relay(sock, upstream, target)
                event(target, open_tunnels=-1, bytes_up=up + len(rest), bytes_down=down)
                return
            path = urllib.parse.urlsplit(uri)
            origin = (path.path or "/") + (f"?{path.query}" if path.query else "")
            out = [f"{method} {origin} HTTP/1.1"]
            for h in hlines:
                k = h.partition(":")[0].strip().lower()
                if k not in ("proxy-authorization", "proxy-connection", "connection",
                             "keep-alive"):
                    out.append(h)
            out.append("Connection: close")
            data = ("\r\n".join(out) + "\r\n\r\n").encode()
            upstream.sendall(data + self.body(sock, headers, rest))
            up = len(data)
            answer = b""  # whole, so that it is counted before the client has it
            while chunk := upstream.recv(65536):
                answer += chunk
            try:
                entry["status"] = int(answer.split(b" ", 2)[1])
            except (IndexError, ValueError):
                entry["status"] = None
            event(target, requests=1, bytes_up=up, bytes_down=len(answer), log=entry)
            sock.sendall(answer)

    def body(self, sock, headers, rest):
        """The request's body, raw (Content-Length or chunked)."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            data = rest
            while not data.endswith(b"0\r\n\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
        n = int(headers.get("content-length", "0"))
        data = rest
        while len(data) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


server = Server(("127.0.0.1", port), Handler)
with lock:
    save()
print("ready", flush=True)
server.serve_forever()
