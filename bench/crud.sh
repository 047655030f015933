#!/usr/bin/env bash
# HTTP benchmark of the items API (issue 3, "Performance"):
#   (a) the tenantry demo (`tenantry serve`), in header mode (--trust-tenant-header, X-Tenant-Id)
#       and in token mode (Authorization: Bearer, HS256), rate limits off;
#   (b) the ceiling: a plain axum + sqlx service with no tenancy
#       (crates/tenantry-cli/examples/plain_items.rs), plus the same with --list-all for the list
#       route (page and count over the whole table);
#   (c) the svc-infra peer (../shared/peers/svc-infra/run.sh, SQLite only).
# Data: 10 tenants x 10,000 items, fresh for every system: SQLite files in WAL mode, and the
# PostgreSQL database tenantry_bench_crud. Client: wrk on loopback, fixed threads, connections
# and duration, a short warm-up first. Every server started here is stopped on exit.
#
#   bench/crud.sh                 # everything (about 6 minutes after the build)
#   BACKENDS=sqlite bench/crud.sh # only SQLite;  SYSTEMS="tenantry-header plain" to pick systems
#   BACKENDS=sqlite ROUTES=post SYSTEMS="tenantry-header tenantry-token tenantry-header-nogc
#     tenantry-token-nogc plain svc-infra" bench/crud.sh   # writes, with and without group commit
#   ROUTES="list list-none page1 page1000-offset page1000-cursor" bench/crud.sh  # issue 16, item 3
#                                 # (bench/lists.sh); the list-none and page* routes run on tenantry only
#
# Env: DURATION (10s), WARMUP (2s), THREADS (2), CONNS (32), BENCH_DIR (/tmp/tenantry-bench-crud),
#      PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), PEER_DIR, VENV, PEER_WORKERS (2),
#      BENCH_PORT (18481), SKIP_BUILD=1 (use the binaries already in target/release), QUIET_MAX (10: % of the machine
#      others may use), QUIET_BUDGET (240: seconds the script may wait for a quiet machine before
#      runs), RETRIES (2: reruns of a measurement during which others used more than QUIET_MAX %;
#      the disturbed outputs are kept as *.disturbedN.txt), HEADLINE_OUT (a file: the ratios are
#      also appended there as HEADLINE lines for bench/headline.sh), OBSERVE (0: tenantry without
#      its request log and /metrics, like the plain handler and svc-infra; 1: as the demo ships).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-crud}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-2s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
BACKENDS="${BACKENDS:-sqlite postgres}"
SYSTEMS="${SYSTEMS:-tenantry-header tenantry-token plain plain-list-all svc-infra}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB=tenantry_bench_crud
PG_URL="${PG_ADMIN_URL%/*}/$PG_DB"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/peers/svc-infra}"
export VENV="${VENV:-/tmp/svcinfra-venv}"
PEER_WORKERS="${PEER_WORKERS:-2}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
PLAIN="$TARGET/release/examples/plain_items"
PORT="${BENCH_PORT:-18481}"
HOST=127.0.0.1
PER_TENANT=10000
TENANTS=(acme globex bench03 bench04 bench05 bench06 bench07 bench08 bench09 bench10)
TENANT_LIST="$(IFS=,; echo "${TENANTS[*]}")"
read -r -a ROUTES <<<"${ROUTES:-get list post}"
LUA="$ROOT/bench/crud.lua"
RESULTS="$WORK/results"

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "crud.sh: $*" >&2; exit 1; }
# headline KEY TENANTRY COMPARISON RATIO NOTE: one tab-separated line for bench/headline.sh
# (written only when HEADLINE_OUT names a file).
headline() { local IFS=$'\t'; printf 'HEADLINE\t%s\n' "$*" >>"${HEADLINE_OUT:-/dev/null}"; }

# ---- servers: every one started here is stopped on exit ------------------------------------
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start LOG CMD...: runs CMD in the background and waits (30 s at most) for /healthz.
start() {
  local log="$1"; shift
  if curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; then
    die "something already answers on $HOST:$PORT"
  fi
  "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "server exited: $*"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $HOST:$PORT after 30 s: $*"
}

# ---- machine load ---------------------------------------------------------------------------
HZ="$(getconf CLK_TCK)"
NCPU="$(nproc)"
QUIET_MAX="${QUIET_MAX:-10}"        # % of all cores others may use before a run starts
QUIET_BUDGET="${QUIET_BUDGET:-240}" # seconds the whole script may wait for that
QUIET_PCT=0
RETRIES="${RETRIES:-2}"             # reruns of a measurement that others disturbed
machine_busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }  # user+nice+system+irq+softirq
tree_jiffies() {  # CPU used so far by the server and its direct children (uvicorn workers)
  local p sum=0 j
  for p in "$SERVER_PID" $(pgrep -P "$SERVER_PID" 2>/dev/null || true); do
    j=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + j))
  done
  echo "$sum"
}
db_snapshot() {  # "pid jiffies" of PostgreSQL's processes (its backends serve the queries)
  local p
  for p in $(pgrep -u postgres 2>/dev/null || true); do
    awk -v p="$p" '{ sub(/^.*\) /, ""); print p, $12 + $13 }' "/proc/$p/stat" 2>/dev/null || true
  done
}
db_delta() {  # CPU PostgreSQL's processes used between two snapshots (new processes count whole)
  awk 'NR == FNR { was[$1] = $2; next } { d += $2 - ($1 in was ? was[$1] : 0) } END { print d + 0 }' "$1" "$2"
}
# Waits (within QUIET_BUDGET) until the machine, server idle, is at most QUIET_MAX % busy.
wait_quiet() {
  local b0 b1
  while :; do
    b0=$(machine_busy); sleep 2; b1=$(machine_busy)
    QUIET_PCT=$(( (b1 - b0) * 100 / (2 * HZ * NCPU) ))
    if [ "$QUIET_PCT" -le "$QUIET_MAX" ] || [ "$QUIET_BUDGET" -le 0 ]; then return 0; fi
    echo "   machine ${QUIET_PCT}% busy; waiting (${QUIET_BUDGET}s of waiting left)" >&2
    sleep 3
    QUIET_BUDGET=$((QUIET_BUDGET - 5))
  done
}

# ---- prerequisites and build ----------------------------------------------------------------
for tool in wrk curl sqlite3 psql cargo; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install -y wrk sqlite3 postgresql-client)"
done
if [[ " $SYSTEMS " == *" svc-infra "* && " $BACKENDS " == *" sqlite "* && ! -x "$VENV/bin/uvicorn" ]]; then
  "$PEER_DIR/run.sh" setup
fi
rm -rf "$WORK"
mkdir -p "$WORK" "$RESULTS"

if [ -z "${SKIP_BUILD:-}" ]; then
  say "building release binaries"
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli --bin tenantry --example plain_items)
fi
[ -x "$TENANTRY" ] && [ -x "$PLAIN" ] || die "missing $TENANTRY or $PLAIN"

# Rate limits off (or out of reach on a tenantry without --no-rate-limit).
serve_help="$("$TENANTRY" serve --help)"
if grep -q -- '--no-rate-limit' <<<"$serve_help"; then
  NO_LIMITS=(--no-rate-limit)
elif grep -q -- '--rate-free' <<<"$serve_help"; then
  NO_LIMITS=(--rate-free 1000000000 --burst-free 1000000000 --rate-pro 1000000000 --burst-pro 1000000000)
else
  NO_LIMITS=()
fi
# The request log and /metrics: off unless OBSERVE=1, as the plain handler and svc-infra run with
# neither (uvicorn with --no-access-log); with OBSERVE=1 the demo runs as it ships, logging every
# request and recording metrics. bench/observe_pair.sh measures what the two cost.
if [ "${OBSERVE:-0}" = 1 ]; then
  OBSERVE_ARGS=()
else
  OBSERVE_ARGS=(--no-metrics)
  export RUST_LOG=warn
fi

# One HS256 token per tenant, in TENANTS order (the demo's development secret).
for t in "${TENANTS[@]}"; do
  "$TENANTRY" token --sub bench --tenant "$t" --ttl 86400
done >"$WORK/tokens.txt"

# ---- data -----------------------------------------------------------------------------------
# The 8 tenants the demo does not seed, as catalog rows.
tenant_rows() {
  local now="$1" sep="" t
  for t in "${TENANTS[@]:2}"; do
    printf "%s('%s', 'Bench %s', 'active', 'free', 'row', '{}', %s, %s)" "$sep" "$t" "$t" "$now" "$now"
    sep=", "
  done
}
# tenant index (0-based) -> id, as a VALUES list
tenant_values() {
  local k sep=""
  for k in "${!TENANTS[@]}"; do printf "%s(%d, '%s')" "$sep" "$k" "${TENANTS[$k]}"; sep=", "; done
}
TOTAL=$(( ${#TENANTS[@]} * PER_TENANT ))

# The demo creates its tables on an empty database (and seeds acme and globex); then the items
# are replaced by the benchmark's.
create_demo_tables() {
  start "$WORK/create-$1.log" "$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$2" "${NO_LIMITS[@]}"
  stop_server
}

sqlite_template() {
  say "SQLite: template database ($TOTAL items)"
  local db="$WORK/template.db"
  create_demo_tables sqlite "sqlite://$db"
  sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
INSERT INTO tenantry_tenants (id, name, status, plan, placement, settings, created_at, updated_at)
VALUES $(tenant_rows "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')");
-- The demo places globex in a database of its own; here every tenant reads the shared rows.
UPDATE tenantry_tenants SET placement = 'row' WHERE id = 'globex';
DELETE FROM items;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TOTAL),
  t(k, id) AS (VALUES $(tenant_values))
INSERT INTO items (id, tenant_id, name, sku, price_cents)
SELECT n.i, t.id, 'Item ' || n.i, 'SKU-' || n.i, (n.i * 37) % 100000
FROM n JOIN t ON t.k = (n.i - 1) / $PER_TENANT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  sqlite3 "$db" "SELECT tenant_id, count(*) FROM items GROUP BY 1 ORDER BY 1" | tr '\n' ' ' >&2
  echo >&2

  say "SQLite: svc-infra template database"
  local peer="$WORK/peer-template.db"
  # Importing the peer's app creates its table (and sets WAL mode) the way `serve` would.
  (cd "$PEER_DIR" && PEER_DB_PATH="$peer" "$VENV/bin/python" -c 'import app')
  sqlite3 "$peer" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
DELETE FROM items;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TOTAL),
  t(k, id) AS (VALUES $(tenant_values))
INSERT INTO items (id, tenant_id, name)
SELECT n.i, t.id, 'Item ' || n.i
FROM n JOIN t ON t.k = (n.i - 1) / $PER_TENANT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  sqlite3 "$peer" ".schema items" >&2
}

pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

pg_create() {
  say "PostgreSQL: database $PG_DB"
  if ! pg "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    pg "$PG_ADMIN_URL" -c "CREATE DATABASE $PG_DB"
  fi
  pg "$PG_URL" -c "DROP TABLE IF EXISTS items, tenantry_tenants"
  create_demo_tables postgres "$PG_URL"
  pg "$PG_URL" -c "INSERT INTO tenantry_tenants
    (id, name, status, plan, placement, settings, created_at, updated_at)
    VALUES $(tenant_rows 'now()')"
  # The demo places globex in a schema of its own; here every tenant reads the shared rows.
  pg "$PG_URL" -c "UPDATE tenantry_tenants SET placement = 'row' WHERE id = 'globex'"
}

# Fresh items on PostgreSQL (before every system).
pg_load() {
  pg "$PG_URL" -o /dev/null <<SQL
TRUNCATE items RESTART IDENTITY;
INSERT INTO items (id, tenant_id, name, sku, price_cents)
SELECT n.i, t.id, 'Item ' || n.i, 'SKU-' || n.i, (n.i * 37) % 100000
FROM generate_series(1, $TOTAL) AS n(i)
JOIN (VALUES $(tenant_values)) AS t(k, id) ON t.k = (n.i - 1) / $PER_TENANT;
SELECT setval(pg_get_serial_sequence('items', 'id'), $TOTAL);
VACUUM ANALYZE items;
SQL
}

# ---- one system -----------------------------------------------------------------------------
# check METHOD PATH EXPECTED_STATUS PATTERN [curl args]: one request before the measurement.
check() {
  local method="$1" path="$2" want="$3" pattern="$4"; shift 4
  local out code
  out="$(curl -sS -o "$WORK/check.body" -w '%{http_code}' -X "$method" "$@" "http://$HOST:$PORT$path")"
  code="$out"
  if [ "$code" != "$want" ] || ! grep -q -- "$pattern" "$WORK/check.body"; then
    echo "check failed: $method $path -> $code (want $want, body matching $pattern):" >&2
    head -c 400 "$WORK/check.body" >&2; echo >&2
    die "the server does not answer as expected"
  fi
}

# measure OUT ROUTE PREFIX AUTH BODY: one measured wrk run into OUT, with the CPU used meanwhile
# by the server, by wrk and by everything else.
measure() {
  local out="$1" route="$2" prefix="$3" auth="$4" body="$5" nonce t0 t1 b0 b1 s0 s1
  nonce="m$RANDOM$RANDOM"
  wait_quiet
  db_snapshot >"$WORK/db0.txt"
  t0=$(date +%s%N); b0=$(machine_busy); s0=$(tree_jiffies)
  (
    echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/crud.lua http://$HOST:$PORT -- $route $prefix $auth $TENANT_LIST $PER_TENANT $nonce $body"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "http://$HOST:$PORT" -- \
      "$route" "$prefix" "$auth" "$TENANT_LIST" "$PER_TENANT" "$nonce" "$body" "$WORK/tokens.txt" "$WORK/cursors.txt"
    times >"$WORK/times.txt"  # not in a pipe: a forked `times` would report nothing
    echo "# wrk cpu (user system): $(tail -n 1 "$WORK/times.txt")"
  ) >"$out" 2>&1
  b1=$(machine_busy); s1=$(tree_jiffies); t1=$(date +%s%N)
  db_snapshot >"$WORK/db1.txt"
  awk -v b=$((b1 - b0)) -v s=$((s1 - s0)) -v d="$(db_delta "$WORK/db0.txt" "$WORK/db1.txt")" -v ns=$((t1 - t0)) -v hz="$HZ" -v cpus="$NCPU" -v q="$QUIET_PCT" '
    /^# wrk cpu/ { split($0, a, ": "); split(a[2], t, " ");
      for (i = 1; i <= 2; i++) { split(t[i], m, "m"); w += (m[1] * 60 + m[2]) * hz } }
    END { o = b - s - d - w; printf "# cpu (user+system+irq+softirq, jiffies of 1/%d s): machine %d, server %d, postgres %d, wrk %.0f, others %.0f = %.1f%% of %d cores over %.2f s; busy before the run: %d%%\n",
          hz, b, s, d, w, o, o * 100 / (ns / 1e9 * hz * cpus), cpus, ns / 1e9, q }' "$out" >>"$out"
}

# disturbed OUT: whether others used more than QUIET_MAX % of the machine during the run.
disturbed() {
  local other
  other="$(summary "$1" | cut -d' ' -f7)"
  awk -v o="${other%\%}" -v m="$QUIET_MAX" 'BEGIN { exit !(o + 0 > m + 0) }'
}

# run_system BACKEND SYSTEM
run_system() {
  local backend="$1" sys="$2" url prefix="/api/v1/items" auth=header body=full routes=("${ROUTES[@]}")
  local -a cmd hdr
  case "$backend" in
    sqlite)
      if [ "$sys" = svc-infra ]; then
        cp "$WORK/peer-template.db" "$WORK/$sys.db"
      else
        cp "$WORK/template.db" "$WORK/$sys.db"
      fi
      url="sqlite://$WORK/$sys.db" ;;
    postgres) pg_load; url="$PG_URL" ;;
  esac
  case "$sys" in
    tenantry-header) cmd=("$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$url" --trust-tenant-header "${NO_LIMITS[@]}" "${OBSERVE_ARGS[@]}") ;;
    tenantry-token) cmd=("$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$url" "${NO_LIMITS[@]}" "${OBSERVE_ARGS[@]}"); auth=token ;;
    # Before group commit (issue 16, item 2): each SQLite write in its own transaction.
    tenantry-header-nogc) cmd=("$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$url" --trust-tenant-header --no-group-commit "${NO_LIMITS[@]}" "${OBSERVE_ARGS[@]}") ;;
    tenantry-token-nogc) cmd=("$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$url" --no-group-commit "${NO_LIMITS[@]}" "${OBSERVE_ARGS[@]}"); auth=token ;;
    plain) cmd=("$PLAIN" --bind "$HOST:$PORT" --database-url "$url") ;;
    plain-list-all) cmd=("$PLAIN" --bind "$HOST:$PORT" --database-url "$url" --list-all); routes=(list) ;;
    svc-infra)
      cmd=(env PORT="$PORT" PEER_DB_PATH="$WORK/$sys.db" WORKERS="$PEER_WORKERS" "$PEER_DIR/run.sh" serve)
      prefix="/_sql/items"; body=name ;;
  esac
  say "$backend / $sys: ${cmd[*]}"
  start "$WORK/$backend-$sys.log" "${cmd[@]}"

  if [ "$auth" = token ]; then
    hdr=(-H "Authorization: Bearer $(head -n 1 "$WORK/tokens.txt")")
  else
    hdr=(-H "X-Tenant-Id: ${TENANTS[0]}")
  fi
  check GET "$prefix/1" 200 '"name":"Item 1"' "${hdr[@]}"
  if [ "$sys" = plain-list-all ]; then
    check GET "$prefix?limit=50" 200 "\"total\":$TOTAL" "${hdr[@]}"
  else
    check GET "$prefix?limit=50" 200 "\"total\":$PER_TENANT" "${hdr[@]}"
  fi
  case "$sys" in tenantry-*)  # another tenant's row is not there
    check GET "$prefix/$((PER_TENANT + 1))" 404 'not_found' "${hdr[@]}" ;;
  esac

  local route nonce out attempt t
  for route in "${routes[@]}"; do
    case "$route" in list-none|page*)
      [[ "$sys" == tenantry-* ]] || continue ;;
    esac
    if [ "$route" = page1000-cursor ]; then
      # Each tenant's cursor after its 9,990th row: the next_cursor of a page ending there.
      local k=0 first_hdr=("${hdr[@]}")
      for t in "${TENANTS[@]}"; do
        k=$((k + 1))
        if [ "$auth" = token ]; then
          hdr=(-H "Authorization: Bearer $(sed -n "${k}p" "$WORK/tokens.txt")")
        else
          hdr=(-H "X-Tenant-Id: $t")
        fi
        curl -fsS "${hdr[@]}" "http://$HOST:$PORT$prefix?limit=1000&offset=8990&count=none" |
          grep -o '"next_cursor":"[^"]*"' | cut -d'"' -f4
      done >"$WORK/cursors.txt"
      hdr=("${first_hdr[@]}")
      [ "$(grep -c . "$WORK/cursors.txt")" = "${#TENANTS[@]}" ] || die "no cursor for every tenant"
      check GET "$prefix?limit=10&count=none&after=$(head -n 1 "$WORK/cursors.txt")" 200 '"id":9991,' "${hdr[@]}"
    fi
    if [ "$route" = post ]; then
      check POST "$prefix" 201 '"id":' "${hdr[@]}" -H 'Content-Type: application/json' \
        -d "$( [ "$body" = name ] && echo '{"name":"check"}' || echo '{"name":"check","sku":"check-1"}')"
    fi
    nonce="w$RANDOM$RANDOM"
    wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$LUA" "http://$HOST:$PORT" -- \
      "$route" "$prefix" "$auth" "$TENANT_LIST" "$PER_TENANT" "$nonce" "$body" "$WORK/tokens.txt" "$WORK/cursors.txt" >/dev/null
    out="$RESULTS/$backend.$sys.$route.txt"
    for attempt in $(seq 0 "$RETRIES"); do
      [ "$attempt" -gt 0 ] && mv "$out" "${out%.txt}.disturbed$attempt.txt"
      measure "$out" "$route" "$prefix" "$auth" "$body"
      printf '%-9s %-16s %-5s %s\n' "$backend" "$sys" "$route" "$(summary "$out")" >&2
      disturbed "$out" || break
      echo "   others used more than ${QUIET_MAX}% of the machine during the run" >&2
    done
  done
  stop_server
}

# summary FILE: "req/s p50 p99 requests non2xx socket-errors others-cpu server-cpu-us-per-request
# postgres-cpu-us-per-request" (the first six as wrk printed them, the rest from /proc).
summary() {
  awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = $2 }
    /^ +99%/ { p99 = $2 }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    /^# cpu / { for (i = 1; i <= NF; i++) {
        if ($i ~ /%$/ && $(i + 1) == "of") other = $i
        if ($i == "server") server = $(i + 1) + 0
        if ($i == "postgres") db = $(i + 1) + 0
        if ($i == "jiffies" && $(i + 1) == "of") { hz = $(i + 2); sub(/^1\//, "", hz) } } }
    END { printf "%s %s %s %s %d %d %s %.0f %.0f\n", rps, p50, p99, n, bad, sock, other, server * 1e6 / hz / n, db * 1e6 / hz / n }
  ' "$1"
}

# ---- run ------------------------------------------------------------------------------------
say "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" status --porcelain | wc -l) paths modified or untracked in the work tree)"
  echo "rustc: $(rustc --version)"
  echo "wrk: $(wrk -v 2>&1 | head -n 1)"
  echo "client: wrk -t$THREADS -c$CONNS -d$DURATION --latency (warm-up $WARMUP, same settings), loopback"
  echo "postgres: $(pg "$PG_ADMIN_URL" -tAc 'SHOW server_version')"
  echo "sqlite3 CLI (loading): $(sqlite3 --version | cut -d' ' -f1)"
  awk '/^name = /{n=$3} /^version = /{gsub(/"/,"",n); gsub(/"/,"",$3); if (n ~ /^(axum|sqlx|tokio|hyper|libsqlite3-sys|sea-query|jsonwebtoken)$/) print n " " $3}' "$ROOT/Cargo.lock" | tr '\n' ',' | sed 's/,$/\n/;s/,/, /g'
  if [ -x "$VENV/bin/python" ]; then
    "$VENV/bin/python" -c 'import importlib.metadata as m, sqlite3, sys; print("svc-infra peer:", ", ".join(p + " " + m.version(p) for p in ("svc-infra","fastapi","starlette","uvicorn","SQLAlchemy","aiosqlite")) + ", Python " + sys.version.split()[0] + ", SQLite " + sqlite3.sqlite_version)'
  fi
  echo "svc-infra workers: $PEER_WORKERS uvicorn processes; tenantry and plain_items: tokio multi-thread runtime, $(nproc) workers; sqlx pools: default size (10)"
  echo "data: ${#TENANTS[@]} tenants x $PER_TENANT items, fresh copy per system"
  echo "rate limits of the demo: ${NO_LIMITS[*]:-none}"
} | tee "$WORK/versions.txt" >&2

for backend in $BACKENDS; do
  case "$backend" in
    sqlite) sqlite_template ;;
    postgres) pg_create ;;
    *) die "unknown backend $backend" ;;
  esac
  for sys in $SYSTEMS; do
    [ "$backend" = postgres ] && [ "$sys" = svc-infra ] && continue
    run_system "$backend" "$sys"
  done
done
say "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- table ----------------------------------------------------------------------------------
# Latency in ms, for comparing p99s (wrk prints us, ms or s).
ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
  if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000; printf "%.6f", x }'; }
field() { summary "$RESULTS/$1.$2.$3.txt" | cut -d' ' -f"$4"; }
have() { [ -f "$RESULTS/$1.$2.$3.txt" ]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

{
  echo "| backend | route | system | req/s | p50 | p99 | requests | non-2xx | socket errors | others' CPU | server CPU µs/req | postgres CPU µs/req |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for backend in $BACKENDS; do
    for route in "${ROUTES[@]}"; do
      for sys in $SYSTEMS; do
        have "$backend" "$sys" "$route" || continue
        read -r rps p50 p99 n bad sock other cpu dbcpu <<<"$(summary "$RESULTS/$backend.$sys.$route.txt")"
        [ "$backend" = postgres ] || dbcpu="-"
        echo "| $backend | $route | $sys | $rps | $p50 | $p99 | $n | $bad | $sock | $other | $cpu | $dbcpu |"
      done
    done
  done
  echo
  echo "| backend | route | tenantry mode | (a)/(b) req/s | (a)/(c) req/s | p99 (a) vs (c) |"
  echo "|---|---|---|---:|---:|---|"
  for backend in $BACKENDS; do
    for route in "${ROUTES[@]}"; do
      for mode in tenantry-header tenantry-token tenantry-header-nogc tenantry-token-nogc; do
        have "$backend" "$mode" "$route" || continue
        a="$(field "$backend" "$mode" "$route" 1)"
        ab="-"; ac="-"; pc="-"
        pa="$(field "$backend" "$mode" "$route" 3)"; oa="$(field "$backend" "$mode" "$route" 7)"
        if have "$backend" plain "$route"; then
          ab="$(ratio "$a" "$(field "$backend" plain "$route" 1)")"
          headline "crud/$backend/$route/${mode#tenantry-}/plain" "$a req/s" "$(field "$backend" plain "$route" 1) req/s" "$ab" \
            "p99 $pa vs $(field "$backend" plain "$route" 3); others' CPU $oa, $(field "$backend" plain "$route" 7)"
        fi
        if have "$backend" svc-infra "$route"; then
          ac="$(ratio "$a" "$(field "$backend" svc-infra "$route" 1)")"
          pp="$(field "$backend" svc-infra "$route" 3)"
          if awk -v x="$(ms "$pa")" -v y="$(ms "$pp")" 'BEGIN { exit !(x < y) }'; then
            pc="lower ($pa < $pp)"
          else
            pc="not lower ($pa >= $pp)"
          fi
          headline "crud/$backend/$route/${mode#tenantry-}/svc-infra" "$a req/s" "$(field "$backend" svc-infra "$route" 1) req/s" "$ac" \
            "p99 $pa vs $pp; others' CPU $oa, $(field "$backend" svc-infra "$route" 7)"
        fi
        echo "| $backend | $route | ${mode#tenantry-} | $ab | $ac | $pc |"
      done
    done
  done
  # Issue 16, item 3: across routes.
  first=1
  for backend in $BACKENDS; do
    for mode in tenantry-header tenantry-token; do
      for pair in "list-none plain list" "list svc-infra list" "page1000-cursor $mode page1" "page1000-offset $mode page1" "page1000-cursor $mode page1000-offset"; do
        read -r ra sb rb <<<"$pair"
        have "$backend" "$mode" "$ra" && have "$backend" "$sb" "$rb" || continue
        if [ "$first" = 1 ]; then
          echo; echo "| backend | tenantry mode | req/s of | over req/s of | ratio |"; echo "|---|---|---|---|---:|"; first=0
        fi
        x="$(field "$backend" "$mode" "$ra" 1)"; y="$(field "$backend" "$sb" "$rb" 1)"
        echo "| $backend | ${mode#tenantry-} | $ra | $sb $rb | $(ratio "$x" "$y") |"
        headline "crud/$backend/${mode#tenantry-}/$ra/$sb/$rb" "$x req/s" "$y req/s" "$(ratio "$x" "$y")" \
          "server CPU $(field "$backend" "$mode" "$ra" 8) vs $(field "$backend" "$sb" "$rb" 8) µs/req; others' CPU $(field "$backend" "$mode" "$ra" 7), $(field "$backend" "$sb" "$rb" 7)"
      done
    done
  done
} | tee "$WORK/table.md"
echo >&2
echo "raw wrk output: $RESULTS/; versions: $WORK/versions.txt; table: $WORK/table.md" >&2
