#!/usr/bin/env bash
# The cost of the demo's request log and metrics: two `tenantry serve` processes on copies of the
# same SQLite data, (a) as shipped (one `info` line per request on stderr, written to a file by
# the log's writer thread, and Prometheus metrics recorded for /metrics) and (b) with both off
# (RUST_LOG=warn, --no-metrics), measured by wrk in alternation (A B, then B A, ...) for ROUNDS
# rounds, as bench/crud_pair.sh does, so that drift of the machine hits both alike. Reports the
# median of the per-round (a)/(b) ratios of requests per second.
#
#   cargo build --release -p tenantry-cli && bench/observe_pair.sh
#   ROUTES="get list" ROUNDS=7 bench/observe_pair.sh
#
# Data: 10 tenants x 10,000 items (as bench/crud.sh), header mode (--trust-tenant-header),
# rate limits off. Loopback only; every wrk run is bounded; every server is stopped on exit.
#
# Env: ROUNDS (5), DURATION (8s), WARMUP (2s), THREADS (2), CONNS (32), ROUTES (get),
#      BENCH_DIR (/tmp/tenantry-bench-observe); A_RUST_LOG (unset: the default filter) and
#      A_FLAGS (none) change (a), to measure the log alone (A_FLAGS=--no-metrics) or the
#      metrics alone (A_RUST_LOG=warn); BENCH_PORT (18492: (a)'s port, (b) on the next one),
#      HEADLINE_OUT (a file: each row is also appended there as a HEADLINE line for
#      bench/headline.sh), A_LOG ((a)'s stderr: $BENCH_DIR/a.log; /dev/null or a FIFO to see what
#      the file costs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-observe}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-8s}"
WARMUP="${WARMUP:-2s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
read -r -a ROUTE_LIST <<<"${ROUTES:-get}"
TENANTRY="${CARGO_TARGET_DIR:-$ROOT/target}/release/tenantry"
LUA="$ROOT/bench/crud.lua"
HOST=127.0.0.1
PORT_A="${BENCH_PORT:-18492}"
PORT_B=$((PORT_A + 1))
TENANTS=(acme globex bench03 bench04 bench05 bench06 bench07 bench08 bench09 bench10)
PER_TENANT=10000

die() { echo "observe_pair.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
command -v sqlite3 >/dev/null || die "sqlite3 is missing: apt-get install -y sqlite3"
[ -x "$TENANTRY" ] || die "build first: cargo build --release -p tenantry-cli"

PIDS=()
stop() { [ "${#PIDS[@]}" -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; PIDS=(); }
trap stop EXIT

# up PORT LOG CMD...: starts CMD in the background and waits for /healthz.
up() {
  local port="$1" log="$2"; shift 2
  "$@" >/dev/null 2>"$log" &
  PIDS+=("$!")
  for _ in $(seq 1 300); do
    curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $port: $*"
}

rm -rf "$WORK" && mkdir -p "$WORK"
# The demo creates its tables and tenants; then the items are replaced by the benchmark's.
up "$PORT_A" "$WORK/setup.log" "$TENANTRY" serve --bind "$HOST:$PORT_A" \
  --database-url "sqlite://$WORK/template.db" --no-rate-limit
stop
values="" sep=""
for k in "${!TENANTS[@]}"; do values+="$sep($k, '${TENANTS[$k]}')"; sep=", "; done
sqlite3 "$WORK/template.db" >/dev/null <<SQL
WITH t(id) AS (VALUES $(for t in "${TENANTS[@]:2}"; do printf "%s('%s')" "${s:-}" "$t"; s=", "; done))
INSERT INTO tenantry_tenants (id, name, status, plan, placement, settings, created_at, updated_at)
SELECT t.id, t.id, 'active', 'free', 'row', '{}', a.created_at, a.updated_at
FROM t CROSS JOIN (SELECT created_at, updated_at FROM tenantry_tenants WHERE id = 'acme') AS a;
DELETE FROM items;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${#TENANTS[@]} * $PER_TENANT),
  t(k, id) AS (VALUES $values)
INSERT INTO items (id, tenant_id, name, sku, price_cents)
SELECT n.i, t.id, 'Item ' || n.i, 'SKU-' || n.i, (n.i * 37) % 100000
FROM n JOIN t ON t.k = (n.i - 1) / $PER_TENANT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
for x in a b; do cp "$WORK/template.db" "$WORK/$x.db"; done

tenants_csv="$(IFS=,; echo "${TENANTS[*]}")"
rps() {
  wrk -t"$THREADS" -c"$CONNS" -d"$3" -s "$LUA" "http://$HOST:$1" -- \
    "$2" /api/v1/items header "$tenants_csv" "$PER_TENANT" "p$RANDOM$RANDOM" full |
    awk '/^Requests\/sec:/ { print $2 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

a_env=(env -u RUST_LOG)
[ -n "${A_RUST_LOG:-}" ] && a_env=(env RUST_LOG="$A_RUST_LOG")
read -r -a a_flags <<<"${A_FLAGS:-}"
up "$PORT_A" "${A_LOG:-$WORK/a.log}" "${a_env[@]}" "$TENANTRY" serve --bind "$HOST:$PORT_A" \
  --database-url "sqlite://$WORK/a.db" --trust-tenant-header --no-rate-limit "${a_flags[@]}"
up "$PORT_B" "$WORK/b.log" env RUST_LOG=warn "$TENANTRY" serve --bind "$HOST:$PORT_B" \
  --database-url "sqlite://$WORK/b.db" --trust-tenant-header --no-rate-limit --no-metrics
curl -fsS -H 'X-Tenant-Id: acme' "http://$HOST:$PORT_A/api/v1/items/1" | grep -q '"Item 1"' || die "no data on A"

echo "| route | rounds | logs+metrics req/s (median) | off req/s (median) | median of per-round ratios | per-round ratios |"
echo "|---|---:|---:|---:|---:|---|"
for route in "${ROUTE_LIST[@]}"; do
  rps "$PORT_A" "$route" "$WARMUP" >/dev/null
  rps "$PORT_B" "$route" "$WARMUP" >/dev/null
  as=() bs=() ratios=()
  for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then
      a="$(rps "$PORT_A" "$route" "$DURATION")"; b="$(rps "$PORT_B" "$route" "$DURATION")"
    else
      b="$(rps "$PORT_B" "$route" "$DURATION")"; a="$(rps "$PORT_A" "$route" "$DURATION")"
    fi
    as+=("$a") bs+=("$b")
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')")
    echo "$route round $r: on $a, off $b, ratio ${ratios[-1]}" >&2
  done
  echo "| $route | $ROUNDS | $(median "${as[@]}") | $(median "${bs[@]}") | $(median "${ratios[@]}") | ${ratios[*]} |"
  # For bench/headline.sh: key observe/ROUTE/(a)'s settings.
  variant="${A_RUST_LOG:+RUST_LOG=$A_RUST_LOG }${A_FLAGS:-}"
  printf 'HEADLINE\t%s\t%s\t%s\t%s\t%s\n' "observe/$route/${variant:-as shipped}" "$(median "${as[@]}") req/s" \
    "$(median "${bs[@]}") req/s" "$(median "${ratios[@]}")" \
    "median of $ROUNDS per-round ratios (wrk -t$THREADS -c$CONNS -d$DURATION), rounds $(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd' ' | sed 's/ / to /')" \
    >>"${HEADLINE_OUT:-/dev/null}"
done
echo "log lines written by (a): $(grep -c 'tenantry::request' "${A_LOG:-$WORK/a.log}" || true); by (b): $(grep -c 'tenantry::request' "$WORK/b.log" || true)" >&2
{ curl -fsS "http://$HOST:$PORT_A/metrics" 2>/dev/null || true; } | grep -c '^tenantry_' | sed 's/^/metric lines on (a): /' >&2 || true
