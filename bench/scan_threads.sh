#!/usr/bin/env bash
# How `custos-agent scan DIR` scales with threads (--threads 1..N, N = the machine's cores), on
# a directory of export files: the dense bench corpus (bench/corpus/gen_corpus.py seed 2) cut
# into 48 files of various sizes, as an export folder holds. Each thread count is the best of
# three runs; the output of every run is checked to be byte-identical to one thread's.
#
# usage: bench/scan_threads.sh [SIZE_MB]      (default 55)
# env:   CUSTOS_BENCH_PYTHON  Python with Faker (default: python3)
#        CUSTOS_BENCH_DIR     the labelled-corpus bench (default: bench/corpus)
#        CUSTOS_AGENT         a custos-agent binary (default: cargo build --release)
#        THREADS              the thread counts to try (default: 1 .. nproc)
# Prints one line per thread count: MB/s, speed-up over one thread, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=${1:-55}
PY=${CUSTOS_BENCH_PYTHON:-python3}
BENCH=${CUSTOS_BENCH_DIR:-$ROOT/bench/corpus}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CORPUS=$TARGET/bench-corpus-seed2-${SIZE}mb
FOLDER=$TARGET/bench-export-folder-seed2-${SIZE}mb
THREADS=${THREADS:-$(seq 1 "$(nproc)")}
command -v /usr/bin/time >/dev/null || { echo "missing: /usr/bin/time" >&2; exit 2; }

if [ ! -f "$CORPUS/manifest.json" ]; then
  echo "generating a ${SIZE} MB dense corpus in $CORPUS" >&2
  "$PY" "$BENCH/gen_corpus.py" --seed 2 --size-mb "$SIZE" --out "$CORPUS" >/dev/null
fi
if [ ! -d "$FOLDER" ]; then
  # 48 text files whose sizes differ (a few large, many small), as in an export folder.
  mkdir -p "$FOLDER.tmp"
  cat "$CORPUS/nginx.log" "$CORPUS/app.json.log" "$CORPUS/syslog.log" "$CORPUS/sql.log" \
    | python3 -c '
import sys
data = sys.stdin.buffer.read().split(b"\n")
weights = [(i % 7) + 1 for i in range(48)]
total, at = sum(weights), 0
for i, w in enumerate(weights):
    n = len(data) * w // total if i < 47 else len(data) - at
    open(f"'"$FOLDER.tmp"'/part-{i:02}.log", "wb").write(b"\n".join(data[at:at + n]) + b"\n")
    at += n
'
  mv "$FOLDER.tmp" "$FOLDER"
fi
if [ -z "${CUSTOS_AGENT:-}" ]; then
  cargo build --release -q -p custos-agent
  CUSTOS_AGENT=$TARGET/release/custos-agent
fi
BIN=$(mktemp); cp "$CUSTOS_AGENT" "$BIN"; chmod +x "$BIN"
TMP=$(mktemp -d); trap 'rm -rf "$TMP" "$BIN"' EXIT

bytes=$(cat "$FOLDER"/*.log | wc -c)
echo "folder: $(ls "$FOLDER" | wc -l) files, $((bytes / 1000000)) MB, $(nproc) cores; custos-agent scan --json --threads T"
one=""
for t in $THREADS; do
  best=""
  for run in 1 2 3; do
    cat "$FOLDER"/*.log >/dev/null   # warm page cache
    /usr/bin/time -v -o "$TMP/time" "$BIN" scan --json --threads "$t" "$FOLDER" >"$TMP/out.$t" || [ $? -eq 1 ]
    s=$(grep 'Elapsed (wall' "$TMP/time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(grep 'Maximum resident' "$TMP/time" | awk '{print $NF}')
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; best_rss=$rss; fi
  done
  if [ -z "$one" ]; then one=$best; cp "$TMP/out.$t" "$TMP/out.one"; fi
  same=identical; cmp -s "$TMP/out.one" "$TMP/out.$t" || same=DIFFERENT
  python3 -c "
b, s, one, rss, t = $bytes, $best, $one, $best_rss, $t
print(f'threads {t}: {b / max(s, 0.005) / 1e6:7.1f} MB/s  speed-up {one / max(s, 0.005):4.2f}x  peak RSS {rss / 1024:6.1f} MB  output $same to 1 thread\'s')"
done
