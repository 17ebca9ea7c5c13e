#!/usr/bin/env bash
# The test command of the README, also run by CI (.ci/run).
# Installs what the tests need when it is missing (idempotent), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*" >&2; }

# Python with Faker, for the labelled accuracy corpus (bench/corpus/gen_corpus.py, a copy of ../shared/bench).
VENV="$ROOT/target/bench-venv"
if ! "$VENV/bin/python" -c 'import faker' 2>/dev/null; then
  log "creating $VENV with faker"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check faker
fi
# kubernetes-validate ships the Kubernetes schemas, for the offline manifest check.
if ! "$VENV/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  log "installing kubernetes-validate into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate
fi
export CUSTOS_BENCH_PYTHON="$VENV/bin/python"
export CUSTOS_BENCH_DIR="${CUSTOS_BENCH_DIR:-$ROOT/bench/corpus}"

# PostgreSQL for the data-store and store tests: use the one that answers on 127.0.0.1:5432,
# else install Debian's package and start a cluster (fresh machines).
ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  log "starting PostgreSQL"
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local ver
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -z "$ver" ]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    pg_createcluster "$ver" main >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  # A fresh cluster asks for a password over TCP: give postgres one, and make the test database.
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname = 'test'\" | grep -q 1 || createdb test"
}
ensure_postgres
export CUSTOS_TEST_POSTGRES="${CUSTOS_TEST_POSTGRES:-postgres://postgres:postgres@127.0.0.1:5432/test}"

# Debian's chromium and its WebDriver, for the console's browser tests (tests/web_browser.rs).
ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return 0; fi
  log "installing chromium and chromium-driver"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
}
ensure_chromium

# systemd-journal-remote writes journal files from export-format input: tests/journald.rs makes
# the journal the agent's [[journald]] source reads (with journalctl, from systemd).
ensure_journal_remote() {
  if [ -x /lib/systemd/systemd-journal-remote ] && command -v journalctl >/dev/null; then return 0; fi
  log "installing systemd-journal-remote"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-journal-remote >/dev/null
}
ensure_journal_remote

# Debian's promtool (package prometheus), for `promtool check metrics` on the agent's /metrics
# (tests/security.rs).
ensure_promtool() {
  if command -v promtool >/dev/null; then return 0; fi
  log "installing promtool (prometheus)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package enables a Prometheus server; the tests need only its promtool.
  if command -v systemctl >/dev/null; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
}
ensure_promtool

# cargo-deb, for the Debian packages' install/remove test (scripts/test_deb.sh).
ensure_cargo_deb() {
  if cargo deb --version >/dev/null 2>&1; then return 0; fi
  log "installing cargo-deb"
  cargo install cargo-deb --locked --version 3.8.0 --quiet
}
ensure_cargo_deb

# A one-shot build gains nothing from incremental compilation, and its caches double the
# size of target/: say how much room there is, since a full disk is the commonest CI failure.
export CARGO_INCREMENTAL=0
df -h . >&2 || true

# Guardrails first: they are quick and say precisely what is wrong.
log "architecture: import cycles, file sizes, crate direction (scripts/check_architecture.py)"
python3 scripts/check_architecture.py
log "operations: Grafana dashboard, Kubernetes manifests, systemd units"
"$VENV/bin/python" scripts/check_grafana.py
"$VENV/bin/python" scripts/check_kubernetes.py
bash scripts/check_systemd.sh
log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test --workspace"
cargo test --workspace --locked

# The Debian packages: built (from the dev profile's binaries, see the script), installed with
# dpkg -i on this machine, checked, reinstalled and purged. It installs packages: root only.
log "Debian packages: build, dpkg -i, check, purge (scripts/test_deb.sh)"
CUSTOS_DEB_PROFILE=dev bash scripts/test_deb.sh
du -sh target >&2 || true
