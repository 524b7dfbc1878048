#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running LAPOR! federation: installs packages
# (deploy/install-deps.sh), builds (deploy/build.sh), then runs `deploy/federation.sh up`: the
# national hub (00) and members 32, 33 and 32.04 on 127.0.0.1:8100-8103, a sample complaint filed
# at 32 about region 33, and the URLs, admin tokens and curls to try next. Ctrl-C stops every node.
#   bash deploy/quickstart.sh [N] [--detach] [--sample]   # arguments and environment as
#                                                          # deploy/federation.sh up (BASE_PORT,
#                                                          # LAPOR_FED_DIR, LAPOR_NODE_BIN...)
# A single node instead (initialises a node for a jurisdiction, default 32, Jawa Barat, with its
# SQLite data folder, adds an admin operator, starts it on a loopback port, prints how to file a
# complaint; Ctrl-C stops it):
#   MODE=single JURISDICTION=32.04 PORT=8081 DATA_DIR=/var/lib/lapor bash deploy/quickstart.sh
# SKIP_BUILD=1 skips the install and the build (with LAPOR_NODE_BIN, to try a prebuilt binary).
set -euo pipefail
ORIG_PWD=$PWD
cd "$(dirname "$0")/.."
MODE="${MODE:-federation}"
case $MODE in
  federation | single) ;;
  *) echo "quickstart.sh: MODE must be 'federation' (default) or 'single', got '$MODE'" >&2; exit 2 ;;
esac
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  bash deploy/install-deps.sh
  bash deploy/build.sh
fi
if [ "$MODE" = federation ]; then
  # federation.sh resolves relative paths in the environment against the folder it starts from.
  cd "$ORIG_PWD"
  exec bash "$(dirname "$0")/federation.sh" up "$@"
fi

abs_path() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$ORIG_PWD" "$1" ;; esac; }
JURISDICTION="${JURISDICTION:-32}"
PORT="${PORT:-8080}"
DATA_DIR=$(abs_path "${DATA_DIR:-$PWD/var/node-${JURISDICTION}}")
BIN=$(abs_path "${LAPOR_NODE_BIN:-$PWD/build/node/lapor-node}")
if [ ! -x "$BIN" ]; then
  echo "quickstart.sh: no lapor-node binary at $BIN: build it first with 'bash deploy/build.sh' (or set LAPOR_NODE_BIN)" >&2
  exit 1
fi
if [ ! -f "$DATA_DIR/node.json" ]; then
  mkdir -p "$(dirname "$DATA_DIR")"
  "$BIN" init --data-dir "$DATA_DIR" --jurisdiction "$JURISDICTION" --listen "127.0.0.1:$PORT"
  "$BIN" operator add --data-dir "$DATA_DIR" --name "first admin" --role admin
fi
"$BIN" run --data-dir "$DATA_DIR" --listen "127.0.0.1:$PORT" &
NODE=$!
trap 'kill -TERM $NODE 2>/dev/null; wait $NODE' INT TERM
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done
REGION="$JURISDICTION"
cat <<MSG

LAPOR! node $JURISDICTION is running at http://127.0.0.1:$PORT/  (data: $DATA_DIR; Ctrl-C stops it)
File a complaint:
  curl -s -X POST http://127.0.0.1:$PORT/api/v1/complaints -H 'Content-Type: application/json' \\
    -d '{"title":"Jalan berlubang","description":"Jalan di depan SDN 1 berlubang sejak sebulan","category":"infrastruktur","report_type":"pengaduan","region_code":"$REGION"}'

MSG
wait $NODE
