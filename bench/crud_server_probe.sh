#!/usr/bin/env bash
# Instructions per `GET /api/v1/items/{id}` of the whole server process, tenantry demo vs the
# plain axum + sqlx ceiling, counted by callgrind (docs/PERFORMANCE.md, "CRUD router: where a
# get's time goes"). Unlike requests per second on a shared 2-core VM, the count does not move
# with what else the machine is doing, so it tells whether a change helped.
#
# Each server runs under callgrind on a fresh copy of bench/crud.sh's SQLite data; ab sends 200
# keep-alive requests to warm it up, the counters are zeroed, ab sends N more (4 connections,
# the same id and tenant each time), and the counters are dumped. Kernel time is not counted
# (both servers make the same system calls per request).
#
#   bench/crud.sh first (it builds the release binaries and the data), then
#   bench/crud_server_probe.sh            # N=2000
#   MODE=token bench/crud_server_probe.sh # tenantry in token mode (crud.sh's first token)
#
# Env: N (2000), MODE (header | token), BENCH_DIR (/tmp/tenantry-bench-crud),
#      OUT (/tmp/tenantry-server-probe).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-crud}"
OUT="${OUT:-/tmp/tenantry-server-probe}"
N="${N:-2000}"
MODE="${MODE:-header}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
PLAIN="$TARGET/release/examples/plain_items"
HOST=127.0.0.1

die() { echo "crud_server_probe: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install -y valgrind"
command -v ab >/dev/null || die "ab is missing: apt-get install -y apache2-utils"
[ -x "$TENANTRY" ] && [ -x "$PLAIN" ] || die "build first: cargo build --release -p tenantry-cli --bins --examples"
[ -f "$WORK/template.db" ] || die "no $WORK/template.db: run bench/crud.sh first (it loads the data)"
mkdir -p "$OUT"

VPID=""
trap '[ -n "$VPID" ] && kill "$VPID" 2>/dev/null; wait 2>/dev/null || true' EXIT

# probe NAME PORT AUTH_HEADER CMD...: prints NAME and its instructions per request.
probe() {
  local name="$1" port="$2" auth="$3"; shift 3
  rm -f "$OUT/$name".*
  cp "$WORK/template.db" "$OUT/$name.db"
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.%p.out" "$@" \
    --database-url "sqlite://$OUT/$name.db" >"$OUT/$name.log" 2>&1 &
  VPID=$!
  for _ in $(seq 1 600); do
    curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://$HOST:$port/healthz" >/dev/null || die "$name did not start (see $OUT/$name.log)"
  # Id 5 belongs to acme in bench/crud.sh's data.
  local url="http://$HOST:$port/api/v1/items/5"
  ab -k -n 200 -c 4 -H "$auth" "$url" >/dev/null 2>&1
  callgrind_control -z "$VPID" >/dev/null 2>&1
  ab -k -n "$N" -c 4 -H "$auth" "$url" >"$OUT/$name.ab" 2>&1
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 1
  kill "$VPID"; wait "$VPID" 2>/dev/null || true; VPID=""
  grep -q "Non-2xx" "$OUT/$name.ab" && die "$name answered non-2xx (see $OUT/$name.ab)"
  local file total
  file="$(ls -t "$OUT/$name".*.out.* | head -1)"
  total="$(sed -n 's/^summary: //p' "$file")"
  printf '%-10s %12d\n' "$name" "$((total / N))"
}

echo "# $(date -u +%FT%TZ) valgrind $(valgrind --version | sed 's/valgrind-//'), $N gets, instructions per request"
case "$MODE" in
  header) probe tenantry 18711 'X-Tenant-Id: acme' "$TENANTRY" serve --bind "$HOST:18711" \
    --trust-tenant-header --no-rate-limit ;;
  # The first token of crud.sh's tokens.txt is acme's.
  token) probe tenantry-token 18711 "Authorization: Bearer $(head -n 1 "$WORK/tokens.txt")" \
    "$TENANTRY" serve --bind "$HOST:18711" --no-rate-limit ;;
  *) die "MODE is header or token, not $MODE" ;;
esac
probe plain 18712 'X-Tenant-Id: acme' "$PLAIN" --bind "$HOST:18712"
