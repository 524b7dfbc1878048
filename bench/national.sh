#!/usr/bin/env bash
# The national simulation: the hub and every province and regency/city (552 members) as real
# lapor-node processes on this machine, through a simulated year of complaints in accelerated
# time (bench/national.cc says what the year holds, what is checked and what is measured).
#
#   bash bench/national.sh [BUILD_DIR]      (default: build)
#
# BUILD_DIR must hold lapor-node, lapor-audit and lapor-bench-national (deploy/build.sh builds
# them). Steps: deploy/federation.sh creates the federation (up MEMBERS --detach, then down);
# every node.json gets the simulation's settings (below); the federation starts again with every
# node's clock reading one offset file (LAPOR_CLOCK_OFFSET_FILE), which the driver moves slot by
# slot through the year; after the checks it is stopped (exit 0 of every node required) and
# fsck runs on the hub and two members.
#
# Settings the accelerated clock needs (a real second is simulated hours): members report their
# statistics every STATS_INTERVAL_MS of real time; deadlines and auto-completions are looked at
# every SLA_INTERVAL_MS (sla_interval_ms: 250 ms, 4 s above 100 members); a node accepts
# another's requests signed up to two simulated days from its clock (request_window_ms: a request
# can wait in a queue for simulated hours, and the driver moves the clock in steps of hours); a
# member delivers to 4 destinations at once (delivery_threads); a delivery waiting for a case's
# earlier event is not moved to the dead letters after a simulated day (dead_letter_after_ms: 400
# days); the retention rule is off (retention_days 0: no erasures within the year); the hub's
# manifest is valid 400 days; no per-client limits on filings and access codes, and a member
# takes all its connections from one address (edge: the driver and every peer connect from
# 127.0.0.1); the hub takes 8000 connections, from one address too.
#
# Environment (all optional):
#   MEMBERS [552]             members (deploy/federation.sh up N: 552 = every code of data/regions)
#   COMPLAINTS [1500000]      complaints over the year
#   DAYS [365]                days simulated
#   CROSS_SHARE [0.30]        share of complaints about another member's region
#   WORKERS [48]              the driver's concurrent connections
#   CEILING [20000]           complaints of the one-node filing ceiling (at member 31)
#   STATS_INTERVAL_MS [5000; 15000 above 100 members]  members' statistics report interval
#                             (real time)
#   API_ROUNDS [20]           rounds of the national API query mix
#   AUDIT_SAMPLE [5]          nodes lapor-audit verifies
#   SEED [1]                  the draws' seed
#   BASE_PORT [9100]          the hub's port; members take the next MEMBERS ports
#   WORK [/var/tmp/lapor-national]  the federation's folder (deleted first; KEEP=1 keeps it after)
#   PRISTINE [/var/tmp/lapor-national-pristine/m<MEMBERS>-p<BASE_PORT>]  the created federation,
#                             kept for the next run (REUSE=0: create it again)
# Exits non-zero if a check fails. Slow figures are reported, not errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
NODE="$BUILD/node/lapor-node"
AUDIT="$BUILD/audit/lapor-audit"
DRIVER="$BUILD/bench/lapor-bench-national"
for bin in "$NODE" "$AUDIT" "$DRIVER"; do
  if [[ ! -x "$bin" ]]; then
    echo "national.sh: $bin is missing: build lapor-node, lapor-audit and lapor-bench-national" >&2
    exit 2
  fi
done

MEMBERS=${MEMBERS:-552}
WORK=${WORK:-/var/tmp/lapor-national}
FED="$WORK/federation"
OFFSET="$WORK/clock-offset"
rm -rf "$WORK"
mkdir -p "$WORK"

export LAPOR_FED_DIR="$FED" LAPOR_NODE_BIN="$NODE" BASE_PORT="${BASE_PORT:-9100}"
export READY_TIMEOUT=${READY_TIMEOUT:-900} STOP_TIMEOUT=${STOP_TIMEOUT:-300}
export MANIFEST_INTERVAL_MS=${MANIFEST_INTERVAL_MS:-5000}
# One report per member every 5 s is ~110 signed, durable reports a second at a 552-member hub:
# 15 s there.
export STATS_INTERVAL_MS=${STATS_INTERVAL_MS:-$((MEMBERS > 100 ? 15000 : 5000))}
# The SLA loop's turn costs ~0.2 ms however little is due: 552 members at 250 ms spent a fifth of
# the machine on it. Above 100 members it runs every 4 s (a simulated day is 4 clock steps, ~16 s
# at the national volume).
SLA_INTERVAL_MS=${SLA_INTERVAL_MS:-$((MEMBERS > 100 ? 4000 : 250))}
# Above 100 members each node spaces out its background passes (node.json; each pass of each of
# 553 nodes is a wake-up and, for the first two, an fdatasync): a signed checkpoint at most every
# second (an event is delivered once one covers it), the WAL copied every 2 s, the outbox looked
# for rows no commit announced every 10 s.
CHECKPOINT_INTERVAL_MS=${CHECKPOINT_INTERVAL_MS:-$((MEMBERS > 100 ? 1000 : 250))}
WAL_CHECKPOINT_INTERVAL_MS=${WAL_CHECKPOINT_INTERVAL_MS:-$((MEMBERS > 100 ? 2000 : 200))}
DISCOVERY_INTERVAL_MS=${DISCOVERY_INTERVAL_MS:-$((MEMBERS > 100 ? 10000 : 2000))}

stop_federation() { bash "$ROOT/deploy/federation.sh" down >>"$WORK/down.log" 2>&1 || true; }
trap stop_federation EXIT

# A created federation (keys, manifest, operators and liaisons; no complaints) is kept in
# PRISTINE and copied by the next run with the same MEMBERS and BASE_PORT: creating 552 members
# takes ~15 minutes. REUSE=0 creates it afresh.
PRISTINE=${PRISTINE:-/var/tmp/lapor-national-pristine/m$MEMBERS-p$BASE_PORT}
if [ "${REUSE:-1}" = 1 ] && [ -f "$PRISTINE/complete" ]; then
  echo "national.sh: copying the federation of the hub and $MEMBERS members created earlier ($PRISTINE) ..."
  t0=$(date +%s)
  cp -a "$PRISTINE/federation" "$FED"
  t1=$(date +%s)
  t1b=$t1
else
  echo "national.sh: creating a federation of the hub and $MEMBERS members in $FED ..."
  t0=$(date +%s)
  # The hub first, as deploy/federation.sh would make it, to raise its connection limits before it
  # ever starts: every member connects from 127.0.0.1 here, and holds a few connections to the hub.
  mkdir -p "$FED" && chmod 700 "$FED"
  "$NODE" init --data-dir "$FED/00" --jurisdiction 00 --listen "127.0.0.1:$BASE_PORT" >"$WORK/init-hub.log"
  sed -i -e 's/"max_connections": *[0-9]*/"max_connections": 8000/' \
    -e 's/"max_connections_per_client": *[0-9]*/"max_connections_per_client": 8000/' "$FED/00/node.json"
  bash "$ROOT/deploy/federation.sh" up "$MEMBERS" --detach >"$WORK/create.log" 2>&1 ||
    { tail -n 30 "$WORK/create.log" >&2; exit 1; }
  bash "$ROOT/deploy/federation.sh" down >>"$WORK/create.log" 2>&1
  t1=$(date +%s)

  # The liaisons while the nodes are stopped: a process per liaison (operator add) does not compete
  # with 553 running nodes.
  "$DRIVER" --liaisons-only --fed-dir "$FED" --offset-file "$OFFSET" --node-bin "$NODE" \
    --audit-bin "$AUDIT" --population "$ROOT/bench/population.csv" --holidays "$ROOT/data/holidays" \
    >"$WORK/liaisons.log" 2>&1 || { tail -n 30 "$WORK/liaisons.log" >&2; exit 1; }
  t1b=$(date +%s)

  rm -rf "$PRISTINE"
  mkdir -p "$PRISTINE" && chmod 700 "$PRISTINE"
  cp -a "$FED" "$PRISTINE/federation"
  touch "$PRISTINE/complete"
fi

# node.json: top-level "key": value lines, as deploy/federation.sh writes them.
cfg_set() {
  local f=$1 k=$2 v=$3
  if grep -q "^ *\"$k\":" "$f"; then
    sed -i -e "s|^\\( *\\)\"$k\": [^,]*,\$|\\1\"$k\": $v,|;t" -e "s|^\\( *\\)\"$k\": .*\$|\\1\"$k\": $v|" "$f"
  else
    sed -i "1a\\  \"$k\": $v," "$f"
  fi
}
while read -r code _; do
  case $code in '#'* | '') continue ;; esac
  f="$FED/$code/node.json"
  sed -i -e 's/"filings_per_minute": *[0-9]*/"filings_per_minute": 0/' \
    -e 's/"access_per_minute": *[0-9]*/"access_per_minute": 0/' "$f"
  [ "$code" = 00 ] || sed -i 's/"max_connections_per_client": *[0-9]*/"max_connections_per_client": 1000/' "$f"
  cfg_set "$f" sla_interval_ms "$SLA_INTERVAL_MS"
  cfg_set "$f" checkpoint_interval_ms "$CHECKPOINT_INTERVAL_MS"
  cfg_set "$f" wal_checkpoint_interval_ms "$WAL_CHECKPOINT_INTERVAL_MS"
  cfg_set "$f" discovery_interval_ms "$DISCOVERY_INTERVAL_MS"
  cfg_set "$f" dead_letter_after_ms 34560000000
  cfg_set "$f" retention_days 0
  cfg_set "$f" request_window_ms 172800000
  [ "$code" = 00 ] || cfg_set "$f" delivery_threads 4
  [ "$code" = 00 ] && cfg_set "$f" manifest_validity_ms 34560000000
done <"$FED/nodes.txt"

echo 0 >"$OFFSET"
export LAPOR_CLOCK_OFFSET_FILE="$OFFSET"
t2=$(date +%s)
bash "$ROOT/deploy/federation.sh" up --detach >"$WORK/up.log" 2>&1 ||
  { tail -n 30 "$WORK/up.log" >&2; exit 1; }
t3=$(date +%s)
echo "national.sh: created (or copied) in $((t1 - t0)) s, liaisons added in $((t1b - t1)) s; all $((MEMBERS + 1)) nodes serving the latest manifest $((t3 - t2)) s after start"

rc=0
"$DRIVER" --fed-dir "$FED" --offset-file "$OFFSET" --node-bin "$NODE" --audit-bin "$AUDIT" \
  --population "$ROOT/bench/population.csv" --holidays "$ROOT/data/holidays" \
  --complaints "${COMPLAINTS:-1500000}" --days "${DAYS:-365}" --cross-share "${CROSS_SHARE:-0.30}" \
  --workers "${WORKERS:-48}" --ceiling "${CEILING:-20000}" --api-rounds "${API_ROUNDS:-20}" \
  --audit-sample "${AUDIT_SAMPLE:-5}" --seed "${SEED:-1}" || rc=$?

t4=$(date +%s)
if ! bash "$ROOT/deploy/federation.sh" down >"$WORK/down.log" 2>&1; then
  echo "national.sh: FAILED: a node did not stop cleanly (see $WORK/down.log)" >&2
  rc=1
fi
t5=$(date +%s)
trap - EXIT
for code in 00 32 33; do
  [ -d "$FED/$code" ] || continue
  if out=$("$NODE" fsck --data-dir "$FED/$code" 2>&1); then
    echo "national.sh: fsck $code: clean"
  else
    echo "national.sh: FAILED: fsck $code: $out" >&2
    rc=1
  fi
done
echo "national.sh: stopped every node in $((t5 - t4)) s; whole run $((t5 - t0)) s"
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
exit "$rc"
