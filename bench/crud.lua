-- wrk script of bench/crud.sh: one route of the items API, for one tenant per request.
--
--   wrk ... -s bench/crud.lua URL -- ROUTE PREFIX AUTH TENANTS PER_TENANT NONCE BODY [TOKENS_FILE] [CURSORS_FILE]
--
-- ROUTE       get | list | post, or (tenantry only; issue 16, item 3):
--             list-none         ?limit=50&count=none (no total)
--             page1             ?limit=10&count=none
--             page1000-offset   ?limit=10&offset=9990&count=none (the 1,000th page of 10)
--             page1000-cursor   ?limit=10&after=C&count=none, C the tenant's cursor after row
--                               9,990 (the same rows as page1000-offset)
-- PREFIX      /api/v1/items (tenantry, plain_items) or /_sql/items (svc-infra)
-- AUTH        header (X-Tenant-Id: T) | token (Authorization: Bearer <token of T>)
-- TENANTS     comma-separated tenant ids; tenant k owns ids k*PER_TENANT+1 .. (k+1)*PER_TENANT
-- NONCE       makes POSTed skus unique across runs
-- BODY        full ({"name","sku","price_cents"}) | name ({"name"}: the svc-infra table)
-- TOKENS_FILE one token per line, in TENANTS order (AUTH=token)
-- CURSORS_FILE one cursor per line, in TENANTS order (page1000-cursor)
--
-- Each request picks a tenant at random, and for `get` one of that tenant's ids at random.
-- POSTed skus are NONCE-THREAD-COUNTER: a per-thread counter, so no two requests collide.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local route, prefix, auth, tenants, per_tenant, nonce, body_kind
local heads = {}
local cursors = {}
local counter = 0

local function split(s)
  local out = {}
  for part in string.gmatch(s, "[^,]+") do
    out[#out + 1] = part
  end
  return out
end

function init(args)
  route, prefix, auth = args[1], args[2], args[3]
  tenants = split(args[4])
  per_tenant = tonumber(args[5])
  nonce, body_kind = args[6], args[7]
  local tokens = {}
  if auth == "token" then
    for line in io.lines(args[8]) do
      tokens[#tokens + 1] = line
    end
  end
  if route == "page1000-cursor" then
    for line in io.lines(args[9]) do
      cursors[#cursors + 1] = line
    end
  end
  for k, t in ipairs(tenants) do
    local h = {}
    if auth == "token" then
      h["Authorization"] = "Bearer " .. tokens[k]
    else
      h["X-Tenant-Id"] = t
    end
    if route == "post" then
      h["Content-Type"] = "application/json"
    end
    heads[k] = h
  end
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local k = math.random(#tenants)
  if route == "get" then
    local id = (k - 1) * per_tenant + math.random(per_tenant)
    return wrk.format("GET", prefix .. "/" .. id, heads[k])
  elseif route == "list" then
    return wrk.format("GET", prefix .. "?limit=50", heads[k])
  elseif route == "list-none" then
    return wrk.format("GET", prefix .. "?limit=50&count=none", heads[k])
  elseif route == "page1" then
    return wrk.format("GET", prefix .. "?limit=10&count=none", heads[k])
  elseif route == "page1000-offset" then
    return wrk.format("GET", prefix .. "?limit=10&offset=9990&count=none", heads[k])
  elseif route == "page1000-cursor" then
    return wrk.format("GET", prefix .. "?limit=10&count=none&after=" .. cursors[k], heads[k])
  else
    counter = counter + 1
    local sku = nonce .. "-" .. (tid or 0) .. "-" .. counter
    local body
    if body_kind == "name" then
      body = '{"name":"Bench ' .. sku .. '"}'
    else
      body = '{"name":"Bench ' .. sku .. '","sku":"' .. sku .. '","price_cents":1234}'
    end
    return wrk.format("POST", prefix, heads[k], body)
  end
end
