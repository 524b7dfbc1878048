#!/usr/bin/env bash
# The folder graph of docs/ARCHITECTURE.md, enforced: every `#include "<folder>/..."` of a
# project header must point along an allowed arrow. Prints each include that does not and exits 1.
#   bash tests/check_layering.sh [ROOT]      (ROOT: the repository root, default this checkout)
# ctest runs it on the tree, and on a copy with a deliberate back-include that it must refuse.
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# folder -> the folders its files may include from ("lapor" is the generated protobuf code of
# proto/, included as "lapor/v1/event.pb.h").
declare -A ALLOWED=(
  [base]="base"
  [crypto]="base crypto"
  [proto]="lapor"
  [protocol]="base crypto protocol lapor"
  [storage]="base crypto storage lapor"
  [federation]="base crypto protocol storage federation lapor"
  [node]="base crypto protocol storage federation node lapor"
  [audit]="base crypto protocol audit lapor"
  [harness]="base crypto protocol storage federation harness lapor"
  [bench]="base crypto protocol storage federation node harness bench lapor"
  [fuzz]="base crypto protocol storage federation node audit lapor"
  [tests]="base crypto protocol storage federation node audit harness tests lapor"
)
# The libraries each folder builds (CMake targets), to check links along the same arrows.
declare -A LIBRARY_FOLDER=(
  [lapor_base]=base [lapor_crypto]=crypto [lapor_proto]=lapor [lapor_protocol]=protocol
  [lapor_storage]=storage [lapor_federation]=federation [lapor_node_core]=node [lapor_http]=node
  [lapor_audit]=audit [lapor_test_harness]=harness [lapor_fault_proxy]=harness
)
# Known back-arrows, each to be removed. A new one is a failure; a listed one that no longer
# exists is reported so the list shrinks.
EXCEPTIONS=()

status=0
seen_exceptions=()
for folder in "${!ALLOWED[@]}"; do
  [ -d "$ROOT/$folder" ] || continue
  while IFS= read -r -d '' file; do
    rel=${file#"$ROOT"/}
    while IFS= read -r header; do
      target=${header%%/*}
      [ -d "$ROOT/$target" ] || [ "$target" = lapor ] || continue  # a system header like <x/y.h>
      ok=0
      for allowed in ${ALLOWED[$folder]}; do
        [ "$allowed" = "$target" ] && ok=1
      done
      [ $ok = 1 ] && continue
      arrow="$rel -> $header"
      for e in "${EXCEPTIONS[@]}"; do
        if [ "$e" = "$arrow" ]; then
          ok=1
          seen_exceptions+=("$e")
        fi
      done
      [ $ok = 1 ] && continue
      echo "layering: $arrow ($folder/ may include only: ${ALLOWED[$folder]:-nothing of ours})"
      status=1
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\/[^"]*\)".*/\1/p' "$file")
  done < <(find "$ROOT/$folder" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.in' \) -print0)
done
for e in "${EXCEPTIONS[@]}"; do
  found=0
  for s in "${seen_exceptions[@]+"${seen_exceptions[@]}"}"; do [ "$s" = "$e" ] && found=1; done
  if [ $found = 0 ]; then
    echo "layering: the exception '$e' no longer occurs: remove it from $0"
    status=1
  fi
done
# Links: every lapor_* library a folder's CMakeLists.txt links must belong to an allowed folder
# (a back-include can be hidden by linking; a link can be added without an include).
for folder in "${!ALLOWED[@]}"; do
  cml="$ROOT/$folder/CMakeLists.txt"
  [ -f "$cml" ] || continue
  for lib in $(tr -s ' \t()\n' '\n' <"$cml" | grep -E '^lapor_[a-z_]+$' | sort -u); do
    target=${LIBRARY_FOLDER[$lib]:-}
    [ -n "$target" ] || continue  # a library this folder defines under another name
    ok=0
    for allowed in ${ALLOWED[$folder]}; do
      [ "$allowed" = "$target" ] && ok=1
    done
    if [ $ok = 0 ]; then
      echo "layering: $folder/CMakeLists.txt links $lib ($target/; $folder/ may use only: ${ALLOWED[$folder]:-nothing of ours})"
      status=1
    fi
  done
done
[ $status = 0 ] && echo "layering: every include and link follows the folder graph"
exit $status
