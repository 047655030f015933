#!/usr/bin/env bash
# Rate-limit decisions per second on Redis (RedisStore, one EVALSHA of the GCRA script each) at
# concurrency 1, 16 and 64, against the round-trip ceiling: redis-benchmark running a trivial
# script (EVAL "return 1" 0) at the same concurrency, on the same Redis, in the same run.
#
#   bench/limits_redis.sh            # TENANTRY_BENCH_REDIS_URL, default redis://127.0.0.1:6379
#   N=200000 bench/limits_redis.sh   # requests per redis-benchmark run
#
# Loopback only; bounded (N requests per redis-benchmark run, criterion's fixed measurement
# time). Figures go to docs/PERFORMANCE.md, "Rate limits".
set -euo pipefail
cd "$(dirname "$0")/.."

url=${TENANTRY_BENCH_REDIS_URL:-redis://127.0.0.1:6379}
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

echo "== ceiling, before"
ceiling
echo "== tenantry RedisStore (criterion: redis/decide/cN) and the same client with a trivial script (redis/trivial/cN)"
cargo bench -q -p tenantry --features redis --bench limit -- redis --warm-up-time 2 --measurement-time 8 2>&1 |
  grep -E '^redis/|thrpt:' | grep -v '%'
echo "== ceiling, after"
ceiling
