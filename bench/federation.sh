#!/usr/bin/env bash
# Federation benchmark: hub "00" + provinces 31 32 33 34 as real lapor-node processes on loopback.
#
#   bash bench/federation.sh [BUILD_DIR]      (default: build)
#
# BUILD_DIR must hold the targets lapor-node and lapor-bench-federation:
#   cmake -S . -B BUILD_DIR -DCMAKE_BUILD_TYPE=Release
#   cmake --build BUILD_DIR -j1 --target lapor-node lapor-bench-federation
#
# Environment (all optional; passed to bench/fedbench.cc, which documents the phases):
#   EVENTS [20000]          cross-jurisdiction complaints (phase X; also the local ceiling L1)
#   SINGLE [10000]          complaints at node 34 alone (its own ingest ceiling, L2)
#   PACED [2000]            cross-jurisdiction complaints at PACED_RATE (phase P: lag below saturation)
#   PACED_RATE [200]        complaints/s of phase P, the four origins together
#   CATCHUP [5000]          complaints about 34 filed while it is down (phase C)
#   CONNECTIONS [8]         keep-alive connections per origin node
#   DELIVERY_BATCH [256]    node.json delivery_batch
#   RETRY_INITIAL_MS [200]  node.json retry_initial_ms
#   RETRY_MAX_MS [30000]    node.json retry_max_ms
#   KEEP=1                  keep the data folders (/tmp/lapor-federation-*)
#
# Exits non-zero if a check fails (a non-201, a lost or duplicated event, a node that does not
# stop cleanly, fsck, a delivery that never finishes). Slow figures are reported, not errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BUILD="$(cd "$BUILD" && pwd)"
NODE="$BUILD/node/lapor-node"
DRIVER="$BUILD/bench/lapor-bench-federation"
for bin in "$NODE" "$DRIVER"; do
  if [[ ! -x "$bin" ]]; then
    echo "federation.sh: $bin is missing: build the targets lapor-node and lapor-bench-federation" >&2
    exit 2
  fi
done

FSTYPE="$(stat -f -c %T /tmp)"
if [[ "$FSTYPE" == tmpfs || "$FSTYPE" == ramfs ]]; then
  echo "federation.sh: WARNING: /tmp is $FSTYPE: fsync is free there" >&2
fi

ARGS=(--events "${EVENTS:-20000}" --single "${SINGLE:-10000}" --catchup "${CATCHUP:-5000}"
      --paced "${PACED:-2000}" --paced-rate "${PACED_RATE:-200}"
      --connections "${CONNECTIONS:-8}" --delivery-batch "${DELIVERY_BATCH:-256}"
      --retry-initial-ms "${RETRY_INITIAL_MS:-200}" --retry-max-ms "${RETRY_MAX_MS:-30000}")
[[ "${KEEP:-0}" == 1 ]] && ARGS+=(--keep)

machine_ticks() {  # "busy total" clock ticks of all CPUs so far (/proc/stat)
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; ++i) t += $i; print t - $5 - $6, t }' /proc/stat
}

echo "revision: $(git -C "$ROOT" --no-optional-locks describe --always --dirty 2>/dev/null || echo unknown)" \
  "(uncommitted: $(git -C "$ROOT" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | tr '\n' ' '))"
echo "lapor-node binary built $(date -u -r "$NODE" '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); data folders on /tmp ($FSTYPE)"
echo "command: $DRIVER ${ARGS[*]}"
M0="$(machine_ticks)"
T0="$(date +%s.%N)"
RC=0
LAPOR_NODE_BIN="$NODE" "$DRIVER" "${ARGS[@]}" || RC=$?
T1="$(date +%s.%N)"
M1="$(machine_ticks)"
awk -v a="$M0" -v b="$M1" -v t0="$T0" -v t1="$T1" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    printf "wall %.1f s; machine CPU busy %.0f%% over the run (all processes)\n", t1 - t0,
           100 * (y[1] - x[1]) / (y[2] - x[2]) }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$RC"
