#!/usr/bin/env bash
# The command line as a user meets it: exit statuses (0 valid, 1 invalid,
# 2 usage or I/O), standard input, messages, terminal safety, and the
# installed layout finding its own code tables.
#   cli_usage.sh CELLGATE
set -uo pipefail
cellgate=$(realpath "$1")
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
data=$src/tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
pass=0 fail=0

# expect NAME STATUS PATTERN COMMAND...: exit STATUS and PATTERN (grep -E) in
# stdout+stderr (an empty PATTERN checks the status only).
expect() {
	local name=$1 want=$2 pattern=$3 status
	shift 3
	"$@" >out.txt 2>&1
	status=$?
	if [ "$status" -ne "$want" ]; then
		echo "FAIL $name: exit $status, want $want"; head -c 800 out.txt; echo
		fail=$((fail + 1)); return
	fi
	if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" out.txt; then
		echo "FAIL $name: output lacks /$pattern/"; head -c 800 out.txt; echo
		fail=$((fail + 1)); return
	fi
	echo "ok   $name"
	pass=$((pass + 1))
}

valid=$data/records/valid-heart-failure.json
invalid=$data/golden/worked-example.json

expect "no command" 2 "usage: cellgate" "$cellgate"
expect "unknown command" 2 "unknown command" "$cellgate" frobnicate
expect "help" 0 "validate" "$cellgate" --help
expect "version" 0 "^cellgate [0-9]+\.[0-9]+\.[0-9]+$" "$cellgate" version
expect "version: the libraries as loaded" 0 "^OpenSSL 3\.[0-9]+\.[0-9]+ .*" "$cellgate" version
expect "version: libcurl, libevent, libyaml, cJSON" 0 "^cJSON [0-9]" "$cellgate" version
expect "validate without input" 2 "no input" "$cellgate" validate
expect "bad --format" 2 "--format must be text, json or outcome" "$cellgate" validate --format xml "$valid"
expect "bad --max-issues" 2 "max-issues" "$cellgate" validate --max-issues 0 "$valid"
expect "unknown option" 2 "usage" "$cellgate" validate --frobnicate "$valid"
# Option errors, for every command: exit 2 and a message naming the very
# option at fault (one table per command names, parses and documents each
# option, so the message, the parser and the usage text cannot disagree).
expect "validate: missing value" 2 "^cellgate validate: option --max-depth needs a value" \
	"$cellgate" validate "$valid" --max-depth
expect "validate: missing value, short option" 2 "^cellgate validate: option --format needs a value" \
	"$cellgate" validate "$valid" -f
for o in max-issues max-depth max-record-size max-string-size; do
	expect "validate: --$o not a number" 2 "^cellgate validate: --$o: not a number in the allowed range" \
		"$cellgate" validate --$o abc "$valid"
	expect "validate: --$o out of range" 2 "^cellgate validate: --$o: not a number in the allowed range \([0-9]+ to [0-9]+\)" \
		"$cellgate" validate --$o 0 "$valid"
done
expect "validate: the range is the option's own" 2 "^cellgate validate: --max-string-size: .*\(16 to 1073741824\)" \
	"$cellgate" validate --max-string-size 3 "$valid"
expect "validate: unknown option" 2 "^cellgate validate: unknown option --frobnicate" \
	"$cellgate" validate --frobnicate "$valid"
expect "validate: unknown short option" 2 "^cellgate validate: unknown option -z" \
	"$cellgate" validate -z "$valid"
expect "validate: a flag given a value" 2 "^cellgate validate: option --quiet takes no value" \
	"$cellgate" validate --quiet=yes "$valid"
expect "validate: --max-string-size works" 1 "json-string-too-long" \
	"$cellgate" validate --max-string-size 16 "$valid"
for o in format mappings quiet max-issues max-depth max-record-size max-string-size list-codes help; do
	expect "validate --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" validate --help
done
expect "map: missing value" 2 "^cellgate map: option --canonical-base needs a value" \
	"$cellgate" map --to fhir "$valid" --canonical-base
expect "map: bad value" 2 "^cellgate map: --to must be fhir or record" \
	"$cellgate" map --to xml "$valid"
expect "map: unknown option" 2 "^cellgate map: unknown option --frobnicate" \
	"$cellgate" map --to fhir --frobnicate "$valid"
for o in to canonical-base pretty mappings help; do
	expect "map --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" map --help
done
expect "serve: missing value" 2 "^cellgate serve: option --config needs a value" \
	"$cellgate" serve --config
expect "serve: missing value of --check-config" 2 "^cellgate serve: option --check-config needs a value" \
	"$cellgate" serve --check-config
expect "serve: unknown option" 2 "^cellgate serve: unknown option --frobnicate" \
	"$cellgate" serve --frobnicate
expect "serve: unexpected argument" 2 "^cellgate serve: unexpected argument extra" \
	"$cellgate" serve --check-config "$src/deploy/cellgate.example.yaml" extra
for o in config check-config mappings help; do
	expect "serve --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" serve --help
done
for bad in 127.0.0.1 127.0.0.1: 127.0.0.1:http 127.0.0.1:0 127.0.0.1:65536 localhost:8443 \
	::1:8443 [::1] [::1]8443 [127.0.0.1]:8443 300.1.1.1:8443 :8443; do
	re=$(printf '%s' "$bad" | sed 's/[].[]/[&]/g') # the value, literally
	expect "serve: --listen $bad" 2 "^cellgate serve: --listen $re: " "$cellgate" serve --listen "$bad"
done
expect "serve: --listen needs a value" 2 "^cellgate serve: option --listen needs a value \(ADDR:PORT\)" \
	"$cellgate" serve --listen
expect "serve --help lists --listen" 0 "^ +--listen ADDR:PORT" "$cellgate" serve --help
expect "queue: missing value" 2 "^cellgate queue: option --store needs a value \(PATH\)" \
	"$cellgate" queue --store
expect "queue: unknown option" 2 "^cellgate queue: unknown option --frobnicate" \
	"$cellgate" queue --frobnicate stats
expect "queue: bad --format" 2 "^cellgate queue: --format must be text or json" \
	"$cellgate" queue --format xml stats
expect "queue list: unknown option" 2 "^cellgate queue list: unknown option --frobnicate" \
	"$cellgate" queue list --frobnicate
expect "queue list: missing value" 2 "^cellgate queue list: option --dest needs a value" \
	"$cellgate" queue list --dest
expect "queue list: --limit out of range" 2 "^cellgate queue list: --limit: not a number in the allowed range" \
	"$cellgate" queue list --limit -1
expect "queue: --config needs a value" 2 "^cellgate queue: option --config needs a value \(FILE\)" \
	"$cellgate" queue --config
expect "queue: --store and --config" 2 "^cellgate queue stats: --store and --config both say where the store is" \
	"$cellgate" queue --store s.db stats --config cellgate.yaml
for o in store config format help; do
	expect "queue --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue --help
done
for sub in stats list show find retry purge; do
	expect "queue --help lists $sub" 0 "^  $sub " "$cellgate" queue --help
done
for o in store config format dest state client limit after help; do
	expect "queue list --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue list --help
done
for o in store config format body help; do
	expect "queue show --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue show --help
done
for o in record tx help; do
	expect "queue find --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue find --help
done
for o in dead dest help; do
	expect "queue retry --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue retry --help
done
for o in delivered-before help; do
	expect "queue purge --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue purge --help
done
for o in store config format help; do
	expect "queue stats --help lists --$o" 0 "^ +(-[a-z], )?--$o( |$)" "$cellgate" queue stats --help
done
expect "help lists queue" 0 "^  queue +the outbox" "$cellgate" --help
expect "version: unknown option" 2 "^cellgate version: unknown option --frobnicate" \
	"$cellgate" version --frobnicate
expect "version: unexpected argument" 2 "^cellgate version: unexpected argument extra" \
	"$cellgate" version extra
expect "help: unknown option" 2 "^cellgate help: unknown option --frobnicate" \
	"$cellgate" help --frobnicate
expect "help: unknown command" 2 "^cellgate help: unknown command 'frobnicate'" \
	"$cellgate" help frobnicate
expect "help COMMAND" 0 "^usage: cellgate map" "$cellgate" help map
expect "unknown command with options" 2 "^cellgate: unknown command 'frobnicate'" \
	"$cellgate" frobnicate --to
expect "unknown option before a command" 2 "^cellgate: unknown option --frobnicate" \
	"$cellgate" --frobnicate validate

expect "valid file" 0 "1 record checked: 1 valid, 0 invalid" "$cellgate" validate "$valid"
expect "invalid file" 1 "error\[unit\]" "$cellgate" validate "$invalid"
expect "quiet" 1 "" "$cellgate" validate --quiet "$invalid"
if grep -q "records\? checked" out.txt; then
	echo "FAIL quiet: summary printed"; fail=$((fail + 1))
fi
expect "missing file" 2 "nope.json: No such file" "$cellgate" validate nope.json
expect "missing file among valid ones" 2 "1 record checked" "$cellgate" validate "$valid" nope.json
expect "directory" 2 "Is a directory" "$cellgate" validate "$data"
expect "standard input, one record" 0 "1 record checked" sh -c "'$cellgate' validate - < '$valid'"
expect "standard input, NDJSON" 1 "4 records checked" sh -c "'$cellgate' validate - < '$data/golden/batch.ndjson'"
expect "standard input named in output" 1 "^<stdin>:" sh -c "'$cellgate' validate - < '$invalid'"
"$cellgate" validate --format outcome "$invalid" >outcome.json
expect "--format outcome is a valid FHIR OperationOutcome" 0 "1 valid" "$cellgate" validate outcome.json
expect "list codes" 0 "^json-duplicate-key +error" "$cellgate" validate --list-codes
expect "broken code tables" 2 "code tables: .*measures.json" "$cellgate" validate --mappings "$work" "$valid"
expect "write error" 2 "writing output" sh -c "'$cellgate' validate '$invalid' > /dev/full"

# A member name with an escape sequence must not reach the terminal raw.
printf '{"schemaVersion": "1.0", "\\u001b[31mred": 1}' >esc.json
expect "terminal escapes are shown, not sent" 1 'unknown member .\\x1b\[31mred' "$cellgate" validate esc.json
if grep -q $'\x1b' out.txt; then
	echo "FAIL raw ESC byte in the output"; fail=$((fail + 1))
fi

# Installed layout: <prefix>/bin/cellgate uses <prefix>/share/cellgate/mappings.
# Dropping lvef from the installed copy must change the verdict.
build=$(dirname "$cellgate")
if cmake --install "$build" --prefix "$work/prefix" >/dev/null 2>&1; then
	python3 - "$work/prefix/share/cellgate/mappings/measures.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
del d["entries"]["lvef"]
json.dump(d, open(p, "w"))
PY
	expect "installed binary uses installed tables" 1 "'lvef' is not a known measure" \
		env -u CELLGATE_MAPPINGS "$work/prefix/bin/cellgate" validate "$valid"
	expect "CELLGATE_MAPPINGS wins" 0 "1 valid" \
		env CELLGATE_MAPPINGS="$src/mappings" "$work/prefix/bin/cellgate" validate "$valid"
else
	echo "FAIL cmake --install"; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
