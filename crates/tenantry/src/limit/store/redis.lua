-- GCRA for one key: the decision of `limit/gcra.rs`, in integer microseconds on Redis's clock.
-- KEYS[1]  the key holding the theoretical arrival time (TAT)
-- ARGV[1]  emission interval t (µs)     ARGV[2]  tolerance tau = t * (burst - 1) (µs)
-- ARGV[3]  now (µs), only from tests with a fake clock; absent: the server's TIME
-- Returns one integer: reset_after (µs until the bucket is full again, > 0) when allowed, its
-- negation when refused. Retry-after (reset_after - tau) and the remaining count follow from it
-- (see `Decision::from_times`), so the reply is one integer to encode and parse.
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local time = redis.call("TIME")
  now = time[1] * 1000000 + time[2]
end
local tat = tonumber(redis.call("GET", KEYS[1])) or now
if tat < now then
  tat = now
end
if now < tat - ARGV[2] then
  return now - tat
end
tat = tat + ARGV[1]
-- The key expires when its bucket is full again: nothing is lost, nothing is left behind.
redis.call("SET", KEYS[1], string.format("%d", tat), "PX", math.ceil((tat - now) / 1000))
return tat - now
