#!/usr/bin/env bash
# The layering check must fail on a back-arrow: a copy of the tree where crypto/ includes a
# storage/ header (and one where a new node/ header reaches into audit/) is refused, naming it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for folder in base crypto proto protocol storage federation node audit harness bench fuzz tests; do
  cp -r "$ROOT/$folder" "$TMP/"
done
bash "$TMP/tests/check_layering.sh" "$TMP" >/dev/null  # the copy itself is clean

sed -i '0,/#include "crypto\/encoding.h"/s//#include "crypto\/encoding.h"\n#include "storage\/store.h"/' \
  "$TMP/crypto/encoding.cc"
if out=$(bash "$TMP/tests/check_layering.sh" "$TMP"); then
  echo "FAIL: a crypto/ -> storage/ include was accepted"; exit 1
fi
grep -q "crypto/encoding.cc -> storage/store.h" <<<"$out" || { echo "FAIL: not named: $out"; exit 1; }

cp "$ROOT/crypto/encoding.cc" "$TMP/crypto/encoding.cc"
printf '#include "audit/verifier.h"\n' >"$TMP/node/back_arrow.h"
if out=$(bash "$TMP/tests/check_layering.sh" "$TMP"); then
  echo "FAIL: a node/ -> audit/ include was accepted"; exit 1
fi
grep -q "node/back_arrow.h -> audit/verifier.h" <<<"$out" || { echo "FAIL: not named: $out"; exit 1; }
rm "$TMP/node/back_arrow.h"
sed -i 's/target_link_libraries(lapor_audit PUBLIC lapor_protocol/target_link_libraries(lapor_audit PUBLIC lapor_node_core lapor_protocol/' \
  "$TMP/audit/CMakeLists.txt"
if out=$(bash "$TMP/tests/check_layering.sh" "$TMP"); then
  echo "FAIL: audit/ linking the node's core was accepted"; exit 1
fi
grep -q "audit/CMakeLists.txt links lapor_node_core" <<<"$out" || { echo "FAIL: not named: $out"; exit 1; }
echo "PASS: back-arrows (includes and links) are refused and named"
