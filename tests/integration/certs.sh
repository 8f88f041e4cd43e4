#!/usr/bin/env bash
# The development PKI (certs/make-dev-pki.sh) is what the gateway's tests and
# the quick start will rely on: every file is made, chains verify, the
# expired and revoked client certificates are refused for the right reason,
# the server names match, and a real mutual-TLS handshake (openssl s_server
# and s_client on loopback) succeeds with it and fails without a client
# certificate or with the expired one.
set -euo pipefail
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

"$src/certs/make-dev-pki.sh" "$work/pki" >/dev/null
cd "$work/pki"
for f in ca.crt server.crt server.key server-rsa.crt server-rsa.key ehr.crt ehr.key \
	registry.crt registry.key expired.crt expired.key revoked.crt revoked.key crl.pem \
	pseudonym.key; do
	[ -s "$f" ] || bad "missing $f"
done
[ "$(stat -c %a ehr.key)" = 600 ] && ok "private keys readable by the owner only" || bad "key mode"
[ "$(stat -c %a pseudonym.key)" = 600 ] && grep -qxE '[0-9a-f]{64}' pseudonym.key &&
	ok "pseudonym.key: 64 hex characters, owner only" || bad "pseudonym.key"

# openssl verify fails on the bad ones: only its words matter here.
verify() { openssl verify -CAfile ca.crt -crl_check -CRLfile crl.pem "$1" 2>&1 || true; }
for c in server server-rsa ehr registry; do
	verify $c.crt | grep -q ": OK$" && ok "$c.crt verifies" || bad "$c.crt does not verify"
done
verify expired.crt | grep -q "certificate has expired" && ok "expired.crt is expired" ||
	bad "expired.crt: $(verify expired.crt | tail -1)"
verify revoked.crt | grep -q "certificate revoked" && ok "revoked.crt is revoked" ||
	bad "revoked.crt: $(verify revoked.crt | tail -1)"
openssl x509 -in server.crt -noout -ext subjectAltName | grep -q "DNS:localhost, IP Address:127.0.0.1" &&
	ok "server SAN localhost and 127.0.0.1" || bad "server SAN"
openssl x509 -in server.crt -noout -text | grep -q "NIST CURVE: P-256" && ok "server key ECDSA P-256" ||
	bad "server key type"
openssl x509 -in server-rsa.crt -noout -text | grep -q "Public-Key: (2048 bit)" &&
	ok "server-rsa key RSA-2048" || bad "server-rsa key type"
openssl x509 -in ehr.crt -noout -ext extendedKeyUsage | grep -q "Client Authentication" &&
	ok "client certificates are for client authentication" || bad "client EKU"

# A real mutual-TLS handshake on loopback.
port=$((20000 + RANDOM % 20000))
openssl s_server -quiet -accept "127.0.0.1:$port" -cert server.crt -key server.key \
	-CAfile ca.crt -Verify 2 -verify_return_error -tls1_3 -www >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.1
done
# handshake [OPTIONS]: connects, asks for a page, prints everything; the
# server (-www) answers "HTTP/1.0 200 ok" only over an accepted connection.
handshake() {
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
			-CAfile ca.crt -verify_return_error "$@" 2>&1 || true
}
handshake -cert ehr.crt -key ehr.key | grep -q "^HTTP/1.0 200 ok" &&
	ok "mutual TLS with ehr.crt" || bad "mutual TLS with ehr.crt"
if handshake -cert expired.crt -key expired.key | grep -q "^HTTP/1.0 200"; then
	bad "the expired client certificate was accepted"
else
	ok "the expired client certificate is refused"
fi
if handshake | grep -q "^HTTP/1.0 200"; then bad "no client certificate was accepted"; else
	ok "no client certificate: refused"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
