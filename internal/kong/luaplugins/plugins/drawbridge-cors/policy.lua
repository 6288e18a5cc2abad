-- The pure part of drawbridge-cors: origin matching and the CORS response
-- headers an HTTPRoute CORS filter asks for. Nothing here touches the
-- request; handler.lua reads the request through Kong's PDK and applies
-- what these functions return, so they can be unit-tested with plain Lua.
--
-- Semantics are those of the Gateway API HTTPCORSFilter (v1.7.0):
--   * allowOrigins entries are "*" or <scheme>://<host>[:<port>], where the
--     host may be "*" (every host) or start with "*." (any number of DNS
--     labels, at least one, in front of the rest). A missing port is the
--     scheme's default, so "https://a.example" and "https://a.example:443"
--     are the same origin.
--   * A matching Origin is echoed in Access-Control-Allow-Origin; the
--     echo is also what "*" gives, because it is right with and without
--     credentials.
--   * allowMethods / allowHeaders "*" echo the preflight's
--     Access-Control-Request-Method / -Headers (the only answer the spec
--     allows with credentials, and one it allows without); a missing
--     request header means no response header.
--   * exposeHeaders "*" is sent as is without credentials; with
--     credentials the wildcard would mean nothing to a browser, so it is
--     replaced by the names of the headers the response actually carries.

local lower = string.lower
local find = string.find
local sub = string.sub
local concat = table.concat
local tonumber = tonumber
local tostring = tostring
local ipairs = ipairs

local _M = {}

local DEFAULT_PORT = { http = 80, https = 443 }

-- A token as RFC 9110 defines it (method and header names).
local TOKEN = "^[!#$%%&'*+.^_`|~%w%-]+$"

-- split_origin returns scheme, host and port (a number, the scheme's
-- default when absent) of an origin or allowOrigins entry, lower-cased, or
-- nil when it is not of the form <http|https>://<host>[:<port>]. An IPv6
-- literal host keeps its brackets.
local function split_origin(s)
  if type(s) ~= "string" then
    return nil
  end
  s = lower(s)
  local scheme, rest = s:match("^(https?)://(.+)$")
  if not scheme then
    return nil
  end
  local host, port
  if sub(rest, 1, 1) == "[" then
    host, port = rest:match("^(%[[%x:%.]+%])(.*)$")
  else
    host, port = rest:match("^([^:/?#@%[%]]+)(.*)$")
  end
  if not host then
    return nil
  end
  if port == "" then
    return scheme, host, DEFAULT_PORT[scheme]
  end
  local digits = port:match("^:(%d%d?%d?%d?%d?)$")
  local n = digits and tonumber(digits)
  if not n or n < 1 or n > 65535 then
    return nil
  end
  return scheme, host, n
end
_M.split_origin = split_origin

-- A host made of DNS labels: letters, digits and hyphens joined by dots.
local function is_dns_name(h)
  return h ~= "" and not find(h, "[^%w%-%.]") and not find(h, "%.%.")
    and sub(h, 1, 1) ~= "." and sub(h, -1) ~= "."
end

-- compile_origin turns one allowOrigins entry into a matcher record, or
-- returns nil and why it is not a valid entry.
local function compile_origin(entry)
  if entry == "*" then
    return { any = true }
  end
  local scheme, host, port = split_origin(entry)
  if not scheme then
    return nil, "'" .. tostring(entry) .. "' is not '*' nor an origin of the form <http|https>://<host>[:<port>]"
  end
  if host == "*" then
    return { scheme = scheme, port = port, any_host = true }
  end
  if sub(host, 1, 2) == "*." then
    local suffix = sub(host, 2) -- ".example.com"
    if not is_dns_name(sub(suffix, 2)) then
      return nil, "'" .. entry .. "': the host after '*.' must be a DNS name"
    end
    return { scheme = scheme, port = port, suffix = suffix }
  end
  if not is_dns_name(host) then
    return nil, "'" .. entry .. "': the host must be a DNS name, '*' or start with '*.'"
  end
  return { scheme = scheme, port = port, host = host }
end
_M.compile_origin = compile_origin

-- origin_matches says whether the request Origin value matches one
-- compiled allowOrigins entry.
local function origin_matches(m, scheme, host, port)
  if m.any then
    return true
  end
  if scheme ~= m.scheme or port ~= m.port then
    return false
  end
  if m.any_host then
    return true
  end
  if m.host then
    return host == m.host
  end
  -- "*." wildcard: at least one label in front of the suffix.
  local n = #host - #m.suffix
  return n > 0 and sub(host, n + 1) == m.suffix and is_dns_name(sub(host, 1, n))
end

local function valid_tokens(list, what)
  for _, v in ipairs(list) do
    if v ~= "*" and not find(v, TOKEN) then
      return nil, what .. " '" .. tostring(v) .. "' is not a valid HTTP token"
    end
  end
  return true
end

local function has_star(list)
  for _, v in ipairs(list) do
    if v == "*" then
      return true
    end
  end
  return false
end

-- compile checks a plugin config and precomputes what every request
-- needs. It returns nil and a message for a config the schema would
-- refuse (the schema calls the same code).
function _M.compile(conf)
  local p = {
    origins = {},
    credentials = conf.allow_credentials == true,
    max_age = tostring(conf.max_age or 5),
  }
  for _, o in ipairs(conf.allow_origins or {}) do
    local m, err = compile_origin(o)
    if not m then
      return nil, err
    end
    p.origins[#p.origins + 1] = m
  end
  local methods, headers, expose = conf.allow_methods or {}, conf.allow_headers or {}, conf.expose_headers or {}
  for _, l in ipairs({ { methods, "allow_methods" }, { headers, "allow_headers" }, { expose, "expose_headers" } }) do
    local ok, err = valid_tokens(l[1], l[2])
    if not ok then
      return nil, err
    end
  end
  if has_star(methods) then
    p.echo_method = true
  elseif #methods > 0 then
    p.methods = concat(methods, ", ")
  end
  if has_star(headers) then
    p.echo_headers = true
  elseif #headers > 0 then
    p.headers = concat(headers, ", ")
  end
  if #expose > 0 then
    local named = {}
    for _, h in ipairs(expose) do
      if h ~= "*" then
        named[#named + 1] = h
      end
    end
    if has_star(expose) and p.credentials then
      -- Listed per response (see expose_headers).
      p.expose_all = true
      p.expose_named = named
      if #named > 0 then
        p.expose = concat(named, ", ")
      end
    else
      p.expose = concat(expose, ", ")
    end
  end
  return p
end

-- allowed says whether an Origin header value is allowed by the policy.
function _M.allowed(p, origin)
  if type(origin) ~= "string" or origin == "" then
    return false
  end
  local scheme, host, port = split_origin(origin)
  for _, m in ipairs(p.origins) do
    if m.any then
      return true
    end
    if scheme and origin_matches(m, scheme, host, port) then
      return true
    end
  end
  return false
end

-- Access-Control-Request-Headers is a comma-separated list of tokens.
local function valid_header_list(v)
  if type(v) ~= "string" or find(v, "[^!#$%%&'*+.^_`|~%w%-, \t]") then
    return false
  end
  local any = false
  for item in (v .. ","):gmatch("([^,]*),") do
    item = item:match("^[ \t]*(.-)[ \t]*$")
    if item ~= "" then
      if not find(item, TOKEN) then
        return false
      end
      any = true
    end
  end
  return any
end

-- preflight returns the headers of the answer to a preflight from an
-- allowed origin. req_method and req_headers are the request's
-- Access-Control-Request-Method and -Headers values (or nil).
function _M.preflight(p, origin, req_method, req_headers)
  local h = {
    ["Access-Control-Allow-Origin"] = origin,
    ["Access-Control-Max-Age"] = p.max_age,
  }
  local vary = { "Origin" }
  if p.credentials then
    h["Access-Control-Allow-Credentials"] = "true"
  end
  if p.echo_method then
    vary[#vary + 1] = "Access-Control-Request-Method"
    if type(req_method) == "string" and find(req_method, TOKEN) then
      h["Access-Control-Allow-Methods"] = req_method
    end
  elseif p.methods then
    h["Access-Control-Allow-Methods"] = p.methods
  end
  if p.echo_headers then
    vary[#vary + 1] = "Access-Control-Request-Headers"
    if valid_header_list(req_headers) then
      h["Access-Control-Allow-Headers"] = req_headers
    end
  elseif p.headers then
    h["Access-Control-Allow-Headers"] = p.headers
  end
  if p.expose then
    h["Access-Control-Expose-Headers"] = p.expose
  end
  h["Vary"] = concat(vary, ", ")
  return h
end

-- Response header names not worth exposing: those a browser never
-- exposes to scripts (Fetch "forbidden response-header name") and the
-- hop-by-hop ones, which describe the connection rather than the response.
local NOT_EXPOSED = {
  ["set-cookie"] = true,
  ["set-cookie2"] = true,
  ["connection"] = true,
  ["keep-alive"] = true,
  ["transfer-encoding"] = true,
  ["upgrade"] = true,
  ["te"] = true,
  ["trailer"] = true,
  ["proxy-authenticate"] = true,
}

-- expose_headers is the Access-Control-Expose-Headers value of an actual
-- response. names lists the response's header names; it is only used when
-- exposeHeaders "*" meets credentials.
function _M.expose_headers(p, names)
  if not p.expose_all then
    return p.expose
  end
  local out, seen = {}, {}
  for _, n in ipairs(p.expose_named) do
    out[#out + 1] = n
    seen[lower(n)] = true
  end
  local sorted = {}
  for i, n in ipairs(names or {}) do
    sorted[i] = n
  end
  table.sort(sorted)
  for _, n in ipairs(sorted) do
    local l = lower(n)
    if not seen[l] and not NOT_EXPOSED[l] and sub(l, 1, 15) ~= "access-control-" then
      seen[l] = true
      out[#out + 1] = n
    end
  end
  if #out == 0 then
    return nil
  end
  return concat(out, ", ")
end

-- has_token says whether a comma-separated header value (such as Vary)
-- already lists a token, compared case-insensitively.
function _M.has_token(value, token)
  if type(value) == "table" then
    for _, v in ipairs(value) do
      if _M.has_token(v, token) then
        return true
      end
    end
    return false
  end
  if type(value) ~= "string" then
    return false
  end
  token = lower(token)
  for item in (value .. ","):gmatch("([^,]*),") do
    local t = lower(item:match("^%s*(.-)%s*$"))
    if t == token or t == "*" then
      return true
    end
  end
  return false
end

return _M
