#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs packages, builds,
# runs the whole suite with ctest (unit, integration against the real binary, crash tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
bash deploy/build.sh
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 600
