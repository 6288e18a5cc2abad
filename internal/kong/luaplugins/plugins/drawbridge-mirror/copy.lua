-- The pure parts of drawbridge-mirror: which mirrors a request goes to,
-- what its copy carries, where a copy is sent, and the per-worker
-- accounting of copies in flight and copies dropped. Nothing here touches
-- ngx.req or sockets, so copy_test.lua runs it under plain `resty`.

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local lower = string.lower
local find = string.find
local sub = string.sub
local byte = string.byte
local gmatch = string.gmatch

local _M = {}

-- sampled says whether one request is copied to a mirror that takes
-- numerator out of every denominator requests. rand(n) returns an integer
-- in 1..n (math.random), so each request is drawn independently: the
-- Gateway API asks for a share of requests, and independent draws are what
-- the conformance test's binomial tolerance assumes.
function _M.sampled(numerator, denominator, rand)
  if numerator <= 0 then
    return false
  end
  if numerator >= denominator then
    return true
  end
  return rand(denominator) <= numerator
end

-- pick returns the mirrors this request is copied to, or nil for none (the
-- common case with a percentage, which then costs one random draw).
function _M.pick(mirrors, rand)
  local out
  for _, m in ipairs(mirrors) do
    if _M.sampled(m.numerator, m.denominator, rand) then
      out = out or {}
      out[#out + 1] = m
    end
  end
  return out
end

-- split_endpoint parses "host:port", "[v6]:port" or "v4:port" into a host
-- (without brackets) and a port number; nil when it cannot.
function _M.split_endpoint(ep)
  if type(ep) ~= "string" then
    return nil
  end
  local host, port
  if byte(ep, 1) == 91 then -- "["
    local close = find(ep, "]", 1, true)
    if not close or byte(ep, close + 1) ~= 58 then -- ":"
      return nil
    end
    host, port = sub(ep, 2, close - 1), sub(ep, close + 2)
  else
    local colon = find(ep, ":", 1, true)
    if not colon or find(ep, ":", colon + 1, true) then
      return nil
    end
    host, port = sub(ep, 1, colon - 1), sub(ep, colon + 1)
  end
  port = tonumber(port)
  if host == "" or not port or port < 1 or port > 65535 or port % 1 ~= 0 then
    return nil
  end
  return host, port
end

-- is_ip tells an IPv4 or IPv6 literal from a DNS name (an ExternalName
-- Service), which must be resolved before connecting.
function _M.is_ip(host)
  if find(host, ":", 1, true) then
    return true
  end
  return find(host, "^%d+%.%d+%.%d+%.%d+$") ~= nil
end

-- request_target is the path and query the copy is sent with: the ones
-- Kong sends upstream after the rule's filters (request-transformer sets
-- $upstream_uri, the query lives in $args). Kong appends "?" and the query
-- in its access "after" step, after the plugins ran, with the same test
-- (kong/runloop/handler.lua, access.after), which is repeated here.
function _M.request_target(upstream_uri, args, request_uri)
  if upstream_uri == nil or upstream_uri == "" then
    upstream_uri = "/"
  end
  if (args ~= nil and args ~= "") or (request_uri and byte(request_uri, -1) == 63) then -- "?"
    return upstream_uri .. "?" .. (args or "")
  end
  return upstream_uri
end

-- Headers that describe one hop, not the request; a proxy never forwards
-- them (RFC 9110 7.6.1). Content-Length is recomputed from the copied body,
-- and Expect was answered by nginx already.
local hop_by_hop = {
  ["connection"] = true,
  ["keep-alive"] = true,
  ["proxy-connection"] = true,
  ["proxy-authenticate"] = true,
  ["te"] = true,
  ["trailer"] = true,
  ["transfer-encoding"] = true,
  ["upgrade"] = true,
  ["content-length"] = true,
  ["expect"] = true,
  ["host"] = true,
}

-- connection_tokens lists the header names a Connection header declares
-- hop-by-hop.
local function connection_tokens(value, out)
  if type(value) == "table" then
    for _, v in ipairs(value) do
      connection_tokens(v, out)
    end
    return out
  end
  if type(value) == "string" then
    for token in gmatch(value, "[^,%s]+") do
      out[lower(token)] = true
    end
  end
  return out
end

-- copy_headers builds the copy's headers from the request headers as they
-- stand after the rule's filters (ngx.req.get_headers(0, true): original
-- names, a table for a repeated header), without hop-by-hop headers, then
-- sets the ones nginx's proxy_set_header gives the backend (Host,
-- X-Forwarded-*, X-Real-IP, Via): forced is a map of canonical name to
-- value, "" or nil meaning "not sent".
function _M.copy_headers(headers, forced)
  local out = {}
  local drop = {}
  for name, value in pairs(headers) do
    if lower(name) == "connection" then
      connection_tokens(value, drop)
    end
  end
  local forced_lower = {}
  for name in pairs(forced) do
    forced_lower[lower(name)] = true
  end
  for name, value in pairs(headers) do
    local l = lower(name)
    if not hop_by_hop[l] and not drop[l] and not forced_lower[l] then
      out[name] = value
    end
  end
  for name, value in pairs(forced) do
    if value ~= nil and value ~= "" then
      out[name] = value
    end
  end
  return out
end

-- body_plan decides, before any byte of the body is read, what to do with
-- it: "none" (the request has no body), "read", or "too_large" when its
-- declared length is over the limit. A body without a declared length
-- (chunked, or HTTP/2 without content-length) is read and measured.
function _M.body_plan(content_length, transfer_encoding, http_version, limit)
  if content_length ~= nil then
    local n = tonumber(content_length)
    if n == nil or n < 0 then
      return "too_large" -- nginx refuses these; never copy what cannot be measured
    end
    if n == 0 then
      return "none"
    end
    if n > limit then
      return "too_large"
    end
    return "read"
  end
  if transfer_encoding ~= nil or (http_version and http_version >= 2) then
    return "read"
  end
  return "none"
end

-- new_state is one worker's accounting: copies in flight (bounded by the
-- plugin's max_in_flight), and counts of what happened since the last
-- report, which is logged at most once per report_interval seconds.
function _M.new_state(report_interval)
  return {
    in_flight = 0,
    report_interval = report_interval or 10,
    last_report = nil,
    counts = {},
    last_error = nil,
  }
end

-- The outcomes counted and reported, in report order.
_M.outcomes = { "sent", "failed", "busy", "body_too_large", "no_endpoint", "upgrade", "timer" }

function _M.count(state, outcome, err)
  state.counts[outcome] = (state.counts[outcome] or 0) + 1
  if err then
    state.last_error = err
  end
end

-- report returns a log line when something other than successful copies
-- happened and report_interval has passed since the last report, and then
-- starts counting afresh; otherwise nil.
function _M.report(state, now)
  local c = state.counts
  local trouble = false
  for _, k in ipairs(_M.outcomes) do
    if k ~= "sent" and (c[k] or 0) > 0 then
      trouble = true
      break
    end
  end
  if not trouble then
    return nil
  end
  if state.last_report and now - state.last_report < state.report_interval then
    return nil
  end
  local parts = {}
  for _, k in ipairs(_M.outcomes) do
    parts[#parts + 1] = k .. "=" .. (c[k] or 0)
  end
  local line = "copies since last report: " .. table.concat(parts, " ")
    .. " (in flight " .. state.in_flight .. ")"
  if state.last_error then
    line = line .. "; last error: " .. state.last_error
  end
  state.counts = {}
  state.last_error = nil
  state.last_report = now
  return line
end

return _M
