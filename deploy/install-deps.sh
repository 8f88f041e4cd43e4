#!/usr/bin/env bash
# Installs the Debian 12 packages cellgate needs to build, test and run.
# Idempotent: prints nothing and touches nothing when all are present.
#
#   deploy/install-deps.sh            build and runtime packages
#   deploy/install-deps.sh --test     also what the test suite uses
#   deploy/install-deps.sh --bench    also what the benchmarks use
#   deploy/install-deps.sh --runtime  only the libraries the binary runs with
#                                     (the Dockerfile's runtime stage)
#   deploy/install-deps.sh --list ... prints the packages, one a line, and
#                                     installs nothing (tests/integration/deploy_static.py)
set -euo pipefail

build=(
	build-essential cmake pkg-config
	libcjson-dev libssl-dev libcurl4-openssl-dev libevent-dev
	libsqlite3-dev libpq-dev libyaml-dev
	openssl curl # certs/make-dev-pki.sh; the quick start posts with curl
)
# What `ldd cellgate` needs beyond libc6 (the -dev packages above depend on
# them): tests/integration/deploy_static.py checks that these cover it.
runtime=(
	libcjson1 libssl3 libcurl4 libevent-2.1-7 libevent-openssl-2.1-7 libevent-pthreads-2.1-7
	libsqlite3-0 libpq5 libyaml-0-2
	ca-certificates # destinations' public CAs when a destination gives no `ca`
)
test=(
	clang libclang-rt-14-dev clang-format libcmocka-dev python3 python3-pytest python3-cryptography curl
	nodejs npm # the Medplum FHIR cross-check (tests only)
	postgresql # the outbox on PostgreSQL: tests start their own server (initdb, pg_ctl)
	haproxy python3-yaml # the cluster test (HAProxy in front of gateways); deploy/static
)
bench=(wrk nginx-light)

base=("${build[@]}" "${runtime[@]}")
extra=()
list=0
for arg in "$@"; do
	case "$arg" in
	--runtime) base=("${runtime[@]}") ;;
	--test) extra+=("${test[@]}") ;;
	--bench) extra+=("${test[@]}" ${bench[@]+"${bench[@]}"}) ;;
	--list) list=1 ;;
	*) echo "usage: $0 [--runtime] [--test] [--bench] [--list]" >&2; exit 2 ;;
	esac
done
want=("${base[@]}" ${extra[@]+"${extra[@]}"})
if [ "$list" -eq 1 ]; then
	printf '%s\n' "${want[@]}" | awk '!seen[$0]++'
	exit 0
fi

missing=()
for pkg in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
# A command found on PATH is as good as its package (node from another source).
if [[ " ${missing[*]} " == *" nodejs "* ]] && command -v node >/dev/null; then
	missing=("${missing[@]/nodejs/}")
fi
if [[ " ${missing[*]} " == *" npm "* ]] && command -v npm >/dev/null; then
	missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo for: ${missing[*]}" >&2; exit 2; }
	sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
