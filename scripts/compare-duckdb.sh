#!/usr/bin/env bash
# The performance north star: the built-in pack, file -> alerts, against DuckDB running the
# same 15 detections (the 15 the peer implements; the pack has grown past them) as batch SQL
# over the same Kong file (the peer benchmark ../shared/bench/duckdb_pack.py). Whole process
# against whole process, runs alternated, 2 cores.
# Each round runs DuckDB, gatewatch on those 15 rules (like for like), and gatewatch with its
# whole built-in pack (every rule it ships, the default of `gatewatch run`), in turn.
# Prints each run's wall time and peak RSS, the best of each, and the speed ratios
# (DuckDB time / gatewatch time: above 1 means gatewatch is faster). Also checks both found the
# same alerts (rule, entity, window, event count) on the 15 shared detections.
# Usage: scripts/compare-duckdb.sh [RATE] [RUNS]
#   RATE: benign requests per second over one hour of generated traffic (default 250: about
#   1M records, 1.3 GB); RUNS: runs of each (default 3). duckdb from PyPI in a venv.
#   PROFILE (environment): the cargo profile measured, default `dist` -- the shipped binary
#   (fat LTO, one codegen unit; a clean build takes ~15 min on 2 cores, a rebuild after a change
#   to gatewatch's own crates ~12 min). PROFILE=release measures the incremental build
#   instead: quicker to rebuild, about 10-15% slower to run.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${1:-250}"
RUNS="${2:-3}"
VENV="${GATEWATCH_DUCKDB_VENV:-$HOME/.cache/gatewatch/duckdb}"
PEER="${GATEWATCH_DUCKDB_PACK:-../shared/bench/duckdb_pack.py}"
DIR="${TMPDIR:-/tmp}/gatewatch-compare"
FILE="$DIR/pack-$RATE.jsonl"
mkdir -p "$DIR"

[ -f "$PEER" ] || { echo "peer benchmark $PEER not found (set GATEWATCH_DUCKDB_PACK)" >&2; exit 2; }
PROFILE="${PROFILE:-dist}"
cargo build --profile "$PROFILE" --locked --quiet
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import duckdb, yaml' 2>/dev/null || "$VENV/bin/pip" install -q duckdb pyyaml
GW="${CARGO_TARGET_DIR:-target}/$PROFILE/gatewatch"
# Like for like: the 15 detections the peer implements (the pack has grown past them); both
# read the same rule files (the peer takes parameters, windows and word lists from them).
PEER_RULES="ai-crawler-declared ai-crawler-on-api ai-gateway-token-spike bola-id-walking
  browser-ua-automation credential-stuffing-distributed credential-stuffing-single-source
  endpoint-discovery login-success-after-failures machine-regular-client new-api-endpoint
  password-spray probing-attack-tools shadow-api-endpoint zombie-api-endpoint"
RULES="$DIR/rules"
rm -rf "$RULES" && mkdir -p "$RULES/pack" && cp -r rules/data rules/src "$RULES/"
for r in $PEER_RULES; do cp "rules/pack/$r.toml" "$RULES/pack/"; done

rm -f "$DIR"/gw.jsonl.*
[ -s "$FILE" ] || "$GW" generate --seed 42 --duration 1h --rate "$RATE" -o "$FILE"
echo "file: $FILE ($(wc -l <"$FILE") records, $(du -m "$FILE" | cut -f1) MB), $(nproc) cores, gatewatch profile $PROFILE"

best_duck=""; best_gw=""; rss_duck=""; rss_gw=""; best_all=""; rss_all=""
for i in $(seq 1 "$RUNS"); do
  /usr/bin/time -f "%e %M" -o "$DIR/duck.time" \
    env GW_RULES_DIR="$RULES" "$VENV/bin/python" "$PEER" "$FILE" 2 >"$DIR/duck.jsonl" 2>"$DIR/duck.err"
  /usr/bin/time -f "%e %M" -o "$DIR/gw.time" \
    "$GW" run -i "$FILE" --format kong --rules "$RULES/pack" --quiet-alerts -o "$DIR/gw.jsonl.$i" --no-summary --progress off
  /usr/bin/time -f "%e %M" -o "$DIR/all.time" \
    "$GW" run -i "$FILE" --format kong --quiet-alerts -o /dev/null --no-summary --progress off 2>"$DIR/all.err" \
    || { cat "$DIR/all.err" >&2; exit 1; }
  read -r d_s d_kb <"$DIR/duck.time"
  read -r g_s g_kb <"$DIR/gw.time"
  read -r a_s a_kb <"$DIR/all.time"
  printf "run %d: DuckDB %6.2f s %5d MiB   gatewatch (15) %6.2f s %5d MiB   gatewatch (whole pack) %6.2f s %5d MiB\n" \
    "$i" "$d_s" $((d_kb / 1024)) "$g_s" $((g_kb / 1024)) "$a_s" $((a_kb / 1024))
  if [ -z "$best_duck" ] || awk "BEGIN{exit !($d_s < $best_duck)}"; then best_duck=$d_s; rss_duck=$d_kb; fi
  if [ -z "$best_gw" ] || awk "BEGIN{exit !($g_s < $best_gw)}"; then best_gw=$g_s; rss_gw=$g_kb; fi
  if [ -z "$best_all" ] || awk "BEGIN{exit !($a_s < $best_all)}"; then best_all=$a_s; rss_all=$a_kb; fi
done
# The rules `gatewatch run` runs by default (a pack file may ship disabled).
# (`NAME.tests.toml` files hold tests, not rules.)
PACK_SIZE=$(ls rules/pack/*.toml | grep -v '\.tests\.toml$' | xargs grep -L "^enabled = false" | wc -l)
awk -v d="$best_duck" -v g="$best_gw" -v a="$best_all" -v dr="$rss_duck" -v gr="$rss_gw" -v ar="$rss_all" -v n="$PACK_SIZE" 'BEGIN{
  printf "best of %s: DuckDB %.2f s (%d MiB)\n", '"$RUNS"', d, dr/1024
  printf "  gatewatch, the same 15 detections: %.2f s (%d MiB): at %.2fx DuckDB'"'"'s speed\n", g, gr/1024, d/g
  printf "  gatewatch, its whole pack (%d rules on): %.2f s (%d MiB): at %.2fx DuckDB'"'"'s speed\n", n, a, ar/1024, d/a }'

# Same detections? (rule, entity, window start, event count) of both, over every run's output.
"$VENV/bin/python" - "$DIR/duck.jsonl" "$DIR/gw.jsonl.1" <<'PY'
import json, sys
def key(a): return (a["rule_id"], a["entity"], a["window_start"], int(a["event_count"]))
duck = {key(json.loads(l)) for l in open(sys.argv[1]) if l.strip()}
gw = {key(json.loads(l)) for l in open(sys.argv[2]) if l.strip()
      if not json.loads(l)["rule_id"].startswith("gatewatch-")}
print(f"alerts: DuckDB {len(duck)}, gatewatch {len(gw)}, in both {len(duck & gw)}")
for name, only in (("only DuckDB", duck - gw), ("only gatewatch", gw - duck)):
    for k in sorted(only)[:10]:
        print(f"  {name}: {k}")
PY
rm -f "$DIR"/gw.jsonl.*
