#!/usr/bin/env bash
# Does a maximum-size federation batch (1024 items, ~16 MiB, every item a new case to apply)
# arriving at a node move the latency of its local submissions? A hub and three members as real
# lapor-node processes; ROUNDS times: wrk files complaints at node 32 alone (A), then the same
# while batches arrive from node 33 one after the other (B). Prints each round and one line
# "BENCH_BATCH ... p99_ratio=R ... goal=met|missed" (goal: p99 of B at most 1.2 times that of A,
# medians over the rounds). Builds nothing.
#
#   bench/batch.sh [BUILD_DIR]     (default: build/; needs bench/lapor-bench-batch and node/lapor-node)
# Environment: ROUNDS [4], DURATION [5] seconds per phase, CONNECTIONS [64], ITEM_BYTES [15360:
# a ~15 MiB batch; smaller items make a batch of as many items with fewer bytes].
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
BIN="$BUILD/bench/lapor-bench-batch"
[[ -x "$BIN" ]] || { echo "batch.sh: $BIN is missing: build the target lapor-bench-batch" >&2; exit 2; }
if ! command -v wrk >/dev/null 2>&1; then
  echo "batch.sh: wrk not found, installing it (apt-get install -y wrk)" >&2
  apt-get install -y wrk >/dev/null
fi
export LAPOR_NODE_BIN="$BUILD/node/lapor-node"
exec "$BIN" --rounds "${ROUNDS:-4}" --duration "${DURATION:-5}" ${ITEM_BYTES:+--item-bytes "$ITEM_BYTES"} \
  --connections "${CONNECTIONS:-64}" --script "$ROOT/bench/post_complaint.lua"
