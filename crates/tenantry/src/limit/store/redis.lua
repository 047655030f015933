-- GCRA for one key: the decision of `limit/gcra.rs`, in integer microseconds on Redis's clock.
-- KEYS[1]  the key holding the theoretical arrival time (TAT)
-- ARGV[1]  emission interval t (µs)     ARGV[2]  tolerance tau = t * (burst - 1) (µs)
-- ARGV[3]  now (µs) for tests with a fake clock, or "" for the server's TIME
-- Returns one integer: reset_after (µs until the bucket is full again, > 0) when allowed, its
-- negation when refused. Retry-after (reset_after - tau) and the remaining count follow from it
-- (see `Decision::from_times`), so the reply is one integer to encode and parse.
local t = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local now
if ARGV[3] == "" then
  local time = redis.call("TIME")
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[3])
end
local tat = now
local stored = redis.call("GET", KEYS[1])
if stored then
  tat = math.max(tonumber(stored), now)
end
local earliest = tat - tau
if now < earliest then
  return now - tat
end
local new_tat = tat + t
-- The key expires when its bucket is full again: nothing is lost, nothing is left behind.
redis.call("SET", KEYS[1], string.format("%d", new_tat), "PX", math.ceil((new_tat - now) / 1000))
return new_tat - now
