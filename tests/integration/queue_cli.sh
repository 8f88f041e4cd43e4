#!/usr/bin/env bash
# `cellgate queue` on a store as a gateway leaves it (made by
# tests/tools/store_fill, which says what it holds): each subcommand's text
# and JSON, its exit statuses (0 done, 1 not found, 2 usage or I/O), bodies
# never shown unless asked, nothing created where there is no store, and
# the command working while another process holds the write lock, and the
# store found through a configuration (--config).
#   queue_cli.sh CELLGATE STORE_FILL
set -uo pipefail
export LC_ALL=C # bytes as bytes: an upstream's answer need not be UTF-8
cellgate=$(realpath "$1")
fill=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
pass=0 fail=0

# expect NAME STATUS PATTERN COMMAND...: exit STATUS and PATTERN (grep -E) in
# stdout+stderr (an empty PATTERN checks the status only); stdout alone is
# kept in out.json for the JSON checks.
expect() {
	local name=$1 want=$2 pattern=$3 status
	shift 3
	"$@" >out.json 2>err.txt
	status=$?
	cat out.json err.txt >out.txt
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

# lacks NAME PATTERN: the last command's output does not match.
lacks() {
	if grep -Eq -- "$2" out.txt; then
		echo "FAIL $1: output has /$2/"; grep -E -- "$2" out.txt | head -5
		fail=$((fail + 1))
	else
		echo "ok   $1"; pass=$((pass + 1))
	fi
}

# json NAME PYTHON: the last command's stdout is one JSON document d for
# which the Python expression holds.
json() {
	if python3 -c 'import json, sys
d = json.load(open("out.json", encoding="utf-8"))
sys.exit(0 if eval("(" + sys.argv[1] + ")") else 1)' "$2"; then
		echo "ok   $1"; pass=$((pass + 1))
	else
		echo "FAIL $1: not ($2)"; head -c 800 out.json; echo
		fail=$((fail + 1))
	fi
}

# ids NAME WANT: the ids of the last list (text), space-separated.
ids() {
	local got
	got=$(awk -F'\t' 'NR > 1 { printf "%s%s", sep, $1; sep = " " }' out.json)
	if [ "$got" = "$2" ]; then
		echo "ok   $1"; pass=$((pass + 1))
	else
		echo "FAIL $1: ids '$got', want '$2'"; fail=$((fail + 1))
	fi
}

# --- no store, nothing made ---
expect "no store: exit 2, says so" 2 "^cellgate queue stats: no store at nope\.db$" \
	"$cellgate" queue --store nope.db stats
[ ! -e nope.db ] && { echo "ok   no store: none created"; pass=$((pass + 1)); } ||
	{ echo "FAIL no store: nope.db created"; fail=$((fail + 1)); }
expect "default path var/outbox.db" 2 "no store at var/outbox\.db" "$cellgate" queue list
[ ! -e var ] && { echo "ok   default path: nothing created"; pass=$((pass + 1)); } ||
	{ echo "FAIL default path: var/ created"; fail=$((fail + 1)); }
: >empty.db
expect "an empty file is not a store" 2 "not a cellgate store" "$cellgate" queue -s empty.db stats
echo "not sqlite, not at all, no, not even close to a database file......." >junk.db
expect "a file that is not SQLite" 2 "not a SQLite file" "$cellgate" queue -s junk.db stats

"$fill" s.db || { echo "FAIL store_fill"; exit 1; }
q=("$cellgate" queue --store s.db)

# --- usage ---
expect "no subcommand" 2 "which subcommand" "${q[@]}"
expect "unknown subcommand" 2 "unknown subcommand 'frob'" "${q[@]}" frob
expect "an option of another subcommand" 2 "^cellgate queue list: unknown option --body" \
	"${q[@]}" list --body
expect "bad --state" 2 "--state must be queued, in-flight, delivered, dead or withdrawn" \
	"${q[@]}" list --state waiting
expect "bad --limit" 2 "--limit: not a number" "${q[@]}" list --limit x
expect "show without id" 2 "which message" "${q[@]}" show
expect "show a bad id" 2 "abc is not a message id" "${q[@]}" show abc
expect "show two ids" 2 "not several" "${q[@]}" show 1 2
expect "find without what" 2 "--record ID or --tx TXID is required" "${q[@]}" find
expect "retry without id" 2 "which message" "${q[@]}" retry
expect "retry --dead with an id" 2 "unexpected argument 2" "${q[@]}" retry --dead 2
expect "retry ID --dest" 2 "--dest goes with --dead" "${q[@]}" retry 2 --dest registry
expect "purge without date" 2 "--delivered-before DATE is required" "${q[@]}" purge
expect "purge a bad date" 2 "--delivered-before: not YYYY-MM-DD" \
	"${q[@]}" purge --delivered-before 2026-02-30
expect "purge a bad age" 2 "--delivered-before: not YYYY-MM-DD" \
	"${q[@]}" purge --delivered-before 7w
expect "global options after the subcommand" 0 "^registry " \
	"$cellgate" queue stats --store s.db

# --- stats ---
expect "stats" 0 "^DESTINATION +QUEUED +IN-FLIGHT +DELIVERED +DEAD +WITHDRAWN +OLDEST-WAITING$" "${q[@]}" stats
expect "stats: registry" 0 "^registry +1 +0 +2 +1 +0 +720[0-9]s$" "${q[@]}" stats
expect "stats: archive (waiting: its in-flight one)" 0 "^archive +0 +1 +0 +1 +0 +86400[0-9]s$" \
	"${q[@]}" stats
expect "stats: totals" 0 "^\(total\) +1 +1 +2 +2 +0 +86400[0-9]s$" "${q[@]}" stats
expect "stats json" 0 "" "${q[@]}" --format json stats
json "stats json: per destination" '[x["destination"] for x in d["destinations"]] == ["archive", "registry"]
	and d["destinations"][1]["queued"] == 1 and d["destinations"][1]["delivered"] == 2
	and d["destinations"][1]["dead"] == 1 and d["destinations"][0]["inFlight"] == 1'
json "stats json: totals and age" 'd["total"]["dead"] == 2 and d["total"]["queued"] == 1
	and 864000 <= d["total"]["oldestWaitingSeconds"] < 864100'

# --- the store a configuration names (--config) ---
# Loaded as `cellgate serve` loads it: only that the files it names can be
# read is checked, so empty ones do for the listener's. outbox.path is
# relative to the file, not to the working directory.
mkdir -p conf/deploy
: >conf/deploy/tls.pem
# conf NAME DEST [MORE]: conf/deploy/NAME.yaml with one listener, one route
# to destination d (DEST: its definition) and MORE at the end.
conf() {
	cat >"conf/deploy/$1.yaml" <<EOT
listeners:
  - {address: 127.0.0.1, port: 9443, certificate: tls.pem, key: tls.pem, client_ca: tls.pem}
clients:
  ehr: {match: {san_dns: ehr.clients.cellgate.test}}
routes:
  - {method: POST, path: /records, accept: record, clients: [ehr], destination: d}
destinations:
  d: $2
${3:-}
EOT
}
conf outbox "{type: fhir, url: 'https://registry.example/fhir'}" \
	"outbox: {path: ../../s.db, max_depth: 1000}"
conf default "{type: records, url: 'https://registry.example/records'}"
conf direct "{type: fhir, mode: direct, url: 'https://registry.example/fhir'}"
conf env "{type: fhir, url: '\${CG_TEST_UNSET_UPSTREAM}'}"
expect "--config: its outbox.path, relative to the file" 0 "^registry +1 +0 +2 +1 " \
	"$cellgate" queue --config conf/deploy/outbox.yaml stats
expect "--config after the subcommand" 0 "" \
	"$cellgate" queue list --config conf/deploy/outbox.yaml --state dead
ids "--config: list" "2 6"
expect "--config: default var/outbox.db beside the file" 2 \
	"^cellgate queue stats: no store at /.*/conf/deploy/var/outbox\.db$" \
	"$cellgate" queue --config conf/deploy/default.yaml stats
expect "--config: no queue-mode destination, no outbox key" 2 \
	"^cellgate queue stats: conf/deploy/direct\.yaml has no store: no destination is in queue mode and there is no outbox key$" \
	"$cellgate" queue --config conf/deploy/direct.yaml stats
expect "--config: an unset variable" 2 \
	"environment variable CG_TEST_UNSET_UPSTREAM is not set" \
	"$cellgate" queue --config conf/deploy/env.yaml stats
expect "--config: the configuration has errors" 2 \
	"^cellgate queue stats: conf/deploy/env\.yaml: the configuration has errors$" \
	"$cellgate" queue --config conf/deploy/env.yaml stats
expect "--config: no such file" 2 "^cellgate queue list: nope\.yaml: No such file" \
	"$cellgate" queue --config nope.yaml list
[ ! -e conf/deploy/var ] && { echo "ok   --config: nothing created"; pass=$((pass + 1)); } ||
	{ echo "FAIL --config: var/ created beside the configuration"; fail=$((fail + 1)); }
expect "--store and --config" 2 "^cellgate queue stats: --store and --config both say where the store is: give one$" \
	"$cellgate" queue --store s.db --config conf/deploy/outbox.yaml stats

# --- list ---
expect "list" 0 "^ID	STATE	DESTINATION	TYPE	RECORD	ATTEMPTS	ACCEPTED	STATUS	REASON$" "${q[@]}" list
ids "list: all, oldest first" "1 2 3 4 5 6"
expect "list: a dead one's line" 0 \
	"^2	dead	registry	record	rec-2	1	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z	422	refused: unknown code$" \
	"${q[@]}" list
lacks "list: never a body" "BODY-SECRET"
expect "list --dest --state" 0 "" "${q[@]}" list --dest archive --state dead
ids "list --dest archive --state dead" "6"
expect "list --state in-flight" 0 "" "${q[@]}" list --state in-flight
ids "list --state in-flight" "5"
expect "list --client" 0 "" "${q[@]}" list --client lab
ids "list --client lab" "3 6"
expect "list --limit: says how to go on" 0 "more messages follow: --after 2 for the next" \
	"${q[@]}" list --limit 2
ids "list --limit 2" "1 2"
expect "list --after" 0 "" "${q[@]}" list --limit 2 --after 2
ids "list --limit 2 --after 2" "3 4"
expect "list: the last page says nothing more" 0 "" "${q[@]}" list --limit 2 --after 4
ids "list --after 4" "5 6"
lacks "list: last page" "more messages"
expect "list: nothing matches" 0 "" "${q[@]}" list --dest nobody
[ ! -s out.json ] && { echo "ok   list: empty"; pass=$((pass + 1)); } ||
	{ echo "FAIL list: not empty"; fail=$((fail + 1)); }
expect "list json" 0 "" "${q[@]}" -f json list
json "list json: all, fields" '[m["id"] for m in d["messages"]] == [1, 2, 3, 4, 5, 6]
	and d["more"] is False and d["lastId"] == 6
	and d["messages"][1] == {"id": 2, "state": "dead", "destination": "registry",
		"type": "record", "recordId": "rec-2", "attempts": 1,
		"accepted": d["messages"][1]["accepted"], "status": 422,
		"reason": "refused: unknown code"}
	and d["messages"][1]["accepted"].endswith("Z") and d["messages"][4]["status"] is None'
lacks "list json: never a body" "BODY-SECRET"
expect "list json --limit" 0 "" "${q[@]}" list -f json --limit 2
json "list json: more" 'len(d["messages"]) == 2 and d["more"] is True and d["lastId"] == 2'
expect "list json: nothing" 0 "" "${q[@]}" list -f json --dest nobody
json "list json: empty" 'd == {"messages": [], "more": False, "lastId": None}'

# --- show ---
expect "show" 0 "^reason: +refused: unknown code$" "${q[@]}" show 2
expect "show: the upstream's answer" 0 '^response: +\{"resourceType":"OperationOutcome"' \
	"${q[@]}" show 2
expect "show: the body's size only" 0 "^body: +24 bytes, not shown \(patient data" "${q[@]}" show 2
lacks "show without --body: no body" "BODY-SECRET"
expect "show --body" 0 'BODY-SECRET-2' "${q[@]}" show 2 --body
expect "show json" 0 "" "${q[@]}" show 2 -f json
json "show json: every field, no body" 'd["id"] == 2 and d["key"] == "p2"
	and d["transaction"] == "tx-1" and d["client"] == "ehr" and d["bodyBytes"] == 24
	and "body" not in d and d["response"].startswith("{\"resourceType\"")
	and d["done"].endswith("Z") and d["nextAttempt"] is None'
lacks "show json without --body: no body" "BODY-SECRET"
expect "show json --body" 0 "" "${q[@]}" show 2 -f json --body
json "show json --body: the body" 'd["body"] == "{\"name\":\"BODY-SECRET-2\"}"'
# An upstream's answer can be any bytes: escaped for a terminal, made UTF-8
# (U+FFFD) for JSON, never cut at a NUL.
expect "show: a binary answer, escaped" 0 '^response: +<h1>Bad .* gateway</h1>\\x00\\x1b\[31m$' \
	"${q[@]}" show 6
if grep -q $'\x1b' out.txt; then
	echo "FAIL show: a raw ESC byte in the output"; fail=$((fail + 1))
else
	echo "ok   show: no raw ESC byte"; pass=$((pass + 1))
fi
expect "show json: a binary answer" 0 "" "${q[@]}" show 6 -f json
json "show json: the answer made UTF-8, whole" \
	'd["response"] == "<h1>Bad \ufffd gateway</h1>\ufffd\x1b[31m" and d["status"] == 502'
expect "show an unknown id" 1 "^cellgate queue show: no message 999$" "${q[@]}" show 999
expect "show --help says bodies are patient data" 0 "patient data" "${q[@]}" show --help

# --- find ---
expect "find --record" 0 "" "${q[@]}" find --record rec-1
ids "find --record rec-1" "1 4 5"
lacks "find: never a body" "BODY-SECRET"
expect "find --tx" 0 "" "${q[@]}" find --tx tx-2
ids "find --tx tx-2" "3 4"
expect "find both" 0 "" "${q[@]}" find --tx tx-1 --record rec-1
ids "find --tx tx-1 --record rec-1" "1 5"
expect "find nothing" 1 "no message of record nope" "${q[@]}" find --record nope
expect "find json" 0 "" "${q[@]}" find -f json --tx tx-2
json "find json" '[m["id"] for m in d["messages"]] == [3, 4]'

# --- the gateway's in-flight messages are left to it ---
expect "in flight stays in flight" 0 "" "${q[@]}" list --state in-flight
ids "in flight after every open" "5"

# --- retry ---
expect "retry a delivered one" 1 "message 1 is delivered, not dead" "${q[@]}" retry 1
expect "retry an unknown one" 1 "no message 999" "${q[@]}" retry 999
expect "retry a dead one" 0 "^1 message back in the queue$" "${q[@]}" retry 2
expect "retried: queued, attempts 0, outcome cleared" 0 "^attempts: +0$" "${q[@]}" show 2
expect "retried: queued" 0 "^state: +queued$" "${q[@]}" show 2
lacks "retried: no reason left" "refused"
expect "retry it again" 1 "message 2 is queued, not dead" "${q[@]}" retry 2
expect "retry --dead --dest" 0 "^0 messages back in the queue$" \
	"${q[@]}" retry --dead --dest registry
expect "retry --dead json" 0 "" "${q[@]}" -f json retry --dead
json "retry --dead json: count" 'd == {"requeued": 1}'
expect "nothing dead left" 0 "^\(total\) +3 +1 +2 +0 " "${q[@]}" stats

# --- purge ---
expect "purge before 2000" 0 "^0 messages delivered before 2000-01-01T00:00:00Z deleted$" \
	"${q[@]}" purge --delivered-before 2000-01-01
expect "purge 7 days old" 0 "^1 message delivered before .* deleted$" \
	"${q[@]}" purge --delivered-before 7d
expect "purged: one delivered left" 0 "" "${q[@]}" list --state delivered
ids "purged: the recent one left" "4"
expect "purge json, a date-time" 0 "" "${q[@]}" -f json purge --delivered-before 2999-01-01T00:00:00Z
json "purge json: count" 'd == {"deleted": 1}'
expect "purge leaves the others" 0 "^\(total\) +3 +1 +0 +0 " "${q[@]}" stats

# --- beside a gateway holding the write lock (WAL, busy timeout 5 s) ---
# Reads go on; a write waits for the lock and gets it once released.
"$fill" --hold s.db 2000 &
holder=$!
for _ in $(seq 50); do [ -e s.db.held ] && break; sleep 0.1; done
if [ -e s.db.held ]; then
	expect "list while the lock is held" 0 "" "${q[@]}" list
	ids "list while held" "2 3 5 6"
	if [ -e s.db.released ]; then
		echo "FAIL the lock was released before the write was tried (too slow a machine?)"
		fail=$((fail + 1))
	fi
	expect "retry waits for the lock" 0 "^0 messages back in the queue$" "${q[@]}" retry --dead
	[ -e s.db.released ] && { echo "ok   retry done after the release"; pass=$((pass + 1)); } ||
		{ echo "FAIL retry did not wait for the lock"; fail=$((fail + 1)); }
else
	echo "FAIL the holder never took the lock"; fail=$((fail + 1))
fi
if wait "$holder"; then
	echo "ok   the holder committed"; pass=$((pass + 1))
else
	echo "FAIL the holder failed"; fail=$((fail + 1))
fi

# --- help ---
for sub in stats list show find retry purge; do
	expect "queue $sub --help" 0 "^usage: cellgate queue $sub" "$cellgate" queue $sub --help
done
expect "help queue" 0 "^usage: cellgate queue" "$cellgate" help queue

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
