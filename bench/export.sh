#!/usr/bin/env bash
# Export one tenant of a 2 x 1,000,000-row PostgreSQL table: time and peak RSS of
#   - `tenantry sql export-tenant` (release build),
#   - `psql \copy (SELECT ...) TO file CSV` (the ceiling: the server's own text output),
#   - svc-infra's `python -m svc_infra.cli sql export-tenant` (../shared/peers/svc-infra),
# each measured with /usr/bin/time -v in the same run; and tenantry's peak RSS for a
# 10,000-row tenant against the 1,000,000-row one (flat = streaming).
#
#   bench/export.sh              set up (once; reused while the row counts match), then measure
#   SETUP=1 bench/export.sh      rebuild the tables first
#
# Tables (database tenantry_bench_export):
#   bench_mixed  id bigint PK, tenant_id text, name text, price numeric(12,2),
#                created_at timestamptz, active boolean        -- the issue's 6 mixed columns
#   bench_plain  id bigint PK, tenant_id text, name text, qty integer, score double precision,
#                active boolean                                -- only JSON-native types
# Tenants t1 and t2 have $ROWS rows each in both tables; t_small has 10,000 rows in bench_mixed.
# svc-infra cannot encode numeric or timestamptz values (json.dumps without a default), so on
# bench_mixed it fails after fetching; bench_plain is where all three tools can be compared.
#
# Env: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), ROWS (1000000), RUNS (3),
#      SVC_RUNS (1), OUT (/tmp/tenantry-bench-export), VENV (/tmp/svcinfra-venv),
#      BIN (default: target/release/tenantry, built here), LIMIT_S (600: per-command timeout),
#      DB (tenantry_bench_export), HEADLINE_OUT (a file: the same-run ratios are also appended
#      there as HEADLINE lines for bench/headline.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-tenantry_bench_export}"
ROWS="${ROWS:-1000000}"
SMALL=10000
BIG=$([ "$ROWS" = 1000000 ] && echo 1M || echo "$ROWS")
RUNS="${RUNS:-3}"
SVC_RUNS="${SVC_RUNS:-1}"
LIMIT_S="${LIMIT_S:-600}"
OUT="${OUT:-/tmp/tenantry-bench-export}"
VENV="${VENV:-/tmp/svcinfra-venv}"
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
SVC_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
PEER="$ROOT/../shared/peers/svc-infra"

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.csv

# --- tools -------------------------------------------------------------------------------------
if [ -z "${BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli)
  BIN="$ROOT/target/release/tenantry"
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  VENV="$VENV" "$PEER/run.sh" setup >&2
fi
"$VENV/bin/python" -c 'import psycopg' 2>/dev/null || "$VENV/bin/pip" install -q 'psycopg[binary]' >&2

# --- data --------------------------------------------------------------------------------------
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
have=$(psql -X -At -d "$DB" -c "SELECT (SELECT count(*) FROM bench_mixed WHERE tenant_id = 't1') || ',' || (SELECT count(*) FROM bench_plain WHERE tenant_id = 't2')" 2>/dev/null || true)
if [ "${SETUP:-0}" = 1 ] || [ "$have" != "$ROWS,$ROWS" ]; then
  echo "setting up $DB: 2 x $ROWS rows in bench_mixed and bench_plain, $SMALL for t_small" >&2
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  psql_db <<SQL
CREATE TABLE bench_mixed (id bigint PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL,
  price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, active boolean NOT NULL);
CREATE TABLE bench_plain (id bigint PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL,
  qty integer NOT NULL, score double precision NOT NULL, active boolean NOT NULL);
-- Tenants interleaved, as rows of many tenants arrive over time.
INSERT INTO bench_mixed
  SELECT i, CASE WHEN i % 2 = 0 THEN 't1' ELSE 't2' END, 'item number ' || i,
         (i % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', i % 3 = 0
  FROM generate_series(1, 2 * $ROWS) AS i;
INSERT INTO bench_mixed
  SELECT 2 * $ROWS + i, 't_small', 'item number ' || i, (i % 100000) / 100.0,
         timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', i % 3 = 0
  FROM generate_series(1, $SMALL) AS i;
INSERT INTO bench_plain
  SELECT i, CASE WHEN i % 2 = 0 THEN 't1' ELSE 't2' END, 'item number ' || i, i % 1000, i / 7.0, i % 3 = 0
  FROM generate_series(1, 2 * $ROWS) AS i;
CREATE INDEX bench_mixed_tenant ON bench_mixed (tenant_id, id);
CREATE INDEX bench_plain_tenant ON bench_plain (tenant_id, id);
VACUUM ANALYZE;
SQL
fi

# --- measuring ---------------------------------------------------------------------------------
RESULTS="$OUT/results.tsv"
: > "$RESULTS"

# run LABEL ROWS_EXPECTED OUTFILE CMD...: one timed run; appends label, exit, seconds, peak RSS KB.
run() {
  local label=$1 rows=$2 file=$3; shift 3
  local rc=0
  rm -f "$file"
  /usr/bin/time -v -o "$OUT/time.txt" timeout "$LIMIT_S" "$@" >/dev/null 2>"$OUT/stderr.txt" || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$OUT/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
  local note=""
  if [ "$rc" != 0 ]; then
    note="$(grep -v '^\s*$' "$OUT/stderr.txt" | tail -n 1 | cut -c1-100)"
  elif [ -n "$rows" ] && [ -f "$file" ]; then
    # Check the output holds the tenant's rows (JSON: one row per line in tenantry's array;
    # svc-infra's indented array: count the id keys; CSV: one line per row).
    local got
    case "$label" in
      svc-infra*) got=$(grep -c '^    "id": ' "$file" || true) ;;
      tenantry*) got=$(grep -c '^{' "$file" || true) ;;
      *) got=$(wc -l < "$file") ;;
    esac
    [ "$got" = "$rows" ] || note="expected $rows rows, found $got"
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rc" "$wall" "$rss" "$note" | tee -a "$RESULTS" >&2
}

MIXED_COLS="id, tenant_id, name, price, created_at, active"
PLAIN_COLS="id, tenant_id, name, qty, score, active"
T=("$BIN" sql export-tenant --database-url "$URL" --output "$OUT/t.json")
S=("$VENV/bin/python" -m svc_infra.cli --no-env sql export-tenant --tenant-id t1
   --database-url "$SVC_URL" --output "$OUT/s.json")
copy() { # TABLE COLUMNS: the psql command line
  printf '%s' "\\copy (SELECT $2 FROM $1 WHERE tenant_id = 't1' ORDER BY id) TO '$OUT/p.csv' CSV"
}
echo "label	exit	seconds	peak_rss_kb	note" >&2
for _ in $(seq 1 "$RUNS"); do
  run "tenantry mixed $BIG" "$ROWS" "$OUT/t.json" "${T[@]}" bench_mixed --tenant-id t1
  run "psql-copy mixed $BIG" "$ROWS" "$OUT/p.csv" psql -X -q -d "$DB" -c "$(copy bench_mixed "$MIXED_COLS")"
done
for _ in $(seq 1 "$SVC_RUNS"); do
  run "svc-infra mixed $BIG" "$ROWS" "$OUT/s.json" "${S[@]}" bench_mixed
done
for _ in $(seq 1 "$RUNS"); do
  run "tenantry plain $BIG" "$ROWS" "$OUT/t.json" "${T[@]}" bench_plain --tenant-id t1
  run "psql-copy plain $BIG" "$ROWS" "$OUT/p.csv" psql -X -q -d "$DB" -c "$(copy bench_plain "$PLAIN_COLS")"
done
for _ in $(seq 1 "$SVC_RUNS"); do
  run "svc-infra plain $BIG" "$ROWS" "$OUT/s.json" "${S[@]}" bench_plain
done
for _ in $(seq 1 "$RUNS"); do
  run "tenantry mixed 10k" "$SMALL" "$OUT/t.json" "${T[@]}" bench_mixed --tenant-id t_small
done

# --- summary: median seconds and peak RSS per label --------------------------------------------
python3 - "$RESULTS" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print()
print("| case | runs | exit codes | median s | min s | max s | median peak RSS (MB) | note |")
print("|---|---|---|---|---|---|---|---|")
for label in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == label]
    secs = [float(r[2]) for r in rs]
    rss = [int(r[3]) / 1024 for r in rs]
    notes = "; ".join(dict.fromkeys(r[4] for r in rs if r[4]))
    print(f"| {label} | {len(rs)} | {','.join(r[1] for r in rs)} | {statistics.median(secs):.2f} "
          f"| {min(secs):.2f} | {max(secs):.2f} | {statistics.median(rss):.1f} | {notes} |")

# For bench/headline.sh: tenantry against each comparison, ratio = the comparison's median time
# over tenantry's (above 1: tenantry is faster).
import os
def med(prefix, table, big=True):
    rs = [r for r in rows if r[0].startswith(f"{prefix} {table} ") and r[0].endswith("10k") != big]
    if not rs:
        return None
    return {"s": statistics.median(float(r[2]) for r in rs), "mb": statistics.median(int(r[3]) / 1024 for r in rs),
            "n": len(rs), "exits": ",".join(r[1] for r in rs), "notes": "; ".join(dict.fromkeys(r[4] for r in rs if r[4]))}
with open(os.environ.get("HEADLINE_OUT") or os.devnull, "a") as out:
    for table in ("mixed", "plain"):
        t = med("tenantry", table)
        for peer in ("psql-copy", "svc-infra"):
            p = med(peer, table)
            if not t or not p:
                continue
            note = f"medians of {t['n']} and {p['n']} runs; peak RSS {t['mb']:.1f} vs {p['mb']:.1f} MB; {peer} exit codes {p['exits']}"
            if p["notes"]:
                note += f" ({p['notes']})"
            out.write(f"HEADLINE\texport/{table}/{peer}\t{t['s']:.2f} s\t{p['s']:.2f} s\t{p['s'] / t['s']:.2f}\t{note}\n")
    big, small = med("tenantry", "mixed"), med("tenantry", "mixed", big=False)
    if big and small:
        out.write(f"HEADLINE\texport/rss\t{big['mb']:.1f} MB\t{small['mb']:.1f} MB (10,000 rows)\t{big['mb'] / small['mb']:.2f}\t"
                  "peak RSS of tenantry, the large tenant against the 10,000-row one (flat = streaming)\n")
PY
echo
echo "raw: $RESULTS; tenantry $("$BIN" --version); $(psql --version); svc-infra $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("svc-infra"))')"
