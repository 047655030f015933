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
#   KEEP=1 keeps the callgrind files for callgrind_annotate.
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

PROBE_ENV=()
# shellcheck source=bench/callgrind_probe.sh
. "$ROOT/bench/callgrind_probe.sh"

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
