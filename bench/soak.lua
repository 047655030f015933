-- wrk script of bench/soak.sh: the demo's items API as a tenant's clients use it.
--
--   wrk ... -s bench/soak.lua URL -- TOKEN NONCE MIN_ID MAX_ID
--
-- Eight requests in ten read one of acme's items by id (GET /api/v1/items/{id}, an id between
-- MIN_ID and MAX_ID at random), one in ten lists a page (GET /api/v1/items?limit=10, with its
-- count over all of acme's items), one in ten creates an item (POST /api/v1/items, sku
-- NONCE-THREAD-COUNTER, so no two collide). Every request carries
-- `Authorization: Bearer TOKEN` (read by tenantry) and `X-Tenant-Id: acme` (the tenant the
-- token names; the plain axum + sqlx service reads only this).
--
-- At the end each thread reports its non-2xx answers by status on stderr, so that a 503 is
-- told apart from a 409.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local token, nonce, min_id, max_id
local counter = 0
-- Global, so that `done` can read each thread's table.
statuses = {}

function init(args)
  token, nonce = args[1], args[2]
  min_id, max_id = tonumber(args[3]), tonumber(args[4])
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. token, ["X-Tenant-Id"] = "acme" }
  if counter % 10 == 0 then
    headers["Content-Type"] = "application/json"
    local body = string.format('{"name":"soak","sku":"%s-%d-%d","price_cents":%d}',
      nonce, tid or 0, counter, counter % 100000)
    return wrk.format("POST", "/api/v1/items", headers, body)
  elseif counter % 10 == 5 then
    return wrk.format("GET", "/api/v1/items?limit=10", headers)
  end
  return wrk.format("GET", "/api/v1/items/" .. math.random(min_id, max_id), headers)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local bad = t:get("statuses")
    for status, n in pairs(bad or {}) do
      io.stderr:write(string.format("non-2xx %d: %d\n", status, n))
    end
  end
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
