#!/usr/bin/env bash
# The performance north star: gatewatch replaying a file of Kong logs vs DuckDB running the same
# detection as one batch SQL query over the same file. The DuckDB query is the single-source
# stuffing rule, so gatewatch runs that rule alone for the like-for-like figure, and then the
# whole built-in pack (15 rules) for the cost of everything it detects.
# Usage: scripts/compare-duckdb.sh [EVENTS]   (release build; installs duckdb from PyPI into a venv)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatewatch/target}"
EVENTS="${1:-1000000}"
VENV="${GATEWATCH_DUCKDB_VENV:-$HOME/.cache/gatewatch/duckdb}"
FILE="${TMPDIR:-/tmp}/gatewatch-compare.ndjson"

cargo build --release --quiet
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import duckdb' 2>/dev/null || "$VENV/bin/pip" install -q duckdb
GW="$CARGO_TARGET_DIR/release/gatewatch"

"$GW" bench --events "$EVENTS" --save "$FILE" >/dev/null
echo "file: $FILE ($(wc -l <"$FILE") records, $(du -m "$FILE" | cut -f1) MB), $(nproc) cores"

cat >/tmp/gatewatch-duckdb.py <<PY
import duckdb, sys
con = duckdb.connect()
rows = con.sql("""
SELECT client_ip, time_bucket(INTERVAL 1 minute, to_timestamp(started_at / 1000)) AS window_start,
       count(*) AS event_count, count(DISTINCT username) AS distinct_usernames
FROM read_ndjson('$FILE', columns = {started_at: 'BIGINT', client_ip: 'VARCHAR',
     request: 'STRUCT(uri VARCHAR)', response: 'STRUCT(status INTEGER)', username: 'VARCHAR'})
WHERE response.status IN (401, 403)
  AND regexp_matches(request.uri, '(?i)/(login|signin|auth|token|session)')
  AND client_ip IS NOT NULL
GROUP BY ALL HAVING count(*) >= 20
""").fetchall()
print(len(rows), "alerts", file=sys.stderr)
PY

echo "== DuckDB (whole process)"
/usr/bin/time -f "%e s wall, %M KB max RSS" "$VENV/bin/python" /tmp/gatewatch-duckdb.py
RULES="${TMPDIR:-/tmp}/gatewatch-compare-rules"
rm -rf "$RULES" && "$GW" rules export "$RULES" >/dev/null
find "$RULES" -name '*.toml' ! -name 'credential-stuffing-single-source.toml' -delete
echo "== gatewatch run, the same rule (whole process)"
/usr/bin/time -f "%e s wall, %M KB max RSS" "$GW" run -i "$FILE" --format kong --rules "$RULES" --quiet-alerts -o /dev/null --no-summary
echo "== gatewatch run, the whole built-in pack (whole process)"
/usr/bin/time -f "%e s wall, %M KB max RSS" "$GW" run -i "$FILE" --format kong --quiet-alerts -o /dev/null --no-summary
