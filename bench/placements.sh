#!/usr/bin/env bash
# Placements under load (issue 13, "Performance"), three parts, each with its same-run baseline:
#
#   schemas    2,000 tenants in schemas of their own vs 2,000 tenants in shared rows, PostgreSQL:
#              `tenantry serve` processes on databases tenantry_bench_schemas and
#              tenantry_bench_rows measured in alternation (A B, then B A, ...), GET by id and a
#              50-row list, requests spread over all tenants: the schema tenants as served by
#              default (statements unnamed, on the server's own pool), then with
#              `--schema-pools SCHEMA_POOLS` (each schema always served by the same one of
#              SCHEMA_POOLS pools, its statements prepared), each against the rows; then
#              unnamed against `--prepare-schema-statements` (prepared on the server's own pool,
#              as before this change: with 2,000 schemas they do not fit in sqlx's 100-statement
#              cache). Each run also gives the CPU time per request of the tenantry process
#              and of the PostgreSQL backends serving it; then their memory.
#   provision  one schema tenant: Registry::provision in process (examples/placements.rs, one
#              tenant after the other), against a catalog record alone (a row tenant); then the
#              wall time of `tenantry tenants create ID --placement schema` against `--placement
#              row` (the same process start and catalog write, no schema), alternating; and a
#              check that the CLI and the helper make identical schemas (pg_dump, names replaced).
#   databases  500 SQLite tenant databases under a cap of DB_CAP pools (64) of one connection:
#              requests spread over all 500 (pools opened and evicted all the time) vs over 10
#              (always cached), alternating on one server; then over 60 (many databases, all
#              cached) vs 10; errors, and the server's open file descriptors before, during and
#              after. Then, each server on a copy of the files of its own: the default cap (128
#              pools of one connection) against the former default (64 of two) over all 500;
#              and tenant files in a rollback journal (`--tenant-journal-mode truncate`) against
#              WAL, reading over all 500 and writing (POST) over all 500 and over 10.
#
#   bench/placements.sh                        # all three (about 20 minutes after the build)
#   PARTS=provision bench/placements.sh        # one part;  SKIP_BUILD=1 to reuse target/release
#   TENANTS=200 SQLITE_TENANTS=50 ROUNDS=1 DURATION=3s bench/placements.sh   # a quick try
#
# Env: PARTS (schemas provision databases), TENANTS (2000), PER_TENANT (100 items each),
#      SQLITE_TENANTS (500), HOT_TENANTS (10), ROUNDS (5), DURATION (10s), WARMUP (5s),
#      THREADS (2), CONNS (32), PROVISION_N (100), CLI_N (30), SCHEMA_POOLS (5; 0: no
#      schema-pools server), PREPARED (1; 0: no prepared server), DB_CAP (64), FIT_TENANTS (60: a
#      spread that fits in the pool cap, against HOT_TENANTS; 0: none), DB_EXTRA (1; 0: only the
#      cap-DB_CAP server of part 3), BENCH_DIR
#      (/tmp/tenantry-bench-placements), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
#      SKIP_BUILD=1, BENCH_PORT (18491: the first server's port, the others on the next ones),
#      DB_PREFIX (tenantry_bench: the databases are PREFIX_rows, PREFIX_schemas, PREFIX_provision),
#      HEADLINE_OUT (a file: each comparison is also appended there as a HEADLINE line for
#      bench/headline.sh). Loopback only; every wrk run is bounded; every server started here is
#      stopped on exit. Results: $BENCH_DIR/*.md and the raw wrk outputs in $BENCH_DIR/runs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-placements}"
PARTS="${PARTS:-schemas provision databases}"
TENANTS="${TENANTS:-2000}"
PER_TENANT="${PER_TENANT:-100}"
SQLITE_TENANTS="${SQLITE_TENANTS:-500}"
HOT_TENANTS="${HOT_TENANTS:-10}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
PROVISION_N="${PROVISION_N:-100}"
CLI_N="${CLI_N:-30}"
SCHEMA_POOLS="${SCHEMA_POOLS:-5}"
PREPARED="${PREPARED:-1}"
DB_CAP="${DB_CAP:-64}"
DB_EXTRA="${DB_EXTRA:-1}"
FIT_TENANTS="${FIT_TENANTS:-60}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_BASE="${PG_ADMIN_URL%/*}"
DB_PREFIX="${DB_PREFIX:-tenantry_bench}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
HELPER="$TARGET/release/examples/placements"
LUA="$ROOT/bench/placements.lua"
HOST=127.0.0.1
PORT_A="${BENCH_PORT:-18491}"
PORT_B=$((PORT_A + 1))
PORT_C=$((PORT_A + 2))
RUNS="$WORK/runs"

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "placements.sh: $*" >&2; exit 1; }
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# headline KEY TENANTRY COMPARISON RATIO NOTE: one tab-separated line for bench/headline.sh.
headline() { local IFS=$'\t'; printf 'HEADLINE\t%s\n' "$*" >>"${HEADLINE_OUT:-/dev/null}"; }

# ---- servers: every one started here is stopped on exit --------------------------------------
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  PORT_PID=() PORT_APP=()
}
SAMPLER=""
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
  stop_all
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# up PORT LOG CMD...: starts CMD in the background (its pid appended to PIDS) and waits up to
# 120 s for /healthz (the demo creates the items table of every placed tenant before it listens).
up() {
  local port="$1" log="$2"; shift 2
  if curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1; then
    die "something already answers on $HOST:$port"
  fi
  "$@" >"$log" 2>&1 &
  PIDS+=("$!")
  local pid=$!
  for _ in $(seq 1 1200); do
    curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "server exited: $*"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $HOST:$port after 120 s: $*"
}

# serve PORT URL [FLAGS...]: the demo, tenant from X-Tenant-Id, no rate limits (exec: started
# in the background by `up`, its pid is the server's own).
serve() {
  local port="$1" url="$2"; shift 2
  exec "$TENANTRY" serve --bind "$HOST:$port" --database-url "$url" --trust-tenant-header --no-rate-limit "$@"
}

# The demo makes its catalog, its tables and its three tenants on an empty database.
init_demo() {  # init_demo URL LOG
  up "$PORT_A" "$2" serve "$PORT_A" "$1"
  stop_all
}

# check PORT TENANT PATH STATUS PATTERN: one request before measuring.
check() {
  local code
  code="$(curl -sS -o "$WORK/check.body" -w '%{http_code}' -H "X-Tenant-Id: $2" "http://$HOST:$1$3")"
  if [ "$code" != "$4" ] || ! grep -q -- "$5" "$WORK/check.body"; then
    echo "check failed: $2 GET $3 -> $code (want $4, body matching $5):" >&2
    head -c 400 "$WORK/check.body" >&2; echo >&2
    die "the server does not answer as expected"
  fi
}

# ---- wrk ------------------------------------------------------------------------------------
# CPU time (user + system, clock ticks) of a process, and of the PostgreSQL backends whose
# application_name is APP (each backend's own, so one that started during a run counts from 0;
# one that ended during it is lost, and counted in `gone`).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
declare -A PORT_PID=() PORT_APP=()
declare -A BACKEND_T0=()
backend_pids() {
  pg "$PG_ADMIN_URL" -tAc "SELECT pid FROM pg_stat_activity WHERE application_name = '$1' AND backend_type = 'client backend'"
}
cpu_start() {  # cpu_start PORT
  local port="$1" p
  SERVER_T0=$(ticks "${PORT_PID[$port]}")
  BACKEND_T0=()
  if [ -n "${PORT_APP[$port]:-}" ]; then
    for p in $(backend_pids "${PORT_APP[$port]}"); do BACKEND_T0[$p]=$(ticks "$p"); done
  fi
}
cpu_end() {  # cpu_end PORT: "server-ticks backend-ticks backends-gone"
  local port="$1" p b=0 gone
  local s=$(( $(ticks "${PORT_PID[$port]}") - SERVER_T0 ))
  if [ -n "${PORT_APP[$port]:-}" ]; then
    for p in $(backend_pids "${PORT_APP[$port]}"); do
      b=$(( b + $(ticks "$p") - ${BACKEND_T0[$p]:-0} )); unset "BACKEND_T0[$p]"
    done
  fi
  gone=${#BACKEND_T0[@]}
  [ -n "${PORT_APP[$port]:-}" ] || b="-"
  echo "$s $b $gone"
}
# bench OUT PORT SECONDS ROUTE PREFIX TENANTS IDS: one wrk run into OUT (with the load average
# and, for a server started by `up_as`, the CPU ticks it and its backends used).
bench() {
  local out="$1" port="$2" secs="$3"; shift 3
  {
    echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# wrk -t$THREADS -c$CONNS -d$secs --latency -s bench/placements.lua http://$HOST:$port -- $* $PER_TENANT"
    [ -n "${PORT_PID[$port]:-}" ] && cpu_start "$port"
    wrk -t"$THREADS" -c"$CONNS" -d"$secs" --latency -s "$LUA" "http://$HOST:$port" -- "$@" "$PER_TENANT"
    [ -n "${PORT_PID[$port]:-}" ] && echo "cpu-ticks: $(cpu_end "$port") hz $(getconf CLK_TCK)"
  } >"$out" 2>&1
}
# stats FILE: "req/s p50 p99 requests non2xx socket-errors server-us/req backend-us/req", as
# wrk printed them (CPU microseconds per request: "-" when not measured).
stats() {
  awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = $2 }
    /^ +99%/ { p99 = $2 }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    /^cpu-ticks:/ { st = $2; bt = $3; hz = $6; have = 1 }
    END {
      if (have && n > 0) { s = sprintf("%.1f", st / hz * 1e6 / n); b = bt == "-" ? "-" : sprintf("%.1f", bt / hz * 1e6 / n) }
      else { s = "-"; b = "-" }
      printf "%s %s %s %s %d %d %s %s\n", rps, p50, p99, n, bad, sock, s, b }' "$1"
}
# Latency in ms (wrk prints us, ms or s).
ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
  if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000; printf "%.3f", x }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# pair NAME_A PORT_A ARGS_A NAME_B PORT_B ARGS_B ROUTE: ROUNDS alternating runs of A and B;
# appends one table row (medians, per-round ratios A/B) to $TABLE and the errors to $ERRORS.
pair() {
  local na="$1" pa="$2" aa="$3" nb="$4" pb="$5" ab="$6" route="$7" r fa fb
  local -a ra rb la lb qa qb ratios sa sb ba bb
  # shellcheck disable=SC2086
  bench "$RUNS/warm.$na.$route.txt" "$pa" "$WARMUP" "$route" $aa
  # shellcheck disable=SC2086
  bench "$RUNS/warm.$nb.$route.txt" "$pb" "$WARMUP" "$route" $ab
  for r in $(seq "$ROUNDS"); do
    fa="$RUNS/$na.$route.$r.txt"; fb="$RUNS/$nb.$route.$r.txt"
    # shellcheck disable=SC2086
    if ((r % 2)); then
      bench "$fa" "$pa" "$DURATION" "$route" $aa; bench "$fb" "$pb" "$DURATION" "$route" $ab
    else
      bench "$fb" "$pb" "$DURATION" "$route" $ab; bench "$fa" "$pa" "$DURATION" "$route" $aa
    fi
    read -r a1 a2 a3 _ a5 a6 a7 a8 <<<"$(stats "$fa")"
    read -r b1 b2 b3 _ b5 b6 b7 b8 <<<"$(stats "$fb")"
    ra+=("$a1") rb+=("$b1") la+=("$(ms "$a2")") lb+=("$(ms "$b2")") qa+=("$(ms "$a3")") qb+=("$(ms "$b3")")
    sa+=("$a7") sb+=("$b7") ba+=("$a8") bb+=("$b8")
    ratios+=("$(ratio "$a1" "$b1")")
    ERRS=$((ERRS + a5 + a6 + b5 + b6))
    echo "$route round $r: $na $a1 req/s (p50 $a2, p99 $a3, errors $a5+$a6, cpu us/req $a7 + $a8), $nb $b1 req/s (p50 $b2, p99 $b3, errors $b5+$b6, cpu us/req $b7 + $b8), ratio ${ratios[-1]}" >&2
  done
  echo "| $route | $ROUNDS | $(median "${ra[@]}") | $(median "${la[@]}") | $(median "${qa[@]}") | $(median "${rb[@]}") | $(median "${lb[@]}") | $(median "${qb[@]}") | $(ratio "$(median "${ra[@]}")" "$(median "${rb[@]}")") | **$(median "${ratios[@]}")** | ${ratios[*]} | $(median "${sa[@]}") / $(median "${ba[@]}") | $(median "${sb[@]}") / $(median "${bb[@]}") |" >>"$TABLE"
  headline "placements/$na/$nb/$route" "$(median "${ra[@]}") req/s" "$(median "${rb[@]}") req/s" "$(median "${ratios[@]}")" \
    "median of $ROUNDS per-round ratios (wrk -t$THREADS -c$CONNS -d$DURATION), rounds $(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ' | sed 's/ / to /'); p99 $(median "${qa[@]}") vs $(median "${qb[@]}") ms; non-2xx + socket errors so far $ERRS"
}
pair_header() {  # pair_header A B
  {
    echo "| route | rounds | $1 req/s | $1 p50 ms | $1 p99 ms | $2 req/s | $2 p50 ms | $2 p99 ms | ratio of medians | median of per-round ratios | per-round ratios ($1/$2) | $1 CPU us/req (tenantry / PostgreSQL) | $2 CPU us/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
  } >>"$TABLE"
}
# up_as PORT APP LOG CMD...: `up`, remembering the server's pid (and the application_name its
# PostgreSQL connections carry, if any) for the CPU columns.
up_as() {
  local port="$1" app="$2"; shift 2
  up "$port" "$@"
  PORT_PID[$port]="${PIDS[-1]}"
  PORT_APP[$port]="$app"
}

# ---- memory ---------------------------------------------------------------------------------
# kb PID FIELD: a /proc/PID/status field in kB.
kb() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null || echo 0; }
# backends APP: the pids of PostgreSQL's client backends of one server (its URL sets
# application_name=APP).
backends() {
  pg "$PG_ADMIN_URL" -tAc "SELECT pid FROM pg_stat_activity WHERE application_name = '$1' AND backend_type = 'client backend'"
}
# mem_row WHEN APP SERVER_PID: one table row: backends, their private (RssAnon) and total (VmRSS)
# resident memory, and the tenantry process's.
mem_row() {
  local when="$1" app="$2" pid="$3" p anon=() rss=()
  for p in $(backends "$app"); do anon+=("$(kb "$p" RssAnon)"); rss+=("$(kb "$p" VmRSS)"); done
  local n=${#anon[@]}
  local sum max med rsum
  sum=$(printf '%s\n' "${anon[@]:-0}" | awk '{ s += $1 } END { print s + 0 }')
  max=$(printf '%s\n' "${anon[@]:-0}" | sort -g | tail -n 1)
  med=$(median "${anon[@]:-0}")
  rsum=$(printf '%s\n' "${rss[@]:-0}" | awk '{ s += $1 } END { print s + 0 }')
  echo "| $when | $app | $n | $med | $max | $sum | $rsum | $(kb "$pid" VmRSS) | $(kb "$pid" VmHWM) |" >>"$MEM"
}
mem_header() {
  {
    echo "| when | server | backends | backend RssAnon kB (median) | (max) | (sum) | backends VmRSS kB (sum) | tenantry VmRSS kB | tenantry VmHWM kB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  } >>"$MEM"
}

# ---- prerequisites and build ----------------------------------------------------------------
for tool in wrk curl psql pg_dump sqlite3 cargo; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install -y wrk sqlite3 postgresql-client)"
done
rm -rf "$WORK"
mkdir -p "$WORK" "$RUNS"
if [ -z "${SKIP_BUILD:-}" ]; then
  say "building release binaries"
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli --bin tenantry --example placements)
fi
[ -x "$TENANTRY" ] && [ -x "$HELPER" ] || die "missing $TENANTRY or $HELPER"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" status --porcelain | wc -l) paths modified or untracked in the work tree)"
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "wrk: $(wrk -v 2>&1 | head -n 1); client: -t$THREADS -c$CONNS -d$DURATION --latency, warm-up $WARMUP, loopback"
  echo "postgres: $(pg "$PG_ADMIN_URL" -tAc 'SHOW server_version')"
  echo "sqlite3 CLI (loading): $(sqlite3 --version | cut -d' ' -f1)"
  awk '/^name = /{n=$3} /^version = /{gsub(/"/,"",n); gsub(/"/,"",$3); if (n ~ /^(axum|sqlx|tokio|hyper|libsqlite3-sys|lru)$/) print n " " $3}' "$ROOT/Cargo.lock" | tr '\n' ',' | sed 's/,$/\n/;s/,/, /g'
} | tee "$WORK/versions.txt" >&2

# ---- part 1: schemas vs shared rows on PostgreSQL -----------------------------------------------
part_schemas() {
  local rows="${DB_PREFIX}_rows" schemas="${DB_PREFIX}_schemas"
  local url_rows="$PG_BASE/$rows" url_schemas="$PG_BASE/$schemas" total=$((TENANTS * PER_TENANT))
  say "schemas: $TENANTS tenants in schemas, $TENANTS in shared rows, $PER_TENANT items each"
  for db in $rows $schemas; do
    pg "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  done
  init_demo "$url_rows" "$WORK/init-rows.log"
  init_demo "$url_schemas" "$WORK/init-schemas.log"
  "$HELPER" --database-url "$url_rows" --placement row --prefix r --count "$TENANTS" \
    --times "$WORK/setup-rows.csv" | tee "$WORK/setup-rows.txt" >&2
  "$HELPER" --database-url "$url_schemas" --placement schema --prefix s --count "$TENANTS" \
    --times "$WORK/setup-schemas.csv" | tee "$WORK/setup-schemas.txt" >&2
  say "loading items"
  pg "$url_rows" <<SQL
TRUNCATE items RESTART IDENTITY;
INSERT INTO items (id, tenant_id, name, sku, price_cents) OVERRIDING SYSTEM VALUE
SELECT i, 'r' || lpad(((i - 1) / $PER_TENANT + 1)::text, 4, '0'), 'Item ' || i, 'SKU-' || i, (i * 37) % 100000
FROM generate_series(1, $total) AS i;
SELECT setval(pg_get_serial_sequence('items', 'id'), $total);
VACUUM ANALYZE;
SQL
  pg "$url_schemas" <<SQL
DO \$\$
DECLARE r record;
BEGIN
  FOR r IN SELECT id, substr(placement, 8) AS s FROM tenantry_tenants
           WHERE id ~ '^s[0-9]{4}$' AND placement LIKE 'schema:%' LOOP
    EXECUTE format('INSERT INTO %I.items (id, tenant_id, name, sku, price_cents) OVERRIDING SYSTEM VALUE '
                   'SELECT i, %L, ''Item '' || i, ''SKU-'' || i, (i * 37) %% 100000 '
                   'FROM generate_series(1, $PER_TENANT) AS i', r.s, r.id);
    PERFORM setval(pg_get_serial_sequence(format('%I.items', r.s), 'id'), $PER_TENANT);
  END LOOP;
END
\$\$;
VACUUM ANALYZE;
SQL
  [ "$(pg "$url_schemas" -tAc "SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_s[0-9]{4}_'")" = "$TENANTS" ] ||
    die "not $TENANTS tenant schemas in $schemas"

  # Each server names its connections (application_name), so that its backends can be found.
  up_as "$PORT_A" bench_schema "$WORK/serve-schemas.log" serve "$PORT_A" "$url_schemas?application_name=bench_schema"
  local pid_schemas="${PIDS[-1]}"
  up_as "$PORT_B" bench_row "$WORK/serve-rows.log" serve "$PORT_B" "$url_rows?application_name=bench_row"
  local pid_rows="${PIDS[-1]}"
  local last; last="$(printf '%04d' "$TENANTS")"
  check "$PORT_A" s0001 /api/v1/items/1 200 '"name":"Item 1"'
  check "$PORT_A" "s$last" "/api/v1/items/$PER_TENANT" 200 "\"tenant_id\":\"s$last\""
  check "$PORT_A" s0002 '/api/v1/items?limit=50' 200 "\"total\":$PER_TENANT"
  check "$PORT_B" r0002 "/api/v1/items/$((PER_TENANT + 1))" 200 '"tenant_id":"r0002"'
  check "$PORT_B" r0001 "/api/v1/items/$((PER_TENANT + 1))" 404 'not_found'
  check "$PORT_B" r0002 '/api/v1/items?limit=50' 200 "\"total\":$PER_TENANT"

  MEM="$WORK/schemas-memory.md"; : >"$MEM"; mem_header
  mem_row "after start" bench_schema "$pid_schemas"; mem_row "after start" bench_row "$pid_rows"
  TABLE="$WORK/schemas.md"; : >"$TABLE"; ERRS=0
  echo "# $(date -u +%FT%TZ), $TENANTS tenants each side, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TABLE"
  echo "schema tenants as served by default (statements unnamed, the server's own pool) vs shared rows:" >>"$TABLE"
  pair_header schema row
  pair schema "$PORT_A" "s $TENANTS own" row "$PORT_B" "r $TENANTS shared" get
  mem_row "after get" bench_schema "$pid_schemas"; mem_row "after get" bench_row "$pid_rows"
  pair schema "$PORT_A" "s $TENANTS own" row "$PORT_B" "r $TENANTS shared" list
  mem_row "after list" bench_schema "$pid_schemas"; mem_row "after list" bench_row "$pid_rows"
  if [ "$SCHEMA_POOLS" -gt 0 ]; then
    # The same schema tenants from SCHEMA_POOLS pools of their own, against the same rows.
    up_as "$PORT_C" bench_schema_pools "$WORK/serve-schema-pools.log" serve "$PORT_C" \
      "$url_schemas?application_name=bench_schema_pools" --schema-pools "$SCHEMA_POOLS"
    local pid_pools="${PIDS[-1]}"
    check "$PORT_C" s0001 /api/v1/items/1 200 '"name":"Item 1"'
    mem_row "after start" bench_schema_pools "$pid_pools"
    {
      echo
      echo "schema tenants from $SCHEMA_POOLS schema pools (\`--schema-pools $SCHEMA_POOLS\`, statements prepared) vs shared rows:"
      echo
    } >>"$TABLE"
    pair_header schema-pools row
    pair schema-pools "$PORT_C" "s $TENANTS own" row "$PORT_B" "r $TENANTS shared" get
    mem_row "after get" bench_schema_pools "$pid_pools"
    pair schema-pools "$PORT_C" "s $TENANTS own" row "$PORT_B" "r $TENANTS shared" list
    mem_row "after list" bench_schema_pools "$pid_pools"; mem_row "after list" bench_row "$pid_rows"
  fi
  if [ "$PREPARED" -gt 0 ]; then
    # Prepared on the server's own pool (sqlx's cache of 100 per connection), as before this
    # change, against the default, on the same schema tenants.
    kill "$pid_rows" 2>/dev/null; wait "$pid_rows" 2>/dev/null || true
    unset "PORT_PID[$PORT_B]"
    up_as "$PORT_B" bench_schema_prepared "$WORK/serve-schemas-prepared.log" serve "$PORT_B" \
      "$url_schemas?application_name=bench_schema_prepared" --prepare-schema-statements
    local pid_prepared="${PIDS[-1]}"
    check "$PORT_B" s0001 /api/v1/items/1 200 '"name":"Item 1"'
    {
      echo
      echo "schema tenants, unnamed (the default) vs prepared on the server's own pool (\`--prepare-schema-statements\`, sqlx's cache of 100 per connection):"
      echo
    } >>"$TABLE"
    pair_header unnamed prepared
    pair unnamed "$PORT_A" "s $TENANTS own" prepared "$PORT_B" "s $TENANTS own" get
    mem_row "after get" bench_schema_prepared "$pid_prepared"
  fi
  mem_row "at the end" bench_schema "$pid_schemas"
  stop_all
  local tables
  tables="$(pg "$url_schemas" -tAc "SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname ~ '^t_s[0-9]{4}_')")"
  {
    echo
    echo "non-2xx + socket errors over all runs: $ERRS; relations in the tenant schemas: $tables"
    echo "# end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    cat "$MEM"
  } >>"$TABLE"
  stop_all
  cat "$TABLE"
}

# ---- part 2: provisioning one schema tenant -----------------------------------------------------
part_provision() {
  local db="${DB_PREFIX}_provision" url="$PG_BASE/${DB_PREFIX}_provision" i t0 t1
  say "provision: $PROVISION_N in process, $CLI_N through the CLI"
  pg "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  init_demo "$url" "$WORK/init-provision.log"
  local out="$WORK/provision.md"
  {
    echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "in process (examples/placements.rs, one tenant after the other):"
    echo '```'
    "$HELPER" --database-url "$url" --placement row --prefix p --count "$PROVISION_N" --times "$WORK/provision-row.csv" | sed 's/^/row    /'
    "$HELPER" --database-url "$url" --placement schema --prefix q --count "$PROVISION_N" --times "$WORK/provision-schema.csv" | sed 's/^/schema /'
    echo '```'
  } >"$out"
  local schema_ms=() row_ms=()
  for i in $(seq -f '%04g' 1 "$CLI_N"); do
    t0=$(date +%s%N)
    "$TENANTRY" tenants create "c$i" --placement schema --database-url "$url" 2>>"$WORK/cli.log"
    t1=$(date +%s%N); schema_ms+=("$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')")
    t0=$(date +%s%N)
    "$TENANTRY" tenants create "b$i" --placement row --database-url "$url" 2>>"$WORK/cli.log"
    t1=$(date +%s%N); row_ms+=("$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')")
  done
  local sm rm
  sm="$(median "${schema_ms[@]}")"; rm="$(median "${row_ms[@]}")"
  {
    echo
    echo "CLI wall time, \`tenantry tenants create ID --placement schema|row\`, $CLI_N each, alternating:"
    echo
    echo "| placement | median ms | min ms | max ms | all (ms) |"
    echo "|---|---:|---:|---:|---|"
    echo "| schema | $sm | $(printf '%s\n' "${schema_ms[@]}" | sort -g | head -n 1) | $(printf '%s\n' "${schema_ms[@]}" | sort -g | tail -n 1) | ${schema_ms[*]} |"
    echo "| row | $rm | $(printf '%s\n' "${row_ms[@]}" | sort -g | head -n 1) | $(printf '%s\n' "${row_ms[@]}" | sort -g | tail -n 1) | ${row_ms[*]} |"
    echo
    echo "schema - row (medians): $(awk -v a="$sm" -v b="$rm" 'BEGIN { printf "%.1f", a - b }') ms"
  } >>"$out"
  local in_schema in_row
  in_schema="$(awk '$1 == "schema" && $2 == "provision" { for (i = 3; i <= NF; i++) if ($i ~ /^median_ms=/) { sub(/^median_ms=/, "", $i); print $i } }' "$out")"
  in_row="$(awk '$1 == "row" && $2 == "tenant" { for (i = 3; i <= NF; i++) if ($i ~ /^median_ms=/) { sub(/^median_ms=/, "", $i); print $i } }' "$out")"
  headline "placements/provision/in-process" "$in_schema ms" "$in_row ms (record alone, row)" "-" \
    "median of $PROVISION_N Registry::provision calls, schema (CREATE SCHEMA, table, indexes), one after the other"
  headline "placements/provision/cli" "$sm ms" "$rm ms (--placement row)" "-" \
    "median wall time of $CLI_N \`tenantry tenants create ID --placement schema\` processes, alternating with row"
  # The helper's schemas are the CLI's: same DDL once the generated names are replaced (and
  # the random key of pg_dump's \\restrict lines dropped).
  local cli_schema helper_schema
  cli_schema="$(pg "$url" -tAc "SELECT substr(placement, 8) FROM tenantry_tenants WHERE id = 'c0001'")"
  helper_schema="$(pg "$url" -tAc "SELECT substr(placement, 8) FROM tenantry_tenants WHERE id = 'q0001'")"
  pg_dump --schema-only -n "$cli_schema" "$url" | sed "s/$cli_schema/SCHEMA/g; /^\\\\\(un\\)\\?restrict /d" >"$WORK/dump-cli.sql"
  pg_dump --schema-only -n "$helper_schema" "$url" | sed "s/$helper_schema/SCHEMA/g; /^\\\\\(un\\)\\?restrict /d" >"$WORK/dump-helper.sql"
  grep -q 'CREATE TABLE SCHEMA.items' "$WORK/dump-cli.sql" || die "no items table in $cli_schema"
  if diff -u "$WORK/dump-cli.sql" "$WORK/dump-helper.sql" >"$WORK/dump.diff"; then
    echo "identical DDL: pg_dump --schema-only of $cli_schema (CLI) and $helper_schema (helper), names replaced ($(grep -c '^CREATE' "$WORK/dump-cli.sql") CREATE statements)" >>"$out"
  else
    cat "$WORK/dump.diff" >&2
    die "the helper's schema differs from the CLI's"
  fi
  [ "$(pg "$url" -tAc "SELECT count(*) FROM tenantry_tenants WHERE id ~ '^[cq][0-9]{4}$' AND status = 'active' AND placement LIKE 'schema:%'")" = $((CLI_N + PROVISION_N)) ] ||
    die "not every schema tenant is active"
  cat "$out"
}

# ---- part 3: 500 SQLite tenant databases, pool cap 64 -------------------------------------------
fds() { find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l; }
tenant_fds() { find "/proc/$1/fd" -mindepth 1 -lname "$2/t_*" 2>/dev/null | wc -l; }
tenant_files() {  # distinct tenant database files the process holds open
  find "/proc/$1/fd" -mindepth 1 -lname "$2/t_*" -printf '%l\n' 2>/dev/null | sed 's/-\(wal\|shm\)$//' | sort -u | wc -l
}
part_databases() {
  local dir="$WORK/sqlite" n="$SQLITE_TENANTS"
  mkdir -p "$dir"
  local url="sqlite://$dir/main.db"
  say "databases: $n SQLite tenant databases, $PER_TENANT items each"
  init_demo "$url" "$WORK/init-sqlite.log"
  "$HELPER" --database-url "$url" --placement database --prefix d --count "$n" \
    --times "$WORK/setup-databases.csv" | tee "$WORK/setup-databases.txt" >&2
  local id name
  while IFS='|' read -r id name; do
    sqlite3 "$dir/$name.db" >/dev/null <<SQL
INSERT INTO items (id, tenant_id, name, sku, price_cents)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $PER_TENANT)
SELECT i, '$id', 'Item ' || i, 'SKU-' || i, (i * 37) % 100000 FROM n;
SQL
  done < <(sqlite3 "$dir/main.db" "SELECT id, substr(placement, 10) FROM tenantry_tenants WHERE id GLOB 'd[0-9][0-9][0-9][0-9]' AND placement LIKE 'database:%'")
  [ "$(find "$dir" -name 't_d*.db' | wc -l)" = "$n" ] || die "not $n tenant database files in $dir"

  # The demo made its files in WAL mode, the helper too: every copy below starts alike.
  up_as "$PORT_A" "" "$WORK/serve-sqlite.log" serve "$PORT_A" "$url" --max-tenant-pools "$DB_CAP"
  local pid="${PIDS[-1]}" last; last="$(printf '%04d' "$n")"
  check "$PORT_A" d0001 /api/v1/items/1 200 '"name":"Item 1"'
  check "$PORT_A" "d$last" "/api/v1/items/$PER_TENANT" 200 "\"tenant_id\":\"d$last\""
  check "$PORT_A" d0002 '/api/v1/items?limit=50' 200 "\"total\":$PER_TENANT"

  local fdlog="$WORK/fds.txt"
  echo "# when fds tenant-fds tenant-files" >"$fdlog"
  echo "before $(fds "$pid") $(tenant_fds "$pid" "$dir") $(tenant_files "$pid" "$dir")" >>"$fdlog"
  ( while sleep 0.5; do echo "during $(fds "$pid") $(tenant_fds "$pid" "$dir") $(tenant_files "$pid" "$dir")"; done ) >>"$fdlog" &
  SAMPLER=$!
  TABLE="$WORK/databases.md"; : >"$TABLE"; ERRS=0
  echo "# $(date -u +%FT%TZ), $n tenant databases, load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TABLE"
  echo "cap of $DB_CAP pools of one connection (\`--max-tenant-pools $DB_CAP\`), WAL:" >>"$TABLE"
  pair_header "all-$n" "hot-$HOT_TENANTS"
  # Both sides hit the same server in alternation: one extra port is not needed.
  pair "all-$n" "$PORT_A" "d $n own" "hot-$HOT_TENANTS" "$PORT_A" "d $HOT_TENANTS own" get
  echo "after-get $(fds "$pid") $(tenant_fds "$pid" "$dir") $(tenant_files "$pid" "$dir")" >>"$fdlog"
  pair "all-$n" "$PORT_A" "d $n own" "hot-$HOT_TENANTS" "$PORT_A" "d $HOT_TENANTS own" list
  if [ "$FIT_TENANTS" -gt 0 ]; then
    # Spread over as many tenants as the cache holds: many databases, no churn.
    echo >>"$TABLE"
    pair_header "fit-$FIT_TENANTS" "hot-$HOT_TENANTS"
    pair "fit-$FIT_TENANTS" "$PORT_A" "d $FIT_TENANTS own" "hot-$HOT_TENANTS" "$PORT_A" "d $HOT_TENANTS own" get
  fi
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
  echo "after-runs $(fds "$pid") $(tenant_fds "$pid" "$dir") $(tenant_files "$pid" "$dir")" >>"$fdlog"
  sleep 5
  echo "after-5s $(fds "$pid") $(tenant_fds "$pid" "$dir") $(tenant_files "$pid" "$dir")" >>"$fdlog"
  local warns; warns="$(grep -cE 'WARN|ERROR' "$WORK/serve-sqlite.log" || true)"
  stop_all
  local extra_fds=""
  if [ "$DB_EXTRA" -gt 0 ]; then
    # Each server below has a copy of the files of its own: two processes on one WAL file share
    # its -shm and its locks, and a file's last connection in a process would not be its last.
    local dir2="$WORK/sqlite-2"
    rm -rf "$dir2"; cp -a "$dir" "$dir2"
    up_as "$PORT_A" "" "$WORK/serve-sqlite-128.log" serve "$PORT_A" "$url"
    up_as "$PORT_B" "" "$WORK/serve-sqlite-64x2.log" serve "$PORT_B" "sqlite://$dir2/main.db" \
      --max-tenant-pools 64 --tenant-pool-connections 2
    check "$PORT_A" d0001 /api/v1/items/1 200 '"name":"Item 1"'
    check "$PORT_B" d0001 /api/v1/items/1 200 '"name":"Item 1"'
    {
      echo
      echo "over all $n, the default cap (128 pools of one connection) vs the former default (64 pools of two), each server on its own copy of the files:"
      echo
    } >>"$TABLE"
    pair_header "cap-128x1" "cap-64x2"
    pair "cap-128x1" "$PORT_A" "d $n own" "cap-64x2" "$PORT_B" "d $n own" get
    warns=$((warns + $(cat "$WORK"/serve-sqlite-*.log | grep -cE 'WARN|ERROR' || true)))
    stop_all
    rm -rf "$dir2"; cp -a "$dir" "$dir2"
    up_as "$PORT_A" "" "$WORK/serve-sqlite-truncate.log" serve "$PORT_A" "sqlite://$dir2/main.db" \
      --max-tenant-pools "$DB_CAP" --tenant-journal-mode truncate
    local pid_truncate="${PIDS[-1]}"
    up_as "$PORT_B" "" "$WORK/serve-sqlite-wal.log" serve "$PORT_B" "$url" --max-tenant-pools "$DB_CAP"
    local pid_wal="${PIDS[-1]}"
    check "$PORT_A" d0001 /api/v1/items/1 200 '"name":"Item 1"'
    check "$PORT_B" d0001 /api/v1/items/1 200 '"name":"Item 1"'
    {
      echo
      echo "cap of $DB_CAP, tenant files with a rollback journal (\`--tenant-journal-mode truncate\`) vs WAL, each server on its own copy; reads over all $n, then writes (POST, a new item each) over all $n and over $HOT_TENANTS:"
      echo
    } >>"$TABLE"
    pair_header "truncate" "wal"
    pair truncate "$PORT_A" "d $n own" wal "$PORT_B" "d $n own" get
    pair truncate "$PORT_A" "d $n own" wal "$PORT_B" "d $n own" post
    pair truncate "$PORT_A" "d $HOT_TENANTS own" wal "$PORT_B" "d $HOT_TENANTS own" post
    extra_fds="truncate: $(fds "$pid_truncate") fds, $(tenant_fds "$pid_truncate" "$dir2") on $(tenant_files "$pid_truncate" "$dir2") tenant files; wal: $(fds "$pid_wal") fds, $(tenant_fds "$pid_wal" "$dir") on $(tenant_files "$pid_wal" "$dir") tenant files"
    warns=$((warns + $(cat "$WORK"/serve-sqlite-truncate.log "$WORK"/serve-sqlite-wal.log | grep -cE 'WARN|ERROR' || true)))
    stop_all
  fi
  {
    echo
    echo "non-2xx + socket errors over all runs: $ERRS; server log lines at WARN or ERROR: $warns"
    echo "# end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "cap-$DB_CAP server, open file descriptors:"
    echo
    echo "| when | open fds | fds on tenant files | tenant files open |"
    echo "|---|---:|---:|---:|"
    awk '$1 != "#" && $1 != "during" { printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$fdlog"
    awk '$1 == "during" { n++; if ($2 > f) f = $2; if ($3 > t) t = $3; if ($4 > d) d = $4 }
      END { printf "| during (max of %d samples) | %s | %s | %s |\n", n, f, t, d }' "$fdlog"
    [ -n "$extra_fds" ] && { echo; echo "after the journal runs: $extra_fds"; }
  } >>"$TABLE"
  local fd_before fd_runs fd_after tenant_max
  fd_before="$(awk '$1 == "before" { print $2 }' "$fdlog")"
  fd_runs="$(awk '$1 == "after-runs" { print $2 }' "$fdlog")"
  fd_after="$(awk '$1 == "after-5s" { print $2 }' "$fdlog")"
  tenant_max="$(awk '$1 == "during" { if ($3 > t) t = $3 } END { print t + 0 }' "$fdlog")"
  # The bound: the cap's pools, one connection each, three descriptors each in WAL mode (the
  # file, its -wal, its -shm); growth would be descriptors added after the runs.
  headline "placements/databases/fds" "$tenant_max descriptors on tenant files at most" \
    "$((DB_CAP * 3)) (the cap: $DB_CAP pools, 3 each: file, -wal, -shm)" "-" \
    "whole process: $fd_before before, $fd_runs after the runs, $fd_after 5 s later; tenant files open at most $(awk '$1 == "during" { if ($4 > d) d = $4 } END { print d + 0 }' "$fdlog") at once; errors $ERRS"
  cat "$TABLE"
}

for part in $PARTS; do
  case "$part" in
    schemas) part_schemas ;;
    provision) part_provision ;;
    databases) part_databases ;;
    *) die "unknown part $part (schemas provision databases)" ;;
  esac
done
echo "results: $WORK/*.md; raw wrk outputs: $RUNS/; versions: $WORK/versions.txt" >&2
