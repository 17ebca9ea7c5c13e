#!/usr/bin/env bash
# Builds the Debian packages of the agent and the collector with cargo-deb, installs them on
# this machine, checks what they installed, reinstalls them (an upgrade's maintainer scripts),
# then purges them and checks that nothing is left.
#
# Needs cargo-deb (`cargo install cargo-deb --locked`), dpkg and root: it installs packages.
# Without them it fails under CI (CI set) and is skipped with a reason on stderr otherwise. It
# refuses to run where custos-agent or custos-collector is already installed (a real install is
# never replaced nor purged by a test).
#
#   CUSTOS_DEB_NO_BUILD=1   reuse the .deb files already in $CARGO_TARGET_DIR/debian
#   CUSTOS_DEB_PROFILE=dev  package the binaries of the dev profile (default: release, what an
#                           operator ships); scripts/test.sh uses dev, whose libraries the test
#                           build has just compiled, so CI does not spend a fat-LTO release build
#                           on checking the packaging (the packages differ only in the binaries)
#
# Every cargo command runs under `flock /tmp/custos-cargo.lock` (when flock exists): builds on a
# shared machine are serialised.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET_DIR"
OUT="$TARGET_DIR/debian"
LOGS="$OUT/logs"

skip_or_fail() {
  if [ -n "${CI:-}" ]; then
    echo "FAILED test_deb: $1" >&2
    exit 1
  fi
  echo "SKIPPED test_deb because $1" >&2
  exit 0
}

command -v dpkg >/dev/null 2>&1 || skip_or_fail "dpkg is not installed (not a Debian-like system)"
[ "$(id -u)" -eq 0 ] || skip_or_fail "it installs packages and must run as root"
if [ -z "${CUSTOS_DEB_NO_BUILD:-}" ]; then
  cargo deb --version >/dev/null 2>&1 || skip_or_fail "cargo-deb is not installed (cargo install cargo-deb --locked)"
fi
for p in custos-agent custos-collector; do
  if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -qv '^.n'; then
    echo "FAILED test_deb: $p is already installed here: this test installs and purges it, remove it first" >&2
    exit 1
  fi
done

failures=0
passes=0
ok() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*" >&2; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

mkdir -p "$LOGS"
LOCK=()
command -v flock >/dev/null 2>&1 && LOCK=(flock /tmp/custos-cargo.lock)

declare -A DEB
for p in custos-agent custos-collector; do
  if [ -z "${CUSTOS_DEB_NO_BUILD:-}" ]; then
    echo "== cargo deb -p $p --profile ${CUSTOS_DEB_PROFILE:-release}" >&2
    FAST=()
    [ "${CUSTOS_DEB_PROFILE:-release}" = release ] || FAST=(--fast)   # a test package: quick compression
    "${LOCK[@]}" cargo deb -p "$p" --locked --profile "${CUSTOS_DEB_PROFILE:-release}" "${FAST[@]}" --output "$OUT/" >"$LOGS/cargo-deb-$p.log" 2>&1 || {
      tail -n 40 "$LOGS/cargo-deb-$p.log" >&2
      echo "FAILED test_deb: cargo deb -p $p" >&2
      exit 1
    }
  fi
  # The newest .deb of the package.
  DEB[$p]=$(ls -t "$OUT/${p}_"*.deb 2>/dev/null | head -n1 || true)
  [ -n "${DEB[$p]}" ] || { echo "FAILED test_deb: no $OUT/${p}_*.deb" >&2; exit 1; }
  echo "== ${DEB[$p]}" >&2
done

# --- What the packages hold ------------------------------------------------------------------
for p in custos-agent custos-collector; do
  deb=${DEB[$p]}
  contents=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's#^\./#/#')
  short=${p#custos-}
  for f in "/usr/bin/$p" "/etc/custos/$short.toml"; do
    if grep -qx "$f" <<<"$contents"; then ok "$p: ships $f"; else fail "$p: does not ship $f"; fi
  done
  if grep -Eq "^/(usr/)?lib/systemd/system/$p.service$" <<<"$contents"; then ok "$p: ships $p.service"; else fail "$p: does not ship $p.service"; fi
  units=$(grep -Ec '/systemd/system/.+\.service$' <<<"$contents" || true)
  if [ "$units" -eq 1 ]; then ok "$p: ships no other unit"; else fail "$p: ships $units units"; fi
  conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles 2>/dev/null || true)
  if grep -qx "/etc/custos/$short.toml" <<<"$conffiles"; then ok "$p: /etc/custos/$short.toml is a conffile"; else fail "$p: /etc/custos/$short.toml is not a conffile"; fi
  for s in postinst postrm; do
    script=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$s" 2>/dev/null || true)
    if grep -q '#DEBHELPER#' <<<"$script"; then fail "$p: $s still holds #DEBHELPER#"; fi
    if grep -q 'deb-systemd-helper' <<<"$script"; then ok "$p: $s has the systemd snippets"; else fail "$p: $s lacks the systemd snippets"; fi
  done
done
collector_contents=$(dpkg-deb -c "${DEB[custos-collector]}" | awk '{print $NF}' | sed 's#^\./#/#')
if grep -qx /etc/custos/register.example.toml <<<"$collector_contents"; then ok "custos-collector: ships /etc/custos/register.example.toml"; else fail "custos-collector: does not ship /etc/custos/register.example.toml"; fi

cleanup() {
  dpkg --purge custos-agent custos-collector >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- Install -------------------------------------------------------------------------------------
install_both() {
  if dpkg -i "${DEB[custos-agent]}" "${DEB[custos-collector]}" >"$LOGS/dpkg-install.log" 2>&1; then
    ok "dpkg -i both packages ($1)"
  else
    cat "$LOGS/dpkg-install.log" >&2
    fail "dpkg -i both packages ($1)"
    exit 1
  fi
}
install_both "install"

mode_owner() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
check_installed() {
  check "user custos exists, a system user" bash -c '[ "$(id -u custos)" -lt 1000 ]'
  for d in /var/lib/custos-agent /var/lib/custos; do
    if [ "$(mode_owner "$d")" = "700 custos:custos" ]; then ok "$d is 0700 custos:custos"; else fail "$d is '$(mode_owner "$d")', not 0700 custos:custos"; fi
  done
  for f in /etc/custos/agent.toml /etc/custos/collector.toml; do
    if [ "$(mode_owner "$f")" = "640 root:custos" ]; then ok "$f is 0640 root:custos"; else fail "$f is '$(mode_owner "$f")', not 0640 root:custos"; fi
  done
  check "custos-agent --version" /usr/bin/custos-agent --version
  check "custos-collector --version" /usr/bin/custos-collector --version
  check "custos-collector register check /etc/custos/register.example.toml" /usr/bin/custos-collector register check /etc/custos/register.example.toml
  for u in custos-agent custos-collector; do
    if ls /etc/systemd/system/multi-user.target.wants/$u.service >/dev/null 2>&1; then ok "$u.service enabled"; else fail "$u.service not enabled"; fi
  done
}
check_installed
echo "   $(/usr/bin/custos-agent --version) / $(/usr/bin/custos-collector --version)"

# The installed units, with the installed binaries: verify has nothing to say, and the
# exposure stays at most 4.0.
if command -v systemd-analyze >/dev/null 2>&1; then
  for u in custos-agent custos-collector; do
    unit=$(ls /lib/systemd/system/$u.service /usr/lib/systemd/system/$u.service 2>/dev/null | head -n1)
    out=$(systemd-analyze verify --man=no "$unit" 2>&1) || true
    if [ -z "$out" ]; then ok "systemd-analyze verify $unit"; else fail "systemd-analyze verify $unit: $out"; fi
    if systemd-analyze security --offline=true --threshold=40 "$unit" >/dev/null 2>&1; then
      ok "systemd-analyze security $unit: $(systemd-analyze security --offline=true "$unit" 2>&1 | grep -o 'exposure level.*' )"
    else
      fail "systemd-analyze security $unit: exposure above 4.0"
    fi
  done
fi

# Reinstall: the upgrade path of the maintainer scripts keeps everything as it was, and an
# administrator's change to a configuration file survives (conffile).
echo '# changed by the administrator' >> /etc/custos/agent.toml
install_both "reinstall"
check_installed
check "the administrator's change to /etc/custos/agent.toml is kept" grep -q '^# changed by the administrator' /etc/custos/agent.toml

# --- Purge -------------------------------------------------------------------------------------
if dpkg --purge custos-agent >"$LOGS/dpkg-purge.log" 2>&1; then ok "dpkg --purge custos-agent"; else cat "$LOGS/dpkg-purge.log" >&2; fail "dpkg --purge custos-agent"; fi
check "/var/lib/custos-agent removed" test ! -e /var/lib/custos-agent
check "/etc/custos/agent.toml removed" test ! -e /etc/custos/agent.toml
check "user custos kept while custos-collector is installed" id custos
check "/var/lib/custos kept" test -d /var/lib/custos
if dpkg --purge custos-collector >"$LOGS/dpkg-purge.log" 2>&1; then ok "dpkg --purge custos-collector"; else cat "$LOGS/dpkg-purge.log" >&2; fail "dpkg --purge custos-collector"; fi
check "/var/lib/custos removed" test ! -e /var/lib/custos
check "/etc/custos removed" test ! -e /etc/custos
check "user custos removed" bash -c '! getent passwd custos'
check "group custos removed" bash -c '! getent group custos'
check "no statoverride left" bash -c '! dpkg-statoverride --list | grep -q /etc/custos/'
check "units no longer enabled" bash -c '! ls /etc/systemd/system/multi-user.target.wants/custos-*.service'
check "binaries removed" bash -c '! ls /usr/bin/custos-agent /usr/bin/custos-collector'

echo "test_deb: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
