#!/usr/bin/env bash
# Instructions Redis executes per EVALSHA: the store's GCRA script (crates/tenantry/src/limit/
# store/redis.lua) against a script that only returns, and scripts doing one part of the GCRA's
# work each (TIME, GET, SET ... PX), so that the cost of every step is known. Counted by
# callgrind in a redis-server of its own (port PORT, no persistence), started and stopped here;
# the shared Redis is not touched. Unlike requests per second on a shared 2-core VM, the counts
# do not move with what else the machine is doing (docs/PERFORMANCE.md, "Rate limits").
#
#   bench/limits_redis_probe.sh              # N=20000 calls per script, pipelined 16 deep
#   BEFORE=8ba816d bench/limits_redis_probe.sh  # and the script as it was at a revision
#
# Env: N (20000), PORT (16411), OUT (/tmp/tenantry-redis-probe), BEFORE.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-20000}"
PORT="${PORT:-16411}"
OUT="${OUT:-/tmp/tenantry-redis-probe}"
die() { echo "limits_redis_probe: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install -y valgrind"
command -v redis-benchmark >/dev/null || die "redis-benchmark is missing: apt-get install -y redis-tools"
rm -rf "$OUT"; mkdir -p "$OUT"

valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p.out" \
  redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no >"$OUT/redis.log" 2>&1 &
VPID=$!
trap 'kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
redis-cli -p "$PORT" ping >/dev/null || die "redis-server did not start (see $OUT/redis.log)"

# probe NAME SCRIPT ARGS...: instructions per EVALSHA of SCRIPT with ARGS (numkeys, keys, argv).
probe() {
  local name="$1" script="$2"; shift 2
  local sha total file
  sha="$(redis-cli -p "$PORT" SCRIPT LOAD "$script")"
  redis-benchmark -p "$PORT" -c 1 -n 2000 -P 16 -r 10000 -q EVALSHA "$sha" "$@" >/dev/null 2>&1
  callgrind_control -z "$VPID" >/dev/null 2>&1
  redis-benchmark -p "$PORT" -c 1 -n "$N" -P 16 -r 10000 -q EVALSHA "$sha" "$@" >/dev/null 2>&1
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 0.5
  file="$(ls -t "$OUT"/cg.*.out.* | head -1)"
  total="$(sed -n 's/^summary: //p' "$file")"
  printf '| %s | %d |\n' "$name" "$((total / N))"
}

# A key of the store's shape, and the bench's quota: t = 1 µs, tau = 4e9 µs (never refuses).
KEY=(1 "tenantry:rl:api:t:tenant-__rand_int__")
GCRA="$(cat crates/tenantry/src/limit/store/redis.lua)"
echo "# $(date -u +%FT%TZ) $(redis-server --version | cut -d' ' -f1-3), valgrind $(valgrind --version | sed 's/valgrind-//'), $N calls each"
echo "| script (EVALSHA) | instructions per call |"
echo "|---|---:|"
probe 'return 1, no key, no argument (the ceiling)' 'return 1' 0
probe 'return 1, one key, two arguments' 'return 1' "${KEY[@]}" 1 4000000000
probe 'TIME' 'local t = redis.call("TIME") return 1' "${KEY[@]}" 1 4000000000
probe 'GET' 'local v = redis.call("GET", KEYS[1]) return 1' "${KEY[@]}" 1 4000000000
probe 'SET key value PX ms' 'redis.call("SET", KEYS[1], "1700000000000000", "PX", 100000) return 1' "${KEY[@]}" 1 4000000000
probe 'SET key value' 'redis.call("SET", KEYS[1], "1700000000000000") return 1' "${KEY[@]}" 1 4000000000
probe 'TIME, GET, SET ... PX (no arithmetic)' 'local t = redis.call("TIME") local v = redis.call("GET", KEYS[1]) redis.call("SET", KEYS[1], "1700000000000000", "PX", 100000) return 1' "${KEY[@]}" 1 4000000000
probe 'the GCRA script (redis.lua)' "$GCRA" "${KEY[@]}" 1 4000000000
# BEFORE=<git revision>: also the script as it was there (which took a third, empty argument).
if [ -n "${BEFORE:-}" ]; then
  probe "the GCRA script at $BEFORE" "$(git show "$BEFORE:crates/tenantry/src/limit/store/redis.lua")" \
    "${KEY[@]}" 1 4000000000 ""
fi
