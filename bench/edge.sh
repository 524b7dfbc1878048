#!/usr/bin/env bash
# The HTTP edge under hostile clients (issue: bad input and faults), on demand:
#
#   bench/edge.sh [BUILD_DIR]    BUILD_DIR holds node/lapor-node (default: build/). Builds nothing.
#
# Starts a fresh node with init's settings (ulimit -n as this shell has it) and runs
# bench/edge_probe.py against it: a declared 200 MiB body, a 100 MiB chunked body, a 100 MiB
# endless header, 400 slow connections (then 20 s for the header deadline), 1,100 slow
# connections from one address; then stops the node (SIGTERM, exit 0 required) and runs fsck.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
NODE="$BUILD/node/lapor-node"
[[ -x "$NODE" ]] || { echo "edge.sh: $NODE is missing: build lapor-node" >&2; exit 2; }
if ! command -v python3 >/dev/null 2>&1; then
  echo "edge.sh: python3 not found, installing it (apt-get install -y python3)" >&2
  SUDO=""; [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y python3 >/dev/null
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapor-edge.XXXXXX")"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill -KILL "$PID" 2>/dev/null || true
  [[ "${KEEP:-0}" == 1 ]] && echo "edge.sh: kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$((20000 + RANDOM % 10000))
"$NODE" init --data-dir "$WORK/node" --jurisdiction 32 --listen "127.0.0.1:$PORT" >/dev/null
"$NODE" run --data-dir "$WORK/node" 2>"$WORK/node.log" &
PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.05
done
echo "revision: $(git -C "$ROOT" --no-optional-locks describe --always --dirty 2>/dev/null || echo unknown); ulimit -n $(ulimit -n) (hard $(ulimit -Hn)); node RSS at start $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$PID/status)"
python3 "$ROOT/bench/edge_probe.py" "$PORT" "$PID" 400
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
PID=""
echo "node exit on SIGTERM: $RC"
"$NODE" fsck --data-dir "$WORK/node" | tail -1
grep -i " error " "$WORK/node.log" | head -3 || true
exit "$RC"
