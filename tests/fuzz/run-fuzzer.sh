#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time from its checked-in seed corpus
# (tests/fuzz/corpus/<name>/) and dictionary, without writing into git.
#   run-fuzzer.sh FUZZER FUZZ_DIR SECONDS
# Longer runs on demand: tests/fuzz/run-fuzzer.sh build/fuzz/tests/fuzz_record tests/fuzz 3600
set -euo pipefail
fuzzer=$1 dir=$2 seconds=$3
name=$(basename "$fuzzer")
name=${name#fuzz_}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	-artifact_prefix="$work/")
[ -f "$dir/$name.dict" ] && args+=(-dict="$dir/$name.dict")
if ! "$fuzzer" "${args[@]}" "$work" "$dir/corpus/$name" 2>"$work/log"; then
	tail -n 60 "$work/log"
	for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$crash" ] || continue
		echo "reproducer ($crash), base64:"
		base64 -w0 "$crash"; echo
	done
	exit 1
fi
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/log" || true
echo "fuzz $name: no crash in $seconds s"
