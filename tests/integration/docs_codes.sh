#!/usr/bin/env bash
# docs/cli.md lists exactly the issue codes the binary has, with the same
# severities: the documentation of a stable contract must not drift.
#   docs_codes.sh CELLGATE
set -euo pipefail
cellgate=$1
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
doc=$src/docs/cli.md
pass=0 fail=0
while read -r code severity _; do
	if grep -Eq "^\| \`$code\` \| $severity \|" "$doc"; then
		pass=$((pass + 1))
	else
		echo "FAIL docs/cli.md has no row for $code ($severity)"
		fail=$((fail + 1))
	fi
done < <("$cellgate" validate --list-codes)
listed=$("$cellgate" validate --list-codes | awk '{print $1}' | sort)
documented=$(sed -n '/^### Issue codes/,/^## /p' "$doc" | grep -oE '^\| `[a-z0-9-]+`' | tr -d '|` ' | sort)
if [ "$listed" != "$documented" ]; then
	echo "FAIL docs/cli.md documents codes the binary does not have:"
	comm -13 <(echo "$listed") <(echo "$documented")
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
