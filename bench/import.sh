#!/usr/bin/env bash
# Import one tenant of 1,000,000 rows into PostgreSQL: time and peak RSS of
#   - `tenantry sql import-tenant` (release build) reading its own JSON export,
#   - `psql \copy TABLE FROM file CSV` of the same rows (the ceiling: the server's own bulk path),
#   - optionally an older tenantry build (OLD_BIN), for a before/after in the same run,
# each measured with /usr/bin/time -v in the same run, interleaved; and tenantry's peak RSS for a
# 10,000-row tenant against the 1,000,000-row one (flat = streaming).
#
#   bench/import.sh              set up (once; reused while the row counts match), then measure
#   SETUP=1 bench/import.sh      rebuild the source table first
#
# Database tenantry_bench_import:
#   bench_source  id bigint PK, tenant_id text, name text, price numeric(12,2),
#                 created_at timestamptz, active boolean   -- the 6 mixed columns of bench/export.sh
#                 $ROWS rows of tenant t1, 10,000 of t_small
#   bench_target  the same columns, primary key and (tenant_id, id) index; emptied (TRUNCATE)
#                 before every timed import, and its row count checked after it
# The inputs are made once per run: tenantry's export of each tenant (JSON array) and psql's
# `\copy (SELECT ... ORDER BY id) TO file CSV` of the same rows.
#
# Env: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), ROWS (1000000), RUNS (5),
#      OUT (/tmp/tenantry-bench-import), BIN (default: target/release/tenantry, built here),
#      OLD_BIN (unset: not measured), LIMIT_S (600: per-command timeout), DB
#      (tenantry_bench_import), HEADLINE_OUT (a file: tenantry against psql is also appended there
#      as a HEADLINE line for bench/headline.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-tenantry_bench_import}"
ROWS="${ROWS:-1000000}"
SMALL=10000
BIG=$([ "$ROWS" = 1000000 ] && echo 1M || echo "$ROWS")
RUNS="${RUNS:-5}"
LIMIT_S="${LIMIT_S:-600}"
OUT="${OUT:-/tmp/tenantry-bench-import}"
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
COLS="id, tenant_id, name, price, created_at, active"

mkdir -p "$OUT"

# --- tools -------------------------------------------------------------------------------------
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli)
  BIN="$ROOT/target/release/tenantry"
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

# --- data --------------------------------------------------------------------------------------
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
have=$(psql -X -At -d "$DB" -c "SELECT count(*) FILTER (WHERE tenant_id = 't1') || ',' || count(*) FILTER (WHERE tenant_id = 't_small') FROM bench_source" 2>/dev/null || true)
if [ "${SETUP:-0}" = 1 ] || [ "$have" != "$ROWS,$SMALL" ]; then
  echo "setting up $DB: $ROWS rows of t1 and $SMALL of t_small in bench_source" >&2
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  psql_db <<SQL
CREATE TABLE bench_source (id bigint PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL,
  price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, active boolean NOT NULL);
INSERT INTO bench_source
  SELECT i, CASE WHEN i <= $ROWS THEN 't1' ELSE 't_small' END, 'item number ' || i,
         (i % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', i % 3 = 0
  FROM generate_series(1, $ROWS + $SMALL) AS i;
CREATE INDEX bench_source_tenant ON bench_source (tenant_id, id);
VACUUM ANALYZE bench_source;
SQL
fi
psql_db <<SQL
DROP TABLE IF EXISTS bench_target;
CREATE TABLE bench_target (id bigint PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL,
  price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, active boolean NOT NULL);
CREATE INDEX bench_target_tenant ON bench_target (tenant_id, id);
SQL
echo "exporting the inputs" >&2
"$BIN" sql export-tenant bench_source --tenant-id t1 --database-url "$URL" --output "$OUT/t1.json"
"$BIN" sql export-tenant bench_source --tenant-id t_small --database-url "$URL" --output "$OUT/small.json"
psql_db -c "\\copy (SELECT $COLS FROM bench_source WHERE tenant_id = 't1' ORDER BY id) TO '$OUT/t1.csv' CSV"
ls -l "$OUT/t1.json" "$OUT/t1.csv" "$OUT/small.json" >&2

# --- measuring ---------------------------------------------------------------------------------
RESULTS="$OUT/results.tsv"
: > "$RESULTS"

# run LABEL ROWS_EXPECTED CMD...: empties bench_target, one timed run, checks the row count;
# appends label, exit, seconds, peak RSS KB, user+sys CPU seconds, note.
run() {
  local label=$1 rows=$2; shift 2
  psql_db -c "TRUNCATE bench_target" -c "CHECKPOINT"
  local rc=0
  /usr/bin/time -v -o "$OUT/time.txt" timeout "$LIMIT_S" "$@" >/dev/null 2>"$OUT/stderr.txt" || rc=$?
  local wall rss cpu note=""
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$OUT/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$OUT/time.txt")
  if [ "$rc" != 0 ]; then
    note="$(grep -v -e '^\s*$' -e 'tenantry::admin' "$OUT/stderr.txt" | tail -n 1 | cut -c1-100)"
  else
    local got
    got=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM bench_target")
    [ "$got" = "$rows" ] || note="expected $rows rows, found $got"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$rc" "$wall" "$rss" "$cpu" "$note" | tee -a "$RESULTS" >&2
}

echo "label	exit	seconds	peak_rss_kb	cpu_s	note" >&2
for _ in $(seq 1 "$RUNS"); do
  run "tenantry import $BIG" "$ROWS" "$BIN" sql import-tenant bench_target --tenant-id t1 --database-url "$URL" --input "$OUT/t1.json"
  run "psql copy-from $BIG" "$ROWS" psql -X -q -d "$DB" -c "\\copy bench_target FROM '$OUT/t1.csv' CSV"
  if [ -n "${OLD_BIN:-}" ]; then
    run "tenantry before import $BIG" "$ROWS" "$OLD_BIN" sql import-tenant bench_target --tenant-id t1 --database-url "$URL" --input "$OUT/t1.json"
  fi
done
for _ in $(seq 1 "$RUNS"); do
  run "tenantry import 10k" "$SMALL" "$BIN" sql import-tenant bench_target --tenant-id t_small --database-url "$URL" --input "$OUT/small.json"
done

# --- summary: medians per label, and tenantry's speed against psql's -----------------------------
python3 - "$RESULTS" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print()
print("| case | runs | exit codes | median s | min s | max s | median CPU s | median peak RSS (MB) | note |")
print("|---|---|---|---|---|---|---|---|---|")
med = {}
for label in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == label]
    secs = [float(r[2]) for r in rs]
    rss = [int(r[3]) / 1024 for r in rs]
    cpu = [float(r[4]) for r in rs]
    med[label] = statistics.median(secs)
    notes = "; ".join(dict.fromkeys(r[5] for r in rs if r[5]))
    print(f"| {label} | {len(rs)} | {','.join(r[1] for r in rs)} | {med[label]:.2f} "
          f"| {min(secs):.2f} | {max(secs):.2f} | {statistics.median(cpu):.2f} "
          f"| {statistics.median(rss):.1f} | {notes} |")
t = [l for l in med if l.startswith("tenantry import") and not l.endswith("10k")]
p = [l for l in med if l.startswith("psql")]
if t and p:
    print(f"\nspeed of tenantry against psql \\copy FROM (median / median): "
          f"{med[p[0]] / med[t[0]]:.2f}x")
    # Per pair (each tenantry run against the psql run right after it).
    ts = [float(r[2]) for r in rows if r[0] == t[0]]
    ps = [float(r[2]) for r in rows if r[0] == p[0]]
    ratios = sorted(b / a for a, b in zip(ts, ps))
    print("per-pair ratios: " + " ".join(f"{x:.2f}" for x in ratios)
          + f" (median {statistics.median(ratios):.2f})")
    # For bench/headline.sh: ratio = psql's median time over tenantry's (above 1: tenantry faster).
    import os
    def rss(label):
        return statistics.median(int(r[3]) / 1024 for r in rows if r[0] == label)
    small = [l for l in med if l.startswith("tenantry import") and l.endswith("10k")]
    flat = f"; peak RSS {rss(t[0]):.1f} MB ({rss(small[0]):.1f} MB at 10,000 rows)" if small else ""
    exits = ",".join(r[1] for r in rows if r[0] == t[0])
    with open(os.environ.get("HEADLINE_OUT") or os.devnull, "a") as out:
        out.write(f"HEADLINE\timport/psql\t{med[t[0]]:.2f} s\t{med[p[0]]:.2f} s\t{med[p[0]] / med[t[0]]:.2f}\t"
                  f"medians of {len(ts)} runs each, per-pair ratios {ratios[0]:.2f} to {ratios[-1]:.2f}; "
                  f"tenantry exit codes {exits}{flat}\n")
PY
echo
echo "raw: $RESULTS; $("$BIN" --version); $(psql --version); server $(psql -X -At -d "$DB" -c 'SHOW server_version')"
