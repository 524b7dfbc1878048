#!/usr/bin/env bash
# The kill -9 campaign across a federation (issue: bad input and faults), on demand:
#
#   bench/kill9.sh [BUILD_DIR]      BUILD_DIR holds node/lapor-node, audit/lapor-audit and
#                                   bench/lapor-bench-kill9 (default: build/). Builds nothing.
#
# Environment: CYCLES [100], SEED [1], CONVERGE_TIMEOUT_MS [60000].
# A hub and two provinces under load; each cycle SIGKILLs one of them (in turn: the member while
# it delivers, the owner while it receives, the hub while it relays), restarts it and waits until
# every acknowledged case is held alike by its origin, its owner and the hub; at the end fsck and
# `lapor-audit verify` (with the manifest) on every node. See bench/kill9.cc. Exits 1 if any
# check fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
NODE="$BUILD/node/lapor-node"
AUDIT="$BUILD/audit/lapor-audit"
DRIVER="$BUILD/bench/lapor-bench-kill9"
for bin in "$NODE" "$AUDIT" "$DRIVER"; do
  if [[ ! -x "$bin" ]]; then
    echo "kill9.sh: $bin is missing: build lapor-node, lapor-audit and lapor-bench-kill9" >&2
    exit 2
  fi
done
echo "revision: $(git -C "$ROOT" --no-optional-locks describe --always --dirty 2>/dev/null || echo unknown)"
echo "machine: nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $DRIVER --cycles ${CYCLES:-100} --seed ${SEED:-1} --converge-timeout-ms ${CONVERGE_TIMEOUT_MS:-60000}"
LAPOR_NODE_BIN="$NODE" LAPOR_AUDIT_BIN="$AUDIT" "$DRIVER" --cycles "${CYCLES:-100}" \
  --seed "${SEED:-1}" --converge-timeout-ms "${CONVERGE_TIMEOUT_MS:-60000}"
