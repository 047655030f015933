#!/usr/bin/env bash
# Fleet migrations (issue 14, "Performance"): `tenantry migrate` over SCHEMAS schema tenants on
# the local PostgreSQL, against a plain sequential loop measured in the same run.
#
#   1. setup      SCHEMAS tenants in schemas of their own, each with the demo's `items` table:
#                 one `tenantry tenants create` for the catalog and a model schema, then catalog
#                 rows and schemas made in bulk by SQL (200 schemas per transaction).
#   2. apply      for each entry of CONCURRENCIES, a new migration (ADD COLUMN + CREATE INDEX
#                 on items, versions 0002, 0003, ...) to every schema with `tenantry migrate
#                 --all-tenants --concurrency C` (`default`: no flag, the derived default).
#   3. no-op      the same directory again, nothing to apply, NOOP_RUNS times.
#   4. baseline   the same shape of migration (columns 4 and 5) applied one schema after the
#                 other, as django-tenants' `migrate_schemas` does, without any of Django's
#                 per-schema work: (a) one psql session running, per schema, `BEGIN; SET LOCAL
#                 search_path; ALTER TABLE ...; CREATE INDEX ...; COMMIT`; (b) one psql process
#                 per schema (`psql -c`), each with its own connection.
#
#   bench/migrate.sh                   # all of it (a few minutes after the build)
#   SCHEMAS=200 bench/migrate.sh       # a quick try;  SKIP_BUILD=1 to reuse target/release
#
# Env: SCHEMAS (2000), CONCURRENCIES ("1 default"; e.g. "1 2 4 default"), NOOP_RUNS (5), BASELINE_PER_PROCESS (1: run baseline (b); 0: skip),
#      BENCH_DIR (/tmp/tenantry-bench-migrate), PG_ADMIN_URL
#      (postgres://postgres@127.0.0.1:5432/postgres), DB (tenantry_bench_migrate), SKIP_BUILD=1,
#      HEADLINE_OUT (a file: tenantry against the baselines is also appended there as HEADLINE
#      lines for bench/headline.sh).
# Results: $BENCH_DIR/migrate.md (the table), $BENCH_DIR/*.log (each run's stderr and report).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-migrate}"
SCHEMAS="${SCHEMAS:-2000}"
NOOP_RUNS="${NOOP_RUNS:-5}"
CONCURRENCIES="${CONCURRENCIES:-1 default}"
BASELINE_PER_PROCESS="${BASELINE_PER_PROCESS:-1}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="${DB:-tenantry_bench_migrate}"
URL="${PG_ADMIN_URL%/*}/$DB"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
SRC="$WORK/migrations"
OUT="$WORK/migrate.md"

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "migrate.sh: $*" >&2; exit 1; }
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s%N; }
secs() { awk -v d="$1" 'BEGIN { printf "%.2f", d / 1e9 }'; }
per() { awk -v d="$1" -v n="$2" 'BEGIN { printf "%.2f", d / 1e6 / n }'; }  # ms per schema
row() { echo "| $1 | $2 | $(secs "$3") | $(per "$3" "$SCHEMAS") | $4 |" >>"$OUT"; }
# headline KEY TENANTRY COMPARISON RATIO NOTE: one tab-separated line for bench/headline.sh.
headline() { local IFS=$'\t'; printf 'HEADLINE\t%s\n' "$*" >>"${HEADLINE_OUT:-/dev/null}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

for tool in psql cargo; do command -v "$tool" >/dev/null || die "needs $tool"; done
rm -rf "$WORK"
mkdir -p "$WORK" "$SRC"
if [ -z "${SKIP_BUILD:-}" ]; then
  say "building the release binary"
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli --bin tenantry)
fi
[ -x "$TENANTRY" ] || die "missing $TENANTRY"

# ---- 1. setup -------------------------------------------------------------------------------
say "setup: $SCHEMAS schema tenants in $DB"
pg "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
t0=$(now)
"$TENANTRY" tenants create model --placement schema --database-url "$URL" 2>"$WORK/setup.log"
model="$(pg "$URL" -tAc "SELECT substr(placement, 8) FROM tenantry_tenants WHERE id = 'model'")"
[ -n "$model" ] || die "no model schema"
# Catalog rows as `tenants create` writes them (the model's row, another id and schema), then
# the schemas with a copy of the model's items table, 200 per transaction.
pg "$URL" <<SQL
INSERT INTO tenantry_tenants (id, id_folded, name, status, plan, placement, settings, created_at, updated_at)
SELECT 'b' || lpad(i::text, 5, '0'), 'b' || lpad(i::text, 5, '0'), 'Bench ' || i, status, plan,
       'schema:t_b' || lpad(i::text, 5, '0'), settings, created_at, updated_at
FROM tenantry_tenants, generate_series(1, $SCHEMAS) AS i WHERE id = 'model';
SQL
for ((from = 1; from <= SCHEMAS; from += 200)); do
  to=$((from + 199 < SCHEMAS ? from + 199 : SCHEMAS))
  pg "$URL" <<SQL
DO \$\$
BEGIN
  FOR i IN $from..$to LOOP
    EXECUTE format('CREATE SCHEMA %I', 't_b' || lpad(i::text, 5, '0'));
    EXECUTE format('CREATE TABLE %I.items (LIKE %I.items INCLUDING ALL)', 't_b' || lpad(i::text, 5, '0'), '$model');
  END LOOP;
END
\$\$;
SQL
done
# The shared tables (row@main) get the same migrations: an items table there too.
pg "$URL" -c "CREATE TABLE public.items (LIKE \"$model\".items INCLUDING ALL)" -c "VACUUM ANALYZE"
t1=$(now)
[ "$(pg "$URL" -tAc "SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_b[0-9]{5}\$'")" = "$SCHEMAS" ] ||
  die "not $SCHEMAS schemas"
echo "setup: $(secs $((t1 - t0))) s for $SCHEMAS schemas" >&2

# The model's migration first, so that every later run has the same shape of work.
cat >"$SRC/0001_items_seen.sql" <<'SQL'
ALTER TABLE items ADD COLUMN seen_at text;
SQL
"$TENANTRY" migrate --source "$SRC" --all-tenants --database-url "$URL" >"$WORK/warm.json" 2>"$WORK/warm.log" --json ||
  die "the first migration failed: $(tail -n 3 "$WORK/warm.log")"

{
  echo "# $(date -u +%FT%TZ), $SCHEMAS schemas, git $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "postgres $(pg "$PG_ADMIN_URL" -tAc 'SHOW server_version'), max_connections $(pg "$PG_ADMIN_URL" -tAc 'SHOW max_connections'), synchronous_commit $(pg "$PG_ADMIN_URL" -tAc 'SHOW synchronous_commit')"
  echo
  echo "| run | what | wall s | ms per schema | notes |"
  echo "|---|---|---:|---:|---|"
} >"$OUT"

# migrate NAME ARGS...: one timed `tenantry migrate` run; its report in NAME.json.
migrate() {
  local name="$1"; shift
  local t0 t1 rc=0
  t0=$(now)
  "$TENANTRY" migrate --source "$SRC" --all-tenants --database-url "$URL" --json "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.log" || rc=$?
  t1=$(now)
  [ "$rc" = 0 ] || die "$name: exit $rc: $(tail -n 3 "$WORK/$name.log")"
  LAST=$((t1 - t0))
}
outcomes() {  # outcomes NAME: "applied N current M failed K"
  local f="$WORK/$1.json"
  echo "applied $(grep -c '"outcome": "applied"' "$f" || true), current $(grep -c '"outcome": "current"' "$f" || true), failed $(grep -c '"outcome": "failed"' "$f" || true)"
}

# ---- 2. apply ---------------------------------------------------------------------------------
# One run per entry of CONCURRENCIES, each with a migration of its own (version 2, 3, ...):
# ADD COLUMN + CREATE INDEX on items in every schema.
version=1
TIMES=()  # "CONCURRENCY NANOSECONDS USED" per run, for the HEADLINE lines
for c in $CONCURRENCIES; do
  version=$((version + 1))
  v="$(printf '%04d' "$version")"
  say "apply $v at concurrency $c"
  printf 'ALTER TABLE items ADD COLUMN m%s text;\nCREATE INDEX items_m%s ON items (m%s);\n' "$v" "$v" "$v" >"$SRC/${v}_items_m$v.sql"
  if [ "$c" = default ]; then
    migrate "apply-$c"
    used="$(grep -o '"concurrency": [0-9]*' "$WORK/apply-$c.json" | head -n 1 | grep -o '[0-9]*$')"
    label="tenantry migrate (default concurrency: $used)"
  else
    migrate "apply-$c" --concurrency "$c"
    used="$c"
    label="tenantry migrate --concurrency $c"
  fi
  row "$label" "$v: ADD COLUMN + CREATE INDEX" "$LAST" "$(outcomes "apply-$c")"
  TIMES+=("$c $LAST $used")
done
APPLIED=$((version - 1))

# ---- 3. no-op ---------------------------------------------------------------------------------
say "no-op runs"
noop=()
for r in $(seq "$NOOP_RUNS"); do
  migrate "noop-$r"
  noop+=("$LAST")
  [ "$(outcomes "noop-$r")" = "applied 0, current $((SCHEMAS + 2)), failed 0" ] || die "noop-$r: $(outcomes "noop-$r")"
done
best="$(printf '%s\n' "${noop[@]}" | sort -g | head -n 1)"
median="$(printf '%s\n' "${noop[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
row "tenantry migrate, nothing to apply (median of $NOOP_RUNS)" "0001-$(printf '%04d' "$version") all current" "$median" "best $(secs "$best") s; $(outcomes noop-1)"

# ---- 4. baseline ------------------------------------------------------------------------------
say "baseline: one psql session, schema after schema"
t0=$(now)
for i in $(seq -f '%05g' 1 "$SCHEMAS"); do
  printf 'BEGIN; SET LOCAL search_path TO t_b%s; ALTER TABLE items ADD COLUMN c4 text; CREATE INDEX items_c4 ON items (c4); COMMIT;\n' "$i"
done | pg "$URL"
t1=$(now)
row "baseline: one psql session, sequential" "ADD COLUMN + CREATE INDEX, one transaction per schema" $((t1 - t0)) "no ledger, no lock"
SESSION=$((t1 - t0))
PER_PROCESS=""

if [ "$BASELINE_PER_PROCESS" = 1 ]; then
  say "baseline: one psql process per schema"
  t0=$(now)
  for i in $(seq -f '%05g' 1 "$SCHEMAS"); do
    pg "$URL" -c "BEGIN; SET LOCAL search_path TO t_b$i; ALTER TABLE items ADD COLUMN c5 text; CREATE INDEX items_c5 ON items (c5); COMMIT;"
  done
  t1=$(now)
  row "baseline: one psql -c per schema, sequential" "ADD COLUMN + CREATE INDEX" $((t1 - t0)) "a process and a connection per schema"
  PER_PROCESS=$((t1 - t0))
fi

# Every schema has the columns of every run.
[ "$(pg "$URL" -tAc "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name ~ '^(m[0-9]{4}|c4|c5)\$' AND table_schema ~ '^t_b'")" = $(((APPLIED + 1 + BASELINE_PER_PROCESS) * SCHEMAS)) ] ||
  die "not every schema has the migrated columns"
echo "# end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
for t in "${TIMES[@]}"; do
  read -r c ns used <<<"$t"
  headline "migrate/$c" "$(secs "$ns") s (concurrency $used)" "$(secs "$SESSION") s (one psql session)" "$(ratio "$SESSION" "$ns")" \
    "$SCHEMAS schemas, ADD COLUMN + CREATE INDEX each; $(per "$ns" "$SCHEMAS") vs $(per "$SESSION" "$SCHEMAS") ms per schema"
  if [ -n "$PER_PROCESS" ]; then
    headline "migrate/$c/per-process" "$(secs "$ns") s (concurrency $used)" "$(secs "$PER_PROCESS") s (a psql -c per schema)" \
      "$(ratio "$PER_PROCESS" "$ns")" "$SCHEMAS schemas; $(per "$PER_PROCESS" "$SCHEMAS") ms per schema for the baseline"
  else
    headline "migrate/$c/per-process" "$(secs "$ns") s (concurrency $used)" "not run (BASELINE_PER_PROCESS=0)" "-" \
      "the psql-per-schema baseline was skipped"
  fi
done
headline "migrate/noop" "$(secs "$median") s" "-" "-" "median of $NOOP_RUNS runs with nothing to apply (best $(secs "$best") s), $((SCHEMAS + 2)) placements"
cat "$OUT"
