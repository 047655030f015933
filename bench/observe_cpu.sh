#!/usr/bin/env bash
# CPU time per request of the demo's GET by id, for four configurations: request log and
# metrics both off, both on, the log alone, the metrics alone. Each server runs alone on a copy
# of bench/observe_pair.sh's SQLite data; wrk drives it for DURATION after a warm-up; the figure
# is the server process's user + system time (from /proc) divided by the requests wrk counted.
# Less sensitive to a busy machine than requests per second, since it does not depend on how
# much of the CPU the server got, only on what it spent.
#
#   bench/observe_pair.sh          # first: builds the data in $BENCH_DIR/template.db
#   bench/observe_cpu.sh
#
# Env: PASSES (2), DURATION (6s), BENCH_DIR (/tmp/tenantry-bench-observe).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-observe}"
PASSES="${PASSES:-2}"
DURATION="${DURATION:-6s}"
TENANTRY="${CARGO_TARGET_DIR:-$ROOT/target}/release/tenantry"
LUA="$ROOT/bench/crud.lua"
TENANTS=acme,globex,bench03,bench04,bench05,bench06,bench07,bench08,bench09,bench10
LOG_ON="warn,tenantry::serve=info,tenantry::request=info"

[ -f "$WORK/template.db" ] || { echo "observe_cpu.sh: run bench/observe_pair.sh first" >&2; exit 1; }
[ -x "$TENANTRY" ] || { echo "observe_cpu.sh: cargo build --release -p tenantry-cli" >&2; exit 1; }

PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT

# measure NAME PORT RUST_LOG FLAGS...
measure() {
  local name="$1" port="$2" filter="$3"; shift 3
  cp "$WORK/template.db" "$WORK/cpu-$port.db"
  RUST_LOG="$filter" "$TENANTRY" serve --bind "127.0.0.1:$port" --database-url "sqlite://$WORK/cpu-$port.db" \
    --trust-tenant-header --no-rate-limit "$@" >/dev/null 2>"$WORK/cpu-$port.log" &
  PID=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local wrk=(wrk -t2 -c32 -s "$LUA" "http://127.0.0.1:$port" -- get /api/v1/items header "$TENANTS" 10000 x full)
  "${wrk[@]:0:2}" -d2s "${wrk[@]:2}" >/dev/null
  local c0 c1 n
  c0=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
  n=$("${wrk[@]:0:2}" -d"$DURATION" "${wrk[@]:2}" | awk '/requests in/ { print $1 }')
  c1=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  awk -v n="$n" -v c="$((c1 - c0))" -v t="$(getconf CLK_TCK)" -v name="$name" \
    'BEGIN { printf "| %s | %d | %.1f |\n", name, n, c / t * 1e6 / n }'
}

echo "| configuration | requests | µs CPU per request |"
echo "|---|---:|---:|"
for _ in $(seq "$PASSES"); do
  measure "off" 18521 warn --no-metrics
  measure "log + metrics" 18522 "$LOG_ON"
  measure "log alone" 18523 "$LOG_ON" --no-metrics
  measure "metrics alone" 18524 warn
done
