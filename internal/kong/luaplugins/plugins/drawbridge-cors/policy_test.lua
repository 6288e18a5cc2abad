-- Unit tests of drawbridge-cors's policy module (run by TestLuaUnitTests).
local policy = require "kong.plugins.drawbridge-cors.policy"

local function eq(got, want, what)
  if got ~= want then
    error(("%s: got %s, want %s"):format(what, tostring(got), tostring(want)), 2)
  end
end

local function compile(conf)
  local p, err = policy.compile(conf)
  assert(p, err)
  return p
end

-- Origin matching, including the cases of the v1.7.0 conformance test.
do
  local p = compile({ allow_origins = { "https://www.foo.com", "https://*.bar.com" } })
  for origin, want in pairs({
    ["https://www.foo.com"] = true,
    ["https://WWW.Foo.com"] = true,
    ["https://www.foo.com:443"] = true,
    ["https://www.bar.com"] = true,
    ["https://xpto.www.bar.com"] = true,
    ["https://a-1.b.bar.com"] = true,
    ["https://foobar.com"] = false,
    ["https://bar.com"] = false,
    ["https://.bar.com"] = false,
    ["https://a..bar.com"] = false,
    ["https://wwwxbar.com"] = false,
    ["https://www.bar.com.evil.com"] = false,
    ["http://www.bar.com"] = false,
    ["https://www.bar.com:8443"] = false,
    ["http://www.foo.com"] = false,
    ["https://www.foo.com/"] = false,
    ["null"] = false,
    [""] = false,
  }) do
    eq(policy.allowed(p, origin), want, "allowed " .. origin)
  end
end

do
  local p = compile({ allow_origins = { "*" } })
  for _, o in ipairs({ "https://foobar.com", "https://foobar.com:12345", "null", "http://[::1]:8080" }) do
    eq(policy.allowed(p, o), true, "* allows " .. o)
  end
  eq(policy.allowed(p, nil), false, "* needs an Origin")
end

do
  local p = compile({ allow_origins = { "http://*", "https://*.bar.com:8443", "https://a.example:443" } })
  eq(policy.allowed(p, "http://a"), true, "http://* any host")
  eq(policy.allowed(p, "http://a.b.c:80"), true, "http://* default port")
  eq(policy.allowed(p, "http://[::1]"), true, "http://* IPv6 host")
  eq(policy.allowed(p, "http://a:8080"), false, "http://* other port")
  eq(policy.allowed(p, "https://x.bar.com:8443"), true, "wildcard with port")
  eq(policy.allowed(p, "https://x.bar.com"), false, "wildcard with port, default port")
  eq(policy.allowed(p, "https://a.example"), true, "default port in config")
end

-- Invalid entries are refused (the schema uses compile_origin).
for _, bad in ipairs({ "www.foo.com", "ftp://a.example", "https://foo.*.com", "https://a.example:0",
                       "https://a.example:70000", "https://a.example/path", "https://*.", "https://**.a" }) do
  assert(not policy.compile_origin(bad), "should refuse " .. bad)
end
assert(not policy.compile({ allow_origins = { "*" }, allow_methods = { "GE T" } }))

-- Preflight of /cors-1 (allowCredentials, lists, maxAge 3600).
do
  local p = compile({
    allow_origins = { "https://www.foo.com", "https://*.bar.com" },
    allow_methods = { "GET", "OPTIONS" },
    allow_headers = { "x-header-1", "x-header-2" },
    expose_headers = { "x-header-3", "x-header-4" },
    allow_credentials = true,
    max_age = 3600,
  })
  local h = policy.preflight(p, "https://xpto.www.bar.com", "GET", "x-header-1, x-header-2")
  eq(h["Access-Control-Allow-Origin"], "https://xpto.www.bar.com", "ACAO")
  eq(h["Access-Control-Allow-Methods"], "GET, OPTIONS", "ACAM")
  eq(h["Access-Control-Allow-Headers"], "x-header-1, x-header-2", "ACAH")
  eq(h["Access-Control-Expose-Headers"], "x-header-3, x-header-4", "ACEH")
  eq(h["Access-Control-Max-Age"], "3600", "ACMA")
  eq(h["Access-Control-Allow-Credentials"], "true", "ACAC")
  eq(h["Vary"], "Origin", "Vary")
  eq(policy.expose_headers(p, { "x-other" }), "x-header-3, x-header-4", "ACEH of a response")
end

-- Wildcard methods and headers echo the request, with and without
-- credentials; without a request header there is no response header.
for _, creds in ipairs({ true, false }) do
  local p = compile({ allow_origins = { "*" }, allow_methods = { "*" }, allow_headers = { "*" }, allow_credentials = creds })
  local h = policy.preflight(p, "https://other.foo.com", "PUT", "x-header-1, x-header-2")
  eq(h["Access-Control-Allow-Origin"], "https://other.foo.com", "ACAO echo")
  eq(h["Access-Control-Allow-Methods"], "PUT", "ACAM echo")
  eq(h["Access-Control-Allow-Headers"], "x-header-1, x-header-2", "ACAH echo")
  eq(h["Access-Control-Allow-Credentials"], creds and "true" or nil, "ACAC")
  eq(h["Access-Control-Max-Age"], "5", "default max age")
  eq(h["Vary"], "Origin, Access-Control-Request-Method, Access-Control-Request-Headers", "Vary")
  h = policy.preflight(p, "https://other.foo.com", "PUT", nil)
  eq(h["Access-Control-Allow-Headers"], nil, "no ACAH without a request")
  h = policy.preflight(p, "https://other.foo.com", "PU\rT", "a, b\n")
  eq(h["Access-Control-Allow-Methods"], nil, "an invalid method is not echoed")
  eq(h["Access-Control-Allow-Headers"], nil, "an invalid header list is not echoed")
end

-- No allowMethods / allowHeaders / exposeHeaders: no such headers.
do
  local p = compile({ allow_origins = { "https://www.foo.com" } })
  local h = policy.preflight(p, "https://www.foo.com", "POST", "x-a")
  eq(h["Access-Control-Allow-Methods"], nil, "ACAM")
  eq(h["Access-Control-Allow-Headers"], nil, "ACAH")
  eq(h["Access-Control-Expose-Headers"], nil, "ACEH")
  eq(h["Access-Control-Allow-Credentials"], nil, "ACAC")
end

-- exposeHeaders "*": sent as is without credentials; with credentials
-- the response's own header names (never Set-Cookie nor CORS headers).
do
  local p = compile({ allow_origins = { "*" }, expose_headers = { "*" } })
  eq(policy.expose_headers(p, nil), "*", "* without credentials")
  p = compile({ allow_origins = { "*" }, expose_headers = { "*", "x-b" }, allow_credentials = true })
  eq(policy.expose_headers(p, { "X-Request-Id", "set-cookie", "connection", "x-b", "Access-Control-Allow-Origin", "content-type" }),
    "x-b, X-Request-Id, content-type", "* with credentials")
  eq(policy.preflight(p, "https://a.example", "GET")["Access-Control-Expose-Headers"], "x-b", "preflight ACEH")
  p = compile({ allow_origins = { "*" }, expose_headers = { "*" }, allow_credentials = true })
  eq(policy.expose_headers(p, {}), nil, "nothing to expose")
end

-- Vary tokens.
assert(policy.has_token("Accept-Encoding, origin", "Origin"))
assert(policy.has_token({ "Accept", "Origin" }, "Origin"))
assert(policy.has_token("*", "Origin"))
assert(not policy.has_token("Accept-Encoding", "Origin"))
assert(not policy.has_token(nil, "Origin"))

print("drawbridge-cors policy: ok")
