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

# probe NAME ENV... -- FLAGS...: prints NAME and its instructions per request.
probe() {
  local name="$1"; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  rm -f "$OUT/$name".*
  cp "$WORK/template.db" "$OUT/$name.db"
  # Tenants placed in a database of their own (the demo's globex) live in files beside it.
  for f in "$WORK"/t_*.db; do [ -e "$f" ] && cp "$f" "$OUT/"; done
  env -u RUST_LOG "${envs[@]}" valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.%p.out" ${TOGGLE:+"--toggle-collect=$TOGGLE"} \
    "$TENANTRY" serve --bind "$HOST:$PORT" --database-url "sqlite://$OUT/$name.db" \
    --trust-tenant-header --no-rate-limit "$@" >"$OUT/$name.log" 2>&1 &
  VPID=$!
  for _ in $(seq 1 600); do
    curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://$HOST:$PORT/healthz" >/dev/null || die "$name did not start (see $OUT/$name.log)"
  local url="http://$HOST:$PORT/api/v1/items/5"
  ab -k -n 200 -c 4 -H 'X-Tenant-Id: acme' "$url" >/dev/null 2>&1
  callgrind_control -z "$VPID" >/dev/null 2>&1
  ab -k -n "$N" -c 4 -H 'X-Tenant-Id: acme' "$url" >"$OUT/$name.ab" 2>&1
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 1
  kill "$VPID"; wait "$VPID" 2>/dev/null || true; VPID=""
  grep -q "Non-2xx" "$OUT/$name.ab" && die "$name answered non-2xx (see $OUT/$name.ab)"
  local file total
  file="$(ls -t "$OUT/$name".*.out.* | head -1)"
  total="$(sed -n 's/^summary: //p' "$file")"
  printf '%-8s %12d\n' "$name" "$((total / N))"
  [ -n "${KEEP:-}" ] || rm -f "$OUT/$name".*.out*
}

echo "# $(date -u +%FT%TZ) valgrind $(valgrind --version | sed 's/valgrind-//'), $N gets, instructions per request"
for config in "${CONFIG_LIST[@]}"; do
  case "$config" in
    off) probe off RUST_LOG=warn -- --no-metrics ;;
    log) probe log -- --no-metrics ;;
    metrics) probe metrics RUST_LOG=warn -- ;;
    both) probe both -- ;;
    *) die "CONFIGS are off, log, metrics, both; not $config" ;;
  esac
done
