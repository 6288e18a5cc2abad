-- drawbridge-cors: the HTTPRoute CORS filter (Gateway API v1.7.0
-- HTTPCORSFilter). A preflight (OPTIONS with Origin and
-- Access-Control-Request-Method) is answered here with 204, and never
-- reaches the backend; any other request with an allowed Origin is proxied
-- and its response gets Access-Control-Allow-Origin, -Allow-Credentials and
-- -Expose-Headers. See policy.lua for what each field means.
local policy = require "kong.plugins.drawbridge-cors.policy"

local kong = kong
local setmetatable = setmetatable
local type = type
local pairs = pairs

local Handler = {
  -- Where Kong's own cors plugin runs: before authentication plugins, so
  -- a browser's preflight (which carries no credentials) is answered.
  PRIORITY = 2000,
  VERSION = "1.0.0",
}

-- Compiled policies per plugin config table. Kong builds new config
-- tables when the configuration changes, so the old entries are collected.
local compiled = setmetatable({}, { __mode = "k" })

local function get_policy(conf)
  local p = compiled[conf]
  if p == nil then
    local err
    p, err = policy.compile(conf)
    if not p then
      -- The schema runs the same checks, so this cannot happen with a
      -- config Kong accepted; allow no origin rather than fail open.
      kong.log.err("drawbridge-cors: invalid config: ", err)
      p = false
    end
    compiled[conf] = p
  end
  return p or nil
end

local NO_ORIGIN = { Vary = "Origin" }

function Handler:access(conf)
  if kong.request.get_method() ~= "OPTIONS" then
    return
  end
  local origin = kong.request.get_header("Origin")
  local method = kong.request.get_header("Access-Control-Request-Method")
  if not origin or not method then
    return
  end
  kong.ctx.plugin.preflight = true
  local p = get_policy(conf)
  if not p or not policy.allowed(p, origin) then
    -- The spec lets the gateway answer OK without CORS headers: the
    -- browser then refuses the actual request.
    return kong.response.exit(204, nil, NO_ORIGIN)
  end
  return kong.response.exit(204, nil,
    policy.preflight(p, origin, method, kong.request.get_header("Access-Control-Request-Headers")))
end

function Handler:header_filter(conf)
  if kong.ctx.plugin.preflight then
    return
  end
  -- Whether CORS headers are sent depends on the Origin, so caches must
  -- key on it, also for requests without one.
  if not policy.has_token(kong.response.get_header("Vary"), "Origin") then
    kong.response.add_header("Vary", "Origin")
  end
  local origin = kong.request.get_header("Origin")
  if not origin then
    return
  end
  local p = get_policy(conf)
  if not p or not policy.allowed(p, origin) then
    return
  end
  kong.response.set_header("Access-Control-Allow-Origin", origin)
  if p.credentials then
    kong.response.set_header("Access-Control-Allow-Credentials", "true")
  end
  local names
  if p.expose_all then
    names = {}
    for name in pairs(kong.response.get_headers()) do
      if type(name) == "string" then
        names[#names + 1] = name
      end
    end
  end
  local expose = policy.expose_headers(p, names)
  if expose then
    kong.response.set_header("Access-Control-Expose-Headers", expose)
  end
end

return Handler
