#!/usr/bin/env bash
# The tenantry demo against the plain axum + sqlx ceiling, interleaved: both servers run at once
# on the same data, and wrk measures them in alternation (A B, then B A, ...) for ROUNDS rounds
# per route, so that drift of the machine (a VM's neighbours, thermal, caches) hits both alike.
# bench/crud.sh measures each system once, one after the other; this script gives the (a)/(b)
# ratios that issue 3 asks for as medians of same-round ratios.
#
#   bench/crud.sh                      # first: builds, loads the data, measures everything once
#   bench/crud_pair.sh                 # then: sqlite and postgres, routes get list post
#   BACKENDS=postgres ROUTES=get ROUNDS=7 bench/crud_pair.sh
#
# Data: crud.sh's SQLite template ($BENCH_DIR/template.db, copied here) and its PostgreSQL
# database tenantry_bench_crud (reloaded by crud.sh before each system; POSTs here add rows to
# it, so rerun crud.sh for fresh data). The demo runs in header mode (--trust-tenant-header,
# --no-rate-limit), the way plain_items reads the tenant, or with MODE=token in token mode: each
# request carries its tenant's HS256 token (crud.sh's tokens.txt, one per tenant), verified by
# the demo (once per token, then from its token cache), while plain_items still reads the
# header. Loopback only; every wrk run is bounded.
#
# Env: ROUNDS (5), DURATION (8s), WARMUP (2s), THREADS (2), CONNS (32), BACKENDS (sqlite postgres),
#      ROUTES (get list post), MODE (header | token), BENCH_DIR (/tmp/tenantry-bench-crud),
#      PG_ADMIN_URL, BENCH_PORT (18482; plain on the next port), TENANTRY_ARGS (more `tenantry serve` flags: `--no-group-commit` writes each
#      SQLite row in its own transaction, as before issue 16's item 2), HEADLINE_OUT (a file: each
#      row is also appended there as a HEADLINE line for bench/headline.sh), OBSERVE (0: the demo
#      without its request log and /metrics, as plain_items runs; 1: as the demo ships).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-crud}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-8s}"
WARMUP="${WARMUP:-2s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
BACKENDS="${BACKENDS:-sqlite postgres}"
MODE="${MODE:-header}"
# The demo's request log and /metrics off unless OBSERVE=1 (plain_items has neither).
if [ "${OBSERVE:-0}" = 1 ]; then
  OBSERVE_ARGS=()
else
  OBSERVE_ARGS=(--no-metrics)
  export RUST_LOG=warn
fi
read -r -a ROUTE_LIST <<<"${ROUTES:-get list post}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_URL="${PG_ADMIN_URL%/*}/tenantry_bench_crud"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TENANTRY="$TARGET/release/tenantry"
PLAIN="$TARGET/release/examples/plain_items"
LUA="$ROOT/bench/crud.lua"
HOST=127.0.0.1
PORT_A="${BENCH_PORT:-18482}"
PORT_B=$((PORT_A + 1))
TENANTS="acme,globex,bench03,bench04,bench05,bench06,bench07,bench08,bench09,bench10"
PER_TENANT=10000

die() { echo "crud_pair.sh: $*" >&2; exit 1; }
# headline KEY TENANTRY COMPARISON RATIO NOTE: one tab-separated line for bench/headline.sh.
headline() { local IFS=$'\t'; printf 'HEADLINE\t%s\n' "$*" >>"${HEADLINE_OUT:-/dev/null}"; }
command -v wrk >/dev/null || die "wrk is missing: apt-get install -y wrk"
[ -x "$TENANTRY" ] && [ -x "$PLAIN" ] || die "build first: cargo build --release -p tenantry-cli --bins --examples (or run bench/crud.sh)"
[ -f "$WORK/template.db" ] || die "no $WORK/template.db: run bench/crud.sh first (it loads the data)"
case "$MODE" in
  header) TENANTRY_AUTH=(--trust-tenant-header) ;;
  token)
    TENANTRY_AUTH=()
    [ -s "$WORK/tokens.txt" ] || die "no $WORK/tokens.txt: run bench/crud.sh first (it mints the tokens)" ;;
  *) die "MODE is header or token, not $MODE" ;;
esac

PIDS=()
stop() { [ "${#PIDS[@]}" -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; PIDS=(); }
trap stop EXIT

# up PORT LOG CMD...: starts CMD in the background and waits for /healthz.
up() {
  local port="$1" log="$2"; shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 300); do
    curl -fsS "http://$HOST:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "no answer on $port: $*"
}

# rps PORT ROUTE SECONDS AUTH: requests per second of one wrk run (AUTH: header | token).
rps() {
  wrk -t"$THREADS" -c"$CONNS" -d"$3" -s "$LUA" "http://$HOST:$1" -- \
    "$2" /api/v1/items "$4" "$TENANTS" "$PER_TENANT" "p$RANDOM$RANDOM" full "$WORK/tokens.txt" |
    awk '/^Requests\/sec:/ { print $2 }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "# $(date -u +%FT%TZ) MODE=$MODE TENANTRY_ARGS=${TENANTRY_ARGS:-}, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| backend | route | rounds | tenantry req/s (median) | plain req/s (median) | (a)/(b): ratio of medians | median of per-round ratios | per-round ratios |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for backend in $BACKENDS; do
  case "$backend" in
    sqlite)
      cp "$WORK/template.db" "$WORK/pair.db"
      rm -f "$WORK/pair.db-wal" "$WORK/pair.db-shm"
      url="sqlite://$WORK/pair.db" ;;
    postgres) url="$PG_URL" ;;
    *) die "unknown backend $backend" ;;
  esac
  up "$PORT_A" "$WORK/pair-tenantry.log" "$TENANTRY" serve --bind "$HOST:$PORT_A" --database-url "$url" \
    "${TENANTRY_AUTH[@]}" --no-rate-limit "${OBSERVE_ARGS[@]}" ${TENANTRY_ARGS:-}
  up "$PORT_B" "$WORK/pair-plain.log" "$PLAIN" --bind "$HOST:$PORT_B" --database-url "$url"
  for route in "${ROUTE_LIST[@]}"; do
    rps "$PORT_A" "$route" "$WARMUP" "$MODE" >/dev/null
    rps "$PORT_B" "$route" "$WARMUP" header >/dev/null
    as=() bs=() ratios=()
    for r in $(seq "$ROUNDS"); do
      if ((r % 2)); then
        a="$(rps "$PORT_A" "$route" "$DURATION" "$MODE")"; b="$(rps "$PORT_B" "$route" "$DURATION" header)"
      else
        b="$(rps "$PORT_B" "$route" "$DURATION" header)"; a="$(rps "$PORT_A" "$route" "$DURATION" "$MODE")"
      fi
      as+=("$a") bs+=("$b")
      ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')")
      echo "$backend $route round $r: tenantry $a, plain $b, ratio ${ratios[-1]}" >&2
    done
    ma="$(median "${as[@]}")"; mb="$(median "${bs[@]}")"
    echo "| $backend | $route | $ROUNDS | $ma | $mb | $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", a / b }') | $(median "${ratios[@]}") | ${ratios[*]} |"
    headline "pair/$MODE${TENANTRY_ARGS:+ $TENANTRY_ARGS}/$backend/$route" "$ma req/s" "$mb req/s" "$(median "${ratios[@]}")" \
      "median of $ROUNDS per-round ratios (wrk -t$THREADS -c$CONNS -d$DURATION), rounds $(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd- | sed 's/-/ to /')"
  done
  stop
done
