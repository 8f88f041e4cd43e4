#!/usr/bin/env bash
# The layer rule (tests/layers.py): the tree as it is passes, and the check
# itself can fail: a copy of gateway/ with one wrong-way include added (core/
# including a server/ header) must be refused, naming the file and line.
set -euo pipefail
src=${CG_SOURCE_DIR:?}
python3 "$src/tests/layers.py" "$src/gateway"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/gateway" "$tmp/gateway"
echo '#include "server.h"' >>"$tmp/gateway/core/buf.c"
if out=$(python3 "$src/tests/layers.py" "$tmp/gateway"); then
	echo "FAIL: a wrong-way include was not caught" >&2
	exit 1
fi
grep -q "core/buf.c:[0-9]*: core/ includes server/server.h" <<<"$out" || {
	echo "FAIL: the wrong-way include was not named: $out" >&2
	exit 1
}
echo "layers: a wrong-way include is caught: $(head -1 <<<"$out")"
