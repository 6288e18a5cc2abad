-- Unit tests of the subjectAltName check and the trust-store cache of
-- drawbridge-backend-tls, with certificates made here.
local pkey = require "resty.openssl.pkey"
local x509 = require "resty.openssl.x509"
local name = require "resty.openssl.x509.name"
local altname = require "resty.openssl.x509.altname"
local san = require "kong.plugins.drawbridge-backend-tls.san"
local trust = require "kong.plugins.drawbridge-backend-tls.trust"

local key = assert(pkey.new({ type = "EC", curve = "prime256v1" }))

local function cert(cn, sans)
  local c = assert(x509.new())
  assert(c:set_subject_name(assert(name.new():add("CN", cn))))
  assert(c:set_issuer_name(assert(name.new():add("CN", cn))))
  assert(c:set_pubkey(key))
  assert(c:set_not_before(ngx.time() - 60))
  assert(c:set_not_after(ngx.time() + 3600))
  if sans then
    local an = assert(altname.new())
    for _, s in ipairs(sans) do
      assert(an:add(s[1], s[2]))
    end
    assert(c:set_subject_alt_name(an))
  end
  assert(c:sign(key))
  return c
end

local function matches(c, conf)
  return trust._leaf_matches(c.ctx, san.compile(conf))
end

local backend = cert("default", {
  { "DNS", "abc.example.com" },
  { "URI", "spiffe://abc.example.com/test-identity" },
  { "DNS", "other.example.com" },
})

-- The conformance suite's cases.
assert(matches(backend, { hostnames = { "abc.example.com" } }))
assert(not matches(backend, { hostnames = { "dce.example.com" } }))
assert(matches(backend, { uris = { "spiffe://abc.example.com/test-identity" } }))
assert(not matches(backend, { uris = { "spiffe://def.example.com/test-identity" } }))
assert(matches(backend, { uris = { "spiffe://abc.example.com/test-identity" }, hostnames = { "abc.example.com" } }))
assert(not matches(backend, { uris = { "spiffe://def.example.com/test-identity" }, hostnames = { "def.example.com" } }))
-- One match among several is enough.
assert(matches(backend, { hostnames = { "nope.example.com", "other.example.com" } }))
-- DNS names compare without case.
assert(matches(backend, { hostnames = { "ABC.Example.COM" } }))
-- A URI is not a DNS name and a DNS name is not a URI.
assert(not matches(backend, { uris = { "abc.example.com" } }))
assert(not matches(backend, { hostnames = { "spiffe://abc.example.com/test-identity" } }))

-- The subject CN is never a SAN.
local cn_only = cert("abc.example.com", nil)
assert(not matches(cn_only, { hostnames = { "abc.example.com" } }))
assert(not matches(cn_only, { uris = { "spiffe://abc.example.com/test-identity" } }))

-- A wildcard in the certificate covers one label.
local wild = cert("wild", { { "DNS", "*.example.com" } })
assert(matches(wild, { hostnames = { "abc.example.com" } }))
assert(not matches(wild, { hostnames = { "a.b.example.com" } }))

-- Trust stores are cached per CA bundle and SAN list.
local ca_pem = assert(backend:to_PEM())
local s1 = assert(trust.store({ ca_pem }, nil))
assert(trust.store({ ca_pem }, nil) == s1, "same bundle, same store")
local s2 = assert(trust.store({ ca_pem }, san.compile({ hostnames = { "abc.example.com" } })))
assert(s2 ~= s1, "a SAN list gets its own store")
local _, err = trust.store({ "not a certificate" }, nil)
assert(err, "a bundle without a certificate is refused")

print("drawbridge-backend-tls trust: ok")
