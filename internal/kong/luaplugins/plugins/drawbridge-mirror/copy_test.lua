-- Unit tests of kong.plugins.drawbridge-mirror.copy (run by
-- TestLuaUnitTests with the lab Kong's resty).

local copy = require "kong.plugins.drawbridge-mirror.copy"

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2)
  end
end

-- sampled: the edges need no draw; otherwise rand(denominator) <= numerator.
do
  local function never() error("rand must not be called") end
  eq(copy.sampled(0, 100, never), false, "0%")
  eq(copy.sampled(100, 100, never), true, "100%")
  eq(copy.sampled(25, 25, never), true, "25/25")
  eq(copy.sampled(7, 5, never), true, "numerator over denominator")
  eq(copy.sampled(20, 100, function(n) eq(n, 100, "draw range") return 20 end), true, "draw 20 of 20%")
  eq(copy.sampled(20, 100, function() return 21 end), false, "draw 21 of 20%")
  eq(copy.sampled(25, 50, function(n) eq(n, 50, "fraction draw range") return 25 end), true, "25/50")
end

-- sampled with math.random gives the share over many draws (binomial,
-- 4 sigma bounds so the test cannot flake in practice).
do
  math.randomseed(12345)
  for _, c in ipairs({ { 20, 100 }, { 25, 50 }, { 35, 100 }, { 1, 3 } }) do
    local n, hits = 20000, 0
    for _ = 1, n do
      if copy.sampled(c[1], c[2], math.random) then hits = hits + 1 end
    end
    local p = c[1] / c[2]
    local sd = math.sqrt(n * p * (1 - p))
    assert(math.abs(hits - n * p) < 4 * sd,
      string.format("%d/%d: %d hits of %d, expected %.0f +- %.0f", c[1], c[2], hits, n, n * p, 4 * sd))
  end
end

-- pick keeps the order of the mirrors and returns nil for none.
do
  local ms = { { name = "a", numerator = 100, denominator = 100 },
               { name = "b", numerator = 0, denominator = 100 },
               { name = "c", numerator = 1, denominator = 2 } }
  local got = copy.pick(ms, function() return 1 end)
  eq(#got, 2, "picked count")
  eq(got[1].name, "a", "first picked")
  eq(got[2].name, "c", "second picked")
  eq(copy.pick({ ms[2] }, math.random), nil, "none picked")
end

-- split_endpoint
do
  local cases = {
    { "10.0.0.1:8080", "10.0.0.1", 8080 },
    { "[fd00::1]:80", "fd00::1", 80 },
    { "web.example.com:443", "web.example.com", 443 },
    { "10.0.0.1", nil }, { "fd00::1:80", nil }, { "[fd00::1]80", nil }, { ":80", nil },
    { "a:0", nil }, { "a:65536", nil }, { "a:8.5", nil }, { "a:x", nil }, { 5, nil },
  }
  for _, c in ipairs(cases) do
    local h, p = copy.split_endpoint(c[1])
    eq(h, c[2], "host of " .. tostring(c[1]))
    eq(p, c[3], "port of " .. tostring(c[1]))
  end
  eq(copy.is_ip("10.1.2.3"), true, "v4")
  eq(copy.is_ip("fd00::1"), true, "v6")
  eq(copy.is_ip("web.example.com"), false, "name")
  eq(copy.is_ip("1.2.3.example"), false, "name with digits")
end

-- request_target follows Kong's access.after: a query, or a bare "?" the
-- client sent, is kept.
do
  eq(copy.request_target("/mirror", "gateway-api-conformance-request-id=x", "/mirror?gateway-api-conformance-request-id=x"),
     "/mirror?gateway-api-conformance-request-id=x", "query kept")
  eq(copy.request_target("/new/path", "a=1&b=2", "/old?a=1&b=2"), "/new/path?a=1&b=2", "rewritten path, query kept")
  eq(copy.request_target("/p", "", "/p?"), "/p?", "bare ?")
  eq(copy.request_target("/p", nil, "/p"), "/p", "no query")
  eq(copy.request_target("", nil, "/"), "/", "empty path")
end

-- copy_headers drops hop-by-hop headers and those Connection names, keeps
-- repeated headers, and sets what nginx sets for the backend.
do
  local h = copy.copy_headers({
    ["Host"] = "client.example",
    ["Connection"] = "keep-alive, X-Hop",
    ["X-Hop"] = "1",
    ["Keep-Alive"] = "timeout=5",
    ["Transfer-Encoding"] = "chunked",
    ["Content-Length"] = "12",
    ["Expect"] = "100-continue",
    ["TE"] = "trailers",
    ["Upgrade"] = "h2c",
    ["x-header-add-append"] = { "append-val-1", "header-val-2" },
    ["X-Header-Set"] = "set-overwrites-values",
    ["x-forwarded-for"] = "6.6.6.6",
  }, {
    ["Host"] = "rewritten.example",
    ["X-Forwarded-For"] = "1.2.3.4, 127.0.0.1",
    ["X-Forwarded-Prefix"] = "",
  })
  local n = 0
  for _ in pairs(h) do n = n + 1 end
  eq(n, 4, "header count")
  eq(h["Host"], "rewritten.example", "host forced")
  eq(h["X-Forwarded-For"], "1.2.3.4, 127.0.0.1", "xff forced over the client's")
  eq(h["x-forwarded-for"], nil, "client xff replaced")
  eq(h["X-Forwarded-Prefix"], nil, "empty forced header not sent")
  eq(h["X-Header-Set"], "set-overwrites-values", "plain header kept")
  eq(h["x-header-add-append"][2], "header-val-2", "repeated header kept")
  eq(h["X-Hop"], nil, "connection-named header dropped")
end

-- body_plan
do
  eq(copy.body_plan(nil, nil, 1.1, 100), "none", "no body")
  eq(copy.body_plan("0", nil, 1.1, 100), "none", "empty body")
  eq(copy.body_plan("100", nil, 1.1, 100), "read", "at the limit")
  eq(copy.body_plan("101", nil, 1.1, 100), "too_large", "over the limit")
  eq(copy.body_plan("x", nil, 1.1, 100), "too_large", "unparseable length")
  eq(copy.body_plan(nil, "chunked", 1.1, 100), "read", "chunked")
  eq(copy.body_plan(nil, nil, 2.0, 100), "read", "h2 without length")
  eq(copy.body_plan("5", nil, 1.1, 0), "too_large", "limit 0 copies no body")
end

-- state and report: counted, rate-limited, reset after a report.
do
  local s = copy.new_state(10)
  copy.count(s, "sent")
  eq(copy.report(s, 100), nil, "only successes: no report")
  copy.count(s, "busy")
  copy.count(s, "failed", "connect refused")
  s.in_flight = 3
  local line = copy.report(s, 100)
  assert(line and line:find("sent=1 failed=1 busy=1 body_too_large=0", 1, true), line)
  assert(line:find("in flight 3", 1, true) and line:find("last error: connect refused", 1, true), line)
  copy.count(s, "busy")
  eq(copy.report(s, 105), nil, "within the interval")
  line = copy.report(s, 110)
  assert(line and line:find("sent=0 failed=0 busy=1 ", 1, true), line)
end

print("drawbridge-mirror copy_test: ok")
