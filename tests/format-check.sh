#!/usr/bin/env bash
# Fails when a C file is not formatted as .clang-format says.
# Fix with: clang-format -i gateway/*/*.[ch] tests/*/*.[ch]
set -euo pipefail
clang_format=${1:-clang-format}
files=$(git ls-files --cached --others --exclude-standard 'gateway/*.[ch]' 'tests/*.[ch]' 2>/dev/null ||
	ls gateway/*/*.[ch] tests/*/*.[ch])
[ -n "$files" ] || { echo "format-check: no files found" >&2; exit 1; }
# shellcheck disable=SC2086
"$clang_format" --dry-run --Werror $files
echo "format-check: $(echo "$files" | wc -l) files formatted"
