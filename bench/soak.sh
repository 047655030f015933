#!/usr/bin/env bash
# Load and soak (issue 11, "Faults and load"): the tenantry demo on PostgreSQL under 1,000
# concurrent connections for 60 s, and in the same run the same load on the plain axum + sqlx
# service (crates/tenantry-cli/examples/plain_items.rs, no tenancy) over the same database.
#
# For each system: wrk's latency distribution (p50/p90/p99/p99.9, max), requests per second,
# every socket error (connect, read, write, timeout: a dropped connection shows here), every
# non-2xx answer by status, and the server's resident memory before the run (after a 5 s
# warm-up at the same load), every 10 s during it, and after it.
#
# Load: bench/soak.lua, 8 in 10 requests read one of acme's 10,000 items by id, 1 in 10 lists a
# page of them (with their count), 1 in 10 creates one; a token for tenantry, X-Tenant-Id for
# both. Rate limits off (they would answer 429 by design).
# Binds 127.0.0.1 only; every server started here is stopped on exit; bounded in time (about
# 3 minutes after the build).
#
#   bench/soak.sh
#
# Env: DURATION (60s), CONNS (1000), THREADS (2), TIMEOUT (5s: wrk counts a slower answer as a
#      timeout error), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), SYSTEMS
#      ("tenantry plain"), SKIP_BUILD=1, BENCH_DIR (/tmp/tenantry-bench-soak), BENCH_PORT (18491),
#      DB (tenantry_bench_soak),
#      HEADLINE_OUT (a file: tenantry against plain is also appended there as a HEADLINE line
#      for bench/headline.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-soak}"
DURATION="${DURATION:-60s}"
CONNS="${CONNS:-1000}"
THREADS="${THREADS:-2}"
TIMEOUT="${TIMEOUT:-5s}"
SYSTEMS="${SYSTEMS:-tenantry plain}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="${DB:-tenantry_bench_soak}"
PG_URL="${PG_ADMIN_URL%/*}/$PG_DB"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
PLAIN="$TARGET/release/examples/plain_items"
HOST=127.0.0.1
PORT="${BENCH_PORT:-18491}"
LUA="$ROOT/bench/soak.lua"

say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "soak.sh: $*" >&2; exit 1; }

SERVER_PID=""
SAMPLER_PID=""
stop_server() {
  if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; fi
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

start() {
  local log="$1"; shift
  if curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1; then
    die "something already answers on $HOST:$PORT"
  fi
  "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && return 0
    curl -s -o /dev/null "http://$HOST:$PORT/api/v1/items?limit=1" -H 'X-Tenant-Id: acme' 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; die "server exited: $*"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $HOST:$PORT after 30 s: $*"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status"; }

for tool in wrk curl psql cargo; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install -y wrk postgresql-client)"
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CONNS + 100)) ] || die "open files limit $(ulimit -n) is below $CONNS connections"
rm -rf "$WORK"
mkdir -p "$WORK"

if [ -z "${SKIP_BUILD:-}" ]; then
  say "building release binaries"
  (cd "$ROOT" && cargo build --release -q -p tenantry-cli --bin tenantry --example plain_items)
fi
[ -x "$TENANTRY" ] && [ -x "$PLAIN" ] || die "missing $TENANTRY or $PLAIN"
TOKEN="$("$TENANTRY" token --sub soak --tenant acme --ttl 86400)"

pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
say "PostgreSQL: fresh database $PG_DB, 10,000 acme items"
pg "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
pg "$PG_ADMIN_URL" -c "CREATE DATABASE $PG_DB"
# The demo creates its catalog and items table and seeds its tenants.
start "$WORK/create.log" "$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$PG_URL" --no-rate-limit
stop_server
pg "$PG_URL" -o /dev/null <<SQL
INSERT INTO items (tenant_id, name, sku, price_cents)
SELECT 'acme', 'Item ' || n, 'SKU-' || n, (n * 37) % 100000 FROM generate_series(1, 10000) AS n;
VACUUM ANALYZE items;
SQL
IDS="$(pg "$PG_URL" -tA -F ' ' -c "SELECT min(id), max(id) FROM items WHERE tenant_id = 'acme' AND sku LIKE 'SKU-%'")"
read -r MIN_ID MAX_ID <<<"$IDS"

soak() {
  local name="$1"; shift
  local out="$WORK/$name"
  say "$name: $CONNS connections, $THREADS wrk threads, $DURATION"
  start "$out.server.log" "$@"
  # Warm-up at the same load, so that "before" is the memory of a server that has served it.
  wrk -t"$THREADS" -c"$CONNS" -d5s --timeout "$TIMEOUT" -s "$LUA" "http://$HOST:$PORT" -- "$TOKEN" "w$RANDOM" "$MIN_ID" "$MAX_ID" \
    >"$out.warmup.txt" 2>&1
  sleep 1
  local before after
  before=$(rss_kib)
  echo "threads before: $(threads_of)" >"$out.rss.txt"
  ( while sleep 10; do echo "rss during: $(rss_kib) KiB, threads $(threads_of)"; done ) >>"$out.rss.txt" 2>/dev/null &
  SAMPLER_PID=$!
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency --timeout "$TIMEOUT" -s "$LUA" \
    "http://$HOST:$PORT" -- "$TOKEN" "m$RANDOM$RANDOM" "$MIN_ID" "$MAX_ID" >"$out.wrk.txt" 2>"$out.wrk.err"
  kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  sleep 2
  after=$(rss_kib)
  echo "threads after: $(threads_of)" >>"$out.rss.txt"
  stop_server
  {
    echo "## $name"
    grep -E 'Requests/sec|requests in|Socket errors|Non-2xx|^p50' "$out.wrk.txt" || true
    grep -q 'Socket errors' "$out.wrk.txt" || echo "Socket errors: none"
    grep -q 'Non-2xx' "$out.wrk.txt" || echo "Non-2xx or 3xx responses: none"
    cat "$out.wrk.err"
    echo "rss before: $before KiB, after: $after KiB"
    cat "$out.rss.txt"
  } | tee "$out.summary.txt"
}

for system in $SYSTEMS; do
  case "$system" in
    tenantry) soak tenantry "$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$PG_URL" --no-rate-limit --no-metrics ;;
    plain) soak plain "$PLAIN" --bind "$HOST:$PORT" --database-url "$PG_URL" ;;
    *) die "unknown system $system (tenantry, plain)" ;;
  esac
done

# stats NAME: "req/s p99-ms errors rss-before rss-during-max rss-after" of one system's run
# (errors: socket errors and non-2xx answers together; memory in KiB).
stats() {
  local out="$WORK/$1"
  awk '
    /^Requests\/sec:/ { rps = $2 }
    /^p50 / { for (i = 1; i <= NF; i++) if ($i == "p99") { p99 = $(i + 1) } }
    /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    END { printf "%s %s %d", rps, p99, sock + bad }' "$out.wrk.txt"
  awk '/^rss before:/ { b = $3; a = $6 } /^rss during:/ { if ($3 > m) m = $3 } END { printf " %d %d %d\n", b, m, a }' "$out.summary.txt"
}
if [[ " $SYSTEMS " == *" tenantry "* && " $SYSTEMS " == *" plain "* ]]; then
  read -r t_rps t_p99 t_err t_b t_m t_a <<<"$(stats tenantry)"
  read -r p_rps p_p99 p_err p_b p_m p_a <<<"$(stats plain)"
  printf 'HEADLINE\t%s\t%s\t%s\t%s\t%s\n' soak "$t_rps req/s, p99 $t_p99 ms, $t_err errors" "$p_rps req/s, p99 $p_p99 ms, $p_err errors" \
    "$(awk -v a="$t_rps" -v b="$p_rps" 'BEGIN { printf "%.2f", a / b }')" \
    "$CONNS connections for $DURATION; errors are socket errors and non-2xx answers; RSS before, at most during, after: $t_b, $t_m, $t_a KiB (tenantry) and $p_b, $p_m, $p_a KiB (plain)" \
    >>"${HEADLINE_OUT:-/dev/null}"
fi

say "machine"
echo "$(nproc) cores, $(uname -r); $(wrk -v 2>&1 | head -1); $(psql -V)"
echo "PostgreSQL max_connections: $(pg "$PG_URL" -tAc 'SHOW max_connections')"
pg "$PG_URL" -tAc "SELECT 'items after: ' || count(*) FROM items"
