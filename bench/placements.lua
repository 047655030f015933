-- wrk script of bench/placements.sh: GET one item or a 50-row page, each request for a tenant
-- picked at random among many, named by X-Tenant-Id (the demo runs with --trust-tenant-header).
--
--   wrk ... -s bench/placements.lua URL -- ROUTE PREFIX TENANTS IDS PER_TENANT
--
-- ROUTE       get (GET /api/v1/items/{id}) | list (GET /api/v1/items?limit=50) | post (POST
--             /api/v1/items, a new item with a SKU no other request uses)
-- PREFIX      tenant ids are PREFIX followed by a 4-digit number: PREFIX0001 .. PREFIX<TENANTS>
-- TENANTS     how many tenants the requests spread over (the first TENANTS of them)
-- IDS         shared: tenant k owns ids (k-1)*PER_TENANT+1 .. k*PER_TENANT (one shared table)
--             own: every tenant owns ids 1 .. PER_TENANT (a table of its own per tenant)
-- PER_TENANT  items each tenant owns
--
-- Each request picks a tenant at random, and for `get` one of that tenant's ids at random.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local route, per_tenant, shared
local heads = {}
local made, base = 0, 0

function init(args)
  route = args[1]
  local prefix, tenants = args[2], tonumber(args[3])
  shared = args[4] == "shared"
  per_tenant = tonumber(args[5])
  for k = 1, tenants do
    heads[k] = { ["X-Tenant-Id"] = string.format("%s%04d", prefix, k) }
    if route == "post" then heads[k]["Content-Type"] = "application/json" end
  end
  math.randomseed(os.time() * 100 + (tid or 0))
  base = math.random(1, 2000000000)
end

function request()
  local k = math.random(#heads)
  if route == "post" then
    made = made + 1
    return wrk.format("POST", "/api/v1/items", heads[k],
      string.format('{"name":"Posted","sku":"P-%d-%d-%d","price_cents":1}', tid or 0, base, made))
  elseif route == "get" then
    local id = math.random(per_tenant)
    if shared then
      id = id + (k - 1) * per_tenant
    end
    return wrk.format("GET", "/api/v1/items/" .. id, heads[k])
  else
    return wrk.format("GET", "/api/v1/items?limit=50", heads[k])
  end
end
