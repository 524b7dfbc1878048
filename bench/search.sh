#!/usr/bin/env bash
# Search benchmark: a fresh node filled with CASES complaints of varied Indonesian text (one in
# CONFIDENTIAL_EVERY confidential), then GET /api/v1/search latency, one client at a time (wrk
# -c1), for an admin (the index plus the sealed confidential cases it may read) and an auditor
# (the index only), for a few kinds of query; the index's size; how far the index, written off the
# commit path, trails a burst of filings and how long it takes to catch up; and the indexer's rate
# over all those cases after the migration to schema 10 (which only notes them), against a
# ceiling measured in the same run: SQLite's FTS5 trigram insert of the same text in one
# statement.
#
#   bench/search.sh [BUILD_DIR]     BUILD_DIR holds node/lapor-node (default: build/). Builds nothing.
#
# Environment (defaults in brackets): CASES [100000], CONFIDENTIAL_EVERY [20], DURATION [10]
# seconds of wrk per query kind and role, TMPDIR [/tmp] (a real disk), KEEP=1 keeps the folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
NODE="$BUILD/node/lapor-node"
CASES="${CASES:-100000}"
DURATION="${DURATION:-10}"
export CONFIDENTIAL_EVERY="${CONFIDENTIAL_EVERY:-20}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapor-search-bench.XXXXXX")"
DIR="$WORK/node"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
"$NODE" init --data-dir "$DIR" --jurisdiction 32 --listen "127.0.0.1:$PORT" >/dev/null
python3 - "$DIR/node.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["edge"]["filings_per_minute"] = 0   # the fill is one client
json.dump(c, open(p, "w"), indent=2)
PY
ADMIN=$("$NODE" operator add --data-dir "$DIR" --name Admin --role admin | tail -1)
AUDITOR=$("$NODE" operator add --data-dir "$DIR" --name Auditor --role auditor | tail -1)
"$NODE" run --data-dir "$DIR" 2>"$WORK/node.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.2; done

count() { sqlite3 "$DIR/lapor.db" 'SELECT count(*) FROM cases'; }
echo "filling $CASES complaints ..."
START=$(date +%s)
while [ "$(count)" -lt "$CASES" ]; do
  wrk -t2 -c32 -d5s -s "$ROOT/bench/search_fill.lua" "$URL" | grep '^FILL' || true
done
echo "filled $(count) cases ($(sqlite3 "$DIR/lapor.db" "SELECT count(*) FROM sealed WHERE kind = 'content'") confidential) in $(( $(date +%s) - START )) s"
pending() { sqlite3 "$DIR/lapor.db" 'SELECT count(*) FROM search_pending'; }
# How far the index trails the burst, and how long the committer takes to catch up once it ends.
BEHIND=$(pending)
START_NS=$(date +%s%N)
while [ "$(pending)" -gt 0 ]; do sleep 0.1; done
echo "index behind the burst at its end: $BEHIND cases, caught up in $(( ($(date +%s%N) - START_NS) / 1000000 )) ms"

declare -A QUERY=(
  [common_word_inside_words]="q=lubang"
  [three_words]="q=jembatan%20ambruk%20longsor"
  [word_and_filters]="q=sampah&status=belum_terverifikasi&category=kebersihan&region_code=32.04"
  [rare_word]="q=zzzqqq"
  [csv_page_of_500]="q=pasar&format=csv&limit=500"
)
for kind in common_word_inside_words three_words word_and_filters rare_word csv_page_of_500; do
  for role in admin auditor; do
    token=$ADMIN; [ "$role" = auditor ] && token=$AUDITOR
    line=$(TOKEN="$token" QUERIES="${QUERY[$kind]}" wrk -t1 -c1 -d"${DURATION}s" --latency \
      -s "$ROOT/bench/search_query.lua" "$URL" | grep '^SEARCH')
    echo "$kind $role ${QUERY[$kind]} $line"
  done
done

kill -TERM "$PID"; wait "$PID" || true; PID=""
sqlite3 "$DIR/lapor.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
DB_BYTES=$(stat -c %s "$DIR/lapor.db")
INDEX_BYTES=$(sqlite3 "$DIR/lapor.db" "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'case_text%'")
echo "database $DB_BYTES bytes, search index $INDEX_BYTES bytes ($(( INDEX_BYTES / $(count) )) per case)"

# The ceiling: SQLite's own FTS5 trigram insert of the same titles and descriptions, one statement.
START_NS=$(date +%s%N)
sqlite3 "$DIR/lapor.db" "CREATE VIRTUAL TABLE temp.ceiling USING fts5(title, description, tokenize = 'trigram');
  INSERT INTO temp.ceiling(title, description) SELECT title, description FROM case_text;" >/dev/null
CEIL_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
INDEXED=$(sqlite3 "$DIR/lapor.db" 'SELECT count(*) FROM case_text')

# The migration 9 -> 10 on these cases (the index and its tables dropped, the version set back):
# it only notes them; then the node, idle, indexes them in the background.
sqlite3 "$DIR/lapor.db" 'DROP TABLE case_text; DROP TABLE search_pending; DROP INDEX sealed_content; PRAGMA user_version=9'
START_NS=$(date +%s%N)
"$NODE" operator list --data-dir "$DIR" >/dev/null   # opens the store: migrates
echo "migration 9 -> 10 (noting $(count) cases): $(( ($(date +%s%N) - START_NS) / 1000000 )) ms"
"$NODE" run --data-dir "$DIR" 2>>"$WORK/node.log" &
PID=$!
START_NS=$(date +%s%N)
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.2; done
while [ "$(pending)" -gt 0 ]; do sleep 0.1; done
INDEX_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
python3 - "$INDEXED" "$INDEX_MS" "$CEIL_MS" <<'PY'
import sys
n, ms, ceil = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rate, ceil_rate = n / (ms / 1000), n / (ceil / 1000)
print(f"background indexing: {n} public cases in {ms} ms ({rate:,.0f}/s, from start); "
      f"ceiling (one FTS5 INSERT ... SELECT): {ceil} ms ({ceil_rate:,.0f}/s); ratio {rate / ceil_rate:.3f}")
PY
