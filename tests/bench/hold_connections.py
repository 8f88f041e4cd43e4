#!/usr/bin/env python3
"""Opens N mutual-TLS connections to a gateway, completes the handshake and
one request on each (GET /healthz, keep-alive), holds them, and prints the
gateway's resident memory with them open: the sum of VmRSS (kB) of PIDS
(comma-separated: nginx has a master and workers).

    hold_connections.py PORT PKI_DIR PIDS N
"""
import socket
import ssl
import sys

port, pki, pid, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
ctx.load_cert_chain(f"{pki}/ehr.crt", f"{pki}/ehr.key")
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    conns.append(s)
rss = 0
for p in pid.split(","):
    with open(f"/proc/{p}/status") as f:
        rss += int([line.split()[1] for line in f if line.startswith("VmRSS:")][0])
print(rss)
for s in conns:
    s.close()
