#!/usr/bin/env bash
# Benchmark of `cellgate validate` against its peer measured in the same run:
# plain cJSON_ParseWithLength + cJSON_Delete of the same NDJSON lines
# (parse_baseline.c). One command, from a clean clone:
#   tests/bench/validate.sh [RECORDS]     (default 100000)
# Both run pinned to one core, best and median of 5 runs each, wall time of
# the whole process (reading the file included) for both. Writes the result
# table into docs/benchmarks.md between the validate markers, and prints it.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
records=${1:-100000}
runs=7
out=$root/tests/bench/out
mkdir -p "$out"

./deploy/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" >/dev/null
cc -O2 -o "$out/parse_baseline" tests/bench/parse_baseline.c $(pkg-config --cflags --libs libcjson)

data=$out/records-$records.ndjson
[ -s "$data" ] || python3 tests/bench/gen_records.py "$records" 1 >"$data"
bytes=$(stat -c %s "$data")

# The generated records must all be valid, or the benchmark measures error paths.
if ! build/bench/cellgate validate --quiet "$data"; then
	echo "validate.sh: generated records are not all valid" >&2
	exit 1
fi

# time_runs CMD...: prints the wall seconds of each run, one a line.
time_runs() {
	local i start end
	for ((i = 0; i < runs; i++)); do
		start=$(date +%s%N)
		taskset -c 0 "$@" >/dev/null
		end=$(date +%s%N)
		awk -v ns=$((end - start)) 'BEGIN {printf "%.4f\n", ns / 1e9}'
	done
}
stats() { sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f\n", a[1], a[int((NR+1)/2)]}'; }

read -r v_best v_med < <(time_runs build/bench/cellgate validate --quiet "$data" | stats)
read -r p_best p_med < <(time_runs "$out/parse_baseline" "$data" | stats)

rate() { awk -v n="$records" -v s="$1" 'BEGIN {printf "%d", n / s}'; }
ratio=$(awk -v a="$v_med" -v b="$p_med" 'BEGIN {printf "%.2f", a / b}')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
table=$(cat <<EOT
Run on $(date -u +%Y-%m-%d) on \`$(hostname)\`: $cpu, $(nproc) cores (one used), $(free -g | awk '/Mem:/ {print $2}') GiB,
$(. /etc/os-release && echo "$PRETTY_NAME"), $(cc --version | head -1), cJSON $(pkg-config --modversion libcjson).
$records generated records (\`tests/bench/gen_records.py\`), $((bytes / records)) bytes each on average, $((bytes / 1048576)) MiB of NDJSON.

| what | best of $runs | median | records/s (best) | records/s (median) |
|---|---|---|---|---|
| \`cellgate validate\` (read, split, parse, every rule) | ${v_best} s | ${v_med} s | $(rate "$v_best") | $(rate "$v_med") |
| peer: plain \`cJSON_ParseWithLength\` + \`cJSON_Delete\` per line | ${p_best} s | ${p_med} s | $(rate "$p_best") | $(rate "$p_med") |

Validation costs **${ratio}×** plain parsing, medians compared (target: at most 3×). Throughput
target: 50,000 records/s on one core. This machine is shared: the spread between best and
median is other load, which is why both are shown.
EOT
)
echo "$table"
echo "$table" >"$out/validate.md"

# Replace the section between the markers in docs/benchmarks.md.
python3 - "$root/docs/benchmarks.md" "$out/validate.md" <<'PY'
import sys
doc, new = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(doc).read()
begin, end = "<!-- validate:begin -->", "<!-- validate:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(doc, "w").write(text[:a] + "\n" + new + "\n" + text[b:])
PY
