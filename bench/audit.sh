#!/usr/bin/env bash
# Auditor benchmark: `lapor-audit verify` over a log of COUNT events (default 1,000,000) served by
# a real node, against the raw libsodium crypto_sign_verify_detached rate measured in the same run.
#
#   bench/audit.sh [BUILD_DIR]        COUNT=1000000 THREADS=(all cores) KEEP=1 to keep the folder
#
# Steps: init a node; fill it with COUNT signed events (lapor-bench-loggen, in-process); start the
# node and wait until its checkpoint covers them; measure the raw verify rate (THREADS threads at
# once, messages of the log's mean signed size); run
# lapor-audit verify and time it. Goal: audit events/s >= 80% of (raw rate x threads used).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
COUNT="${COUNT:-1000000}"
THREADS="${THREADS:-$(nproc)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapor-audit-bench.XXXXXX")"
NODE_PID=""
cleanup() {
  [[ -n "$NODE_PID" ]] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$((10000 + RANDOM % 20000))

"$BUILD/node/lapor-node" init --data-dir "$WORK/node" --jurisdiction 32 --listen "127.0.0.1:$PORT" >/dev/null
T0=$(date +%s.%N)
"$BUILD/bench/lapor-bench-loggen" "$WORK/node" "$COUNT" 2
T1=$(date +%s.%N)
echo "log generated: $COUNT events in $(awk "BEGIN{print $T1 - $T0}") s"

"$BUILD/node/lapor-node" run --data-dir "$WORK/node" 2>"$WORK/node.log" &
NODE_PID=$!
for _ in $(seq 1 600); do
  SIZE=$(curl -sf "http://127.0.0.1:$PORT/log/checkpoint" 2>/dev/null | sed -n 2p || true)
  [[ "$SIZE" == "$COUNT" ]] && break
  sleep 0.5
done
[[ "$SIZE" == "$COUNT" ]] || { echo "audit.sh: checkpoint stuck at ${SIZE:-none}" >&2; exit 1; }
T2=$(date +%s.%N)
echo "node integrated the tree: checkpoint $SIZE after $(awk "BEGIN{print $T2 - $T1}") s"
VKEY=$(curl -sf "http://127.0.0.1:$PORT/log/vkey")

# The signed message of an event is its DSSE pre-authentication encoding, "DSSEv1 39 <type> N "
# and the N-byte payload; the envelope holds the same payload and type plus one signature with
# its key id and the protobuf tags. For these events (N of 3 digits) the encoding is 76 bytes
# shorter than the entry, so the messages are the log's mean entry size minus 76.
PAE_BYTES=$(python3 -c 'import sqlite3,sys; db=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print(int(db.execute("SELECT avg(length(envelope)) FROM events").fetchone()[0]) - 76)' "$WORK/node/lapor.db")
# The raw rate with THREADS threads verifying at once, as the auditor's workers do: measured just
# before and just after the audit, and averaged, so a drift of the host during the run is shared.
raw_rate() {
  "$BUILD/bench/lapor-bench-verify-rate" 3 "$THREADS" "$PAE_BYTES" |
    sed -n 's/VERIFY_RATE per_core=\([0-9]*\).*/\1/p'
}
RATE_BEFORE=$(raw_rate)
node_ticks() { awk '{print $14 + $15}' "/proc/$NODE_PID/stat"; }
N0=$(node_ticks)
A0=$(date +%s.%N)
TIMEFORMAT='%3U %3S'  # the auditor's user and system CPU seconds
{ time "$BUILD/audit/lapor-audit" verify --url "http://127.0.0.1:$PORT" --vkey "$VKEY" \
  --threads "$THREADS" --json >"$WORK/audit.json" 2>"$WORK/audit.err"; } 2>"$WORK/audit.cpu"
A1=$(date +%s.%N)
N1=$(node_ticks)
read -r AUDIT_USER AUDIT_SYS <"$WORK/audit.cpu"
NODE_CPU=$(awk "BEGIN{print ($N1 - $N0) / $(getconf CLK_TCK)}")
RATE_AFTER=$(raw_rate)
RATE=$(( (RATE_BEFORE + RATE_AFTER) / 2 ))
OK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$WORK/audit.json")
python3 - "$COUNT" "$A0" "$A1" "$RATE" "$THREADS" "$OK" "$RATE_BEFORE" "$PAE_BYTES" "$RATE_AFTER" \
  "$AUDIT_USER" "$AUDIT_SYS" "$NODE_CPU" <<'PY'
import sys
count, a0, a1, rate, threads, ok = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
secs = a1 - a0
eps = count / secs
ceiling = rate * threads
print(f"== audit of {count} events: {secs:.1f} s, {eps:.0f} events/s, verified ok: {ok}")
print(f"raw crypto_sign_verify_detached ({threads} threads at once, {sys.argv[8]}-byte messages): "
      f"{sys.argv[7]}/s per core before, {sys.argv[9]} after: {rate:.0f} x {threads} = {ceiling:.0f}/s")
user, sys_, node_cpu = float(sys.argv[10]), float(sys.argv[11]), float(sys.argv[12])
print(f"CPU: auditor {user:.1f} s user + {sys_:.1f} s system ({(user + sys_) / secs:.2f} cores, "
      f"{(user + sys_) / count * 1e6:.1f} us per event); the node serving it {node_cpu:.1f} s "
      f"({node_cpu / secs:.2f} cores)")
print(f"ratio {eps / ceiling:.3f}  goal >= 0.8: {'PASS' if eps >= 0.8 * ceiling else 'FAIL'}")
print(f"AUDIT_BENCH count={count} seconds={secs:.2f} events_per_s={eps:.0f} raw_per_core={rate:.0f} threads={threads} ratio={eps/ceiling:.3f} ok={ok}")
PY
[[ "$OK" == "True" ]]
