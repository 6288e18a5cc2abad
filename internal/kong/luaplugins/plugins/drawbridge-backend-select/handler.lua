-- drawbridge-backend-select: for an HTTPRoute rule whose backendRefs carry
-- different filters. Kong runs route plugins before its balancer picks a
-- target, so a header filter cannot depend on the target Kong's balancer
-- would pick. This plugin picks the backendRef itself (by weight, see
-- picker.lua), points the request at that backendRef's own Kong upstream
-- (kong.service.set_upstream: Kong's balancer then picks one of its
-- endpoints and retries the others after a connection failure) and applies
-- that backendRef's RequestHeaderModifier, and in header_filter its
-- ResponseHeaderModifier.
local picker = require "kong.plugins.drawbridge-backend-select.picker"

local kong = kong
local ipairs = ipairs
local type = type
local setmetatable = setmetatable

local Handler = {
  -- After request-transformer (801), which carries the rule's own
  -- RequestHeaderModifier: a backendRef's filter is applied last, as the
  -- request leaves for that backend.
  PRIORITY = 799,
  VERSION = "1.0.0",
}

-- Picking state per plugin config table (one per Kong route); a new
-- configuration brings new tables and the old state is collected.
local states = setmetatable({}, { __mode = "k" })

local function state_for(conf)
  local s = states[conf]
  if not s then
    s = picker.new(conf.backends)
    states[conf] = s
  end
  return s
end

local EMPTY = {}

-- list is an optional array of the config: Kong stores an absent optional
-- field as ngx.null, which is truthy.
local function list(v)
  if type(v) ~= "table" then
    return EMPTY
  end
  return v
end

-- apply runs one header modifier through set/clear/add functions:
-- remove first, then set, then add, so a filter that sets and adds the
-- same name ends with both values.
local function apply(ops, set, add, clear)
  if type(ops) ~= "table" then
    return
  end
  for _, name in ipairs(list(ops.remove)) do
    clear(name)
  end
  for _, h in ipairs(list(ops.set)) do
    set(h.name, h.value)
  end
  for _, h in ipairs(list(ops.add)) do
    add(h.name, h.value)
  end
end

function Handler:access(conf)
  local b = picker.pick(state_for(conf))
  if not b then
    return
  end
  local ok, err = kong.service.set_upstream(b.upstream)
  if not ok then
    kong.log.err("drawbridge-backend-select: ", err)
    return kong.response.error(500)
  end
  local r = kong.service.request
  apply(b.request_headers, r.set_header, r.add_header, r.clear_header)
  kong.ctx.plugin.backend = b
end

function Handler:header_filter()
  local b = kong.ctx.plugin.backend
  if b then
    local r = kong.response
    apply(b.response_headers, r.set_header, r.add_header, r.clear_header)
  end
end

return Handler
