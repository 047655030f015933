#!/usr/bin/env bash
# Every headline figure of docs/PERFORMANCE.md in one run: the bench scripts that carry them, one
# after the other, each with its same-run comparison; every script's full output saved under
# OUT; at the end the table of docs/PERFORMANCE.md, "Headline figures", one row per figure:
#
#   | what | tenantry | same-run comparison | ratio | target | command |
#
# Ratio: the first system's throughput over the comparison's (for times, the comparison's time
# over tenantry's), so above 1 means the tenantry column is faster. Each script appends its
# figures as tab-separated HEADLINE lines to $OUT/headline.tsv (HEADLINE_OUT); this script only
# picks the rows from there.
#
#   bench/headline.sh                         # everything: about 55 minutes after the builds
#   MIGRATE_PER_PROCESS=0 bench/headline.sh   # without migrate's psql-per-schema baseline (~6 min)
#   ONLY="crud pair" bench/headline.sh        # some parts
#   QUICK=1 bench/headline.sh                 # short runs of every part: checks the script,
#                                             # the figures are not for the doc
#
# Parts, in this order (ONLY picks some; `pair` needs the data `crud` loads and runs crud.sh
# without measuring if `crud` is not picked):
#   crud         bench/crud.sh, SQLite, GET and POST: tenantry (header, token), plain, svc-infra
#   pair         bench/crud_pair.sh, header then token mode, GET and POST against plain
#   lists        bench/lists.sh: list with / without the total, page 1,000 by cursor and offset
#   limits_http  bench/limits_http.sh: rate limits on vs off on GET by id
#   redis        bench/limits_redis.sh PARTS=ab on a Redis of its own: decide vs trivial script
#   export       bench/export.sh: export 1,000,000 rows vs psql \copy and svc-infra
#   import       bench/import.sh: import 1,000,000 rows vs psql \copy FROM
#   observe      bench/observe_pair.sh: request log + metrics vs both off
#   placements   bench/placements.sh: schema vs row tenants, provisioning, 500 SQLite databases
#   migrate      bench/migrate.sh: 2,000 schemas vs a psql session and a psql per schema
#   soak         bench/soak.sh: 1,000 connections for 60 s, tenantry vs plain
#   criterion    bench/criterion.sh: tenancy layer in process, limiter vs governor, data layer
#
# Env: OUT (/tmp/tenantry-bench-headline/<UTC timestamp>), ONLY (every part), QUICK (0),
#      SKIP_BUILD=1 (use target/ as it is), MIGRATE_PER_PROCESS (1; 0 skips migrate's
#      psql-per-schema baseline, about 6 of its 7 minutes, and says so in its row),
#      HEADLINE_PORT (18640: the servers use 18640 to 18648), HEADLINE_REDIS_PORT (16640: the
#      redis part's own redis-server), DB_PREFIX (tenantry_hl, tenantry_hlq with QUICK=1: the
#      PostgreSQL databases of export, import, placements, migrate and soak, so that this run
#      neither reuses nor drops another run's), QUIET_BUDGET (60) and RETRIES (1) for crud.sh,
#      PART_TIMEOUT (2700 s: a script still running then is stopped, with its servers), PEER_DIR
#      (../shared/peers/svc-infra beside the repository: the svc-infra peer, set up in VENV,
#      /tmp/svcinfra-venv, if it is not there yet).
# Loopback only; every script stops its servers on exit; every part is bounded by its own
# durations and by PART_TIMEOUT.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-/tmp/tenantry-bench-headline/$STAMP}"
ALL="crud pair lists limits_http redis export import observe placements migrate soak criterion"
ONLY="${ONLY:-$ALL}"
QUICK="${QUICK:-0}"
PORT0="${HEADLINE_PORT:-18640}"
REDIS_PORT="${HEADLINE_REDIS_PORT:-16640}"
PART_TIMEOUT="${PART_TIMEOUT:-2700}"
MIGRATE_PER_PROCESS="${MIGRATE_PER_PROCESS:-1}"
QUIET_BUDGET="${QUIET_BUDGET:-60}"
RETRIES="${RETRIES:-1}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/peers/svc-infra}"
export VENV="${VENV:-/tmp/svcinfra-venv}"
if [ "$QUICK" = 1 ]; then DB_PREFIX="${DB_PREFIX:-tenantry_hlq}"; else DB_PREFIX="${DB_PREFIX:-tenantry_hl}"; fi
TSV="$OUT/headline.tsv"

die() { echo "headline.sh: $*" >&2; exit 1; }
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
for p in $ONLY; do [[ " $ALL " == *" $p "* ]] || die "unknown part $p (parts: $ALL)"; done
for tool in wrk curl psql sqlite3 redis-server redis-cli cargo timeout; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
for p in $(seq "$PORT0" $((PORT0 + 8))) "$REDIS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use: set HEADLINE_PORT / HEADLINE_REDIS_PORT"; fi
done
mkdir -p "$OUT"
: >"$TSV"
export HEADLINE_OUT="$TSV"

# ---- a part at a time, each under its own timeout; Ctrl-C stops the running one too -----------
PART_PID=""
trap 'if [ -n "$PART_PID" ]; then kill -TERM "$PART_PID" 2>/dev/null; wait "$PART_PID" 2>/dev/null; fi; exit 130' INT TERM
declare -A RC=() SECS=() CMD=()
# cmdtext ENV=VALUE... SCRIPT: the command as a reader would type it, without the settings that
# only place this run's files, ports and databases.
cmdtext() {
  local a k v out="" script=""
  local -A val=()
  local -a order=()
  for a in "$@"; do
    case "$a" in
      BENCH_DIR=*|BENCH_PORT=*|OUT=*|BIN=*|SKIP_BUILD=*|DB=*|DB_PREFIX=*|HEADLINE_OUT=*|PEER_DIR=*) continue ;;
      *=*) k="${a%%=*}"; [ -n "${val[$k]+set}" ] || order+=("$k"); val[$k]="${a#*=}" ;;
      *) script="bench/${a##*/bench/}" ;;
    esac
  done
  for k in "${order[@]}"; do
    v="${val[$k]}"
    if [[ -z "$v" || "$v" == *[\ \(\)\|\*\$]* ]]; then out+="$k='$v' "; else out+="$k=$v "; fi
  done
  printf '`%s%s`' "$out" "$script"
}
# run NAME[:LABEL] ENV=VALUE... SCRIPT: one script, its output appended to NAME.log; its command
# is remembered under NAME:LABEL (or NAME) for the table.
run() {
  local name="${1%%:*}" label="$1"; shift
  local text; text="$(cmdtext "$@")"
  local t0 rc=0
  t0=$(date +%s)
  CMD[$label]="${CMD[$label]:+${CMD[$label]}; }$text"
  say "$name: $text"
  {
    echo "### $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): $text"
    echo "### env $*"
  } >>"$OUT/$name.log"
  # timeout puts the script in a process group of its own and signals all of it.
  (cd "$ROOT" && exec timeout -k 30 "$PART_TIMEOUT" env "$@") >>"$OUT/$name.log" 2>&1 &
  PART_PID=$!
  wait "$PART_PID" || rc=$?
  PART_PID=""
  [ "$rc" = 124 ] && echo "### stopped after PART_TIMEOUT=$PART_TIMEOUT s" >>"$OUT/$name.log"
  RC[$name]=$(( ${RC[$name]:-0} > rc ? ${RC[$name]:-0} : rc ))
  SECS[$name]=$(( ${SECS[$name]:-0} + $(date +%s) - t0 ))
  say "$name: exit $rc after $(( $(date +%s) - t0 )) s; output in $OUT/$name.log"
}

T_START=$(date +%s)
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" status --porcelain | wc -l) paths modified or untracked)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $LOAD_START"
  echo "rustc: $(rustc --version)"
  echo "wrk: $(wrk -v 2>&1 | head -n 1)"
  echo "postgres: $(psql -X -At -h 127.0.0.1 -U postgres -d postgres -c 'SHOW server_version' 2>/dev/null || echo '?'), synchronous_commit $(psql -X -At -h 127.0.0.1 -U postgres -d postgres -c 'SHOW synchronous_commit' 2>/dev/null || echo '?')"
  echo "redis: $(redis-server --version)"
  echo "parts: $ONLY; QUICK=$QUICK; MIGRATE_PER_PROCESS=$MIGRATE_PER_PROCESS; OUT=$OUT"
} | tee "$OUT/run.txt" >&2

# ---- builds ---------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  b0=$(date +%s)
  cli=0
  for p in crud pair lists limits_http export import observe placements migrate soak; do want "$p" && cli=1; done
  if [ "$cli" = 1 ]; then
    say "building the release binaries"
    (cd "$ROOT" && cargo build --release -q -p tenantry-cli --bin tenantry --example plain_items --example placements)
  fi
  if want redis || want criterion; then
    say "building the limit bench (--features redis)"
    (cd "$ROOT" && cargo bench -q -p tenantry --features redis --bench limit --no-run)
  fi
  if want criterion; then
    say "building the enforce and data benches"
    (cd "$ROOT" && cargo bench -q -p tenantry --bench enforce --no-run)
    (cd "$ROOT" && cargo bench -q -p tenantry --features postgres --bench data --no-run)
  fi
  echo "builds: $(( $(date +%s) - b0 )) s" | tee -a "$OUT/run.txt" >&2
fi
if { want crud || want pair || want lists || want export; } && [ ! -x "$VENV/bin/uvicorn" ]; then
  say "setting up the svc-infra peer in $VENV"
  "$PEER_DIR/run.sh" setup >>"$OUT/peer-setup.log" 2>&1
fi

# ---- the parts --------------------------------------------------------------------------------
q() { [ "$QUICK" = 1 ]; }
common=(SKIP_BUILD=1)

if want crud || want pair; then
  crud_env=(BENCH_DIR="$OUT/crud" BENCH_PORT="$PORT0" PEER_DIR="$PEER_DIR" BACKENDS=sqlite ROUTES="get post"
    SYSTEMS="tenantry-header tenantry-token plain svc-infra" QUIET_BUDGET="$QUIET_BUDGET" RETRIES="$RETRIES")
  q && crud_env+=(DURATION=2s WARMUP=1s QUIET_BUDGET=0 RETRIES=0)
  if want crud; then
    run crud "${common[@]}" "${crud_env[@]}" "$BENCH/crud.sh"
  else
    # crud_pair.sh reads crud.sh's data and tokens: load them, measure nothing (SYSTEMS=" ").
    run crud "${common[@]}" "${crud_env[@]}" SYSTEMS=" " "$BENCH/crud.sh"
  fi
fi
if want pair; then
  pair_env=(BENCH_DIR="$OUT/crud" BENCH_PORT=$((PORT0 + 1)) BACKENDS=sqlite ROUTES="get post" ROUNDS=5 DURATION=6s)
  q && pair_env+=(ROUNDS=1 DURATION=2s WARMUP=1s)
  for mode in header token; do
    run "pair:$mode" MODE="$mode" "${pair_env[@]}" "$BENCH/crud_pair.sh"
  done
fi
if want lists; then
  lists_env=(BENCH_DIR="$OUT/lists" BENCH_PORT=$((PORT0 + 3)) PEER_DIR="$PEER_DIR" QUIET_BUDGET="$QUIET_BUDGET" RETRIES="$RETRIES")
  q && lists_env+=(DURATION=2s WARMUP=1s QUIET_BUDGET=0 RETRIES=0)
  run lists "${common[@]}" "${lists_env[@]}" "$BENCH/lists.sh"
fi
if want limits_http; then
  lh_env=(ROUNDS=7)
  q && lh_env+=(ROUNDS=1 DURATION=2s)
  run limits_http "${common[@]}" "${lh_env[@]}" "$BENCH/limits_http.sh"
fi
if want redis; then
  redis_env=(PARTS=ab OWN_REDIS_PORT="$REDIS_PORT")
  q && redis_env+=(TENANTRY_BENCH_ROUNDS=1 TENANTRY_BENCH_CALLS=2000)
  run redis "${redis_env[@]}" "$BENCH/limits_redis.sh"
fi
if want export; then
  export_env=(OUT="$OUT/export" DB="${DB_PREFIX}_export" BIN="$TARGET/release/tenantry" RUNS=3 SVC_RUNS=3)
  q && export_env+=(ROWS=20000 RUNS=1 SVC_RUNS=1)
  run export "${export_env[@]}" "$BENCH/export.sh"
fi
if want import; then
  import_env=(OUT="$OUT/import" DB="${DB_PREFIX}_import" BIN="$TARGET/release/tenantry" RUNS=5)
  q && import_env+=(ROWS=20000 RUNS=1)
  run import "${import_env[@]}" "$BENCH/import.sh"
fi
if want observe; then
  observe_env=(BENCH_DIR="$OUT/observe" BENCH_PORT=$((PORT0 + 4)) ROUNDS=7)
  q && observe_env+=(ROUNDS=1 DURATION=2s WARMUP=1s)
  run observe "${observe_env[@]}" "$BENCH/observe_pair.sh"
fi
if want placements; then
  pl_env=(BENCH_DIR="$OUT/placements" BENCH_PORT=$((PORT0 + 6)) DB_PREFIX="$DB_PREFIX" DURATION=8s)
  q && pl_env+=(TENANTS=200 SQLITE_TENANTS=50 FIT_TENANTS=20 ROUNDS=1 DURATION=2s WARMUP=1s PROVISION_N=10 CLI_N=3)
  run placements "${common[@]}" "${pl_env[@]}" "$BENCH/placements.sh"
fi
if want migrate; then
  mg_env=(BENCH_DIR="$OUT/migrate" DB="${DB_PREFIX}_migrate" CONCURRENCIES="1 2 4 default" BASELINE_PER_PROCESS="$MIGRATE_PER_PROCESS")
  q && mg_env+=(SCHEMAS=100 CONCURRENCIES="1 default" NOOP_RUNS=2)
  run migrate "${common[@]}" "${mg_env[@]}" "$BENCH/migrate.sh"
fi
if want soak; then
  soak_env=(BENCH_DIR="$OUT/soak" BENCH_PORT=$((PORT0 + 8)) DB="${DB_PREFIX}_soak")
  q && soak_env+=(DURATION=5s CONNS=100)
  run soak "${common[@]}" "${soak_env[@]}" "$BENCH/soak.sh"
fi
if want criterion; then
  cr_env=(PARTS="enforce limiter data")
  q && cr_env+=(FILTER='enforce/(bare|header)' TENANTRY_BENCH_ROUNDS=1 TENANTRY_BENCH_CALLS=200000 DATA_THROUGHPUT=0)
  run criterion "${cr_env[@]}" "$BENCH/criterion.sh"
fi

# ---- the table ------------------------------------------------------------------------------------
# One row per figure: KEY (a glob over the HEADLINE keys; the last match counts) | what | target |
# check (ratio>=X, value<X: the first number of the tenantry column, added<N: tenantry minus the
# comparison in ns, le: tenantry's first number at most the comparison's, errors0: tenantry's
# column says ", 0 errors", or nothing) | part (NAME or NAME:LABEL, as given to `run`).
ROWS='
pair/header/sqlite/get|GET by id, header mode, vs the plain axum + sqlx handler (paired rounds; tenantry without its request log and metrics, as the plain handler, here and in every crud, pair and lists row)|≥ 0.9 (issue 3)|ratio>=0.9|pair:header
pair/token/sqlite/get|GET by id, token mode (HS256, token cache), vs the plain handler (paired rounds)|≥ 0.95 (issue 16)|ratio>=0.95|pair:token
crud/sqlite/get/header/svc-infra|GET by id, header mode, vs svc-infra|≥ 10×, lower p99 (issue 3)|ratio>=10|crud
crud/sqlite/get/token/svc-infra|GET by id, token mode, vs svc-infra|≥ 10×, lower p99 (issue 3)|ratio>=10|crud
crud/sqlite/header/list/svc-infra/list|list, limit 50, with the total, vs svc-infra|≥ 10× (issue 16)|ratio>=10|lists
crud/sqlite/header/list-none/plain/list|list, limit 50, without the total, vs the plain handler (page + count)|≥ 3× (issue 16)|ratio>=3|lists
crud/sqlite/header/page1000-cursor/tenantry-header/page1|page 1,000 (of 10 rows) by cursor vs page 1|as fast as page 1 (issue 16)||lists
crud/sqlite/header/page1000-offset/tenantry-header/page1|page 1,000 by offset vs page 1 (what the cursor avoids)|-||lists
pair/header/sqlite/post|POST (SQLite, group commit), header mode, vs the plain handler (paired rounds)|≥ 2× (issue 16)|ratio>=2|pair:header
pair/token/sqlite/post|POST (SQLite, group commit), token mode, vs the plain handler (paired rounds)|≥ 2× (issue 16)|ratio>=2|pair:token
crud/sqlite/post/header/svc-infra|POST (SQLite, group commit), header mode, vs svc-infra|≥ 10× (issue 16)|ratio>=10|crud
crud/sqlite/post/token/svc-infra|POST (SQLite, group commit), token mode, vs svc-infra|≥ 10× (issue 16)|ratio>=10|crud
redis/c1|Redis limiter decisions/s vs the same client'"'"'s trivial script, 1 caller|≥ 0.8 (issue 16)|ratio>=0.8|redis
redis/c16|the same, 16 callers|≥ 0.9 (issue 16)|ratio>=0.9|redis
redis/c64|the same, 64 callers|≥ 0.9 (issue 16)|ratio>=0.9|redis
limiter/lowest|in-memory limiter vs governor'"'"'s keyed limiter, the lowest of 6 cases (1/10,000/1,000,000 keys, 1/2 threads)|≥ 0.8|ratio>=0.8|criterion
limits-http/api/v1/items/1|rate limits on (in memory) vs off, GET by id|≥ 0.95|ratio>=0.95|limits_http
enforce/header+principal+catalog|tenancy layer in process, header path (principal, catalog, scope) vs the same request without it|adds < 1 µs|added<1000|criterion
enforce/header (trusted gateway)|tenancy layer in process, trusted gateway vs the same request without it|adds < 1 µs|added<1000|criterion
data/get/paired|data layer: a get through the scoped service vs hand-written sqlx (PostgreSQL)|≥ 0.9|ratio>=0.9|criterion
data/list50/paired|data layer: a 50-row page, the same|≥ 0.9|ratio>=0.9|criterion
export/mixed/psql-copy|export 1,000,000 rows (6 mixed columns) vs psql \copy (PostgreSQL)|within 2× (ratio ≥ 0.5)|ratio>=0.5|export
export/plain/svc-infra|export 1,000,000 rows (JSON-native columns) vs svc-infra|≥ 10×|ratio>=10|export
export/rss|export: peak RSS at 1,000,000 rows vs at 10,000|< 50 MB, flat|value<50|export
import/psql|import 1,000,000 rows into PostgreSQL vs psql \copy FROM|≥ 0.7 (issue 16)|ratio>=0.7|import
observe/get/as shipped|request log + metrics on vs both off, GET by id (paired rounds)|≥ 0.95 (issue 15)|ratio>=0.95|observe
placements/schema/row/get|2,000 tenants in schemas vs 2,000 in shared rows, GET by id (PostgreSQL)|≥ 0.9 (issue 13)|ratio>=0.9|placements
placements/schema/row/list|the same, list of 50|≥ 0.9 (issue 13)|ratio>=0.9|placements
placements/schema-pools/row/get|the same, the schema tenants from `--schema-pools 5`, GET by id|≥ 0.9 (issue 13)|ratio>=0.9|placements
placements/schema-pools/row/list|the same, list of 50|≥ 0.9 (issue 13)|ratio>=0.9|placements
placements/all-*/hot-*/get|500 SQLite tenant databases under a cap of 64 pools vs 10 hot ones, GET by id|≥ 0.5 (issue 13)|ratio>=0.5|placements
placements/all-*/hot-*/list|the same, list of 50|≥ 0.5 (issue 13)|ratio>=0.5|placements
placements/fit-*/hot-*/get|the same server, 60 databases (all within the cap) vs 10, GET by id: what the churn costs|-||placements
placements/databases/fds|500 SQLite databases: descriptors on tenant files during the runs vs the bound of the pool cap (the whole process, after the runs and 5 s later, in the details)|no growth (issue 13)|le|placements
placements/provision/in-process|provisioning one schema tenant (Registry::provision)|< 100 ms median (issue 13)|value<100|placements
placements/provision/cli|provisioning one schema tenant through the CLI (whole process)|< 100 ms median (issue 13)|value<100|placements
migrate/default|fleet migration of 2,000 schemas, default concurrency, vs one psql session doing the same statements|under 30 s (issue 14)|value<30|migrate
migrate/default/per-process|the same vs a psql -c per schema|-||migrate
migrate/noop|fleet migration with nothing to apply|under 2 s (issue 14)|value<2|migrate
soak|soak: 1,000 connections for 60 s on PostgreSQL vs the plain handler|no errors (issue 11; memory in the details)|errors0|soak
'

# a table cell: `|` escaped (GitHub's tables split on it even inside code spans)
cell() { printf '%s' "${1//|/\\|}"; }
# first number in a cell; a cell's value in ns ("1.657 µs", "883.6 ns (bare)")
num() { grep -oE '[0-9]+(\.[0-9]+)?' <<<"$1" | head -n 1; }
ns() { awk -v s="$1" 'BEGIN { if (match(s, /[0-9.]+ *(ps|ns|µs|us|ms|s)/)) { t = substr(s, RSTART, RLENGTH); v = t + 0; sub(/^[0-9.]+ */, "", t)
  printf "%f", t == "ps" ? v / 1000 : t == "ns" ? v : (t == "µs" || t == "us") ? v * 1e3 : t == "ms" ? v * 1e6 : v * 1e9 } }'; }
verdict() {  # verdict CHECK TENANTRY COMPARISON RATIO
  local check="$1" a="$2" b="$3" r="$4" ok
  case "$check" in
    "") echo ""; return ;;
    ratio\>=*) ok=$(awk -v r="$r" -v x="${check#ratio>=}" 'BEGIN { print (r + 0 >= x + 0) }') ;;
    value\<*) ok=$(awk -v v="$(num "$a")" -v x="${check#value<}" 'BEGIN { print (v + 0 < x + 0) }') ;;
    added\<*) ok=$(awk -v a="$(ns "$a")" -v b="$(ns "$b")" -v x="${check#added<}" 'BEGIN { print (a - b < x + 0) }') ;;
    le) ok=$(awk -v a="$(num "$a")" -v b="$(num "$b")" 'BEGIN { print (a + 0 <= b + 0) }') ;;
    errors0) [[ "$a" == *", 0 errors"* ]] && ok=1 || ok=0 ;;
  esac
  [ "$ok" = 1 ] && echo ": **met**" || echo ": **not met**"
}

T_END=$(date +%s)
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "## Headline figures ($(date -u +%F), bench/headline.sh$( q && echo ', QUICK=1: short runs for checking the script, not figures for the doc'))"
  echo
  echo "Run from $(date -u -d "@$T_START" +%H:%M) to $(date -u -d "@$T_END" +%H:%M) UTC, $(( (T_END - T_START) / 60 )) min; load average $LOAD_START at the start, $LOAD_END at the end; git $(git -C "$ROOT" rev-parse --short HEAD). Outputs: $OUT."
  echo
  echo "| what | tenantry | same-run comparison | ratio | target | command |"
  echo "|---|---:|---:|---:|---|---|"
  n=0
  : >"$OUT/details.md"
  while IFS='|' read -r key what target check part; do
    [ -n "$key" ] || continue
    line=""
    while IFS= read -r l; do
      IFS=$'\t' read -r _ k _ <<<"$l"
      # shellcheck disable=SC2053
      [[ "$k" == $key ]] && line="$l"
    done <"$TSV"
    p="${part%%:*}"
    cmd="${CMD[$part]:-part \`$p\` not run}"
    if [ -z "$line" ]; then
      why="not measured in this run"
      want "$p" && why="not measured (part \`$p\` exit ${RC[$p]:-?}; see $p.log)"
      echo "| $what | $why | | | $target | $(cell "$cmd") |"
      continue
    fi
    IFS=$'\t' read -r _ k a b r note <<<"$line"
    n=$((n + 1))
    echo "| $what | $(cell "$a") | $(cell "$b") | $(cell "$r") | $target$(verdict "$check" "$a" "$b" "$r") | $(cell "$cmd") |"
    echo "$n. $what (\`$k\`): $note" >>"$OUT/details.md"
  done <<<"$ROWS"
  echo
  echo "Details, in the order of the rows that were measured:"
  echo
  cat "$OUT/details.md"
  echo
  echo "| part | exit | seconds |"
  echo "|---|---:|---:|"
  for p in $ALL; do
    want "$p" || continue
    [ -n "${SECS[$p]:-}" ] || continue
    echo "| $p | ${RC[$p]} | ${SECS[$p]} |"
  done
  echo
  echo "Total wall time: $(( T_END - T_START )) s; load average $LOAD_START at the start, $LOAD_END at the end."
} | tee "$OUT/headline.md"
echo "table: $OUT/headline.md; HEADLINE lines: $TSV; each part's output: $OUT/<part>.log" >&2
