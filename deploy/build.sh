#!/usr/bin/env bash
# Configures and builds everything into ./build (RelWithDebInfo, warnings as errors, 2 jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAPOR_WERROR=ON >/dev/null
cmake --build build -j "${JOBS:-2}"
