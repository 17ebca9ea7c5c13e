#!/usr/bin/env bash
# The test command of the README, also run by CI (.ci/run).
# Installs what the tests need when it is missing (idempotent), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*" >&2; }

# Python with Faker, for the labelled accuracy corpus (../shared/bench/gen_corpus.py).
VENV="$ROOT/target/bench-venv"
if ! "$VENV/bin/python" -c 'import faker' 2>/dev/null; then
  log "creating $VENV with faker"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check faker
fi
export CUSTOS_BENCH_PYTHON="$VENV/bin/python"
export CUSTOS_BENCH_DIR="${CUSTOS_BENCH_DIR:-$ROOT/../shared/bench}"

log "cargo test --workspace"
cargo test --workspace --locked
