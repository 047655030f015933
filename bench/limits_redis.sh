#!/usr/bin/env bash
# Rate-limit decisions per second on Redis (RedisStore, one EVALSHA of the GCRA script each) at
# concurrency 1, 16 and 64, against the round-trip ceiling: redis-benchmark running a trivial
# script (EVAL "return 1" 0) at the same concurrency, on the same Redis, in the same run.
#
# With PARTS=ab, the bench's `redis-ab` instead: RedisStore::decide and a trivial `EVALSHA`
# (`return 1`) through the same redis-rs client, alternating in rounds, at 1, 16 and 64 callers
# (the comparison docs/PERFORMANCE.md reports: decide / trivial, median of the rounds).
#
#   bench/limits_redis.sh            # TENANTRY_BENCH_REDIS_URL, default redis://127.0.0.1:6379
#   N=200000 bench/limits_redis.sh   # requests per redis-benchmark run
#   PARTS=ab OWN_REDIS_PORT=16417 bench/limits_redis.sh   # redis-ab on a Redis of its own
#
# Env: TENANTRY_BENCH_REDIS_URL, N (200000), PARTS ("ceiling criterion": redis-benchmark before
#      and after criterion's `redis` group; add or pick "ab" for redis-ab), OWN_REDIS_PORT (start
#      `redis-server --save "" --appendonly no` on that loopback port for the run, stopped on
#      exit, and measure against it), TENANTRY_BENCH_ROUNDS and TENANTRY_BENCH_CALLS (redis-ab's
#      rounds, 7, and calls per round, 100000), HEADLINE_OUT (a file: redis-ab's ratios are also
#      appended there as HEADLINE lines for bench/headline.sh).
#
# Loopback only; bounded (N requests per redis-benchmark run, criterion's fixed measurement
# time, redis-ab's fixed calls). Figures go to docs/PERFORMANCE.md, "Rate limits".
set -euo pipefail
cd "$(dirname "$0")/.."

parts=" ${PARTS:-ceiling criterion} "
tmp=$(mktemp -d)
redis_pid=""
trap '[ -n "$redis_pid" ] && { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; }; rm -rf "$tmp"' EXIT
if [ -n "${OWN_REDIS_PORT:-}" ]; then
  redis-server --port "$OWN_REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 50); do redis-cli -p "$OWN_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  TENANTRY_BENCH_REDIS_URL="redis://127.0.0.1:$OWN_REDIS_PORT"
  echo "redis-server of this run on 127.0.0.1:$OWN_REDIS_PORT (--save \"\" --appendonly no)"
fi
url=${TENANTRY_BENCH_REDIS_URL:-redis://127.0.0.1:6379}
export TENANTRY_BENCH_REDIS_URL="$url"
hostport=${url#redis://}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=6379
case "$host" in
  127.*|localhost) ;;
  *) echo "refusing to load a non-loopback Redis ($host)" >&2; exit 2 ;;
esac
n=${N:-200000}

redis-cli -h "$host" -p "$port" ping >/dev/null || {
  echo "no Redis at $host:$port; start one or set TENANTRY_BENCH_REDIS_URL" >&2
  exit 1
}
echo "redis: $(redis-server --version)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

ceiling() {
  for c in 1 16 64; do
    rps=$(redis-benchmark -h "$host" -p "$port" -c "$c" -n "$n" -q EVAL "return 1" 0 2>/dev/null |
      tr '\r' '\n' | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
    echo "redis-benchmark EVAL \"return 1\" 0  c=$c  n=$n: $rps requests/s"
  done
}

if [[ "$parts" == *" ceiling "* ]]; then
  echo "== ceiling, before"
  ceiling
fi
if [[ "$parts" == *" criterion "* ]]; then
  echo "== tenantry RedisStore (criterion: redis/decide/cN) and the same client with a trivial script (redis/trivial/cN)"
  cargo bench -q -p tenantry --features redis --bench limit -- redis --warm-up-time 2 --measurement-time 8 2>&1 |
    grep -E '^redis/|thrpt:' | grep -v '%'
fi
if [[ "$parts" == *" ab "* ]]; then
  echo "== tenantry RedisStore against the same client's trivial script, alternating (redis-ab)"
  cargo bench -q -p tenantry --features redis --bench limit -- redis-ab | tee "$tmp/ab.txt"
  # "redis-ab:  16 |  30.5  5.50  8.36 |  43.3  5.70  2.41 | 0.612": callers | decide k/s, client
  # and Redis µs per call | the same for trivial | decide / trivial.
  awk -F'|' '/^redis-ab: +[0-9]+ \|/ {
      split($1, c, " "); split($2, d, " "); split($3, t, " "); r = $4; gsub(/ /, "", r)
      printf "HEADLINE\tredis/c%s\t%s k/s\t%s k/s\t%s\tmedian of rounds; Redis CPU per call %s vs %s µs, client %s vs %s µs\n",
        c[2], d[1], t[1], r, d[3], t[3], d[2], t[2] }' "$tmp/ab.txt" >>"${HEADLINE_OUT:-/dev/null}"
fi
if [[ "$parts" == *" ceiling "* ]]; then
  echo "== ceiling, after"
  ceiling
fi
