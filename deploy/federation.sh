#!/usr/bin/env bash
# A local LAPOR! federation on loopback ports, for trying it out: the national hub (00) and N
# member nodes, each a real `lapor-node run` process.
#
#   bash deploy/federation.sh up [N] [--detach] [--sample]
#   bash deploy/federation.sh status
#   bash deploy/federation.sh down
#
# up      Creates the federation if its folder has none, starts every node, waits until each
#         answers /healthz and serves the hub's latest manifest, files a sample complaint at 32
#         about region 33 (owned by 33), waits until the case is at 33 and at the hub, prints the
#         URLs, admin tokens and ready-to-paste curls, then runs in the foreground until Ctrl-C /
#         SIGTERM / SIGHUP and stops every node cleanly (SIGTERM, waits for each to exit; exit 0).
#         If a node exits by itself meanwhile, the others are stopped too (exit 1; 0 if it was
#         stopped cleanly from outside, e.g. by `down`). Any failure while starting names the node
#         and its log, stops the nodes started so far and exits 1 (130 on Ctrl-C while starting).
#         N = number of members (default 3), taken in this order from:
#           32 33 32.04 31 35 36 34 51 32.73 33.74 35.78 31.71 51.71
#         and then every other province and regency/city of data/regions, in the files' order
#         (N = 552: the whole nation; bench/national.sh runs it).
#         --detach: leave the nodes running in the background and exit once ready (`down` stops
#         them). --sample: file a new sample complaint even when one was filed before.
#         Creation (each step is skipped when already done, so an interrupted `up` resumes):
#           `lapor-node init` of the hub (00, port BASE_PORT) and of each member (BASE_PORT+1, +2,
#           ...; --hub-key/--hub-url pinned to the hub), `federation add-member` of each member on
#           the hub, one admin per node (`operator add --role admin`) and one liaison of
#           dinas-pu per member, whose tokens go to tokens.txt (mode 0600, lines
#           "<code> <role> <token>"), and in node.json: members'
#           manifest_interval_ms (MANIFEST_INTERVAL_MS, 1000), stats_interval_ms
#           (STATS_INTERVAL_MS, 60000) and, unless WITNESS=0, the hub as a
#           witness of every member's log (hub: "witness_of": [members' log vkeys]; members:
#           "witnesses": [{"url": hub, "vkey": hub's cosigner vkey}]). federation.sh writes these
#           keys on one line each; don't reformat them as multi-line arrays.
#         A second `up` reuses the folder: no init, the same nodes and ports (from nodes.txt, not
#         BASE_PORT), tokens from tokens.txt, and no new complaint (it shows the first one, from
#         sample.txt) unless --sample. To start over: `down`, then delete the folder.
# status  Each node's process, /healthz, served manifest version, checkpoint (with cosignatures)
#         and /federation/v1/status deliveries (with the admin token). Exits 1 if a node is down.
# down    Stops the nodes whose pid files a previous `up` left (SIGTERM, waits for each to exit).
#
# Environment:
#   LAPOR_FED_DIR   the federation folder (default $PWD/var/federation): nodes.txt, tokens.txt,
#                   sample.txt, members.txt (members added to the hub), vkeys.txt (the nodes'
#                   log vkeys and the hub's witness vkey, with the keys they are of) and one
#                   data folder per node, <code>/ with node.log and pid
#   LAPOR_NODE_BIN  the lapor-node binary (default $PWD/build/node/lapor-node, from deploy/build.sh)
#   BASE_PORT       the hub's port on 127.0.0.1 when the federation is created (default 8100)
#   READY_TIMEOUT   seconds to wait for the nodes, the manifest and the sample case (default 60)
#   STOP_TIMEOUT    seconds to wait for each node to exit after SIGTERM (default 60)
#   DETACH=1        same as --detach
#   MANIFEST_INTERVAL_MS  members' manifest_interval_ms (default 1000: manifest changes made with
#                   `lapor-node federation ...` on the hub reach the members within a second)
#   STATS_INTERVAL_MS  members' stats_interval_ms (default 60000: the hub's dashboard shows a
#                   complaint within a minute; a node's own default is an hour)
#   WITNESS=0       no witnessing (clears witness_of/witnesses in the node.json files)
# $PWD above is the repository root: the script changes to it first (relative paths given in the
# environment are resolved against the folder it was started from).
# Needs bash, coreutils, sed, grep, awk and curl (7.66 or later: --parallel) only.
set -euo pipefail

ORIG_PWD=$PWD
cd "$(dirname "$0")/.."
abs_path() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$ORIG_PWD" "$1" ;; esac; }
BIN=$(abs_path "${LAPOR_NODE_BIN:-$PWD/build/node/lapor-node}")
FED=$(abs_path "${LAPOR_FED_DIR:-$PWD/var/federation}")
REGIONS_DIR=$PWD/data/regions
HOST=127.0.0.1
READY_TIMEOUT=${READY_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
MANIFEST_INTERVAL_MS=${MANIFEST_INTERVAL_MS:-1000}
STATS_INTERVAL_MS=${STATS_INTERVAL_MS:-60000}
WITNESS=${WITNESS:-1}
DEFAULT_MEMBERS=3
MEMBER_LIST=(32 33 32.04 31 35 36 34 51 32.73 33.74 35.78 31.71 51.71)
# ... followed by every other code of the official region list (38 provinces, 514 regencies).
extend_member_list() {
  local code listed=" ${MEMBER_LIST[*]} "
  while IFS=, read -r code _; do
    case $code in code | '') continue ;; esac
    [[ $listed == *" $code "* ]] && continue
    MEMBER_LIST+=("$code")
    listed+="$code "
  done < <(cat "$REGIONS_DIR/provinces.csv" "$REGIONS_DIR/regencies.csv")
}
LIAISON_AGENCY=dinas-pu  # each member's sample liaison (tokens.txt)
SAMPLE_ORIGIN=32
SAMPLE_OWNER=33
SAMPLE_JSON='{"title":"Jalan provinsi rusak di perbatasan","description":"Jalan Cirebon-Brebes berlubang di sisi Jawa Tengah, dilaporkan dari Jawa Barat.","category":"infrastruktur","report_type":"pengaduan","region_code":"33"}'

CODES=()         # "00" first, then the members, as in nodes.txt
PORTS=()         # the same order
STARTED=()       # codes of the nodes this run started (and stops on exit unless detached)
declare -A CHILD=()  # their pids: `wait` gives their exit status
declare -A PID_OF=() # code -> pid, for the nodes this run started
# Lookups filled once (a call per node of grep, sed or awk takes minutes at 553 nodes on a loaded
# machine): code -> port; "code role" -> token (tokens.txt); code -> region name; members added.
declare -A PORT_OF=() TOKEN=() NAME=() ADDED=()
PHASE=setup      # setup | running | stopping | stopped | detached
TMP=""

say() { printf '[federation] %s\n' "$*"; }
warn() { printf '[federation] warning: %s\n' "$*" >&2; }
die() {
  printf 'federation.sh: error: %s\n' "$*" >&2
  exit 1
}

# ---- small helpers -----------------------------------------------------------------------------

now() { date +%s; }
node_dir() { printf '%s/%s' "$FED" "$1"; }
index_ports() {
  local i
  PORT_OF=()
  for i in "${!CODES[@]}"; do PORT_OF[${CODES[$i]}]=${PORTS[$i]}; done
}
port_of() { [ -n "${PORT_OF[$1]:-}" ] && printf '%s' "${PORT_OF[$1]}"; }
url_of() { printf 'http://%s:%s' "$HOST" "${PORT_OF[$1]:-}"; }
is_member() { [ -n "${PORT_OF[$1]:-}" ]; }
role_of() {
  case $1 in
    00) printf 'hub' ;;
    [0-9][0-9]) printf 'province' ;;
    *) printf 'regency' ;;
  esac
}
# The region names of data/regions ("code,...,name" lines), read once.
load_names() {
  local line f
  NAME=([00]="national hub")
  for f in "$REGIONS_DIR/provinces.csv" "$REGIONS_DIR/regencies.csv"; do
    [ -r "$f" ] || continue
    while IFS= read -r line; do NAME[${line%%,*}]=${line##*,}; done <"$f"
  done
}
name_of() { printf '%s' "${NAME[$1]:-}"; }
load_lookups() {
  index_ports
  load_tokens
  load_names
}
# The first "key":"string" of compact JSON on stdin (empty if none).
json_str() { { grep -o "\"$1\":\"[^\"]*\"" || true; } | head -n1 | cut -d'"' -f4; }
# The first "key":number-or-literal of compact JSON on stdin.
json_num() { { grep -o "\"$1\":[^,}]*" || true; } | head -n1 | cut -d: -f2-; }
# A string value of a node.json written by `lapor-node init` (one key per line).
cfg_get() { sed -n "s/^ *\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" "$1" | head -n1; }
# Sets key to a one-line JSON value in node.json (adds it after "{" if absent); keeps the mode.
# (Bash only, no process but the final mv: it runs for every member of a 552-member federation.)
cfg_set() {
  local f=$1 k=$2 v=$3 line indent rest found=0 changed=0 i
  local -a lines=()
  mapfile -t lines <"$f"
  for i in "${!lines[@]}"; do
    line=${lines[$i]}
    rest=${line#"${line%%[! ]*}"}
    [[ $rest == "\"$k\":"* ]] || continue
    found=1
    indent=${line%%[! ]*}
    if [[ $line == *, ]]; then line="$indent\"$k\": $v,"; else line="$indent\"$k\": $v"; fi
    [ "$line" = "${lines[$i]}" ] && break
    lines[$i]=$line changed=1
    break
  done
  if [ "$found" = 0 ]; then
    lines=("${lines[0]}" "  \"$k\": $v," "${lines[@]:1}")
    changed=1
  fi
  [ "$changed" = 1 ] || return 0
  (umask 077 && printf '%s\n' "${lines[@]}" >"$f.tmp")
  mv "$f.tmp" "$f"
}
# c2sp.org/signed-note verifier keys, from the data folder: the log's (GET /log/vkey) and the
# witness cosigner's (GET /witness/vkey).
# The nodes' log vkeys and the hub's witness vkey (`lapor-node vkey`), computed once per node key
# into $FED/vkeys.txt ("<code> <log vkey> <public key of node.json>", "00-witness <vkey> <hub's
# public key>"): 552 `vkey` processes at every `up` take minutes. A node whose key changed
# (`lapor-node key activate` writes the new public key into node.json) gets its vkey again; a
# line without the public key (written before it was kept) is taken as of the key of now.
declare -A VKEY=()
# PUBKEY = the "public_key" of node $1's node.json (bash only: no process per node).
PUBKEY=""
public_key_of() {
  local line
  PUBKEY=""
  while IFS= read -r line; do
    if [[ $line =~ ^\ *\"public_key\":\ \"([0-9a-fA-F]+)\" ]]; then
      PUBKEY=${BASH_REMATCH[1]}
      return 0
    fi
  done <"$FED/$1/node.json"
}
cache_vkeys() {
  local code c k p key rewrite=0
  local -A held_key=()
  if [ -r "$FED/vkeys.txt" ]; then
    while read -r c k p; do
      [ -n "$k" ] || continue
      VKEY[$c]=$k held_key[$c]=$p
    done <"$FED/vkeys.txt"
  fi
  for code in "${CODES[@]}" 00-witness; do
    public_key_of "${code%-witness}"
    key=$PUBKEY
    if [ -n "${VKEY[$code]:-}" ] && [ "${held_key[$code]:-}" = "$key" ]; then continue; fi
    rewrite=1
    if [ -n "${VKEY[$code]:-}" ] && [ -z "${held_key[$code]:-}" ]; then
      held_key[$code]=$key  # an older line: its vkey is the key's of now
      continue
    fi
    if [ "$code" = 00-witness ]; then
      k=$("$BIN" vkey --witness --data-dir "$(node_dir 00)") || die "lapor-node vkey --witness of the hub failed"
    else
      k=$("$BIN" vkey --data-dir "$(node_dir "$code")") || die "lapor-node vkey of node $code failed"
    fi
    VKEY[$code]=$k held_key[$code]=$key
  done
  [ "$rewrite" = 1 ] || return 0
  for code in "${!VKEY[@]}"; do printf '%s %s %s\n' "$code" "${VKEY[$code]}" "${held_key[$code]:-}"; done >"$FED/vkeys.txt.tmp"
  mv "$FED/vkeys.txt.tmp" "$FED/vkeys.txt"
}
# Forgets node $1's cached vkeys (a new init of its folder).
forget_vkeys() {
  [ -f "$FED/vkeys.txt" ] || return 0
  awk -v c="$1" '$1 != c && !(c == "00" && $1 == "00-witness")' "$FED/vkeys.txt" >"$FED/vkeys.txt.tmp"
  mv "$FED/vkeys.txt.tmp" "$FED/vkeys.txt"
}
log_vkey_of() { printf '%s' "${VKEY[$1]:-$("$BIN" vkey --data-dir "$(node_dir "$1")")}"; }
witness_vkey_of() { printf '%s' "${VKEY[00-witness]:-$("$BIN" vkey --witness --data-dir "$(node_dir 00)")}"; }

# token_of CODE [ROLE]: the token of node CODE's admin (or of its ROLE operator) in tokens.txt.
token_of() { printf '%s' "${TOKEN["$1 ${2:-admin}"]:-}"; }
# Reads tokens.txt (the last line of a code and role wins) and members.txt into TOKEN and ADDED.
load_tokens() {
  local c r t
  TOKEN=() ADDED=()
  if [ -r "$FED/tokens.txt" ]; then
    while read -r c r t; do
      case $c in '' | '#'*) continue ;; esac
      [ -n "$t" ] && TOKEN["$c $r"]=$t
    done <"$FED/tokens.txt"
  fi
  if [ -r "$FED/members.txt" ]; then
    while read -r c; do [ -n "$c" ] && ADDED[$c]=1; done <"$FED/members.txt"
  fi
}

# The version of the signed manifest (an Envelope whose payload, field 2, is a Manifest whose
# field 1 is the version) in file $1; empty if it does not parse.
manifest_version() {
  local -a b
  # The version is the payload's first field, near the start: the first 512 bytes hold it (a
  # manifest of 552 members is ~100 KB, too slow to turn into a bash array per member).
  read -r -a b <<<"$(head -c 512 "$1" | od -An -v -tu1 | tr -s ' \n' '  ')"
  local n=${#b[@]} i=0 end val sh c field wt start=-1 len
  end=$n
  varint() {
    val=0 sh=0
    while :; do
      ((i < end)) || return 1
      c=${b[$i]}; i=$((i + 1))
      val=$((val | ((c & 127) << sh)))
      ((c < 128)) && return 0
      sh=$((sh + 7))
      ((sh < 64)) || return 1
    done
  }
  skip() {  # the value of wire type $1
    case $1 in
      0) varint ;;
      1) i=$((i + 8)) ;;
      2) varint && i=$((i + val)) ;;
      5) i=$((i + 4)) ;;
      *) return 1 ;;
    esac
  }
  while ((i < end)); do
    varint || return 0
    field=$((val >> 3)) wt=$((val & 7))
    if ((field == 2 && wt == 2)); then
      varint || return 0
      start=$i len=$val i=$((i + val))
    else
      skip "$wt" || return 0
    fi
  done
  ((start >= 0)) || return 0
  i=$start end=$((start + len))
  ((end <= n)) || end=$n  # cut at 512 bytes
  while ((i < end)); do
    varint || return 0
    field=$((val >> 3)) wt=$((val & 7))
    if ((field == 1 && wt == 0)); then
      varint || return 0
      printf '%s' "$val"
      return 0
    fi
    skip "$wt" || return 0
  done
}
# The manifest version node $1 serves (empty if none or unreachable).
served_manifest_version() {
  local f="$TMP/manifest.$1"
  rm -f "$f"
  curl -sf --max-time 3 -o "$f" "$(url_of "$1")/federation/v1/manifest" 2>/dev/null || return 0
  manifest_version "$f"
}

# probe PATH HEADER CODE...: GETs PATH at every node CODE in one curl (--parallel): each body in
# $TMP/probe.<code>, and PROBED[code] = its HTTP status (000: no answer). HEADER may be empty.
declare -A PROBED=() CODE_AT=()
probe() {
  local path=$1 header=$2 code status url port
  shift 2
  PROBED=()
  [ $# -gt 0 ] || return 0
  rm -f "$TMP"/probe.*
  for code in "$@"; do
    CODE_AT[${PORT_OF[$code]}]=$code
    printf 'url = "http://%s:%s%s"\noutput = "%s/probe.%s"\n' "$HOST" "${PORT_OF[$code]}" "$path" "$TMP" "$code"
  done >"$TMP/probe.cfg"
  curl -s --parallel --parallel-max 64 --max-time 3 ${header:+-H "$header"} \
    -w '%{http_code} %{url_effective}\n' -K "$TMP/probe.cfg" >"$TMP/probe.status" 2>/dev/null || true
  while read -r status url; do
    port=${url#http://"$HOST":}
    port=${port%%/*}
    code=${CODE_AT[$port]:-}
    [ -n "$code" ] && PROBED[$code]=$status
  done <"$TMP/probe.status"
}
# The first line of file $1 ("" if none), without a process.
first_line() {
  local line=""
  [ -r "$1" ] && { IFS= read -r line <"$1" || true; }
  printf '%s' "$line"
}

# ---- processes ---------------------------------------------------------------------------------

# True if process $1 exists and is not a zombie.
pid_alive() {
  local st=""
  [ -n "$1" ] && { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  [ "${st:0:1}" != Z ]
}
# True if pid $1 is a live `lapor-node run --data-dir $2` (not a reused pid, not a zombie).
# Bash builtins only (no process per call): `down` of 553 nodes on a loaded machine.
pid_is_node() {
  local pid=$1 dir=$2 a run=0 in_dir=0
  local -a args=()
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  mapfile -d '' args <"/proc/$pid/cmdline" 2>/dev/null || return 1
  for a in "${args[@]}"; do
    [ "$a" = run ] && run=1
    [ "$a" = "$dir" ] && in_dir=1
  done
  [ "$run" = 1 ] && [ "$in_dir" = 1 ]
}
# The pid of node $1 if its pid file names a live process of it, else empty.
running_pid() {
  local dir=$FED/$1 pid=""
  [ -r "$dir/pid" ] || return 0
  read -r pid <"$dir/pid" || true
  if pid_is_node "$pid" "$dir"; then printf '%s' "$pid"; fi
}

start_node() {
  local code=$1 dir pid
  dir=$(node_dir "$code")
  printf '==== %s federation.sh: lapor-node run --data-dir %s\n' "$(date -u +%FT%TZ)" "$dir" >>"$dir/node.log"
  # A session of its own: a Ctrl-C in the terminal reaches this script, which stops the nodes in
  # order; with --detach the nodes outlive the terminal.
  setsid "$BIN" run --data-dir "$dir" >>"$dir/node.log" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"
  STARTED+=("$code")
  CHILD[$pid]=1
  PID_OF[$code]=$pid
}

# Stops the nodes this run started, members first and the hub last (members deliver to the hub).
stop_started() {
  local c
  local -a order=()
  for c in "${STARTED[@]}"; do [ "$c" = 00 ] || order+=("$c"); done
  for c in "${STARTED[@]}"; do [ "$c" != 00 ] || order+=("$c"); done
  stop_nodes "${order[@]}"
}

# SIGTERM to each node of "$@" that runs, then waits (STOP_TIMEOUT) for each to exit. Returns 1 if
# one did not exit cleanly (it is then killed with SIGKILL). Exit codes are known only for this
# run's children; for others (down) the log's last line tells.
stop_nodes() {
  local code dir pid rc=0 deadline status
  local -a codes=() pids=()
  for code in "$@"; do
    pid=$(running_pid "$code")
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    codes+=("$code") pids+=("$pid")
  done
  [ ${#codes[@]} -gt 0 ] || return 0
  say "stopping ${codes[*]} (SIGTERM)"
  deadline=$(($(now) + STOP_TIMEOUT))
  local i
  for i in "${!codes[@]}"; do
    code=${codes[$i]} pid=${pids[$i]} dir=$(node_dir "${codes[$i]}")
    while pid_is_node "$pid" "$dir" && [ "$(now)" -lt "$deadline" ]; do sleep 0.1; done
    if pid_is_node "$pid" "$dir"; then
      warn "node $code (pid $pid) did not exit within ${STOP_TIMEOUT}s: SIGKILL; see $dir/node.log"
      kill -KILL "$pid" 2>/dev/null || true
      rc=1
      continue
    fi
    status=""
    if [ -n "${CHILD[$pid]:-}" ]; then
      # A signal that arrives while this runs in a trap can cut `wait` short with 128+signal
      # although the node has exited: ask again (bash keeps a reaped child's status), a few times.
      local tries
      for ((tries = 0; tries < 5; tries++)); do
        status=0
        wait "$pid" 2>/dev/null || status=$?
        [ "$status" -gt 128 ] || break
      done
      # Still 128+signal: the node itself may have died of that signal, or wait was cut short
      # every time; the node's log tells which (it writes "stopped cleanly" as its last act).
      [ "$status" -le 128 ] || status=""
    fi
    if [ -z "$status" ]; then
      if tail -n 3 "$dir/node.log" 2>/dev/null | grep -q 'stopped cleanly'; then
        say "node $code stopped cleanly"
      else
        warn "node $code (pid $pid) exited, but its log does not end with 'stopped cleanly': see $dir/node.log"
        rc=1
      fi
    elif [ "$status" = 0 ]; then
      say "node $code stopped cleanly (exit 0)"
    else
      warn "node $code exited with status $status; see $dir/node.log"
      rc=1
    fi
    rm -f "$dir/pid"
  done
  return "$rc"
}

# ---- the federation's layout -------------------------------------------------------------------

load_nodes() {
  CODES=() PORTS=()
  local code port
  while read -r code port _; do
    case $code in '' | '#'*) continue ;; esac
    CODES+=("$code") PORTS+=("$port")
  done <"$FED/nodes.txt"
  [ ${#CODES[@]} -gt 0 ] && [ "${CODES[0]}" = 00 ] || die "$FED/nodes.txt is not a federation layout (expected '00 <port>' first)"
  load_lookups
}

# Creates nodes.txt for N members unless it exists; then loads it.
plan_nodes() {
  local n=$1 base i
  if [ -f "$FED/nodes.txt" ]; then
    load_nodes
    if [ -n "$n" ] && [ "$n" != $((${#CODES[@]} - 1)) ]; then
      die "$FED holds a federation of $((${#CODES[@]} - 1)) members, not $n: run 'bash deploy/federation.sh down', delete $FED, then up again"
    fi
    if [ -n "${BASE_PORT:-}" ] && [ "$BASE_PORT" != "${PORTS[0]}" ]; then
      warn "BASE_PORT=$BASE_PORT ignored: $FED was created with the hub on port ${PORTS[0]}"
    fi
    return 0
  fi
  n=${n:-$DEFAULT_MEMBERS}
  base=${BASE_PORT:-8100}
  case $base in '' | *[!0-9]*) die "BASE_PORT must be a number, got '$base'" ;; esac
  [ "$base" -ge 1024 ] && [ $((base + n)) -le 65535 ] || die "BASE_PORT $base: ports $base-$((base + n)) must lie within 1024-65535"
  CODES=(00) PORTS=("$base")
  for ((i = 0; i < n; i++)); do CODES+=("${MEMBER_LIST[$i]}") PORTS+=($((base + 1 + i))); done
  load_lookups
  NEW_LAYOUT=1  # saved by save_nodes once the ports are known to be free
}
save_nodes() {
  [ "${NEW_LAYOUT:-0}" = 1 ] || return 0
  local i
  if [ ! -d "$FED" ]; then
    mkdir -p "$FED"
    chmod 700 "$FED"
  fi
  {
    printf '# LAPOR! local federation (deploy/federation.sh): <code> <port on %s>\n' "$HOST"
    for i in "${!CODES[@]}"; do printf '%s %s\n' "${CODES[$i]}" "${PORTS[$i]}"; done
  } >"$FED/nodes.txt.tmp"
  mv "$FED/nodes.txt.tmp" "$FED/nodes.txt"
}

# Runs lapor-node "$@"; on failure dies with its output. Its stdout goes to $OUT.
OUT=""
cli() {
  local rc=0
  OUT=$("$BIN" "$@" 2>"$TMP/cli.err") || rc=$?
  if [ "$rc" -ne 0 ]; then
    die "lapor-node $* failed (exit $rc): $(cat "$TMP/cli.err") $OUT"
  fi
}

init_node() {
  local code=$1 dir port
  dir=$(node_dir "$code") port=$(port_of "$code")
  [ -f "$dir/node.json" ] && return 0
  if [ -e "$dir/node.key" ] || [ -e "$dir/lapor.db" ]; then
    die "$dir holds an interrupted init (keys but no node.json): delete that folder (rm -r '$dir') and up again"
  fi
  mkdir -p "$FED"  # parents of the data folder (older binaries do not create them)
  forget_vkeys "$code"
  if [ "$code" = 00 ]; then
    rm -f "$FED/members.txt"  # a new hub: no member added yet
    ADDED=()
    cli init --data-dir "$dir" --jurisdiction 00 --listen "$HOST:$port"
  else
    local hub_key
    hub_key=$(cfg_get "$(node_dir 00)/node.json" public_key)
    cli init --data-dir "$dir" --jurisdiction "$code" --listen "$HOST:$port" \
      --hub-key "$hub_key" --hub-url "$(url_of 00)"
  fi
  say "$(head -n1 <<<"$OUT")"
}

# The members added to the hub are listed in $FED/members.txt, so that a second `up` does not
# run `federation add-member` again for each.
add_member() {
  local code=$1 key rc=0 out
  [ -z "${ADDED[$code]:-}" ] || return 0
  key=$(cfg_get "$(node_dir "$code")/node.json" public_key)
  out=$("$BIN" federation add-member --data-dir "$(node_dir 00)" --jurisdiction "$code" \
    --url "$(url_of "$code")" --key "$key" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    say "hub: member $code added: $out"
  elif grep -q "already a member" <<<"$out"; then
    :  # added by an earlier run (its URL and key are checked once the hub serves the manifest)
  else
    die "lapor-node federation add-member $code failed (exit $rc): $out"
  fi
  printf '%s\n' "$code" >>"$FED/members.txt"
  ADDED[$code]=1
}

# add_operator CODE ROLE [operator add options...]: once per node and role; the token goes to
# tokens.txt.
add_operator() {
  local code=$1 role=$2 token
  shift 2
  [ -n "$(token_of "$code" "$role")" ] && return 0
  cli operator add --data-dir "$(node_dir "$code")" --name "$role-$code" --role "$role" "$@"
  token=$(printf '%s\n' "$OUT" | sed '/^[[:space:]]*$/d' | tail -n1)
  case $token in '' | *[[:space:]]*) die "could not read the token from 'lapor-node operator add' output: $OUT" ;; esac
  if [ ! -f "$FED/tokens.txt" ]; then
    (umask 077 && printf '# operator tokens of the local federation: <code> <role> <token> (keep private)\n' >"$FED/tokens.txt")
  fi
  chmod 600 "$FED/tokens.txt"
  printf '%s %s %s\n' "$code" "$role" "$token" >>"$FED/tokens.txt"
  TOKEN["$code $role"]=$token
  say "node $code: $role operator added${*:+ ($*)} (token in $FED/tokens.txt)"
}

configure_nodes() {
  local code f list="" hub_vkey
  for code in "${CODES[@]:1}"; do
    cfg_set "$(node_dir "$code")/node.json" manifest_interval_ms "$MANIFEST_INTERVAL_MS"
    cfg_set "$(node_dir "$code")/node.json" stats_interval_ms "$STATS_INTERVAL_MS"
  done
  if [ "$WITNESS" = 0 ]; then
    cfg_set "$(node_dir 00)/node.json" witness_of '[]'
    for code in "${CODES[@]:1}"; do
      f=$(node_dir "$code")/node.json
      grep -q '^ *"witnesses":' "$f" && cfg_set "$f" witnesses '[]'
    done
    return 0
  fi
  for code in "${CODES[@]:1}"; do list+="${list:+, }\"$(log_vkey_of "$code")\""; done
  cfg_set "$(node_dir 00)/node.json" witness_of "[$list]"
  hub_vkey=$(witness_vkey_of 00)
  for code in "${CODES[@]:1}"; do
    cfg_set "$(node_dir "$code")/node.json" witnesses "[{\"url\": \"$(url_of 00)\", \"vkey\": \"$hub_vkey\"}]"
  done
}

create_or_reuse() {
  local code
  for code in "${CODES[@]}"; do init_node "$code"; done
  for code in "${CODES[@]:1}"; do add_member "$code"; done
  for code in "${CODES[@]}"; do add_operator "$code" admin; done
  # Each member: a liaison of one agency, to try the workbench (/kerja) with.
  for code in "${CODES[@]:1}"; do add_operator "$code" liaison --agency "$LIAISON_AGENCY"; done
  cache_vkeys
  configure_nodes
}

# ---- waiting -----------------------------------------------------------------------------------

node_failed() {  # dies naming node $1 and its log
  local dir
  dir=$(node_dir "$1")
  printf 'federation.sh: error: %s\n' "$2" >&2
  if [ -f "$dir/node.log" ]; then
    printf -- '--- last lines of %s/node.log:\n' "$dir" >&2
    tail -n 15 "$dir/node.log" >&2
    printf -- '---\n' >&2
  fi
  exit 1
}

wait_healthy() {
  local code=$1 dir pid deadline body
  dir=$(node_dir "$code") pid=$(cat "$dir/pid")
  deadline=$(($(now) + READY_TIMEOUT))
  while :; do
    pid_alive "$pid" || node_failed "$code" "node $code exited while starting; see $dir/node.log"
    body=$(curl -sf --max-time 2 "$(url_of "$code")/healthz" 2>/dev/null) || body=""
    if [ -n "$body" ]; then
      [ "$(json_str node_id <<<"$body")" = "$code" ] ||
        node_failed "$code" "$(url_of "$code") answers as node '$(json_str node_id <<<"$body")', not $code: is another federation using these ports?"
      return 0
    fi
    [ "$(now)" -lt "$deadline" ] || node_failed "$code" "node $code does not answer $(url_of "$code")/healthz after ${READY_TIMEOUT}s; see $dir/node.log"
    sleep 0.2
  done
}

# Waits until every node of "$@" answers /healthz as itself, asking all that have not yet at once.
wait_all_healthy() {
  local -a pending=("$@") next=()
  local code deadline body
  deadline=$(($(now) + READY_TIMEOUT))
  while [ ${#pending[@]} -gt 0 ]; do
    for code in "${pending[@]}"; do
      pid_alive "${PID_OF[$code]:-}" || node_failed "$code" "node $code exited while starting; see $(node_dir "$code")/node.log"
    done
    probe /healthz "" "${pending[@]}"
    next=()
    for code in "${pending[@]}"; do
      if [ "${PROBED[$code]:-000}" != 200 ]; then
        next+=("$code")
        continue
      fi
      body=$(first_line "$TMP/probe.$code")
      [[ $body == *"\"node_id\":\"$code\""* ]] ||
        node_failed "$code" "$(url_of "$code") answers as another node ($body), not $code: is another federation using these ports?"
    done
    pending=("${next[@]}")
    [ ${#pending[@]} -gt 0 ] || break
    [ "$(now)" -lt "$deadline" ] || node_failed "${pending[0]}" "node ${pending[0]} does not answer $(url_of "${pending[0]}")/healthz after ${READY_TIMEOUT}s (${#pending[@]} node(s) do not); see $(node_dir "${pending[0]}")/node.log"
    sleep 0.5
  done
}

wait_manifests() {
  local hub_v code v deadline
  local -a pending=("${CODES[@]:1}") next=()
  deadline=$(($(now) + READY_TIMEOUT))
  # The hub answers /healthz before it has time for a manifest: right after a start every member
  # fetches it too (one try of 3 s is not enough for 552 of them).
  while hub_v=$(served_manifest_version 00) && [ -z "$hub_v" ]; do
    [ "$(now)" -lt "$deadline" ] || node_failed 00 "the hub serves no federation manifest at $(url_of 00)/federation/v1/manifest after ${READY_TIMEOUT}s"
    sleep 0.5
  done
  check_manifest_members
  while [ ${#pending[@]} -gt 0 ]; do
    # 304: the member works with the hub's version (no body to fetch and parse).
    probe /federation/v1/manifest "If-None-Match: \"v$hub_v\"" "${pending[@]}"
    next=()
    for code in "${pending[@]}"; do [ "${PROBED[$code]:-000}" = 304 ] || next+=("$code"); done
    pending=("${next[@]}")
    [ ${#pending[@]} -gt 0 ] || break
    if [ "$(now)" -ge "$deadline" ]; then
      code=${pending[0]}
      v=$(served_manifest_version "$code")
      node_failed "$code" "node $code serves manifest version ${v:-none}, not the hub's version $hub_v, after ${READY_TIMEOUT}s (${#pending[@]} member(s) do not); see $(node_dir "$code")/node.log"
    fi
    sleep 0.5
  done
  MANIFEST_VERSION=$hub_v
}

# The manifest lists each member with the URL and key of this folder (else an earlier federation
# with other ports or keys was added to this hub).
check_manifest_members() {
  local code missing url
  od -An -v -tx1 "$TMP/manifest.00" | tr -d ' \n' >"$TMP/manifest.hex"
  # One awk for every member (hex of its URL, the public key from its node.json).
  missing=$(for code in "${CODES[@]:1}"; do
    printf '%s http://%s:%s %s/node.json\n' "$code" "$HOST" "${PORT_OF[$code]}" "$(node_dir "$code")"
  done | awk '
    BEGIN { for (i = 32; i < 127; i++) hexof[sprintf("%c", i)] = sprintf("%02x", i) }
    NR == FNR { hex = hex $0; next }
    {
      key = ""
      while ((getline line < $3) > 0) {
        if (match(line, /"public_key": "[0-9a-fA-F]+"/)) key = tolower(substr(line, RSTART + 15, RLENGTH - 16))
      }
      close($3)
      u = ""
      for (i = 1; i <= length($2); i++) u = u hexof[substr($2, i, 1)]
      if (key == "" || index(hex, u) == 0 || index(hex, key) == 0) print $1 " " $2
    }' "$TMP/manifest.hex" -)
  if [ -n "$missing" ]; then
    read -r code url _ <<<"$missing"
    die "the hub's manifest does not list member $code at $url with its key (an earlier, different federation in $FED?): delete $FED and up again"
  fi
}

# GETs case $2 at node $1 with its admin token until it answers 200 for that case.
wait_case() {
  local code=$1 id=$2 deadline body token
  token=$(token_of "$code")
  deadline=$(($(now) + READY_TIMEOUT))
  while :; do
    body=$(curl -sf --max-time 3 -H "Authorization: Bearer $token" "$(url_of "$code")/api/v1/complaints/$id" 2>/dev/null) || body=""
    if [ -n "$body" ] && [ "$(json_str tracking_id <<<"$body")" = "$id" ]; then
      CASE_BODY=$body
      return 0
    fi
    [ "$(now)" -lt "$deadline" ] ||
      node_failed "$code" "case $id did not reach node $code within ${READY_TIMEOUT}s (GET $(url_of "$code")/api/v1/complaints/$id); see also $(node_dir "$SAMPLE_ORIGIN")/node.log and /federation/v1/status there"
    sleep 0.2
  done
}

# ---- the sample complaint ----------------------------------------------------------------------

SAMPLE_ID="" SAMPLE_CODE=""
sample() {
  local force=$1 out code body
  if ! is_member "$SAMPLE_ORIGIN" || ! is_member "$SAMPLE_OWNER"; then
    say "no sample complaint: it needs members $SAMPLE_ORIGIN and $SAMPLE_OWNER (up 2 or more)"
    return 0
  fi
  if [ "$force" != 1 ] && [ -r "$FED/sample.txt" ]; then
    SAMPLE_ID=$(sed -n 's/^tracking_id=//p' "$FED/sample.txt")
    SAMPLE_CODE=$(sed -n 's/^access_code=//p' "$FED/sample.txt")
  fi
  if [ -z "$SAMPLE_ID" ]; then
    out=$(curl -sS --max-time 10 -w '\n%{http_code}' -X POST "$(url_of "$SAMPLE_ORIGIN")/api/v1/complaints" \
      -H 'Content-Type: application/json' -d "$SAMPLE_JSON") || die "filing the sample complaint at $(url_of "$SAMPLE_ORIGIN") failed"
    code=$(tail -n1 <<<"$out") body=$(sed '$d' <<<"$out")
    [ "$code" = 201 ] || node_failed "$SAMPLE_ORIGIN" "filing the sample complaint at node $SAMPLE_ORIGIN: HTTP $code $body"
    SAMPLE_ID=$(json_str tracking_id <<<"$body") SAMPLE_CODE=$(json_str access_code <<<"$body")
    (umask 077 && printf 'tracking_id=%s\naccess_code=%s\norigin=%s\nowner=%s\n' \
      "$SAMPLE_ID" "$SAMPLE_CODE" "$SAMPLE_ORIGIN" "$SAMPLE_OWNER" >"$FED/sample.txt")
    say "sample complaint filed at $SAMPLE_ORIGIN about region $SAMPLE_OWNER: $SAMPLE_ID"
  fi
  wait_case "$SAMPLE_OWNER" "$SAMPLE_ID"
  local owner
  owner=$(json_str owner_node <<<"$CASE_BODY")
  [ "$owner" = "$SAMPLE_OWNER" ] || die "case $SAMPLE_ID is owned by '$owner' at node $SAMPLE_OWNER, expected $SAMPLE_OWNER"
  wait_case 00 "$SAMPLE_ID"
  say "case $SAMPLE_ID is at its owner $SAMPLE_OWNER and at the hub"
}

# "yes" once the origin's checkpoint carries the hub's cosignature (waits up to 5 s).
WITNESSED=""
check_witnessed() {
  [ "$WITNESS" != 0 ] && [ -n "$SAMPLE_ID" ] || return 0
  local hub_origin deadline
  hub_origin=$(cfg_get "$(node_dir 00)/node.json" origin)
  deadline=$(($(now) + 5))
  WITNESSED=no
  while [ "$(now)" -le "$deadline" ]; do
    if curl -sf --max-time 2 "$(url_of "$SAMPLE_ORIGIN")/log/checkpoint" 2>/dev/null | grep -qF -- "— $hub_origin "; then
      WITNESSED=yes
      return 0
    fi
    sleep 0.2
  done
}
# The served vkeys are the ones configured (computed from node.json): warns otherwise.
check_vkeys() {
  [ "$WITNESS" != 0 ] || return 0
  local code served
  served=$(curl -sf --max-time 2 "$(url_of 00)/witness/vkey" 2>/dev/null) || served=""
  [ "$served" = "$(witness_vkey_of 00)" ] || warn "the hub's /witness/vkey ('$served') is not the computed one: witnessing will not work"
  probe /log/vkey "" "${CODES[@]:1}"
  for code in "${CODES[@]:1}"; do
    served=""
    [ "${PROBED[$code]:-000}" != 200 ] || served=$(first_line "$TMP/probe.$code")
    [ "$served" = "${VKEY[$code]:-}" ] || warn "node $code's /log/vkey ('$served') is not the computed one: the hub will not witness it"
  done
}

# ---- output ------------------------------------------------------------------------------------

print_summary() {
  local code owner_url origin_url
  echo
  echo "LAPOR! local federation: hub 00 + $((${#CODES[@]} - 1)) member node(s), manifest version $MANIFEST_VERSION"
  echo "  folder: $FED   (tokens: $FED/tokens.txt, logs: $FED/<code>/node.log)"
  echo
  printf '  %-6s %-9s %-28s %-23s %s\n' node role name URL "admin token"
  local role
  for code in "${CODES[@]}"; do
    case $code in 00) role=hub ;; [0-9][0-9]) role=province ;; *) role=regency ;; esac
    printf '  %-6s %-9s %-28s %-23s %s\n' "$code" "$role" "${NAME[$code]:-}" \
      "http://$HOST:${PORT_OF[$code]}" "${TOKEN["$code admin"]:-}"
  done
  echo
  if [ -n "$SAMPLE_ID" ]; then
    origin_url=$(url_of "$SAMPLE_ORIGIN") owner_url=$(url_of "$SAMPLE_OWNER")
    echo "Sample complaint, filed at $SAMPLE_ORIGIN about region $SAMPLE_OWNER (so owned by $SAMPLE_OWNER):"
    echo "  tracking id: $SAMPLE_ID"
    echo "  access code: $SAMPLE_CODE"
    echo "  seen at: $SAMPLE_OWNER (owner), 00 (hub)"
    [ -z "$WITNESSED" ] || echo "  $SAMPLE_ORIGIN's log checkpoint cosigned by the hub (witness): $WITNESSED"
    echo
    echo "File another complaint (at $SAMPLE_ORIGIN, about region $SAMPLE_OWNER):"
    echo "  curl -s -X POST $origin_url/api/v1/complaints -H 'Content-Type: application/json' -d '$SAMPLE_JSON'"
    echo "Look at the sample case at its owner $SAMPLE_OWNER (as its admin):"
    echo "  curl -s -H 'Authorization: Bearer $(token_of "$SAMPLE_OWNER")' $owner_url/api/v1/complaints/$SAMPLE_ID"
    echo "The same case as its reporter (access code; any node that holds it):"
    echo "  curl -s '$owner_url/api/v1/complaints/$SAMPLE_ID?access_code=$SAMPLE_CODE'"
    echo
  else
    echo "File a complaint (at ${CODES[1]}, about its own region):"
    echo "  curl -s -X POST $(url_of "${CODES[1]}")/api/v1/complaints -H 'Content-Type: application/json' -d '{\"title\":\"Jalan berlubang\",\"description\":\"Jalan di depan SDN 1 berlubang sejak sebulan\",\"category\":\"infrastruktur\",\"report_type\":\"pengaduan\",\"region_code\":\"${CODES[1]}\"}'"
    echo
  fi
  echo "In a browser, every member serves the citizen's pages and the operators' workbench:"
  echo "  $(url_of "${CODES[1]}")/lapor   file a complaint     $(url_of "${CODES[1]}")/lacak   track it"
  echo "  $(url_of "${CODES[1]}")/kerja   the workbench: sign in with the admin token above, or the"
  echo "  $LIAISON_AGENCY liaison's: $(token_of "${CODES[1]}" liaison)"
  echo "  $(url_of 00)/dashboard/   the national dashboard: sign in with the hub's admin token"
  echo "  (each member's /dashboard/ shows its own cases, with its admin token)"
  echo
  echo "Where to look next:"
  echo "  curl -s -H 'Authorization: Bearer <admin token>' <URL>/federation/v1/status   deliveries to each peer: cursor, backlog, errors, lag"
  echo "  curl -s <URL>/log/checkpoint   the node's signed log checkpoint (with the hub's cosignature)"
  echo "  curl -s -H 'Authorization: Bearer <hub admin token>' $(url_of 00)/national/v1/stats   the national figures (JSON)"
  echo "  bash deploy/federation.sh status   every node at a glance (from another terminal)"
  echo "  README.md: \"Federation\", \"REST API\" (actions: verify, forward, respond...), \"Transparency log and audit\""
  echo
}

# ---- commands ----------------------------------------------------------------------------------

on_exit() {
  local rc=$?
  if [ "$PHASE" != detached ] && [ "$PHASE" != stopped ] && [ ${#STARTED[@]} -gt 0 ]; then
    PHASE=stopping
    stop_started || true
  fi
  [ -z "$TMP" ] || rm -rf "$TMP"
  exit "$rc"
}

on_signal() {
  local sig=$1
  case $PHASE in
    stopping | stopped) return 0 ;;
  esac
  trap '' INT TERM HUP
  if [ "$PHASE" = running ]; then
    echo
    say "$sig received: stopping every node"
    PHASE=stopping
    local rc=0
    stop_started || rc=1
    PHASE=stopped
    if [ "$rc" -eq 0 ]; then say "all nodes stopped cleanly"; fi
    exit "$rc"
  fi
  say "$sig received during start: stopping the nodes started so far"
  PHASE=stopping
  stop_started || true
  PHASE=stopped
  exit 130
}

cmd_up() {
  local n="" detach=${DETACH:-0} force_sample=0 arg code pid
  for arg in "$@"; do
    case $arg in
      --detach | -d) detach=1 ;;
      --sample) force_sample=1 ;;
      '' | *[!0-9]*) die "up: unknown argument '$arg' (usage: up [N] [--detach] [--sample])" ;;
      *) n=$arg ;;
    esac
  done
  extend_member_list
  if [ -n "$n" ] && { [ "$n" -lt 1 ] || [ "$n" -gt ${#MEMBER_LIST[@]} ]; }; then
    die "up: N must be 1-${#MEMBER_LIST[@]} (members from: ${MEMBER_LIST[*]:0:13} and the rest of data/regions)"
  fi
  [ -x "$BIN" ] || die "no lapor-node binary at $BIN: build it first with 'bash deploy/build.sh' (or set LAPOR_NODE_BIN)"
  command -v curl >/dev/null || die "curl is missing: run 'bash deploy/install-deps.sh'"
  command -v setsid >/dev/null || die "setsid (util-linux) is missing"
  TMP=$(mktemp -d)
  trap on_exit EXIT
  trap 'on_signal SIGINT' INT
  trap 'on_signal SIGTERM' TERM
  trap 'on_signal SIGHUP' HUP

  plan_nodes "$n"
  for code in "${CODES[@]}"; do
    pid=$(running_pid "$code")
    [ -z "$pid" ] || die "node $code of $FED already runs (pid $pid): 'bash deploy/federation.sh status' or 'down'"
  done
  probe /healthz "" "${CODES[@]}"
  for code in "${CODES[@]}"; do
    if [ "${PROBED[$code]:-000}" != 000 ]; then
      die "port ${PORT_OF[$code]} (for node $code) is already in use by another process: stop it, or set BASE_PORT (new folder) / LAPOR_FED_DIR"
    fi
  done
  save_nodes
  if [ -f "$(node_dir 00)/node.json" ]; then say "reusing the federation in $FED"; else say "creating a federation in $FED"; fi
  create_or_reuse

  # The hub first (members fetch the manifest from it at start), then the members.
  start_node 00
  wait_healthy 00
  for code in "${CODES[@]:1}"; do start_node "$code"; done
  wait_all_healthy "${CODES[@]:1}"
  say "every node answers /healthz"
  wait_manifests
  say "every member serves the hub's manifest version $MANIFEST_VERSION"
  check_vkeys
  sample "$force_sample"
  check_witnessed
  print_summary

  if [ "$detach" = 1 ]; then
    PHASE=detached
    echo "Ready: the LAPOR! federation runs in the background. Stop it with: bash deploy/federation.sh down"
    exit 0
  fi
  PHASE=running
  echo "Ready: the LAPOR! federation is running. Ctrl-C stops every node."
  # Until a signal (its trap stops the nodes and exits) or a node exits on its own.
  while :; do
    sleep 1 &
    wait $! || true
    for code in "${STARTED[@]}"; do
      pid=$(running_pid "$code")
      if [ -z "$pid" ] && [ "$PHASE" = running ]; then
        PHASE=stopping
        local rc=0 dir
        dir=$(node_dir "$code")
        wait "${PID_OF[$code]}" 2>/dev/null || rc=$?
        rm -f "$dir/pid"
        if [ "$rc" = 0 ]; then
          say "node $code was stopped from outside (exit 0, e.g. by 'down'): stopping the others"
        else
          warn "node $code exited on its own (status $rc); see $dir/node.log: stopping the others"
        fi
        stop_started || rc=1
        PHASE=stopped
        exit $((rc == 0 ? 0 : 1))
      fi
    done
  done
}

cmd_down() {
  [ -f "$FED/nodes.txt" ] || die "no federation in $FED (set LAPOR_FED_DIR?)"
  load_nodes
  local code any=0
  for code in "${CODES[@]}"; do [ -z "$(running_pid "$code")" ] || any=1; done
  if [ "$any" = 0 ]; then
    say "no node of $FED is running"
    for code in "${CODES[@]}"; do rm -f "$(node_dir "$code")/pid"; done
    return 0
  fi
  # Members first, the hub last: members deliver to the hub until they stop.
  local -a order=("${CODES[@]:1}" 00)
  if stop_nodes "${order[@]}"; then say "all nodes stopped"; else die "some nodes did not stop cleanly (see above)"; fi
}

or_dash() { if [ -n "$1" ]; then printf '%s' "$1"; else printf -- '-'; fi; }

cmd_status() {
  [ -f "$FED/nodes.txt" ] || die "no federation in $FED (set LAPOR_FED_DIR?)"
  load_nodes
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  local code url pid health token st cp size cosig v down=0 obj dests
  echo "LAPOR! local federation in $FED"
  for code in "${CODES[@]}"; do
    url=$(url_of "$code") pid=$(running_pid "$code") token=$(token_of "$code")
    health=$(curl -sf --max-time 2 "$url/healthz" 2>/dev/null) || health=""
    printf '\n%s  %s %s  %s  ' "$code" "$(role_of "$code")" "($(name_of "$code"))" "$url"
    if [ -z "$health" ]; then
      printf 'DOWN%s\n' "${pid:+ (pid $pid runs but does not answer)}"
      down=1
      continue
    fi
    v=$(served_manifest_version "$code")
    cp=$(curl -sf --max-time 2 "$url/log/checkpoint" 2>/dev/null) || cp=""
    size=$(sed -n 2p <<<"$cp")
    cosig=$(grep -c '^— ' <<<"$cp" || true)
    printf 'up%s, next_seq %s, manifest v%s, log size %s, checkpoint signatures %s\n' \
      "${pid:+ (pid $pid)}" "$(json_num next_seq <<<"$health")" "${v:-none}" "${size:-?}" "${cosig:-0}"
    if [ -z "$token" ]; then
      echo "    (no admin token in tokens.txt: /federation/v1/status not shown)"
      continue
    fi
    st=$(curl -sf --max-time 3 -H "Authorization: Bearer $token" "$url/federation/v1/status" 2>/dev/null) || st=""
    if [ -z "$st" ]; then
      echo "    /federation/v1/status: no answer"
      continue
    fi
    dests=$({ grep -o '"destinations":\[[^]]*\]' <<<"$st" || true; } | { grep -o '{[^{}]*}' || true; })
    [ -n "$dests" ] || echo "    deliveries: none yet (this node has sent no event to another node)"
    while read -r obj; do
      [ -n "$obj" ] || continue
      printf '    -> %-6s cursor %s, backlog %s, lag %ss, last success %s, last error %s\n' \
        "$(json_str destination <<<"$obj")" "$(json_num cursor <<<"$obj")" "$(json_num backlog <<<"$obj")" \
        "$(json_num lag_seconds <<<"$obj")" "$(or_dash "$(json_str last_success <<<"$obj")")" \
        "$(or_dash "$(json_str last_error <<<"$obj")")"
    done <<<"$dests"
  done
  return "$down"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    echo "usage: bash deploy/federation.sh up [N] [--detach] [--sample] | status | down" >&2
    echo "(see the comment at the top of deploy/federation.sh)" >&2
    exit 2
    ;;
esac
