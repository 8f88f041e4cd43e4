#!/usr/bin/env bash
# Installs the Debian 12 packages cellgate needs to build, test and run.
# Idempotent: prints nothing and touches nothing when all are present.
#
#   deploy/install-deps.sh            build and runtime packages
#   deploy/install-deps.sh --test     also what the test suite uses
#   deploy/install-deps.sh --bench    also what the benchmarks use
set -euo pipefail

build=(
	build-essential cmake pkg-config
	libcjson-dev libssl-dev libcurl4-openssl-dev libevent-dev
	libsqlite3-dev libpq-dev libyaml-dev
	openssl curl # certs/make-dev-pki.sh; the quick start posts with curl
)
test=(
	clang libclang-rt-14-dev clang-format libcmocka-dev python3 python3-pytest python3-cryptography curl
	nodejs npm # the Medplum FHIR cross-check (tests only)
	postgresql # the outbox on PostgreSQL: tests start their own server (initdb, pg_ctl)
)
bench=(wrk nginx-light)

want=("${build[@]}")
for arg in "$@"; do
	case "$arg" in
	--test) want+=("${test[@]}") ;;
	--bench) want+=("${test[@]}" ${bench[@]+"${bench[@]}"}) ;;
	*) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
	esac
done

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
