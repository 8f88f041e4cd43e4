#!/usr/bin/env bash
# Makes a development PKI for cellgate's tests and quick start, with the
# openssl command line only:
#   certs/make-dev-pki.sh DIR
# DIR receives (keys unencrypted, for development only, never production):
#   ca.crt, ca.key                 the development CA (ECDSA P-256)
#   server.crt, server.key         ECDSA P-256, SAN DNS:localhost, IP:127.0.0.1
#   server-rsa.crt, server-rsa.key RSA-2048, same names
#   ehr.crt, ehr.key               client: CN=ehr (a hospital integration engine)
#   registry.crt, registry.key     client: CN=registry
#   expired.crt, expired.key       client: CN=expired, valid in 2020 only
#   revoked.crt, revoked.key       client: CN=revoked, listed in crl.pem
#   crl.pem                        the CA's certificate revocation list
#   pseudonym.key                  a registry destination's secret key (pseudonyms,
#                                  date shifts: docs/privacy.md), 64 hex characters, 0600
# Running it again replaces everything in DIR.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
# The client extension section reads the client name from here.
export CG_CLIENT_NAME=unused

# A minimal CA database, so that `openssl ca` can set validity dates and
# revoke: `openssl x509` cannot backdate a certificate in OpenSSL 3.0.
mkdir -p "$work/new"
: >"$work/index.txt"
echo 1000 >"$work/serial"
echo 1000 >"$work/crlnumber"
cat >"$work/ca.cnf" <<EOT
[ ca ]
default_ca = dev
[ dev ]
dir = $work
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 825
default_crl_days = 3650
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:\${ENV::CG_CLIENT_NAME}.clients.cellgate.test
EOT

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
	-days 3650 -subj "/O=cellgate development/CN=cellgate development CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null

# issue NAME KEYSPEC EXTENSIONS [STARTDATE ENDDATE]
issue() {
	local name=$1 key=$2 ext=$3 dates=()
	if [ -n "${4:-}" ]; then
		dates=(-startdate "$4" -enddate "$5")
	fi
	if [ "$key" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key"
	fi
	openssl req -new -key "$dir/$name.key" -subj "/O=cellgate development/CN=${6:-$name}" \
		-out "$work/$name.csr"
	CG_CLIENT_NAME=${6:-$name} openssl ca -batch -config "$work/ca.cnf" -extensions "$ext" \
		${dates[@]+"${dates[@]}"} -in "$work/$name.csr" -out "$dir/$name.crt" -notext \
		2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
}

issue server ec server "" "" localhost
issue server-rsa rsa server "" "" localhost
issue ehr ec client
issue registry ec client
issue expired ec client 20200101000000Z 20201231000000Z
issue revoked ec client
openssl ca -batch -config "$work/ca.cnf" -revoke "$dir/revoked.crt" 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
openssl ca -batch -config "$work/ca.cnf" -gencrl -out "$dir/crl.pem" 2>"$work/ca.log" || { cat "$work/ca.log" >&2; exit 1; }
# The pseudonym key (umask 077: readable by its owner only, as cellgate
# insists).
openssl rand -hex 32 >"$dir/pseudonym.key"
chmod 644 "$dir"/*.crt "$dir/crl.pem"
echo "development PKI in $dir: $(cd "$dir" && ls | tr '\n' ' ')"
