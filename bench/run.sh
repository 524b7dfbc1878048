#!/usr/bin/env bash
# Node ingest benchmark: the machine's HTTP ceilings and the node, measured in one run, in
# alternating rounds (cpprestsdk ceiling, Beast ceiling, node, ...) so that all see the same host
# speed. The cpprestsdk ceiling is the project's reference figure (the node's first edge used that
# library); the Beast ceiling is a bare server of the library the node's edge uses now.
#
#   bench/run.sh [BUILD_DIR]        BUILD_DIR holds node/lapor-node, bench/lapor-bench-ceiling and
#                                   bench/lapor-bench-ceiling-beast (default: build/ at the
#                                   repository root). Builds nothing.
#
# Environment (defaults in brackets):
#   DURATION [5]         seconds of wrk load per target and round
#   ROUNDS [5]           rounds; each runs the ceiling, then the node
#   CONNECTIONS [64]     concurrent keep-alive connections
#   WRK_THREADS [2]      wrk threads
#   HTTP_THREADS [from node.json, 4]  the node's HTTP threads (written into node.json)
#   CEILING_THREADS [= the node's]    the ceilings' thread count
#   TMPDIR [/tmp]        where the fresh node data folder goes: must be a real disk (not tmpfs),
#                        or fsync costs nothing and the figures mean nothing
#   CEILING_MODE [async] async: the ceiling reads the body in a continuation; blocking:
#                        extract_vector().get() on the pool thread, as the node's first version
#                        did (deadlocks once that many requests are in flight: see ceiling_server.cc)
#   STOP_TIMEOUT [30]    seconds a server gets to exit after SIGTERM before it is SIGKILLed
#   KEEP=1               keep the temporary folder (data dir, logs, wrk output)
#
# Steps: a fresh node (init, run) and the ceiling server, both on free ports; ROUNDS times: wrk on
# the ceiling, wrk on the node, then wait until the node's background work for that load (log
# integration, WAL checkpoints) is done, counting its CPU to the node; SIGTERM both; lapor-node
# fsck; look up the tracking id of every 2xx in the node's database. The ratio is the node's
# total rate over the ceiling's (equal load time each); each round's ratio is shown too. Exits
# non-zero if fsck fails, the node does not stop cleanly, or an acknowledged complaint is missing.
# Missing the performance goal (ratio >= 0.5, p99 < 20 ms over all rounds) is reported, not an
# error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BUILD="$(cd "$BUILD" && pwd)"
NODE="$BUILD/node/lapor-node"
CEILING="$BUILD/bench/lapor-bench-ceiling"
BEAST="$BUILD/bench/lapor-bench-ceiling-beast"
SCRIPT="$ROOT/bench/post_complaint.lua"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-5}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
CEILING_MODE="${CEILING_MODE:-async}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"

for bin in "$NODE" "$CEILING" "$BEAST"; do
  if [[ ! -x "$bin" ]]; then
    echo "run.sh: $bin is missing: build the targets lapor-node, lapor-bench-ceiling and lapor-bench-ceiling-beast first" >&2
    exit 2
  fi
done

for tool in wrk sqlite3; do  # the load generator; the shell that looks up acknowledged ids
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: $tool not found, installing it (apt-get install -y $tool)" >&2
    SUDO=""
    [[ "$(id -u)" -ne 0 ]] && SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool" >/dev/null ||
      { $SUDO apt-get update >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool" >/dev/null; }
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapor-bench.XXXXXX")"
SERVER_PID=""  # set by start_server
CEIL_PID=""
BEAST_PID=""
NODE_PID=""
# True while the process runs (an exited child stays a zombie until waited for: kill -0 is not enough).
is_running() {
  [[ -r "/proc/$1/stat" ]] && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" == [!Z] ]]
}
cleanup() {
  local pid
  for pid in "$CEIL_PID" "$BEAST_PID" "$NODE_PID"; do
    if [[ -n "$pid" ]] && is_running "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "run.sh: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

FSTYPE="$(stat -f -c %T "$WORK")"
if [[ "$FSTYPE" == tmpfs || "$FSTYPE" == ramfs ]]; then
  echo "run.sh: WARNING: $WORK is on $FSTYPE: fsync is free there, node figures are not durable-disk figures" >&2
fi

# A port nothing listens on (checked, then used at once; a race with another program is possible
# but harmless: the server would fail to bind and the run stops).
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % 20000))  # below the ephemeral range: wrk's old client ports linger there
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "run.sh: no free port found" >&2
  return 1
}

start_server() {  # description port logfile command...: starts it in the background (SERVER_PID)
  local what="$1" port="$2" log="$3"
  shift 3
  "$@" 2>"$log" &
  SERVER_PID=$!
  if ! wait_listening "$port" "$SERVER_PID"; then
    echo "run.sh: $what did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
}

wait_listening() {  # port pid
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    if ! is_running "$2"; then return 1; fi
    sleep 0.05
  done
  return 1
}

stop_server() {  # pid name; returns the server's exit code (137 if it had to be SIGKILLed)
  local rc=0 i
  kill -TERM "$1"
  for ((i = 0; i < STOP_TIMEOUT * 10; ++i)); do
    is_running "$1" || break
    sleep 0.1
  done
  if is_running "$1"; then
    echo "run.sh: $2 did not exit within ${STOP_TIMEOUT}s of SIGTERM: SIGKILL" >&2
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" || rc=$?
  return "$rc"
}

# After the load: does the server still answer a request at all? (GET; any status will do.)
responsive() {  # port path
  local code
  code="$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true)"
  [[ -n "$code" && "$code" != 000 ]]
}

# field NAME FILE: a value from wrk's "BENCH k=v ..." line
field() { sed -n 's/^BENCH .*\b'"$1"'=\([^ ]*\).*/\1/p' "$2" | tail -1; }

CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() {  # pid: user + system CPU time so far, in clock ticks (0 if it is gone)
  local st
  st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" || { echo 0; return 0; }
  awk '{ print $12 + $13 }' <<<"$st"
}

machine_ticks() {  # "busy total" clock ticks of all CPUs so far (/proc/stat)
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; ++i) t += $i; print t - $5 - $6, t }' /proc/stat
}

run_wrk() {  # label port out pid [acked-ids-file]   (the server's CPU time and the machine's load go into out)
  local t0 t1 m0 m1
  t0="$(cpu_ticks "$4")"
  m0="$(machine_ticks)"
  echo "== wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/post_complaint.lua http://127.0.0.1:$2/api/v1/complaints  [$1]"
  ACKED_IDS="${5:-}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$SCRIPT" \
    "http://127.0.0.1:$2/api/v1/complaints" >"$3"
  grep -E '^ +(50|99)%|^Requests/sec' "$3" | tr -s ' ' | tr '\n' ' '
  echo
  t1="$(cpu_ticks "$4")"
  m1="$(machine_ticks)"
  # Machine-wide busy share (all processes: server, wrk and anything else running) and the
  # server's share, in cores.
  awk -v a="$m0" -v b="$m1" -v d=$((t1 - t0)) -v n="$(nproc)" 'BEGIN {
      split(a, x, " "); split(b, y, " "); total = y[2] - x[2]; busy = y[1] - x[1]
      printf "MACHINE busy_pct=%.0f server_cores=%.2f of %d\n", 100 * busy / total, n * d / total, n }' >>"$3"
  grep '^MACHINE' "$3"
  if ! grep -q '^BENCH ' "$3"; then
    echo "run.sh: wrk printed no BENCH line for $1" >&2
    exit 1
  fi
  echo "$t0" >"$3.ticks"
}

# Waits until the server has used no CPU for 0.5 s (at most 10 s), then appends the CPU it used
# since run_wrk started to `out`: a node's work that a load leaves behind is part of its cost,
# and must not run during the next ceiling round.
settle() {  # out pid
  local t0 a b i
  t0="$(cat "$1.ticks")"
  b="$(cpu_ticks "$2")"
  for ((i = 0; i < 20; ++i)); do
    a="$b"
    sleep 0.5
    b="$(cpu_ticks "$2")"
    ((b - a <= 1)) && break
  done
  echo "SERVER_CPU cpu_s=$(awk -v d=$((b - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }')" >>"$1"
}

# --- the node's data folder first, so the ceiling can use the node's thread count ---------------
NODE_PORT="$(free_port)"
"$NODE" init --data-dir "$WORK/node" --jurisdiction 32 --listen "127.0.0.1:$NODE_PORT" >"$WORK/init.log"
if [[ -n "${HTTP_THREADS:-}" ]]; then
  sed -i 's/"http_threads": *[0-9]*/"http_threads": '"$HTTP_THREADS"'/' "$WORK/node/node.json"
fi
# wrk files every complaint from one address: the per-client filing limit is off for the run.
sed -i 's/"filings_per_minute": *[0-9]*/"filings_per_minute": 0/' "$WORK/node/node.json"
THREADS="$(sed -n 's/.*"http_threads": *\([0-9]*\).*/\1/p' "$WORK/node/node.json")"
THREADS="${THREADS:-4}"
CEILING_THREADS="${CEILING_THREADS:-$THREADS}"

echo "revision: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data dir: $WORK/node ($FSTYPE); HTTP threads: node $THREADS, ceilings $CEILING_THREADS; body: 600 B"

# --- 1. both servers, then alternating rounds of load ------------------------------------------
CEIL_PORT="$(free_port)"
start_server "the ceiling server" "$CEIL_PORT" "$WORK/ceiling.log" \
  "$CEILING" "http://127.0.0.1:$CEIL_PORT/" "$CEILING_THREADS" "$CEILING_MODE"
CEIL_PID="$SERVER_PID"
BEAST_PORT="$(free_port)"
start_server "the Beast ceiling server" "$BEAST_PORT" "$WORK/beast.log" \
  "$BEAST" "$BEAST_PORT" "$CEILING_THREADS"
BEAST_PID="$SERVER_PID"
LAPOR_LOG_LEVEL="${LAPOR_LOG_LEVEL:-info}" start_server "the node" "$NODE_PORT" "$WORK/node.log" \
  "$NODE" run --data-dir "$WORK/node"
NODE_PID="$SERVER_PID"
for ((r = 1; r <= ROUNDS; ++r)); do
  run_wrk "ceiling, round $r" "$CEIL_PORT" "$WORK/wrk-ceiling-$r.txt" "$CEIL_PID"
  settle "$WORK/wrk-ceiling-$r.txt" "$CEIL_PID"
  run_wrk "Beast ceiling, round $r" "$BEAST_PORT" "$WORK/wrk-beast-$r.txt" "$BEAST_PID"
  settle "$WORK/wrk-beast-$r.txt" "$BEAST_PID"
  run_wrk "node, round $r" "$NODE_PORT" "$WORK/wrk-node-$r.txt" "$NODE_PID" "$WORK/acked-$r.txt"
  settle "$WORK/wrk-node-$r.txt" "$NODE_PID"
done
C_ALIVE=yes
responsive "$CEIL_PORT" / || C_ALIVE="NO (hung)"
N_ALIVE=yes
responsive "$NODE_PORT" /healthz || N_ALIVE="NO (does not answer GET /healthz)"
C_RC=0
stop_server "$CEIL_PID" ceiling || C_RC=$?
B_RC=0
stop_server "$BEAST_PID" "Beast ceiling" || B_RC=$?
NODE_RC=0
stop_server "$NODE_PID" lapor-node || NODE_RC=$?

FAIL=0
if [[ "$NODE_RC" -ne 0 ]]; then
  echo "run.sh: FAIL: lapor-node run exited with $NODE_RC after SIGTERM (137: killed, it did not stop):" >&2
  tail -20 "$WORK/node.log" >&2
  FAIL=1
fi
if grep -qi ' error ' "$WORK/node.log"; then
  echo "run.sh: the node logged errors:" >&2
  grep -i ' error ' "$WORK/node.log" | head -5 >&2
fi

# --- 3. durability: every acknowledged complaint is in the log, and the log verifies ------------
FSCK_RC=0
"$NODE" fsck --data-dir "$WORK/node" >"$WORK/fsck.txt" 2>&1 || FSCK_RC=$?
cat "$WORK/fsck.txt" | tail -5
EVENTS="$(sed -n 's/^fsck: \([0-9]*\) events.*/\1/p' "$WORK/fsck.txt")"
if [[ "$FSCK_RC" -ne 0 || -z "$EVENTS" ]]; then
  echo "run.sh: FAIL: lapor-node fsck failed (exit $FSCK_RC)" >&2
  FAIL=1
  EVENTS="${EVENTS:-0}"
fi

# Totals over the rounds: rate = requests / load seconds; p50 = median of the rounds' p50; p99 =
# of all the rounds' requests together (union_p99); CPU = CPU seconds / requests.
rounds() { local f; for f in "$2"-*.txt; do field "$1" "$f"; done; }  # NAME PREFIX: one value per round
sum_field() { rounds "$@" | awk '{ s += $1 } END { printf "%.3f", s }'; }
med_field() { rounds "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
max_field() { rounds "$@" | sort -g | tail -1; }
cpu_us() {  # wrk output prefix: server CPU microseconds per completed request
  local cpu req
  cpu="$(cat "$1"-*.txt | sed -n 's/^SERVER_CPU cpu_s=//p' | awk '{ s += $1 } END { print s + 0 }')"
  req="$(sum_field requests "$1")"
  awk -v c="$cpu" -v r="$req" 'BEGIN { if (r > 0) printf "%.0f", c * 1e6 / r; else print "-" }'
}
# The p99 of all rounds' requests together: the smallest latency x at which the rounds' CDFs,
# weighted by their request counts, reach 99% (each round's CDF read as a step function from its
# BENCH_PCT lines, which start at p90). It is an upper bound, exact to one 0.1-percentile step
# unless some round's p90 lies above the result.
union_p99() {
  local f r=0
  for f in "$1"-*.txt; do
    r=$((r + 1))
    awk -v r="$r" -v n="$(field requests "$f")" '/^BENCH_PCT / { print r, n, $2, $3 }' "$f"
  done | awk '{ rd[NR] = $1; n[$1] = $2; p[NR] = $3 / 100; x[NR] = $4 }
    END {
      for (r in n) all += n[r]
      best = -1
      for (i = 1; i <= NR; ++i) {
        delete below
        for (j = 1; j <= NR; ++j) if (x[j] <= x[i] && p[j] > below[rd[j]]) below[rd[j]] = p[j]
        covered = 0
        for (r in n) covered += below[r] * n[r]
        if (covered >= 0.99 * all && (best < 0 || x[i] < best)) best = x[i]
      }
      printf "%.3f", best }'
}
rate() { awk -v n="$(sum_field requests "$1")" -v d="$(sum_field duration_s "$1")" 'BEGIN { printf "%.1f", (d > 0 ? n / d : 0) }'; }
W="$WORK/wrk-ceiling"; B="$WORK/wrk-beast"; N="$WORK/wrk-node"
C_RPS="$(rate "$W")"; C_P50="$(med_field p50_ms "$W")"; C_P99="$(union_p99 "$W")"
C_OK="$(sum_field ok_2xx "$W" | cut -d. -f1)"; C_BAD="$(sum_field non_2xx "$W" | cut -d. -f1)"
B_RPS="$(rate "$B")"; B_P50="$(med_field p50_ms "$B")"; B_P99="$(union_p99 "$B")"
B_OK="$(sum_field ok_2xx "$B" | cut -d. -f1)"; B_BAD="$(sum_field non_2xx "$B" | cut -d. -f1)"
N_RPS="$(rate "$N")"; N_P50="$(med_field p50_ms "$N")"; N_P99="$(union_p99 "$N")"
N_P99_WORST="$(max_field p99_ms "$N")"
N_OK="$(sum_field ok_2xx "$N" | cut -d. -f1)"; N_BAD="$(sum_field non_2xx "$N" | cut -d. -f1)"
N_REQ="$(sum_field requests "$N" | cut -d. -f1)"
C_CPU="$(cpu_us "$W")"; B_CPU="$(cpu_us "$B")"; N_CPU="$(cpu_us "$N")"
N_SOCK="$(sum_field sock_read "$N" | cut -d. -f1)/$(sum_field sock_write "$N" | cut -d. -f1)/$(sum_field sock_timeout "$N" | cut -d. -f1)"
ROUND_LINES=""
for ((r = 1; r <= ROUNDS; ++r)); do
  ROUND_LINES+="$(awk -v r="$r" -v c="$(field rps "$W-$r.txt")" -v n="$(field rps "$N-$r.txt")" \
    -v b="$(field rps "$B-$r.txt")" \
    -v p="$(field p99_ms "$N-$r.txt")" -v cm="$(sed -n 's/^MACHINE //p' "$W-$r.txt")" \
    -v nm="$(sed -n 's/^MACHINE //p' "$N-$r.txt")" \
    'BEGIN { printf "round %d: ceiling %.0f/s, Beast ceiling %.0f/s, node %.0f/s, ratio %.3f (vs Beast %.3f), node p99 %s ms  (ceiling %s; node %s)", r, c, b, n, (c > 0 ? n / c : 0), (b > 0 ? n / b : 0), p, cm, nm }')"$'\n'
done

# Every 2xx's tracking id (written by the wrk script) must be a case in the node's database. The
# log may hold more events than 2xx: each wrk run stops with up to CONNECTIONS requests in
# flight, which the node may commit without wrk ever reading the 201.
cat "$WORK"/acked-*.txt >"$WORK/acked.txt"
ACKED="$(wc -l <"$WORK/acked.txt")"
MISSING="$(sqlite3 "$WORK/node/lapor.db" <<SQL 2>&1
CREATE TEMP TABLE acked(id TEXT);
.import $WORK/acked.txt acked
SELECT COUNT(*) FROM acked WHERE id NOT IN (SELECT case_id FROM cases);
SQL
)"
EXTRA=$((EVENTS - N_OK))
if [[ "$ACKED" -ne "$N_OK" ]]; then
  DURABLE="FAIL (the wrk script recorded $ACKED tracking ids for $N_OK 2xx)"
  FAIL=1
elif [[ "$MISSING" != 0 ]]; then
  DURABLE="FAIL ($MISSING of $N_OK acknowledged complaints are not in the database)"
  FAIL=1
elif (( EXTRA < 0 || EXTRA > CONNECTIONS * ROUNDS )); then
  DURABLE="FAIL (events $EVENTS vs 2xx $N_OK)"
  FAIL=1
else
  DURABLE="PASS (all $N_OK acknowledged tracking ids found; $EXTRA more events were in flight when wrk stopped)"
fi
if (( N_BAD > 0 )); then
  echo "run.sh: the node answered $N_BAD non-2xx responses:" >&2
  cat "$N"-*.txt | grep '^BENCH_STATUS' >&2 || true
fi

RATIO="$(awk -v n="$N_RPS" -v c="$C_RPS" 'BEGIN { printf "%.3f", (c > 0 ? n / c : 0) }')"
RATIO_BEAST="$(awk -v n="$N_RPS" -v c="$B_RPS" 'BEGIN { printf "%.3f", (c > 0 ? n / c : 0) }')"
RATIO_OK="$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.5 ? "PASS" : "FAIL") }')"
P99_OK="$(awk -v p="$N_P99" -v n="$N_REQ" 'BEGIN { print (n > 0 && p > 0 && p < 20 ? "PASS" : "FAIL") }')"

echo
echo "== summary ($ROUNDS rounds of wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s per target, 600 B POST; HTTP threads: node $THREADS, ceilings $CEILING_THREADS)"
printf '%s' "$ROUND_LINES"
printf '%-34s %12s %10s %10s %8s %8s %12s\n' "" "req/s" "p50 ms" "p99 ms" "2xx" "non-2xx" "CPU us/req"
printf '%-34s %12s %10s %10s %8s %8s %12s\n' "ceiling (lapor-bench-ceiling)" "$C_RPS" "$C_P50" "$C_P99" "$C_OK" "$C_BAD" "$C_CPU"
printf '%-34s %12s %10s %10s %8s %8s %12s\n' "Beast ceiling (-ceiling-beast)" "$B_RPS" "$B_P50" "$B_P99" "$B_OK" "$B_BAD" "$B_CPU"
printf '%-34s %12s %10s %10s %8s %8s %12s\n' "node (lapor-node, complaints/s)" "$N_RPS" "$N_P50" "$N_P99" "$N_OK" "$N_BAD" "$N_CPU"
echo
printf '%-34s %s\n' "ratio node/ceiling" "$RATIO  goal >= 0.5: $RATIO_OK"
printf '%-34s %s\n' "ratio node/Beast ceiling" "$RATIO_BEAST"
printf '%-34s %s\n' "node p99 (all rounds' requests)" "$N_P99 ms  goal < 20 ms: $P99_OK  (worst single round: $N_P99_WORST ms)"
printf '%-34s %s\n' "durability (fsck + acked ids)" "$DURABLE; fsck exit $FSCK_RC"
printf '%-34s %s\n' "node stopped on SIGTERM" "$([[ $NODE_RC == 0 ]] && echo "PASS (exit 0)" || echo "FAIL (exit $NODE_RC)")"
printf '%-34s %s\n' "node socket errors r/w/timeout" "$N_SOCK (requests completed: $N_REQ)"
printf '%-34s %s\n' "responsive after the load" "ceiling: $C_ALIVE (exit $C_RC, $CEILING_MODE reads); Beast ceiling exit $B_RC; node: $N_ALIVE"
if [[ "$N_ALIVE" != yes || "$N_REQ" == 0 ]]; then
  echo "NOTE: the node stopped serving under this load: see node.log (KEEP=1 keeps it)."
fi
echo "BENCH_SUMMARY ceiling_rps=$C_RPS beast_ceiling_rps=$B_RPS node_rps=$N_RPS ratio=$RATIO ratio_beast=$RATIO_BEAST node_p50_ms=$N_P50 node_p99_ms=$N_P99 ceiling_cpu_us_per_req=$C_CPU node_cpu_us_per_req=$N_CPU events=$EVENTS node_2xx=$N_OK node_non2xx=$N_BAD ratio_goal=$RATIO_OK p99_goal=$P99_OK node_exit=$NODE_RC fsck_exit=$FSCK_RC checks=$([[ $FAIL == 0 ]] && echo PASS || echo FAIL)"
exit "$FAIL"
