#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running node: installs packages, builds,
# initialises a node for a jurisdiction (default 32, Jawa Barat) with its SQLite data folder,
# adds an admin operator, starts it on a loopback port and prints how to file a complaint.
#   JURISDICTION=32.04 PORT=8081 DATA_DIR=/var/lib/lapor bash deploy/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
JURISDICTION="${JURISDICTION:-32}"
PORT="${PORT:-8080}"
DATA_DIR="${DATA_DIR:-$PWD/var/node-${JURISDICTION}}"
bash deploy/install-deps.sh
bash deploy/build.sh
BIN="$PWD/build/node/lapor-node"
if [ ! -f "$DATA_DIR/node.json" ]; then
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
