-- drawbridge-mirror: the Gateway API RequestMirror filter. A copy of each
-- sampled request (method, path and query, headers and body as Kong sends
-- them upstream after the rule's other filters) goes to one endpoint of
-- each mirror backend, and the mirror's answer is read and thrown away.
--
-- The copy must not delay the client. A light thread (ngx.thread.spawn)
-- would: OpenResty ends a phase handler only when its light threads have
-- ended. So the access handler only takes the copy, then hands it to a
-- zero-delay timer, which lives apart from the request and sends it with
-- lua-resty-http while Kong proxies the original. Every copy is bounded: a
-- worker keeps at most max_in_flight copies in flight and drops the rest,
-- and a body over
-- max_body_bytes is not copied (the request is not mirrored at all, since a
-- copy without its body would be another request). Drops and failures are
-- counted and logged at most every 10 seconds per worker.

local copy = require "kong.plugins.drawbridge-mirror.copy"
local http = require "resty.http"

local ngx = ngx
local kong = kong
-- Kong replaces ngx.timer.at with lua-resty-timer-ng (kong/globalpatches.lua)
-- and keeps OpenResty's own as _G.native_timer_at. timer-ng suits Kong's
-- periodic jobs, but waking its scheduler for every copy added about 2 ms
-- to the client's p50 on the lab's Kong (TestMirrorLatency), against
-- 0.1-0.4 ms with the native timer, so copies use the native one. Its
-- limits (lua_max_pending_timers 16384, lua_max_running_timers 4096 in
-- Kong's template) are far above max_in_flight.
local timer_at = _G.native_timer_at or ngx.timer.at
local random = math.random
local pcall = pcall
local ipairs = ipairs
local tostring = tostring
local io_open = io.open
local ngx_var = ngx.var
local ngx_req = ngx.req
local ngx_log = ngx.log
local WARN = ngx.WARN

-- A mirror's answer is read and dropped so its connection can be kept
-- alive; an answer longer than this is cut by closing the connection.
local DRAIN_LIMIT = 1024 * 1024
local KEEPALIVE_MS = 60000
local KEEPALIVE_POOL = 32

local state = copy.new_state(10)

local function report()
  local line = copy.report(state, ngx.now())
  if line then
    ngx_log(WARN, "[drawbridge-mirror] ", line)
  end
end

-- read_file reads a request body nginx buffered to a temporary file
-- (larger than client_body_buffer_size), if it is within limit.
local function read_file(path, limit)
  local f, err = io_open(path, "rb")
  if not f then
    return nil, "open buffered body: " .. tostring(err)
  end
  local size = f:seek("end")
  if size and size > limit then
    f:close()
    return nil, nil, true
  end
  f:seek("set", 0)
  local data = f:read("*a")
  f:close()
  return data
end

-- read_body returns the body to copy (nil for none), or too_large.
local function read_body(limit)
  local plan = copy.body_plan(ngx_var.http_content_length, ngx_var.http_transfer_encoding,
                              ngx_req.http_version(), limit)
  if plan ~= "read" then
    return nil, plan == "too_large"
  end
  ngx_req.read_body()
  local data = ngx_req.get_body_data()
  if data then
    if #data > limit then
      return nil, true
    end
    return data
  end
  local file = ngx_req.get_body_file()
  if not file then
    return nil
  end
  local body, err, too_large = read_file(file, limit)
  if too_large then
    return nil, true
  end
  if err then
    copy.count(state, "failed", err)
  end
  return body
end

-- deliver sends one copy and drains the answer.
local function deliver(req, mirror, timeout)
  local endpoints = mirror.endpoints
  local host, port = copy.split_endpoint(endpoints[random(#endpoints)])
  if not host then
    return nil, "mirror " .. mirror.name .. ": unusable endpoint"
  end
  if not copy.is_ip(host) then
    -- ExternalName Services: Kong's own resolver, as for upstream targets.
    local ip, p_or_err = kong.dns.toip(host, port)
    if not ip then
      return nil, "mirror " .. mirror.name .. ": resolve " .. host .. ": " .. tostring(p_or_err)
    end
    host, port = ip, p_or_err
  end
  local c = http.new()
  c:set_timeouts(timeout, timeout, timeout)
  local ok, err = c:connect({ scheme = "http", host = host, port = port })
  if not ok then
    return nil, "mirror " .. mirror.name .. ": connect " .. host .. ":" .. port .. ": " .. tostring(err)
  end
  -- send_request keeps its own header table and sets a metatable on the
  -- params, so each copy gets fresh params; the shared req is read-only.
  local params = { method = req.method, path = req.target, headers = req.headers, body = req.body }
  ok, err = c:send_request(params)
  if not ok then
    c:close()
    return nil, "mirror " .. mirror.name .. ": send: " .. tostring(err)
  end
  local res
  res, err = c:read_response(params)
  if not res then
    c:close()
    return nil, "mirror " .. mirror.name .. ": read answer: " .. tostring(err)
  end
  local reader = res.has_body and res.body_reader
  local drained = 0
  while reader do
    local chunk
    chunk, err = reader(65536)
    if err then
      c:close()
      return true -- the copy was delivered; only its answer was cut short
    end
    if not chunk then
      break
    end
    drained = drained + #chunk
    if drained > DRAIN_LIMIT then
      c:close()
      return true
    end
  end
  c:set_keepalive(KEEPALIVE_MS, KEEPALIVE_POOL)
  return true
end

local function send(premature, req, mirror, timeout)
  if not premature then
    local ok, delivered, err = pcall(deliver, req, mirror, timeout)
    if ok and delivered then
      copy.count(state, "sent")
    else
      copy.count(state, "failed", ok and err or tostring(delivered))
    end
  end
  state.in_flight = state.in_flight - 1
  report()
end

local Mirror = {
  -- After request-transformer (801), which carries the rule's header
  -- modifiers and URLRewrite, so the copy is the request as the rule sends
  -- it; before drawbridge-backend-select (799), whose header modifiers
  -- belong to one backendRef, not to the mirror; before redirect (779) and
  -- request-termination (2), so a rule that answers by itself still
  -- mirrors. response-transformer shares 800 but has no access handler.
  PRIORITY = 800,
  VERSION = "1.0.0",
}

function Mirror:access(conf)
  local picked = copy.pick(conf.mirrors, random)
  if not picked then
    return
  end
  if ngx_var.http_upgrade then
    -- A protocol switch (WebSocket) cannot be replayed to a second backend.
    copy.count(state, "upgrade")
    return report()
  end
  local free = conf.max_in_flight - state.in_flight
  if free <= 0 then
    for _ = 1, #picked do
      copy.count(state, "busy")
    end
    return report()
  end
  local body, too_large = read_body(conf.max_body_bytes)
  if too_large then
    for _ = 1, #picked do
      copy.count(state, "body_too_large")
    end
    return report()
  end
  local host = ngx_var.upstream_host
  if host == nil or host == "" then
    host = ngx_var.http_host
  end
  local req = {
    method = ngx_req.get_method(),
    target = copy.request_target(ngx_var.upstream_uri, ngx_var.args, ngx_var.request_uri),
    headers = copy.copy_headers(ngx_req.get_headers(0, true), {
      ["Host"] = host,
      ["X-Forwarded-For"] = ngx_var.upstream_x_forwarded_for,
      ["X-Forwarded-Proto"] = ngx_var.upstream_x_forwarded_proto,
      ["X-Forwarded-Host"] = ngx_var.upstream_x_forwarded_host,
      ["X-Forwarded-Port"] = ngx_var.upstream_x_forwarded_port,
      ["X-Forwarded-Path"] = ngx_var.upstream_x_forwarded_path,
      ["X-Forwarded-Prefix"] = ngx_var.upstream_x_forwarded_prefix,
      ["X-Real-IP"] = ngx_var.remote_addr,
      ["Via"] = ngx_var.upstream_via,
    }),
    body = body,
  }
  for _, m in ipairs(picked) do
    if #m.endpoints == 0 then
      copy.count(state, "no_endpoint")
    elseif free <= 0 then
      copy.count(state, "busy")
    else
      local ok, err = timer_at(0, send, req, m, conf.timeout)
      if ok then
        state.in_flight = state.in_flight + 1
        free = free - 1
      else
        copy.count(state, "timer", err)
      end
    end
  end
  report()
end

return Mirror
