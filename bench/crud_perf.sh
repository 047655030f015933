#!/usr/bin/env bash
# Where a GET by id's time goes, tenantry against the plain axum + sqlx handler, on a real
# multi-threaded server (callgrind, in bench/crud_server_probe.sh, counts instructions on one
# serialised thread and sees neither the kernel nor cross-thread wake-ups).
#
#   bench/crud.sh                     # first: loads the data (or bench/headline.sh ONLY=crud)
#   bench/crud_perf.sh                # then: both servers, one after the other
#
# Each server (tenantry in header mode, --trust-tenant-header --no-rate-limit --no-metrics,
# RUST_LOG=warn: no request log; then plain_items) runs alone on its own copy of crud.sh's
# SQLite data. Per server: a warm-up, then one wrk run (-t THREADS -c CONNS -d DURATION, the GET
# route of bench/crud.lua over the 10 tenants) during which its CPU (/proc/PID/stat: user and
# system) and its context switches (every thread's, /proc/PID/task/*/status) are read before and
# after, per request; then `perf record -g` of the server during another run of PERF_SECONDS,
# reported by shared object (kernel, the binary, libc, ...) and by symbol.
#
# Env: DURATION (8s), WARMUP (2s), THREADS (2), CONNS (32), PERF_SECONDS (6), BENCH_DIR
#      (/tmp/tenantry-bench-crud, as crud.sh), BENCH_PORT (18486). Needs perf (root, or
#      perf_event_paranoid <= 1). Results: $BENCH_DIR/perf/summary.md and the full reports
#      beside it. Every server started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-crud}"
DURATION="${DURATION:-8s}"
WARMUP="${WARMUP:-2s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
PERF_SECONDS="${PERF_SECONDS:-6}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
PLAIN="$TARGET/release/examples/plain_items"
LUA="$ROOT/bench/crud.lua"
HOST=127.0.0.1
PORT="${BENCH_PORT:-18486}"
TENANTS="acme,globex,bench03,bench04,bench05,bench06,bench07,bench08,bench09,bench10"
PER_TENANT=10000
OUT="$WORK/perf"
TICK="$(getconf CLK_TCK)"

die() { echo "crud_perf.sh: $*" >&2; exit 1; }
for tool in wrk perf curl; do command -v "$tool" >/dev/null || die "needs $tool"; done
[ -x "$TENANTRY" ] && [ -x "$PLAIN" ] || die "build first: cargo build --release -p tenantry-cli --bins --examples"
[ -f "$WORK/template.db" ] || die "no $WORK/template.db: run bench/crud.sh first (it loads the data)"
mkdir -p "$OUT"

PID=""
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; PID=""; }
trap stop EXIT

up() {  # up LOG CMD...
  local log="$1"; shift
  "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $PORT: $*"
}

load() {  # load SECONDS: one wrk run of GETs; prints wrk's output
  wrk -t"$THREADS" -c"$CONNS" -d"$1" -s "$LUA" "http://$HOST:$PORT" -- \
    get /api/v1/items header "$TENANTS" "$PER_TENANT" "p$RANDOM" full
}
cpu() { awk '{ print $14, $15 }' "/proc/$PID/stat"; }  # user and system ticks
switches() { cat /proc/"$PID"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }

{
  echo "| server | req/s | user µs/req | system µs/req | CPU µs/req | context switches/req | threads |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$OUT/summary.md"

for system in tenantry plain; do
  db="$OUT/$system.db"
  cp "$WORK/template.db" "$db"
  rm -f "$db-wal" "$db-shm"
  case "$system" in
    tenantry) RUST_LOG=warn up "$OUT/$system.log" "$TENANTRY" serve --bind "$HOST:$PORT" \
      --database-url "sqlite://$db" --trust-tenant-header --no-rate-limit --no-metrics ;;
    plain) up "$OUT/$system.log" "$PLAIN" --bind "$HOST:$PORT" --database-url "sqlite://$db" ;;
  esac
  load "$WARMUP" >/dev/null
  read -r u0 s0 < <(cpu); c0="$(switches)"
  load "$DURATION" >"$OUT/$system.wrk"
  read -r u1 s1 < <(cpu); c1="$(switches)"
  threads="$(ls /proc/"$PID"/task | wc -l)"
  n="$(awk '/requests in/ { print $1 }' "$OUT/$system.wrk")"
  rps="$(awk '/^Requests\/sec:/ { print $2 }' "$OUT/$system.wrk")"
  awk -v n="$n" -v r="$rps" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v t="$TICK" \
    -v name="$system" -v th="$threads" 'BEGIN {
      printf "| %s | %s | %.1f | %.1f | %.1f | %.2f | %d |\n", name, r, u * 1e6 / t / n, s * 1e6 / t / n,
        (u + s) * 1e6 / t / n, c / n, th }' >>"$OUT/summary.md"
  perf record -q -g -F 997 -o "$OUT/$system.perf.data" -p "$PID" -- sleep "$PERF_SECONDS" \
    >/dev/null 2>&1 &
  perf_pid=$!
  load "$((PERF_SECONDS + 1))s" >/dev/null
  wait "$perf_pid" || true
  perf report -q -i "$OUT/$system.perf.data" --no-children -g none --sort dso 2>/dev/null \
    | awk 'NF { print }' | head -n 12 >"$OUT/$system.dso.txt" || true
  perf report -q -i "$OUT/$system.perf.data" --no-children -g none --sort sym 2>/dev/null \
    | awk 'NF && $1 ~ /%$/ { print }' | head -n 40 >"$OUT/$system.sym.txt" || true
  stop
done

{
  echo
  for system in tenantry plain; do
    echo "$system, samples by shared object:"
    echo '```'
    cat "$OUT/$system.dso.txt"
    echo '```'
  done
} >>"$OUT/summary.md"
cat "$OUT/summary.md"
echo "symbols: $OUT/{tenantry,plain}.sym.txt" >&2
