-- drawbridge-retry retries a request when the backend answers with one of
-- the statuses an HTTPRoute rule lists in `retry.codes`, up to
-- `retry.attempts` retries, waiting a backoff before each, to another
-- endpoint when the rule has one, all within the rule's request timeout.
--
-- Kong 3.9 retries only after connection errors and timeouts (nginx's
-- proxy_next_upstream, `error timeout`, with the service's `retries` as the
-- budget), and nothing lets a plugin change that per request. What Kong
-- does have is buffered proxying: a plugin with a `response` handler makes
-- Kong send the request through ngx.location.capture("/kong_buffered_http")
-- (Kong.response in kong/init.lua) and hand the complete answer to the
-- plugin before anything reaches the client. This plugin is such a plugin:
-- when that first answer has a listed status, it sends the same request
-- again through the same location, so every retry goes through Kong's own
-- proxy path (headers, Host, upstream TLS, keepalive pools, Kong's balancer
-- and timeouts), and finally answers with the last attempt.
--
-- Costs and limits, all confined to routes that carry the plugin: their
-- responses are buffered whole in memory before the client gets a byte (no
-- streaming; Kong already buffers request bodies, which each attempt sends
-- again); WebSocket upgrades are not buffered by Kong and get only the
-- connection-error retries; response handlers of plugins that run after
-- this one are skipped for a retried request.
--
-- Connection errors and timeouts of the first attempt are retried by nginx
-- at once, as Kong always does (the service's `retries` is the rule's
-- `attempts`); when that first attempt still fails, Kong answers 502/504
-- itself without calling any plugin. Connection failures of later attempts
-- are the plugin's to retry, for methods that may be sent twice. Every
-- retry, whatever its cause, counts against the same `attempts`.

local policy = require "kong.plugins.drawbridge-retry.policy"
local balancer = require "kong.runloop.balancer"
local error_handlers = require "kong.error_handlers"
local PHASES = require("kong.pdk.private.phases").phases

local ngx = ngx
local kong = kong
local pairs = pairs
local ipairs = ipairs
local setmetatable = setmetatable
local random = math.random

local Retry = {
  -- Runs before most plugins so that, in the response phase, plugins
  -- after it never see an attempt that is about to be replaced.
  PRIORITY = 800,
  VERSION = "1.0.0",
}

-- What Kong.response passes to ngx.location.capture for each method.
local HTTP_METHODS = {
  GET = ngx.HTTP_GET, HEAD = ngx.HTTP_HEAD, PUT = ngx.HTTP_PUT,
  POST = ngx.HTTP_POST, DELETE = ngx.HTTP_DELETE, OPTIONS = ngx.HTTP_OPTIONS,
  MKCOL = ngx.HTTP_MKCOL, COPY = ngx.HTTP_COPY, MOVE = ngx.HTTP_MOVE,
  PROPFIND = ngx.HTTP_PROPFIND, PROPPATCH = ngx.HTTP_PROPPATCH,
  LOCK = ngx.HTTP_LOCK, UNLOCK = ngx.HTTP_UNLOCK, PATCH = ngx.HTTP_PATCH,
  TRACE = ngx.HTTP_TRACE,
}

-- Lookup tables of codes, one per configuration table (Kong reuses a
-- plugin's conf table until the configuration changes).
local code_sets = setmetatable({}, { __mode = "k" })

local function codes_of(conf)
  local set = code_sets[conf]
  if not set then
    set = policy.code_set(conf.codes)
    code_sets[conf] = set
  end
  return set
end

-- left_ms is the time left before the deadline (ms), nil without one.
local function left_ms(deadline)
  if not deadline then
    return nil
  end
  ngx.update_time()
  return (deadline - ngx.now()) * 1000
end

local TIMEOUTS = { "connect_timeout", "send_timeout", "read_timeout" }

-- With a request timeout, the first attempt's timeouts are computed each
-- time Kong's balancer reads them (Kong.balancer, once per nginx try), so a
-- try that nginx starts after a connection error or a timeout gets only
-- what is left of the deadline instead of the service's whole timeout.
function Retry:access(conf)
  if conf.request_timeout_ms <= 0 then
    return
  end
  local ctx = ngx.ctx
  local deadline = ngx.req.start_time() + conf.request_timeout_ms / 1000
  local bd = ctx.balancer_data
  local service = {}
  for _, k in ipairs(TIMEOUTS) do
    service[k] = bd[k]
    bd[k] = nil
  end
  ctx.drawbridge_retry = { deadline = deadline, timeouts = service }
  setmetatable(bd, { __index = function(_, k)
    local v = service[k]
    if v then
      return policy.attempt_timeout(v, left_ms(deadline))
    end
  end })
end

-- address_count bounds how many picks find an endpoint not tried yet.
local function address_count(bd)
  local b = bd.balancer
  local n = 0
  if b and b.targets then
    for _, t in ipairs(b.targets) do
      n = n + #(t.addresses or {})
    end
  end
  if n < 1 then
    return 1
  end
  return n < 16 and n or 16
end

-- pick moves the balancer to the next endpoint, preferring one this request
-- has not tried, and sets the Host header that endpoint needs (unless the
-- route preserves the client's).
local function pick(bd, ctx, tried)
  for _ = 1, address_count(bd) do
    local ok, err, code = balancer.execute(bd, ctx)
    if not ok then
      return nil, err, code
    end
    if not tried[bd.ip .. ":" .. bd.port] then
      break
    end
  end
  return balancer.set_host_header(bd, ngx.var.upstream_scheme, ngx.var.upstream_host)
end

-- attempt sends the request once more through Kong's buffered proxy
-- location. Kong's balancer then sees a first try (try_count 0) to the
-- endpoint `pick` chose, with no nginx retries of its own; the tries it
-- records are appended to the request's list for Kong's log.
local function attempt(ctx, bd, method, timeouts, deadline)
  local left = left_ms(deadline)
  for _, k in ipairs(TIMEOUTS) do
    bd[k] = policy.attempt_timeout(timeouts[k], left)
  end
  local tries = bd.tries
  bd.tries = setmetatable({}, getmetatable(tries))
  bd.try_count = 0
  bd.retries = 0
  -- Kong's error handler, when it answers a failed subrequest, marks the
  -- shared ctx as if the whole request had failed; keep what it changes.
  local saved_unexpected, saved_exited = ctx.KONG_UNEXPECTED, ctx.KONG_EXITED
  ctx.buffered_proxying = true
  -- Looked up here: Kong also loads plugins into its stream subsystem,
  -- whose ngx has no `location`.
  local res = ngx.location.capture("/kong_buffered_http", {
    method = HTTP_METHODS[method],
    always_forward_body = true,
    share_all_vars = true,
    ctx = ctx,
  })
  ctx.KONG_PHASE = PHASES.response
  ctx.KONG_UNEXPECTED, ctx.KONG_EXITED = saved_unexpected, saved_exited
  ctx.buffered_proxying = true
  for _, t in ipairs(bd.tries) do
    tries[#tries + 1] = t
  end
  bd.tries = tries
  bd.try_count = #tries
  return res
end

-- clear_headers removes the first attempt's response headers that the
-- final answer does not carry (Kong.response set them before the plugins
-- ran).
local function clear_headers(first, final)
  for name in pairs(first or {}) do
    if final == nil or final[name] == nil then
      ngx.header[name] = nil
    end
  end
end

function Retry:response(conf)
  local ctx = ngx.ctx
  local method = ngx.req.get_method()
  local codes = codes_of(conf)
  -- The common case: the first answer is final and Kong sends it.
  if not codes[ctx.buffered_status] then
    return
  end

  local bd = ctx.balancer_data
  local state = ctx.drawbridge_retry
  local deadline, timeouts
  if state then
    deadline, timeouts = state.deadline, {}
    for _, k in ipairs(TIMEOUTS) do
      -- a plugin that ran after this one may have set its own
      timeouts[k] = rawget(bd, k) or state.timeouts[k]
    end
    setmetatable(bd, nil)
  else
    timeouts = {}
    for _, k in ipairs(TIMEOUTS) do
      timeouts[k] = bd[k]
    end
  end

  local tried = {}
  for _, t in ipairs(bd.tries) do
    if t.ip then
      tried[t.ip .. ":" .. t.port] = true
    end
  end
  -- nginx's own retries of the first attempt (connection errors) count.
  local used = bd.try_count - 1
  local first_headers = ctx.buffered_headers
  local res, failed
  local n = 0
  while used < conf.attempts do
    n = n + 1
    local delay = policy.backoff_ms(conf.backoff_ms, n, random())
    if not policy.may_wait(delay, left_ms(deadline)) then
      break
    end
    if delay > 0 then
      ngx.sleep(delay / 1000)
    end
    local ok, err, code = pick(bd, ctx, tried)
    if not ok then
      kong.log.err("cannot choose an endpoint for a retry: ", err)
      clear_headers(first_headers, nil)
      return kong.response.error(code or 500)
    end
    res = attempt(ctx, bd, method, timeouts, deadline)
    used = used + 1
    tried[bd.ip .. ":" .. bd.port] = true
    -- Kong ignores truncation for HEAD, whose answers have no body.
    failed = res.truncated and method ~= "HEAD"
    if not policy.retriable(res.status, failed, method, codes) then
      break
    end
  end

  if not res then
    return
  end
  clear_headers(first_headers, not failed and res.header or nil)
  if failed then
    -- What Kong answers when its own attempt fails (Kong.response).
    ctx.KONG_PHASE = PHASES.error
    ngx.status = res.status or 502
    return error_handlers(ctx)
  end
  ctx.buffered_status = res.status
  ctx.buffered_headers = res.header
  ctx.buffered_body = res.body
  kong.response.set_status(res.status)
  kong.response.set_headers(res.header)
  ngx.print(res.body)
  return ngx.exit(res.status)
end

return Retry
