#!/usr/bin/env bash
# Scan speed of `custos-agent scan --json` against ripgrep running the equivalent pattern union
# (bench/corpus/peers/rg_scan.sh), everything pinned to one core (taskset -c 0), on two corpora:
#   dense  bench/corpus/gen_corpus.py seed 2: a finding every ~140 bytes (needs Faker)
#   quiet  bench/gen_quiet.py seed 2, same size: one line in 100 with personal data, the rest
#          timestamps, UUIDs, hex ids, durations, paths, status codes, order numbers (stdlib only)
#
# usage: bench/scan_speed.sh [SIZE_MB]        (default 55; the issue asks for >= 50 MB)
# env:   CUSTOS_BENCH_PYTHON  Python with Faker (default: python3)
#        CUSTOS_BENCH_DIR     the labelled-corpus bench (default: bench/corpus, a copy of ../shared/bench)
#        CUSTOS_AGENT         a custos-agent binary (default: cargo build --release)
#        CORPUS               an existing dense corpus directory (default: generated, seed 2, cached)
#        QUIET_CORPUS         an existing quiet corpus directory (default: generated, seed 2, cached)
# Prints, for each corpus, MB/s for Custos, rg -o (every match with offsets) and rg -c (count
# matching lines), each the best of three runs, the ratios, and peak RSS, and whether the
# findings are byte-identical to those of the single-pass engine (scan --no-prefilter); the
# quiet corpus' lines start with "quiet". Needs rg (Debian: apt-get install ripgrep), taskset and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SIZE=${1:-55}
PY=${CUSTOS_BENCH_PYTHON:-python3}
BENCH=${CUSTOS_BENCH_DIR:-$ROOT/bench/corpus}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CORPUS=${CORPUS:-$TARGET/bench-corpus-seed2-${SIZE}mb}
QUIET_CORPUS=${QUIET_CORPUS:-$TARGET/bench-quiet-seed2-${SIZE}mb}
FILES="nginx.log app.json.log syslog.log sql.log export.csv"
command -v rg >/dev/null || { echo "missing: rg (ripgrep; on Debian: apt-get install ripgrep)" >&2; exit 2; }
for tool in taskset /usr/bin/time; do command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }; done

if [ ! -f "$CORPUS/manifest.json" ]; then
  echo "generating a ${SIZE} MB dense corpus in $CORPUS" >&2
  "$PY" "$BENCH/gen_corpus.py" --seed 2 --size-mb "$SIZE" --out "$CORPUS" >/dev/null
fi
if [ ! -f "$QUIET_CORPUS/manifest.json" ]; then
  echo "generating a ${SIZE} MB quiet corpus in $QUIET_CORPUS" >&2
  python3 "$ROOT/bench/gen_quiet.py" --seed 2 --size-mb "$SIZE" --out "$QUIET_CORPUS" >/dev/null
fi
if [ -z "${CUSTOS_AGENT:-}" ]; then
  cargo build --release -q -p custos-agent
  CUSTOS_AGENT=$TARGET/release/custos-agent
fi
BIN=$(mktemp); cp "$CUSTOS_AGENT" "$BIN"; chmod +x "$BIN"   # a stable copy: the target dir may be shared
TMP=$(mktemp -d); trap 'rm -rf "$TMP" "$BIN"' EXIT

# bench_one DIR PREFIX: times Custos and ripgrep on the corpus in DIR, prints lines starting with PREFIX.
bench_one() {
  local dir=$1 prefix=$2 bytes best="" best_rss="" s rss findings rg_o rg_c
  bytes=$(cd "$dir" && cat $FILES | wc -c)
  for run in 1 2 3; do
    (cd "$dir" && cat $FILES >/dev/null)   # warm page cache
    # Output to /dev/null, as rg_scan.sh does for ripgrep (writing 100 MB of JSON to a file
    # would time the page cache, not the scan); the findings are counted in a run of their own.
    (cd "$dir" && taskset -c 0 /usr/bin/time -v -o "$TMP/time" "$BIN" scan --json --matches --threads 1 $FILES >/dev/null) || [ $? -eq 1 ]
    s=$(grep 'Elapsed (wall' "$TMP/time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(grep 'Maximum resident' "$TMP/time" | awk '{print $NF}')
    if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; best_rss=$rss; fi
  done
  (cd "$dir" && "$BIN" scan --json --matches $FILES >"$TMP/findings.jsonl") || [ $? -eq 1 ]
  findings=$(wc -l <"$TMP/findings.jsonl")
  # The prefilter must not change what is found: the single-pass engine's output, byte for byte.
  (cd "$dir" && "$BIN" scan --json --matches --no-prefilter $FILES >"$TMP/single.jsonl") || [ $? -eq 1 ]
  if cmp -s "$TMP/findings.jsonl" "$TMP/single.jsonl"; then same=yes; else same="NO (diff the two outputs of scan --json --matches [--no-prefilter])"; fi
  echo "${prefix}findings identical to scan --no-prefilter (single pass): $same"

  # ripgrep gets the same best of three as Custos (one rg_scan.sh run times each mode once).
  : >"$TMP/rg.out"
  for run in 1 2 3; do
    taskset -c 0 "$BENCH/peers/rg_scan.sh" "$dir" "$TMP/rg.jsonl" --no-accuracy >>"$TMP/rg.out"
  done
  rg_o=$(best_of '-o -j1')
  rg_c=$(best_of '-c -j1')

  python3 - "$bytes" "$best" "$best_rss" "$findings" "$rg_o" "$rg_c" "$prefix" "$dir" <<'PY'
import json, os, sys
b, s, rss, n = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
o, c, p = json.loads(sys.argv[5]), json.loads(sys.argv[6]), sys.argv[7]
mbs = b / max(s, 0.005) / 1e6
if p:
    man = json.load(open(os.path.join(sys.argv[8], "manifest.json")))
    print(f"{p}corpus: {b / 1e6:.1f} MB, {man['pii_lines']} of {man['total_lines']} lines with personal data"
          f" (gen_quiet.py seed {man['seed']}), one core (taskset -c 0)")
else:
    print(f"corpus: {b / 1e6:.1f} MB, one core (taskset -c 0)")
print(f"{p}custos-agent scan --json : {mbs:7.1f} MB/s  peak RSS {rss / 1024:6.1f} MB  ({n} findings, validated)")
print(f"{p}rg -o (union, offsets)   : {o['MB_per_s']:7.1f} MB/s  peak RSS {o['peak_rss_kb'] / 1024:6.1f} MB")
print(f"{p}rg -c (union, count)     : {c['MB_per_s']:7.1f} MB/s  peak RSS {c['peak_rss_kb'] / 1024:6.1f} MB")
print(f"{p}ratio custos / rg -o     : {mbs / o['MB_per_s']:.2f}")
print(f"{p}ratio custos / rg -c     : {mbs / c['MB_per_s']:.2f}")
PY
}
best_of() { grep -- "$1" "$TMP/rg.out" | python3 -c 'import json,sys; print(json.dumps(max((json.loads(l) for l in sys.stdin), key=lambda r: r["MB_per_s"])))'; }

bench_one "$CORPUS" ""
bench_one "$QUIET_CORPUS" "quiet "
