#!/usr/bin/env bash
# Where the node's time goes under the ingest benchmark's load (companion of bench/run.sh).
#
#   bench/profile.sh [BUILD_DIR]     (default build/ at the repository root; builds nothing)
#
# Environment (defaults in brackets):
#   PROFILER [auto]     perf: `perf record -e cpu-clock --call-graph dwarf` on the node for the wrk
#                       run, plus fsync/fdatasync tracepoint counts; callgrind: the node under
#                       valgrind --tool=callgrind (≈50x slower: a light load). auto = perf if
#                       `perf record -e cpu-clock` works here, else callgrind.
#   DURATION [8]        seconds of wrk load (callgrind: [20])
#   CONNECTIONS [64]    (callgrind: [8])
#   HTTP_THREADS        cpprestsdk pool size written into node.json (default: node.json's)
#   KEEP=1              keep the temporary folder (perf.data / callgrind.out, logs)
#
# perf mode prints the node's CPU time per complaint, each thread's on-CPU / runnable-but-waiting /
# asleep time (schedstat), fsync and futex calls per complaint, the inclusive share of the main
# stages (% of the node's on-CPU samples, and us per complaint), self cost by library and the top
# self-cost symbols. callgrind mode prints callgrind_annotate's top inclusive costs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
NODE="$BUILD/node/lapor-node"
SCRIPT="$ROOT/bench/post_complaint.lua"
[[ -x "$NODE" ]] || { echo "profile.sh: $NODE is missing: build lapor-node first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "profile.sh: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }

PROFILER="${PROFILER:-auto}"
if [[ "$PROFILER" == auto ]]; then
  if command -v perf >/dev/null && perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
    PROFILER=perf
  else
    PROFILER=callgrind
  fi
fi
if [[ "$PROFILER" == perf ]]; then
  DURATION="${DURATION:-8}"; CONNECTIONS="${CONNECTIONS:-64}"
else
  DURATION="${DURATION:-20}"; CONNECTIONS="${CONNECTIONS:-8}"
  command -v valgrind >/dev/null || { echo "profile.sh: valgrind is missing" >&2; exit 2; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapor-profile.XXXXXX")"
NODE_PID=""
cleanup() {
  if [[ -n "$NODE_PID" ]]; then kill -KILL "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "profile.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PORT=$((20000 + RANDOM % 40000))
"$NODE" init --data-dir "$WORK/node" --jurisdiction 32 --listen "127.0.0.1:$PORT" >/dev/null
if [[ -n "${HTTP_THREADS:-}" ]]; then
  sed -i 's/"http_threads": *[0-9]*/"http_threads": '"$HTTP_THREADS"'/' "$WORK/node/node.json"
fi
THREADS="$(sed -n 's/.*"http_threads": *\([0-9]*\).*/\1/p' "$WORK/node/node.json")"

wait_listening() {
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

run_load() {
  echo "== wrk -t2 -c$CONNECTIONS -d${DURATION}s -s bench/post_complaint.lua (node: $THREADS cpprestsdk threads, $PROFILER)"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$SCRIPT" \
    "http://127.0.0.1:$PORT/api/v1/complaints" >"$WORK/wrk.txt"
  grep -E '^BENCH' "$WORK/wrk.txt"
}

stop_node() {
  kill -TERM "$NODE_PID"
  wait "$NODE_PID" || echo "profile.sh: lapor-node exited with $?" >&2
  NODE_PID=""
}

if [[ "$PROFILER" == perf ]]; then
  "$NODE" run --data-dir "$WORK/node" 2>"$WORK/node.log" &
  NODE_PID=$!
  wait_listening || { cat "$WORK/node.log" >&2; exit 1; }
  HZ=499
  perf record -e cpu-clock -F "$HZ" --call-graph dwarf,16384 -p "$NODE_PID" -o "$WORK/perf.data" \
    -- sleep "$((DURATION + 1))" >"$WORK/perf-record.log" 2>&1 &
  REC=$!
  perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_futex \
    -p "$NODE_PID" -o "$WORK/perf-stat.txt" -- sleep "$((DURATION + 1))" >/dev/null 2>&1 &
  STAT=$!
  sleep 0.5
  # Per thread: on-CPU ns, ns runnable but waiting for a CPU, timeslices (/proc/.../schedstat).
  sched_snapshot() {
    local t
    for t in /proc/"$NODE_PID"/task/*; do echo "${t##*/} $(cat "$t/schedstat" 2>/dev/null)"; done
  }
  sched_snapshot >"$WORK/sched0.txt"
  W0="$(date +%s%N)"
  cpu_ticks() {  # user + system CPU time of the node so far, in clock ticks (0 if it is gone)
    local st
    st="$(sed 's/.*) //' "/proc/$NODE_PID/stat" 2>/dev/null)" || { echo 0; return 0; }
    awk '{ print $12 + $13 }' <<<"$st"
  }
  T0="$(cpu_ticks)"
  run_load
  T1="$(cpu_ticks)"
  W1="$(date +%s%N)"
  sched_snapshot >"$WORK/sched1.txt"
  wait "$REC" || true
  wait "$STAT" || true
  stop_node

  REQ="$(sed -n 's/^BENCH requests=\([0-9]*\).*/\1/p' "$WORK/wrk.txt")"
  perf report -i "$WORK/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' >"$WORK/children.txt"
  perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' >"$WORK/self.txt"
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' >"$WORK/dso.txt"
  CPU_S="$(awk -v d=$((T1 - T0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", d / hz }')"
  US_PER_REQ="$(awk -v c="$CPU_S" -v r="$REQ" 'BEGIN { printf "%.0f", (r > 0 ? c * 1e6 / r : 0) }')"
  echo
  echo "node CPU during the load: ${CPU_S} s for $REQ complaints = ${US_PER_REQ} us per complaint ($(nproc) cores)"
  echo "node threads over the load (creation order: main, store committer, cpprestsdk pool..., SLA):"
  awk -v wall=$((W1 - W0)) 'NR == FNR { run[$1] = $2; wait[$1] = $3; next }
      ($1 in run) { printf "  tid %-8s on-CPU %5.1f%%   runnable, waiting for a CPU %5.1f%%   asleep %5.1f%%\n", $1,
                    100 * ($2 - run[$1]) / wall, 100 * ($3 - wait[$1]) / wall,
                    100 * (wall - ($2 - run[$1]) - ($3 - wait[$1])) / wall }' \
    "$WORK/sched0.txt" "$WORK/sched1.txt"
  awk -F, -v req="$REQ" '$3 ~ /fdatasync|fsync|futex/ && $1 ~ /^[0-9]+$/ {
      printf "%-34s %10d  (%.3f per 2xx complaint)\n", $3, $1, (req > 0 ? $1 / req : 0) }' "$WORK/perf-stat.txt"

  # Inclusive share of each stage: the sum over the report lines whose symbol matches the regex
  # (ERE; perf lists a function once per code copy, e.g. an .isra clone, so copies are summed; the
  # regexes are anchored so that no line is counted inside another), and that share of the node's
  # CPU time per complaint.
  share() {
    local pct
    pct="$(RE="$2" awk '{ sym = $0; sub(/^ *[0-9.]+% +[0-9.]+% +\[[.k]\] /, "", sym) }
                        sym ~ ENVIRON["RE"] { p += $1 } END { printf "%.2f", p }' "$WORK/children.txt")"
    printf '  %-62s %6s%% %6s us\n' "$1" "$pct" \
      "$(awk -v p="$pct" -v u="$US_PER_REQ" 'BEGIN { printf "%.1f", p * u / 100 }')"
  }
  echo
  echo "inclusive share of the node's on-CPU samples, and us per complaint (indented = part of the line above)"
  share "cpprestsdk/asio pool threads" '^boost::asio::detail::scheduler::run$'
  share "  body continuation: JSON parse -> Submit -> queue the write" '^lapor::node::HttpApi::Impl::Guarded$'
  share "    JSON parse of the body (nlohmann)" '^lapor::node::HttpApi::Impl::ParseJson(\[abi:cxx11\])?$'
  share "    field extraction (ParseSubmit)" 'ParseSubmit( \(inlined\))?$'
  share "    CaseService::Submit (validate, seal, sequence)" '^lapor::node::CaseService::Submit$'
  share "      Sequence (seq under seq_mu_, then seal + sign)" '^lapor::node::CaseService::Sequence$'
  share "        Ed25519 sign" '^lapor::crypto::SigningKey::Sign(\[abi:cxx11\])?$'
  share "      SHA-256 (access code, commitment, event hash)" '^lapor::crypto::Sha256(\[abi:cxx11\])?$'
  share "      secretbox seal of the reporter record" '^lapor::crypto::SecretboxSeal(\[abi:cxx11\])?$'
  share "  reply 201 (ReplyRaw, after the commit; includes its sends)" '^lapor::node::HttpApi::Impl::ReplyRaw$'
  share "  socket send (kernel)" '^__x64_sys_sendto$'
  share "  socket receive (kernel)" '^__x64_sys_recvfrom$'
  share "group-commit thread (GroupCommitter::CommitLoop)" '^lapor::storage::GroupCommitter::CommitLoop$'
  share "  row inserts (Statement::Run)" '^lapor::storage::Statement::Run$'
  share "  BEGIN/COMMIT (Connection::Exec)" '^lapor::storage::Connection::Exec$'
  share "    WAL frames at COMMIT (sqlite3WalFrames)" '^sqlite3WalFrames$'
  share "      one write call for the frames (wal_vfs Flush)" '^lapor::storage::\(anonymous namespace\)::Flush$'
  share "    fdatasync (CPU part; the wait is off-CPU)" '^__x64_sys_fdatasync$'
  share "  commit callbacks (on the committer thread)" '^std::function<void \(lapor::Status const&\)>::operator\(\)'
  share "WAL checkpointer thread (sqlite3WalCheckpoint)" '^sqlite3WalCheckpoint$'
  share "futex syscalls (thread hand-offs, everywhere)" '^__x64_sys_futex$'
  share "scheduler (context switches, everywhere)" '^__schedule$'
  echo
  echo "self cost by library:"
  head -12 "$WORK/dso.txt" | sed 's/^/  /'
  echo
  echo "top self-cost symbols:"
  head -25 "$WORK/self.txt" | cut -c1-150 | sed 's/^/  /'
else
  valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --separate-threads=no \
    "$NODE" run --data-dir "$WORK/node" 2>"$WORK/node.log" &
  NODE_PID=$!
  wait_listening || { cat "$WORK/node.log" >&2; exit 1; }
  run_load
  stop_node
  echo
  echo "callgrind: top inclusive costs (instructions)"
  callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null | sed -n '1,60p' | cut -c1-180
fi
"$NODE" fsck --data-dir "$WORK/node" | tail -1
