#!/usr/bin/env bash
# Where the time of bench/placements.sh's slow sides goes, on the data it leaves behind (run it
# first; PARTS="schemas databases" is enough):
#
#   schemas    `tenantry serve` on the 2,000 schema tenants as served by default (statements
#              unnamed, the server's own pool), with `--schema-pools SCHEMA_POOLS`, and on the
#              2,000 row tenants, one after the other: each warmed up, then `perf record` of its
#              PostgreSQL backends during a GET run, and a count of their system calls during another.
#              Gives the backends' CPU per request, split by the PostgreSQL functions on the
#              stack (parse, analysis, planning, execution, relation files), and their system
#              calls per request.
#   databases  `tenantry serve` on a copy of the 500 SQLite tenant databases under a cap of
#              DB_CAP pools: `perf record` of the process during a GET run over all 500, split
#              by what is on the stack (closing a connection, opening one, its thread, reading
#              the schema); then a count of its thread and file calls per request, at the
#              cap of DB_CAP and at 128.
#
#   bench/placements.sh && bench/placements-profile.sh
#
# Env: PARTS (schemas databases), SCHEMA_POOLS (5), DB_CAP (64), WARMUP (15s), DURATION (10s),
#      BENCH_DIR (/tmp/tenantry-bench-placements, as placements.sh), PG_ADMIN_URL. Needs perf
#      (and the right to trace: root, or perf_event_paranoid <= 1). Every server
#      started here is stopped on exit. Results: $BENCH_DIR/profile.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/tenantry-bench-placements}"
PARTS="${PARTS:-schemas databases}"
SCHEMA_POOLS="${SCHEMA_POOLS:-5}"
DB_CAP="${DB_CAP:-64}"
WARMUP="${WARMUP:-15s}"
DURATION="${DURATION:-10s}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_BASE="${PG_ADMIN_URL%/*}"
TENANTRY="${CARGO_TARGET_DIR:-$ROOT/target}/release/tenantry"
LUA="$ROOT/bench/placements.lua"
HOST=127.0.0.1
PORT=18495
OUT="$WORK/profile.md"
P="$WORK/profile"

die() { echo "placements-profile.sh: $*" >&2; exit 1; }
pg() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
for tool in wrk perf psql python3; do command -v "$tool" >/dev/null || die "needs $tool"; done
[ -x "$TENANTRY" ] || die "missing $TENANTRY (cargo build --release -p tenantry-cli)"
mkdir -p "$P"
: >"$OUT"

SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; true' EXIT
start() {  # start URL FLAGS...: one server on $PORT
  local url="$1"; shift
  "$TENANTRY" serve --bind "$HOST:$PORT" --database-url "$url" --trust-tenant-header --no-rate-limit "$@" \
    >"$P/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 600); do curl -fsS "http://$HOST:$PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "the server did not start: $(tail -n 5 "$P/serve.log")"
}
stop() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; SERVER=""; }
load() { wrk -t2 -c32 -d"$1" -s "$LUA" "http://$HOST:$PORT" -- "${@:2}"; }
requests() { awk '/ requests in /{ print $1 }' "$1"; }
backends() {
  pg "$PG_ADMIN_URL" -tAc "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = '$1' AND backend_type = 'client backend'"
}

# profile DATA: `perf record -a -g` for 6 s (system-wide: `perf record -p` gives up when one of
# the threads it follows ends, as a SQLite connection's thread does when it closes).
profile() { perf record -q -a -g -F 999 -o "$1" -- sleep 6 >/dev/null 2>&1 || true; }
# split DATA PIDS REQUESTS GROUPS...: the samples of processes PIDS (comma-separated) in perf
# DATA whose stack holds each function (a GROUP is LABEL=fn1,fn2,...; a sample counts once per
# group), as CPU microseconds per request: perf samples at 999 Hz, REQUESTS requests ran in the
# recorded time.
split() {
  local data="$1" pids="$2" n="$3"; shift 3
  perf script -i "$data" -F pid,ip,sym,dso 2>/dev/null | python3 -c '
import re, sys
pids, n, groups = set(sys.argv[1].split(",")), float(sys.argv[2]), sys.argv[3:]
groups = [(g.split("=")[0], set(g.split("=")[1].split(","))) for g in groups]
# A sample: its process id on a line, then one line per frame, "ADDRESS SYMBOL (DSO)".
frame = re.compile(r"^\s+[0-9a-f]+ (.*) \(.*\)$")
stacks, cur = [], None
for line in sys.stdin:
    if not line.strip():
        continue
    if not line[0].isspace():
        if cur is not None: stacks.append(cur)
        cur = set() if line.split()[0] in pids else None
        continue
    m = frame.match(line.rstrip("\n"))
    if m and cur is not None: cur.add(m.group(1))
if cur is not None: stacks.append(cur)
total = len(stacks)
print(f"samples {total}, requests in the window {int(n)}: {total * 1e6 / 999 / n:.1f} us of CPU per request" if n else "no requests")
print()
print("Shares overlap: a sample counts in every group one of whose functions is on its stack.")
print()
print("| on the stack | share of samples | us per request |")
print("|---|---:|---:|")
for label, fns in groups:
    k = sum(1 for s in stacks if s & fns)
    print(f"| {label} | {100 * k / max(total, 1):.1f} % | {k * 1e6 / 999 / n:.1f} |" if n else f"| {label} | - | - |")
' "$pids" "$n" "$@"
}

# syscalls FILE REQUESTS: the counts of count_syscalls, per request.
syscalls() {
  awk -v n="$2" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $1, $2 / n } END { print "" }' "$1"
}
# count_syscalls OUT PIDS CALLS...: how many of each system call processes PIDS (comma-separated,
# every thread of each, those started meanwhile included) make in 5 s: `perf record -a` of the
# syscalls:sys_enter_CALL tracepoints, kept by process id (`perf stat -p` gives up when a
# thread ends, and a SQLite connection's thread ends when it closes). OUT: "CALL COUNT" lines.
count_syscalls() {
  local out="$1" pids="$2" events=() c; shift 2
  for c in "$@"; do events+=(-e "syscalls:sys_enter_$c"); done
  perf record -q -a "${events[@]}" -o "$out.data" -- sleep 5 >/dev/null 2>&1 || true
  perf script -i "$out.data" -F pid,event 2>/dev/null | awk -v pids="$pids" -v calls="$*" '
    BEGIN { split(pids, p, ","); for (i in p) keep[p[i]] = 1; split(calls, c, " ") }
    ($1 in keep) { e = $2; sub(/^syscalls:sys_enter_/, "", e); sub(/:$/, "", e); n[e]++ }
    END { for (i = 1; i <= length(c); i++) print c[i], n[c[i]] + 0 }' >"$out"
  rm -f "$out.data"
}

# measure_pg NAME URL APP FLAGS...: profile one PostgreSQL-backed server's backends.
measure_pg() {
  local name="$1" url="$2" app="$3" args="$4"; shift 4
  start "$url?application_name=$app" "$@"
  # shellcheck disable=SC2086
  load "$WARMUP" get $args 100 >/dev/null
  local pids; pids="$(backends "$app")"
  # shellcheck disable=SC2086
  load "$DURATION" get $args 100 >"$P/$name.wrk" &
  local w=$!
  sleep 2
  profile "$P/$name.data"
  wait "$w"
  local rps n; rps="$(awk '/^Requests\/sec/{ print $2 }' "$P/$name.wrk")"
  n="$(awk -v r="$rps" 'BEGIN { printf "%d", r * 6 }')"
  {
    echo "### $name: $(cut -d' ' -f1-3 /proc/loadavg) load, $rps req/s under perf"
    echo
    echo "\`perf record -a -g -F 999 -- sleep 6\` in a ${DURATION} GET run, the samples of its $(tr ',' '\n' <<<"$pids" | wc -l) backends, $(date -u +%TZ):"
    echo
    split "$P/$name.data" "$pids" "$n" \
      "parsing (raw_parser)=raw_parser,base_yyparse" \
      "analysis (parse_analyze_*)=parse_analyze_fixedparams,parse_analyze_varparams,transformStmt,transformTopLevelStmt" \
      "planning (pg_plan_query)=pg_plan_query,pg_plan_queries,standard_planner,planner" \
      "execution (PortalRun)=PortalRun" \
      "relation files=smgrnblocks,mdnblocks,mdopenfork,PathNameOpenFile,FileAccess,LruInsert,LruDelete,__x64_sys_openat,__x64_sys_close" \
      "catalog caches=RelationIdGetRelation,RelationBuildDesc,SearchCatCache1,SearchCatCacheMiss,SearchCatCacheInternal" \
      "socket send and receive=__x64_sys_sendto,__x64_sys_recvfrom,secure_read,secure_write,pq_recvbuf,pq_flush" \
      "waiting (epoll)=WaitEventSetWait,epoll_wait"
    echo
  } >>"$OUT"
  # shellcheck disable=SC2086
  load "$DURATION" get $args 100 >"$P/$name.syscalls.wrk" &
  w=$!
  sleep 2
  count_syscalls "$P/$name.syscalls" "$pids" recvfrom sendto epoll_wait openat close lseek
  wait "$w"
  rps="$(awk '/^Requests\/sec/{ print $2 }' "$P/$name.syscalls.wrk")"
  echo "system calls of its backends per request (\`perf record -a -e syscalls:sys_enter_...\`, 5 s, $rps req/s): $(syscalls "$P/$name.syscalls" "$(awk -v r="$rps" 'BEGIN { printf "%d", r * 5 }')")" >>"$OUT"
  echo >>"$OUT"
  stop
}

part_schemas() {
  pg "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'tenantry_bench_schemas'" | grep -q 1 ||
    die "no tenantry_bench_schemas: run bench/placements.sh first"
  local n; n="$(pg "$PG_BASE/tenantry_bench_schemas" -tAc "SELECT count(*) FROM tenantry_tenants WHERE id ~ '^s[0-9]{4}$'")"
  {
    echo "## Schemas: $n schema tenants, $n row tenants, GET by id spread over all"
    echo
    echo "max_files_per_process: $(pg "$PG_ADMIN_URL" -tAc 'SHOW max_files_per_process'); relations in the tenant schemas: $(pg "$PG_BASE/tenantry_bench_schemas" -tAc "SELECT count(*) FROM pg_class WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname ~ '^t_s[0-9]{4}_')")"
    echo
  } >>"$OUT"
  measure_pg unnamed "$PG_BASE/tenantry_bench_schemas" prof_unnamed "s $n own"
  measure_pg "schema-pools-$SCHEMA_POOLS" "$PG_BASE/tenantry_bench_schemas" prof_pools "s $n own" --schema-pools "$SCHEMA_POOLS"
  measure_pg rows "$PG_BASE/tenantry_bench_rows" prof_rows "r $n shared"
}

# syscalls_sqlite NAME DIR FLAGS...: thread and file calls per request over all the tenants.
syscalls_sqlite() {
  local name="$1" dir="$2" n="$3"; shift 3
  start "sqlite://$dir/main.db" "$@"
  load 5s get d "$n" own 100 >/dev/null
  load "$DURATION" get d "$n" own 100 >"$P/$name.wrk" &
  local w=$!
  sleep 2
  count_syscalls "$P/$name.syscalls" "$SERVER" clone3 openat close unlink mmap munmap fcntl
  wait "$w"
  local rps; rps="$(awk '/^Requests\/sec/{ print $2 }' "$P/$name.wrk")"
  echo "- $name ($*): $(syscalls "$P/$name.syscalls" "$(awk -v r="$rps" 'BEGIN { printf "%d", r * 5 }')") ($rps req/s)" >>"$OUT"
  stop
}

part_databases() {
  [ -d "$WORK/sqlite" ] || die "no $WORK/sqlite: run bench/placements.sh first"
  local n; n="$(find "$WORK/sqlite" -name 't_d*.db' | wc -l)"
  local dir="$P/sqlite"
  rm -rf "$dir"; cp -a "$WORK/sqlite" "$dir"
  start "sqlite://$dir/main.db" --max-tenant-pools "$DB_CAP"
  load 5s get d "$n" own 100 >/dev/null
  load "$DURATION" get d "$n" own 100 >"$P/sqlite.wrk" &
  local w=$!
  sleep 2
  profile "$P/sqlite.data"
  wait "$w"
  local rps; rps="$(awk '/^Requests\/sec/{ print $2 }' "$P/sqlite.wrk")"
  local server="$SERVER"
  stop
  {
    echo "## Databases: $n SQLite tenant databases, cap of $DB_CAP pools, GET by id spread over all"
    echo
    echo "$(cut -d' ' -f1-3 /proc/loadavg) load, $rps req/s under perf; \`perf record -a -g -F 999 -- sleep 6\` in a ${DURATION} run, the samples of the tenantry process, $(date -u +%TZ):"
    echo
    split "$P/sqlite.data" "$server" "$(awk -v r="$rps" 'BEGIN { printf "%d", r * 6 }')" \
      "closing a connection (sqlite3_close)=sqlite3Close,sqlite3LeaveMutexAndCloseZombie" \
      "  the WAL's close (checkpoint, unmap and remove -wal and -shm)=sqlite3WalClose" \
      "    unmapping -shm=unixShmUnmap" \
      "    removing -wal and -shm=__GI___unlink,unlink,__x64_sys_unlink" \
      "opening a connection (sqlite3_open_v2)=openDatabase,sqlite3_open_v2" \
      "  connect pragmas (journal_mode, foreign_keys)=sqlite3Pragma" \
      "reading the schema=sqlite3InitOne,sqlite3ReadSchema" \
      "preparing statements=sqlite3Prepare,sqlite3LockAndPrepare" \
      "executing=sqlite3VdbeExec" \
      "a thread per connection (clone3, start, exit)=clone3,__x64_sys_exit,do_exit,__malloc_arena_thread_freeres" \
      "unmapping memory (munmap)=__munmap,__x64_sys_munmap"
    echo
    echo "system calls per request over all $n (\`perf record -a -e syscalls:sys_enter_...\`, 5 s, kept by process):"
    echo
  } >>"$OUT"
  syscalls_sqlite "cap-$DB_CAP" "$dir" "$n" --max-tenant-pools "$DB_CAP"
  syscalls_sqlite "cap-128" "$dir" "$n" --max-tenant-pools 128
  syscalls_sqlite "cap-$DB_CAP-truncate" "$dir" "$n" --max-tenant-pools "$DB_CAP" --tenant-journal-mode truncate
  echo >>"$OUT"
}

echo "# profile $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), git $(git -C "$ROOT" rev-parse --short HEAD)" >>"$OUT"
echo >>"$OUT"
for part in $PARTS; do
  case "$part" in
    schemas) part_schemas ;;
    databases) part_databases ;;
    *) die "unknown part $part (schemas databases)" ;;
  esac
done
cat "$OUT"
