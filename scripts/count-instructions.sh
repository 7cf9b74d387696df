#!/usr/bin/env bash
# Instructions, not seconds: the pack's file -> alerts run under `valgrind --tool=callgrind`
# on the first N records of the compare-duckdb file, for one or more gatewatch binaries. The
# counts do not depend on what else the (2-core, noisy) machine is doing, so a single
# optimisation step can be judged where wall times vary by 10-20% between runs. Also checks
# that every binary gives the same alerts.
# Usage: scripts/count-instructions.sh [RECORDS] BINARY [BINARY...]
#   RECORDS: records from the start of the file (default 200000: ~50 s per binary; the first
#   40k are dominated by one-off start-up work such as compiling user-agent patterns).
#   Copy a binary aside (cp target/release/gatewatch /tmp/gw-before) before changing code.
#   RULES (environment): the rules run, default the 15 the DuckDB peer implements (as
#   compare-duckdb.sh); RULES=rules/pack counts the whole built-in pack.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=200000
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then RECORDS=$1; shift; fi
[ $# -ge 1 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }
DIR="${TMPDIR:-/tmp}/gatewatch-compare"
FILE="$DIR/pack-250.jsonl"
[ -s "$FILE" ] || { echo "$FILE missing: run scripts/compare-duckdb.sh once (it generates it)" >&2; exit 2; }
RULES="${RULES:-$DIR/rules/pack}"
[ -d "$RULES" ] || { echo "$RULES missing: run scripts/compare-duckdb.sh once" >&2; exit 2; }
SAMPLE="$DIR/first-$RECORDS.jsonl"
[ -s "$SAMPLE" ] || head -n "$RECORDS" "$FILE" >"$SAMPLE"
first=""
rm -f "$DIR/alerts.sums"
for bin in "$@"; do
  out="$DIR/alerts-$(basename "$bin").jsonl"
  # The JSONL sink keeps alerts already in its file (a replay writes nothing twice): start empty.
  rm -f "$out"
  n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" run -i "$SAMPLE" \
        --format kong --rules "$RULES" --quiet-alerts -o "$out" --no-summary \
        --progress off 2>&1 | sed -n 's/.*Collected : //p')
  printf "%-40s %13s instructions" "$bin" "$n"
  if [ -z "$first" ]; then first=$n; echo; else
    awk -v a="$first" -v b="$n" 'BEGIN{printf "  (%+.1f%% against the first)\n", (b-a)*100/a}'; fi
  sort "$out" | md5sum | cut -d' ' -f1 >>"$DIR/alerts.sums"
done
if [ "$(sort -u "$DIR/alerts.sums" | wc -l)" -ne 1 ]; then echo "the binaries gave different alerts" >&2; rm -f "$DIR/alerts.sums"; exit 1; fi
rm -f "$DIR/alerts.sums"
echo "same alerts from every binary"
