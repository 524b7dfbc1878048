#!/usr/bin/env bash
# Builds the Debian package of lapor-node (binaries, systemd unit, alert rules, docs) from ./build
# with CPack: prints the .deb's path. Installs the build dependencies and builds first.
#   bash deploy/package.sh            -> build/lapor-node_<version>_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh >&2
bash deploy/build.sh >&2
cd build
rm -f lapor-node_*.deb
cpack -G DEB >&2
ls "$PWD"/lapor-node_*.deb
