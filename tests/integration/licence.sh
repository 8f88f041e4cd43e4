#!/usr/bin/env bash
# The licence: LICENSE is the Apache License 2.0 word for word (the text of
# https://www.apache.org/licenses/LICENSE-2.0.txt, whose SHA-256 is below),
# and README.md says so.
#   licence.sh
set -uo pipefail
src=$(realpath "${CG_SOURCE_DIR:-$(dirname "$0")/../..}")
apache_sha256=cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30
fail=0

if [ ! -f "$src/LICENSE" ]; then
	echo "FAIL no LICENSE file"; fail=1
elif [ "$(sha256sum <"$src/LICENSE" | cut -d' ' -f1)" != "$apache_sha256" ]; then
	echo "FAIL LICENSE is not the Apache License 2.0 text as published"; fail=1
else
	echo "ok   LICENSE is the Apache License 2.0"
fi
if grep -q '^## Licence' "$src/README.md" &&
	sed -n '/^## Licence/,/^## /p' "$src/README.md" | grep -q 'Apache License, Version 2.0' &&
	sed -n '/^## Licence/,/^## /p' "$src/README.md" | grep -q '(LICENSE)'; then
	echo "ok   README.md has a Licence section naming it"
else
	echo "FAIL README.md lacks a Licence section naming the Apache License, Version 2.0 and LICENSE"
	fail=1
fi
exit "$fail"
