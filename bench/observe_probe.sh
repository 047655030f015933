#!/usr/bin/env bash
# Instructions per `GET /api/v1/items/{id}` of the whole `tenantry serve` process, counted by
# callgrind, for four configurations: request log and metrics both off, the log alone, the
# metrics alone, both (as shipped). Unlike requests per second on a shared 2-core machine, the
# count does not move with what else the machine is doing, so it tells what each part costs
# (docs/PERFORMANCE.md, "Request log and metrics on the demo's GET by id").
#
# Each server runs under callgrind on a fresh copy of bench/observe_pair.sh's SQLite data; ab
# sends 200 keep-alive requests to warm it up, the counters are zeroed, ab sends N more (4
# connections, tenant acme, id 5), and the counters are dumped. Kernel time is not counted.
#
#   bench/observe_pair.sh first (it makes the data), then
#   bench/observe_probe.sh                  # N=2000, all four configurations
#   CONFIGS="off both" bench/observe_probe.sh
#
# Env: N (2000), CONFIGS (off log metrics both), BENCH_DIR (/tmp/tenantry-bench-observe),
#      OUT (/tmp/tenantry-observe-probe), KEEP (unset: callgrind files are deleted).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-observe}"
OUT="${OUT:-/tmp/tenantry-observe-probe}"
N="${N:-2000}"
read -r -a CONFIG_LIST <<<"${CONFIGS:-off log metrics both}"
TENANTRY="${CARGO_TARGET_DIR:-$ROOT/target}/release/tenantry"
HOST=127.0.0.1
PORT=18713

die() { echo "observe_probe: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install -y valgrind"
command -v ab >/dev/null || die "ab is missing: apt-get install -y apache2-utils"
[ -x "$TENANTRY" ] || die "build first: cargo build --release -p tenantry-cli"
[ -f "$WORK/template.db" ] || die "no $WORK/template.db: run bench/observe_pair.sh first (it makes the data)"
mkdir -p "$OUT"

VPID=""
trap '[ -n "$VPID" ] && kill "$VPID" 2>/dev/null; wait 2>/dev/null || true' EXIT

# shellcheck source=bench/callgrind_probe.sh
. "$ROOT/bench/callgrind_probe.sh"

# config NAME ENV... -- FLAGS...: `tenantry serve` with ENV and FLAGS under `probe`.
config() {
  local name="$1"; shift
  PROBE_ENV=()
  while [ "$1" != "--" ]; do PROBE_ENV+=("$1"); shift; done
  shift
  probe "$name" "$PORT" 'X-Tenant-Id: acme' "$TENANTRY" serve --bind "$HOST:$PORT" \
    --trust-tenant-header --no-rate-limit "$@"
}

echo "# $(date -u +%FT%TZ) valgrind $(valgrind --version | sed 's/valgrind-//'), $N gets, instructions per request"
for config in "${CONFIG_LIST[@]}"; do
  case "$config" in
    off) config off RUST_LOG=warn -- --no-metrics ;;
    log) config log -- --no-metrics ;;
    metrics) config metrics RUST_LOG=warn -- ;;
    both) config both -- ;;
    *) die "CONFIGS are off, log, metrics, both; not $config" ;;
  esac
done
