#!/usr/bin/env bash
# The gateway configuration: the example works as it is next to a dev PKI,
# and each kind of mistake is reported with its line, pointer and code
# (`cellgate serve --check-config`).
#   config.sh CELLGATE
set -euo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/deploy" "$work/certs"
"$src/certs/make-dev-pki.sh" "$work/certs/dev" >/dev/null
cp "$src/deploy/cellgate.example.yaml" "$work/deploy/"
cd "$work/deploy"
pass=0 fail=0

# expect NAME STATUS PATTERN < FILE: check the configuration on stdin
# (not in a pipe: the counts must stay in this shell)
expect() {
	local name=$1 want=$2 pattern=$3 status
	cat >case.yaml
	set +e
	"$cellgate" serve --check-config case.yaml >out.txt 2>&1
	status=$?
	set -e
	if [ "$status" -ne "$want" ] || ! grep -Eq -- "$pattern" out.txt; then
		echo "FAIL $name (exit $status)"; cat out.txt; fail=$((fail + 1)); return
	fi
	echo "ok   $name"
	pass=$((pass + 1))
}

expect "the example works as it is" 0 "configuration OK" <cellgate.example.yaml
sed 's/    port: 8443/    prot: 8443/' cellgate.example.yaml >in.yaml
expect "a typo" 1 "case.yaml:7:5: error\[unknown-field\] /listeners/0/prot: unknown member 'prot'; did you mean 'port'\?" <in.yaml
sed 's/    port: 8443/    port: 70000/' cellgate.example.yaml >in.yaml
expect "a port out of range" 1 "case.yaml:7:11: error\[range\] /listeners/0/port" <in.yaml
sed 's|server.key|nowhere.key|' cellgate.example.yaml >in.yaml
expect "a key file that is not there" 1 "case.yaml:9:10: error\[config-file\] /listeners/0/key: cannot read .*nowhere.key" <in.yaml
sed 's|    key: ../certs/dev/server.key|    key: ${CG_TEST_UNSET_KEY}|' cellgate.example.yaml >in.yaml
expect "an unset environment variable" 1 "error\[config-env\] /listeners/0/key: environment variable CG_TEST_UNSET_KEY is not set" <in.yaml
sed 's|    key: ../certs/dev/server.key|    key: ${CG_TEST_KEY}|' cellgate.example.yaml >env.yaml
if CG_TEST_KEY="$work/certs/dev/server.key" "$cellgate" serve --check-config env.yaml | grep -q OK; then
	echo "ok   a set environment variable"; pass=$((pass + 1))
else
	echo "FAIL a set environment variable"; fail=$((fail + 1))
fi
# ${NAME} stands for any scalar: a plain (unquoted) value is typed after
# the substitution as the same text written there would be, a quoted one
# stays a string; ${NAME:-default} when NAME is unset or empty.
sed 's/    port: 8443/    port: ${CG_TEST_PORT}/' cellgate.example.yaml >port.yaml
CG_TEST_PORT=8443 expect "\${NAME} as a number" 0 "configuration OK" <port.yaml
CG_TEST_PORT=http expect "\${NAME} not a number: at the value's line and column" 1 \
	"case.yaml:7:11: error\[type\] /listeners/0/port: must be a number" <port.yaml
CG_TEST_PORT=70000 expect "\${NAME} a number out of range" 1 "case.yaml:7:11: error\[range\] /listeners/0/port" <port.yaml
CG_TEST_PORT=true expect "\${NAME} as a boolean" 1 "case.yaml:7:11: error\[type\] /listeners/0/port: .*boolean" <port.yaml
expect "\${NAME} unset, no default: still an error" 1 \
	"case.yaml:7:11: error\[config-env\] /listeners/0/port: environment variable CG_TEST_PORT is not set" <port.yaml
if grep -q "must be a number" out.txt; then
	echo "FAIL the unreplaced \${NAME} reported twice"; cat out.txt; fail=$((fail + 1))
fi
sed 's/    port: 8443/    port: ${CG_TEST_UNSET_PORT:-8443}/' cellgate.example.yaml >in.yaml
expect "\${NAME:-default}, unset" 0 "configuration OK" <in.yaml
CG_TEST_UNSET_PORT= expect "\${NAME:-default}, empty" 0 "configuration OK" <in.yaml
CG_TEST_UNSET_PORT=9443 expect "\${NAME:-default}, set" 0 "configuration OK" <in.yaml
CG_TEST_UNSET_PORT=nope expect "\${NAME:-default}, set to a wrong value" 1 \
	"case.yaml:7:11: error\[type\] /listeners/0/port: must be a number" <in.yaml
sed 's/    port: 8443/    port: ${CG_TEST_UNSET_PORT-8443}/' cellgate.example.yaml >in.yaml
expect "\${NAME-default}, unset" 0 "configuration OK" <in.yaml
CG_TEST_UNSET_PORT= expect "\${NAME-default}, empty: empty, not the default" 1 \
	"case.yaml:7:11: error\[type\] /listeners/0/port: must be a number" <in.yaml
sed 's/    port: 8443/    port: "${CG_TEST_PORT}"/' cellgate.example.yaml >in.yaml
CG_TEST_PORT=8443 expect "\"\${NAME}\" quoted stays a string" 1 \
	"case.yaml:7:11: error\[type\] /listeners/0/port: must be a number" <in.yaml
sed 's/    port: 8443/    port: 84${CG_TEST_PORT}/' cellgate.example.yaml >in.yaml
CG_TEST_PORT=43 expect "\${NAME} within a plain value" 0 "configuration OK" <in.yaml
sed 's/^workers: .*//; s/^listeners:/workers: ${CG_TEST_WORKERS:-2}\nlisteners:/' cellgate.example.yaml >in.yaml
expect "\${NAME:-default} for workers" 0 "configuration OK" <in.yaml
sed 's|    key: ../certs/dev/server.key|    key: ${CG_TEST_UNSET_KEY:-../certs/dev/server.key}|' cellgate.example.yaml >in.yaml
expect "\${NAME:-default} in a path" 0 "configuration OK" <in.yaml
sed 's/^  - address: 127.0.0.1/  - address: ${CG_TEST_ADDRESS:-127.0.0.1}/' cellgate.example.yaml >in.yaml
CG_TEST_ADDRESS=true expect "\${NAME} true where a string belongs" 1 \
	"case.yaml:6:14: error\[type\] /listeners/0/address: must be a string" <in.yaml
sed 's/    port: 8443/    port: ${CG_TEST_PORT:-8443/' cellgate.example.yaml >in.yaml
expect "an unterminated \${NAME:-" 1 "case.yaml:7:11: error\[config-env\] /listeners/0/port" <in.yaml
sed 's/    port: 8443/    port: ${:-8443}/' cellgate.example.yaml >in.yaml
expect "\${:-default} without a name" 1 "case.yaml:7:11: error\[config-env\] /listeners/0/port" <in.yaml
sed 's/destination: registry-files$/destination: registry-filez/' cellgate.example.yaml >in.yaml
expect "a route to an undefined destination" 1 "error\[config-reference\] /routes/0/destination: no destination is called registry-filez" <in.yaml
sed 's/    clients: \[ehr\]/    clients: [ehr, lab]/' cellgate.example.yaml >in.yaml
expect "a route for an undefined client" 1 "error\[config-reference\] /routes/0/clients/1: no client is called lab" <in.yaml
sed 's/    accept: record /    accept: records/' cellgate.example.yaml >in.yaml
expect "an unknown code" 1 "error\[enum\] /routes/0/accept" <in.yaml
sed 's/^  - address: 127.0.0.1/  - address: 127.0.0.1\n    address: 0.0.0.0/' cellgate.example.yaml >in.yaml
expect "a repeated key" 1 "case.yaml:7:5: error\[json-duplicate-key\] /listeners/0/address" <in.yaml
long=$(printf 'a%.0s' $(seq 1900))
sed "s|    folder: ../var/ndjson|    folder: ../var/ndjson\n  upstream:\n    type: fhir\n    url: https://registry.example/$long|" cellgate.example.yaml >in.yaml
expect "a URL too long" 1 "error\[range\] /destinations/upstream/url: a destination URL has at most 1900 characters" <in.yaml
printf 'listeners: [\n  {address: 1\n' >in.yaml
expect "broken YAML" 1 "case.yaml:3:1: error\[config-syntax\]" <in.yaml
printf 'a: &x [1]\nb: *x\n' >in.yaml
expect "an alias" 1 "error\[config-syntax\] .*aliases" <in.yaml
printf 'listeners: []\n---\nother: 1\n' >in.yaml
expect "two documents" 1 "error\[config-syntax\] .*one YAML document" <in.yaml
: >in.yaml
expect "an empty file" 1 "error\[config-syntax\]" <in.yaml
if "$cellgate" serve --check-config nope.yaml >/dev/null 2>&1; then
	echo "FAIL a missing file"; fail=$((fail + 1))
else
	echo "ok   a missing file: exit $?"; pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
