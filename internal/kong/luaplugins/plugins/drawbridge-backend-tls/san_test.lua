-- Unit tests of the pure helpers of drawbridge-backend-tls.
local san = require "kong.plugins.drawbridge-backend-tls.san"

-- compile: nothing listed means no SAN check.
assert(san.compile(nil) == nil)
assert(san.compile({}) == nil)
assert(san.compile({ hostnames = {}, uris = {} }) == nil)

local c = san.compile({ hostnames = { "ABC.example.com" }, uris = { "spiffe://abc.example.com/test-identity" } })
assert(c.hostnames[1] == "abc.example.com", "hostnames are lower-cased")
assert(#c.uris == 1)

-- URIs compare exactly.
assert(san.uri_matches(c, "spiffe://abc.example.com/test-identity"))
assert(not san.uri_matches(c, "spiffe://abc.example.com/test-identity/"))
assert(not san.uri_matches(c, "spiffe://def.example.com/test-identity"))
assert(not san.uri_matches(c, "spiffe://abc.example.com/test-identity\0.evil"))
assert(not san.uri_matches(nil, "spiffe://abc.example.com/test-identity"))

-- cache_key separates CA bundles and SAN lists, and a URI cannot pose as a
-- hostname.
local a = san.cache_key({ "CA1" }, nil)
assert(a ~= san.cache_key({ "CA2" }, nil))
assert(a ~= san.cache_key({ "CA1" }, c))
local h = san.compile({ hostnames = { "x" } })
local u = san.compile({ uris = { "x" } })
assert(san.cache_key({ "CA1" }, h) ~= san.cache_key({ "CA1" }, u))
assert(san.cache_key({ "CA1", "CA2" }, nil) ~= san.cache_key({ "CA1CA2" }, nil))

-- pem_blocks finds every certificate of a bundle, ignoring text around it.
local bundle = "comment\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n" ..
  "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\ntrailer"
local n = 0
for block in san.pem_blocks(bundle) do
  n = n + 1
  assert(block:sub(1, 27) == "-----BEGIN CERTIFICATE-----")
  assert(block:sub(-25) == "-----END CERTIFICATE-----")
end
assert(n == 2, "two blocks, got " .. n)
local none = 0
for _ in san.pem_blocks("") do
  none = none + 1
end
assert(none == 0)

print("drawbridge-backend-tls san: ok")
