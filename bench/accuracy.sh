#!/usr/bin/env bash
# Per-detector precision and recall of `custos-agent scan --json` on a labelled corpus from the
# shared bench generator, scored by the shared scorer (../shared/bench/score.py).
#
# usage: bench/accuracy.sh [SIZE_MB] [SEED]    (default 5 MB, seed 1)
# env:   CUSTOS_BENCH_PYTHON (Python with Faker), CUSTOS_BENCH_DIR, CUSTOS_AGENT, MIN_CONFIDENCE
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=${1:-5}
SEED=${2:-1}
PY=${CUSTOS_BENCH_PYTHON:-python3}
BENCH=${CUSTOS_BENCH_DIR:-$ROOT/bench/corpus}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CORPUS=$TARGET/bench-corpus-seed${SEED}-${SIZE}mb
FILES="nginx.log app.json.log syslog.log sql.log export.csv"
if [ ! -f "$CORPUS/manifest.json" ]; then
  "$PY" "$BENCH/gen_corpus.py" --seed "$SEED" --size-mb "$SIZE" --out "$CORPUS" >/dev/null
fi
if [ -z "${CUSTOS_AGENT:-}" ]; then
  cargo build --release -q -p custos-agent
  CUSTOS_AGENT=$TARGET/release/custos-agent
fi
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT
ARGS=(scan --json --matches)
[ -n "${MIN_CONFIDENCE:-}" ] && ARGS+=(--min-confidence "$MIN_CONFIDENCE")
(cd "$CORPUS" && "$CUSTOS_AGENT" "${ARGS[@]}" $FILES >"$OUT") || [ $? -eq 1 ]
echo "corpus: $CORPUS (seed $SEED, $SIZE MB), $(wc -l <"$OUT") findings"
"$PY" "$BENCH/score.py" "$CORPUS" "$OUT"
