#!/usr/bin/env bash
# CI smoke test of the README's first command, `bash deploy/quickstart.sh`:
#   1. runs it in the background with a fresh temporary LAPOR_FED_DIR and free high ports
#      (BASE_PORT, picked at random unless set), and waits (SMOKE_TIMEOUT, 120 s) for its "Ready:"
#      line;
#   2. from what it PRINTED: runs the "file another complaint" curl and checks the reply has a
#      tracking id; runs the "look at the sample case at its owner" curl and checks it returns the
#      sample case owned by 33; fetches the sample case at the hub with the hub's printed admin
#      token; waits until the new complaint is at the owner and the hub too;
#   2b. runs the suite's browser walk-through (tests/browser/) on member 32.04 with the admin
#      and liaison tokens from tokens.txt (SMOKE_BROWSER=0: not);
#   3. sends SIGINT to quickstart's process group (like Ctrl-C) and checks that quickstart exits 0
#      within 60 s, that every node process (pid files) has exited and that each node's log ends
#      with "stopped cleanly".
# Prints PASS, or FAIL with the reason, quickstart's output and the nodes' log tails (the
# temporary folder is then kept for post-mortems); exits non-zero on failure.
#   bash deploy/smoke.sh
#   LAPOR_NODE_BIN=/path/to/lapor-node SKIP_BUILD=1 bash deploy/smoke.sh   # a prebuilt binary
# Needs bash, coreutils, grep, sed and curl, and for 2b chromium, exiftool and Node.js with npm
# (deploy/install-deps.sh installs them).
set -euo pipefail
case ${LAPOR_NODE_BIN:-/} in /*) ;; *) export LAPOR_NODE_BIN=$PWD/$LAPOR_NODE_BIN ;; esac
cd "$(dirname "$0")/.."
TIMEOUT=${SMOKE_TIMEOUT:-120}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lapor-smoke.XXXXXX")
OUT=$WORK/quickstart.out
export LAPOR_FED_DIR=$WORK/federation
QS=""
RESULT=""
PIDS=()

log() { printf '[smoke] %s\n' "$*"; }
now() { date +%s; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
json_str() { { grep -o "\"$1\":\"[^\"]*\"" || true; } | head -n1 | cut -d'"' -f4; }

# The pids of the nodes, from the pid files quickstart's `up` wrote.
read_pids() {
  local f
  PIDS=()
  for f in "$LAPOR_FED_DIR"/*/pid; do
    [ -f "$f" ] && PIDS+=("$(cat "$f")")
  done
  return 0
}

cleanup() {
  local rc=$? pid i
  if [ "$RESULT" != PASS ]; then
    [ -n "$RESULT" ] || RESULT="FAIL: smoke.sh stopped unexpectedly (exit $rc)"
    # Stop what is left: quickstart (its trap stops the nodes), then any node still running.
    if [ -n "$QS" ] && kill -0 "$QS" 2>/dev/null; then
      kill -TERM "$QS" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do kill -0 "$QS" 2>/dev/null || break; sleep 0.2; done
    fi
    read_pids
    for pid in "${PIDS[@]}"; do
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    echo "---- quickstart output ($OUT):"
    tail -n 60 "$OUT" 2>/dev/null || true
    local f
    for f in "$LAPOR_FED_DIR"/*/node.log; do
      [ -f "$f" ] || continue
      echo "---- $f (last lines):"
      tail -n 8 "$f"
    done
    echo "----"
    echo "$RESULT"
    echo "(kept $WORK for post-mortems)"
    exit 1
  fi
  [ "${KEEP_SMOKE:-0}" = 1 ] || rm -rf "$WORK"
  echo PASS
  exit 0
}
trap cleanup EXIT
fail() {
  RESULT="FAIL: $*"
  exit 1
}

# ---- 1. start -----------------------------------------------------------------------------------
if [ -z "${BASE_PORT:-}" ]; then
  for ((try = 0; try < 50; try++)); do
    base=$((20000 + (RANDOM % 1200) * 10))  # 20000-31999: below the ephemeral ports
    busy=0
    for ((p = base; p < base + 10; p++)); do port_busy "$p" && { busy=1; break; }; done
    [ "$busy" = 1 ] || { BASE_PORT=$base; break; }
  done
  [ -n "${BASE_PORT:-}" ] || fail "no free port range found"
fi
export BASE_PORT
log "bash deploy/quickstart.sh with LAPOR_FED_DIR=$LAPOR_FED_DIR BASE_PORT=$BASE_PORT${SKIP_BUILD:+ SKIP_BUILD=$SKIP_BUILD}${LAPOR_NODE_BIN:+ LAPOR_NODE_BIN=$LAPOR_NODE_BIN}"
# Job control on for this one start: quickstart gets a process group of its own and, unlike a
# plain background command of a script, does not ignore SIGINT.
set -m
bash deploy/quickstart.sh >"$OUT" 2>&1 &
QS=$!
set +m
deadline=$(($(now) + TIMEOUT))
until grep -q '^Ready:' "$OUT"; do
  kill -0 "$QS" 2>/dev/null || { wait "$QS" && rc=0 || rc=$?; fail "quickstart exited (status $rc) before it was ready"; }
  [ "$(now)" -lt "$deadline" ] || fail "quickstart not ready after ${TIMEOUT}s"
  sleep 0.5
done
log "quickstart is ready after $((TIMEOUT - (deadline - $(now))))s"
read_pids
[ ${#PIDS[@]} -ge 2 ] || fail "found ${#PIDS[@]} node pid files in $LAPOR_FED_DIR, expected a hub and members"

# ---- 2. use what it printed ----------------------------------------------------------------------
row() { sed -nE "s#^  $1 +[a-z]+ .* (http://[^ ]+) +([^ ]+)\$#\\$2#p" "$OUT" | head -n1; }
HUB_URL=$(row 00 1) HUB_TOKEN=$(row 00 2)
OWNER_URL=$(row 33 1) OWNER_TOKEN=$(row 33 2)
SAMPLE_ID=$(sed -n 's/^  tracking id: //p' "$OUT" | head -n1)
FILE_CURL=$(sed -n '/^File another complaint/{n;s/^ *//;p;q}' "$OUT")
OWNER_CURL=$(sed -n '/^Look at the sample case at its owner/{n;s/^ *//;p;q}' "$OUT")
for v in HUB_URL HUB_TOKEN OWNER_URL OWNER_TOKEN SAMPLE_ID FILE_CURL OWNER_CURL; do
  [ -n "${!v}" ] || fail "could not find $v in quickstart's output"
done
case $FILE_CURL in curl\ *) ;; *) fail "the printed 'file another complaint' line is not a curl: $FILE_CURL" ;; esac
case $OWNER_CURL in curl\ *) ;; *) fail "the printed 'look at the case' line is not a curl: $OWNER_CURL" ;; esac
log "hub $HUB_URL, owner 33 $OWNER_URL, sample case $SAMPLE_ID"

reply=$(bash -c "$FILE_CURL") || fail "the printed curl failed: $FILE_CURL"
NEW_ID=$(json_str tracking_id <<<"$reply")
[ -n "$NEW_ID" ] && [ -n "$(json_str access_code <<<"$reply")" ] || fail "filing with the printed curl: no tracking id/access code in: $reply"
log "filed $NEW_ID with the printed curl"

reply=$(bash -c "$OWNER_CURL") || fail "the printed curl failed: $OWNER_CURL"
[ "$(json_str tracking_id <<<"$reply")" = "$SAMPLE_ID" ] || fail "the printed owner curl did not return case $SAMPLE_ID: $reply"
[ "$(json_str owner_node <<<"$reply")" = 33 ] || fail "case $SAMPLE_ID at 33 is not owned by 33: $reply"
log "sample case $SAMPLE_ID is at its owner 33 (printed curl)"

# Case $2 visible at URL $1 with token $3 within 30 s.
case_at() {
  local end=$(($(now) + 30)) body
  while :; do
    body=$(curl -sf --max-time 3 -H "Authorization: Bearer $3" "$1/api/v1/complaints/$2" 2>/dev/null) || body=""
    [ "$(json_str tracking_id <<<"$body")" = "$2" ] && return 0
    [ "$(now)" -lt "$end" ] || return 1
    sleep 0.2
  done
}
case_at "$HUB_URL" "$SAMPLE_ID" "$HUB_TOKEN" || fail "sample case $SAMPLE_ID is not at the hub $HUB_URL"
log "sample case $SAMPLE_ID is at the hub"
case_at "$OWNER_URL" "$NEW_ID" "$OWNER_TOKEN" || fail "new case $NEW_ID did not reach its owner 33 within 30s"
case_at "$HUB_URL" "$NEW_ID" "$HUB_TOKEN" || fail "new case $NEW_ID did not reach the hub within 30s"
log "new case $NEW_ID reached its owner 33 and the hub"

# ---- 2b. the pages, in a browser --------------------------------------------------------------------
# The browser walk-through of the suite (tests/browser/citizen.test.js: file with a photo, the
# receipt verified offline, track, the workbench's verify, dispose, respond and search, reply,
# rate, reopen) on the member 32.04 of this federation, with its admin and its dinas-pu liaison
# from tokens.txt. SMOKE_BROWSER=0 leaves it out (e.g. on a machine without chromium).
if [ "${SMOKE_BROWSER:-1}" = 1 ]; then
  PAGES_URL=$(row '32\.04' 1)
  tok() { awk -v r="$1" '$1 == "32.04" && $2 == r { t = $3 } END { print t }' "$LAPOR_FED_DIR/tokens.txt"; }
  PAGES_ADMIN=$(tok admin) PAGES_LIAISON=$(tok liaison)
  [ -n "$PAGES_URL" ] && [ -n "$PAGES_ADMIN" ] && [ -n "$PAGES_LIAISON" ] ||
    fail "member 32.04, its admin or its liaison is missing from quickstart's output and tokens.txt"
  BIN=${LAPOR_NODE_BIN:-$PWD/build/node/lapor-node}
  log "the browser walk-through on 32.04 ($PAGES_URL): file, track, workbench, reply, rate"
  bash tests/browser/run.sh "$BIN" "${SMOKE_BROWSER_DIR:-$PWD/build/browser-smoke}" \
    --base "$PAGES_URL" --admin "$PAGES_ADMIN" --liaison "$PAGES_LIAISON" >"$WORK/browser.log" 2>&1 ||
    { tail -n 20 "$WORK/browser.log"; fail "the browser walk-through failed on 32.04 (log: $WORK/browser.log)"; }
  log "$(tail -n 1 "$WORK/browser.log")"
fi

# ---- 3. Ctrl-C ------------------------------------------------------------------------------------
log "SIGINT to quickstart (pid $QS, its process group)"
kill -INT -- "-$QS" 2>/dev/null || kill -INT "$QS"
deadline=$(($(now) + 60))
while kill -0 "$QS" 2>/dev/null; do
  [ "$(now)" -lt "$deadline" ] || fail "quickstart still runs 60s after SIGINT"
  sleep 0.2
done
rc=0
wait "$QS" || rc=$?
QS=""
[ "$rc" = 0 ] || fail "quickstart exited with status $rc after SIGINT, expected 0"
for pid in "${PIDS[@]}"; do
  ! kill -0 "$pid" 2>/dev/null || fail "node process $pid still runs after quickstart exited"
done
for f in "$LAPOR_FED_DIR"/*/node.log; do
  tail -n 2 "$f" | grep -q 'stopped cleanly' || fail "$f does not end with 'stopped cleanly'"
done
log "quickstart exited 0; all ${#PIDS[@]} nodes stopped cleanly"
RESULT=PASS
