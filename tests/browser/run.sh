#!/usr/bin/env bash
# The browser tests (ctest): installs the pinned npm packages of this folder (playwright-core,
# axe-core; package-lock.json) into the build folder with `npm ci` (once for both tests: a lock
# keeps two runs from installing at once), then runs one test with Debian's chromium:
# Browser.CitizenFilesAndTracks (citizen.test.js, against a lapor-node it starts) or, with
# LAPOR_BROWSER_TEST=dashboard, Browser.NationalDashboard (dashboard.test.js, against a federation
# it starts with deploy/federation.sh). Fails, never skips, when chromium, Node.js >= 20 or the
# packages are missing.
#   bash tests/browser/run.sh BUILD/node/lapor-node OUT_DIR [--base URL --admin TOKEN --liaison TOKEN]
# (the options: the citizen test against a node already running; deploy/smoke.sh uses them)
set -euo pipefail
NODE_BIN=$1
OUT=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${LAPOR_CHROMIUM:-/usr/bin/chromium}

TEST=${LAPOR_BROWSER_TEST:-citizen}
fail() { echo "browser test $TEST: $*" >&2; exit 1; }
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM: run deploy/install-deps.sh (Debian's chromium)"
command -v exiftool >/dev/null || fail "no exiftool: run deploy/install-deps.sh (Debian's libimage-exiftool-perl)"
command -v node >/dev/null || fail "no node: install Node.js 20 or later (deploy/install-deps.sh says how)"
command -v npm >/dev/null || fail "no npm: install Node.js 20 or later with npm"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || fail "Node.js $(node --version) is too old: playwright-core needs 20 or later"

mkdir -p "$OUT"
# npm ci again only when the lock file changed; Playwright's own browser download is never used.
(
  flock 9
  if ! cmp -s "$HERE/package-lock.json" "$OUT/package-lock.json" || [ ! -d "$OUT/node_modules" ]; then
    cp "$HERE/package.json" "$HERE/package-lock.json" "$OUT/"
    (cd "$OUT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
      fail "npm ci failed in $OUT (is the npm registry reachable?)"
  fi
) 9>"$OUT/.npm-lock"
case $TEST in
  citizen) SHOTS=$OUT/screenshots ;;
  dashboard) SHOTS=$OUT/screenshots-dashboard ;;
  *) fail "unknown test (LAPOR_BROWSER_TEST is citizen or dashboard)" ;;
esac
rm -rf "$SHOTS"
NODE_PATH="$OUT/node_modules" LAPOR_CHROMIUM="$CHROMIUM" \
  node "$HERE/$TEST.test.js" --node "$NODE_BIN" --artefacts "$SHOTS" "$@"
