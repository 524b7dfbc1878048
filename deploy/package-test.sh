#!/usr/bin/env bash
# Installs the Debian package made by deploy/package.sh on this machine (root; as CI runs) and
# checks it as an operator would use it: the binaries in /usr/bin run, the `lapor` system user
# exists, systemd-analyze accepts the unit, and a node initialised and run by the installed binary
# as that user (with the unit's umask and open-file limit) serves, takes a complaint and stops
# cleanly; then the package is removed again (purged only if it was not installed before).
set -euo pipefail
cd "$(dirname "$0")/.."
DEB="$(bash deploy/package.sh | tail -1)"
echo "package: $DEB"
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Description:/p'
dpkg-deb --contents "$DEB" | awk '{print $6}'

was_installed=0
dpkg-query -W -f='${Status}' lapor-node 2>/dev/null | grep -q "install ok installed" && was_installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$DEB" >/dev/null

fail() { echo "package-test: $*" >&2; exit 1; }
/usr/bin/lapor-node --version | grep -q "lapor-node" || fail "lapor-node --version"
/usr/bin/lapor-audit --help >/dev/null || fail "lapor-audit --help"
getent passwd lapor >/dev/null || fail "no lapor system user"
[ "$(stat -c %U:%a /var/lib/lapor)" = "lapor:750" ] || fail "/var/lib/lapor is $(stat -c %U:%a /var/lib/lapor)"
UNIT=/lib/systemd/system/lapor-node@.service
[ -f "$UNIT" ] || fail "no unit at $UNIT"
if command -v systemd-analyze >/dev/null; then
  # An instance of the template, as `systemctl start lapor-node@32` makes it.
  tmp="$(mktemp -d)"
  cp "$UNIT" "$tmp/lapor-node@32.service"
  systemd-analyze verify "$tmp/lapor-node@32.service" || fail "systemd-analyze verify"
  grep -q '^Type=notify' "$UNIT" && grep -q '^LimitNOFILE=65536' "$UNIT" || fail "unit settings"
  rm -rf "$tmp"
else
  echo "systemd-analyze not installed: unit not verified"
fi

# The installed binary as the service runs it: user lapor, umask 077, LimitNOFILE=65536 (or this
# machine's hard limit if lower: raising it needs CAP_SYS_RESOURCE, which containers often lack).
DATA=/var/lib/lapor/99-package-test
rm -rf "$DATA"
runuser -u lapor -- sh -c "umask 077; /usr/bin/lapor-node init --data-dir $DATA --jurisdiction 32" >/dev/null
[ "$(stat -c %U:%a "$DATA")" = "lapor:700" ] || fail "data folder is $(stat -c %U:%a "$DATA")"
NOFILE=$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port below the ephemeral range (32768-) that nothing listens on; should another process take
# it between the check and the bind, the node exits with "Address already in use" and the next
# try takes another port.
PID=""
for _ in $(seq 10); do
  PORT=$((20000 + RANDOM % 12000))
  port_busy "$PORT" && continue
  prlimit --nofile=$NOFILE:$NOFILE setpriv --reuid=lapor --regid=lapor --init-groups \
    /usr/bin/lapor-node run --data-dir "$DATA" --listen "127.0.0.1:$PORT" --log-format json \
    > "$DATA.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PID" 2>/dev/null && break
  wait "$PID" || true
  grep -q "Address already in use" "$DATA.log" || { cat "$DATA.log"; fail "the node exited at start"; }
  PID=""
done
[ -n "$PID" ] || fail "no free port found in 10 tries"
curl -fsS "http://127.0.0.1:$PORT/healthz" | grep -q '"status":"ok"' || { cat "$DATA.log"; fail "no /healthz"; }
curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/complaints" -H 'Content-Type: application/json' \
  -d '{"title":"Lampu jalan padam","description":"Lampu jalan di depan pasar padam sejak seminggu.","category":"infrastruktur","report_type":"pengaduan","region_code":"32.04","reporter":{"name":"Uji Paket"}}' \
  | grep -q '"tracking_id":"32-' || fail "filing a complaint"
# The pages come with the binary: nothing else is installed for them.
# Each reply is read whole into a file before grep looks at it: `curl | grep -q` fails under
# pipefail when grep exits at its match while curl still writes (curl: (23) Failed writing body).
curl -fsS -D "$DATA.headers" -o "$DATA.page" "http://127.0.0.1:$PORT/lapor" || fail "the filing page"
grep -q '<h1>Buat laporan</h1>' "$DATA.page" || fail "the filing page"
grep -qi "^content-security-policy: default-src 'self'" "$DATA.headers" || fail "the page's CSP"
curl -fsS -o "$DATA.page" "http://127.0.0.1:$PORT/assets/regencies.csv" || fail "the region list"
grep -q '^32.04,32,' "$DATA.page" || fail "the region list"
rm -f "$DATA.headers" "$DATA.page"
kill -TERM "$PID"
wait "$PID" || fail "the node did not stop cleanly"
head -1 "$DATA.log" | grep -q '^{' || fail "the log is not JSON lines"
# The connection cap fits the open-file limit without lowering it (the node warns if it must).
if grep -q "open-file limit" "$DATA.log"; then cat "$DATA.log"; fail "the connection cap does not fit"; fi
runuser -u lapor -- /usr/bin/lapor-node fsck --data-dir "$DATA" >/dev/null || fail "fsck"
rm -rf "$DATA" "$DATA.log"

if [ "$was_installed" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q lapor-node >/dev/null
fi
echo "package-test: ok"
