#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and benchmark.
# Idempotent; needs root (CI and fresh machines run as root).
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config git curl ca-certificates
  libcpprest-dev libssl-dev libboost-dev libboost-system-dev   # HTTP (cpprestsdk) + Asio
  libsodium-dev                                                # Ed25519, SHA-256, secretbox
  libsqlite3-dev sqlite3                                       # embedded storage
  libprotobuf-dev protobuf-compiler                            # event wire/disk format
  libgtest-dev                                                 # tests
  nlohmann-json3-dev libcli11-dev libspdlog-dev                # JSON, CLI parsing, logging
  libjemalloc-dev                                              # the node's allocator
  prometheus-cpp-dev                                           # /metrics (registry, text format)
  libsystemd-dev                                               # sd_notify: READY, STOPPING, watchdog
  prometheus                                                   # promtool: checks /metrics and the alert rules
  python3-yaml python3-jsonschema python3-cryptography         # tests/openapi_check.py: docs/openapi.yaml vs the node
  wrk                                                          # benchmark load generator
  nginx openssl                                                # the TLS front door and its test (deploy/nginx/)
  clang                                                        # sanitizer builds (deploy/sanitize.sh)
  chromium                                                     # the pages' browser test (tests/browser/)
  libimage-exiftool-perl                                       # exiftool: the browser test checks a downloaded photo lost its GPS tag
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
# The browser test (tests/browser/run.sh) also needs Node.js 20 or later with npm (the machine
# image's; Debian 12's nodejs is 18, too old for playwright-core), and installs its pinned npm
# packages itself with `npm ci`. Said here so that a machine without it learns it early.
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null ||
  ! command -v npm >/dev/null; then
  echo "install-deps: Node.js 20 or later with npm is missing: the test Browser.CitizenFilesAndTracks will fail" >&2
fi
