-- GCRA for several decisions in one call: `redis.lua`'s decision for each key in turn, on one
-- reading of the server's clock, with one MGET for every key and one reply for the batch.
-- KEYS[i]  the key of decision i (a key may come more than once: each sees the one before)
-- ARGV[1]  2, or 3 when each decision carries its own `now` (tests with a fake clock)
-- then per decision: emission interval t (µs), tolerance tau (µs)[, now (µs)]
-- Returns an array: per decision, reset_after (µs) when allowed, its negation when refused.
local stride = tonumber(ARGV[1])
local now
if stride == 2 then
  local time = redis.call("TIME")
  now = time[1] * 1000000 + time[2]
end
local stored = redis.call("MGET", unpack(KEYS))
local seen = {}
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local at = 1 + (i - 1) * stride
  if stride == 3 then
    now = tonumber(ARGV[at + 3])
  end
  local tat = seen[key] or tonumber(stored[i]) or now
  if tat < now then
    tat = now
  end
  if now < tat - ARGV[at + 2] then
    out[i] = now - tat
  else
    tat = tat + ARGV[at + 1]
    redis.call("SET", key, string.format("%d", tat), "PX", math.ceil((tat - now) / 1000))
    out[i] = tat - now
  end
  seen[key] = tat
end
return out
