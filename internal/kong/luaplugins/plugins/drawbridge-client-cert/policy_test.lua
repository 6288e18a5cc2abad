-- Unit tests of drawbridge-client-cert's pure decisions (run by
-- luaplugins.TestLuaUnitTests with the lab Kong's resty).
local policy = require "kong.plugins.drawbridge-client-cert.policy"

local CA1 = [[
-----BEGIN CERTIFICATE-----
MIIBcDCCARegAwIBAgIBATAKBggqhkjOPQQDAjAfMR0wGwYDVQQDExRnb2xkZW4g
Y2xpZW50IENBIG9uZTAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFow
HzEdMBsGA1UEAxMUZ29sZGVuIGNsaWVudCBDQSBvbmUwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAQbuAn9knFFo/WI0+Bc8D7x61He3dDqJYwF+dQPMZtyUpibFrcZ
KsYYvEOW2Ou5jhxtNxvM+3fjXklen1oJSzb4o0IwQDAOBgNVHQ8BAf8EBAMCAgQw
DwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUfll8qXfHmGWMBdn9i1f6tOPm7wgw
CgYIKoZIzj0EAwIDRwAwRAIgbsC1gkXWgsDzUjuuwkCFgiaPS9GpO+i60sIClho7
7RcCIEeYZ50i0Cdiwr6vfJN3jpKGiEi4/Ke0HMBdQZ8qK3iH
-----END CERTIFICATE-----
]]
local CA2 = [[
-----BEGIN CERTIFICATE-----
MIIBcTCCARegAwIBAgIBAjAKBggqhkjOPQQDAjAfMR0wGwYDVQQDExRnb2xkZW4g
Y2xpZW50IENBIHR3bzAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFow
HzEdMBsGA1UEAxMUZ29sZGVuIGNsaWVudCBDQSB0d28wWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAARBql2mAAKTWk7Ifm1LBOpPOycBdYDIfZbmhJfWQLOcoJG9cXFd
cB36wqd80PgDRoWU6OvekjyW58ywCHq1OfNqo0IwQDAOBgNVHQ8BAf8EBAMCAgQw
DwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUhpLKd4h9PY+lUOz/jCsBB9RdohQw
CgYIKoZIzj0EAwIDSAAwRQIgA8+upOP3ZxOMVkCv39Z4YQejAQf18j9yTdKwO4Pc
TdUCIQDT9sdNOBJ3Si2J9fDHaA7jYv8LQQVDuL6fEIYqn7+oDQ==
-----END CERTIFICATE-----
]]

-- PEM blocks
assert(policy.count_pem_certificates("") == 0)
assert(policy.count_pem_certificates(CA1) == 1)
assert(policy.count_pem_certificates(CA1 .. "comment\n" .. CA2) == 2)
local blocks = policy.split_pem("junk\n" .. CA1 .. "between\n" .. CA2 .. "trailing")
assert(#blocks == 2, "two blocks")
assert(blocks[1] == CA1, "first block verbatim")
assert(blocks[2] == CA2, "second block verbatim")
assert(#policy.split_pem("-----BEGIN CERTIFICATE-----\nno end") == 0, "an unterminated block is not a block")

-- schema checks
assert(policy.validate_bundle(CA1 .. CA2))
local ok, err = policy.validate_bundle("no pem here")
assert(not ok and err:find("no PEM certificate"), err)
ok, err = policy.validate_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
assert(not ok and err:find("not a valid PEM bundle"), tostring(err))
assert(policy.validate_ports({ { port = 443 }, { port = 8443 } }))
ok, err = policy.validate_ports({ { port = 443 }, { port = 443 } })
assert(not ok and err:find("port 443 is listed twice"), err)

-- index
local idx = policy.index({ { port = 443, mode = "AllowValidOnly" }, { port = 8443, mode = "AllowInsecureFallback" } })
assert(idx[443].mode == "AllowValidOnly" and idx[8443].mode == "AllowInsecureFallback" and idx[80] == nil)
assert(next(policy.index(nil)) == nil)

-- request verdicts
local valid_only = { mode = policy.ALLOW_VALID_ONLY }
local fallback = { mode = policy.ALLOW_INSECURE_FALLBACK }
assert(policy.request_verdict(nil, "NONE"), "ports without validation pass")
assert(policy.request_verdict(fallback, "NONE"), "fallback passes without a certificate")
assert(policy.request_verdict(fallback, "FAILED:unable to get local issuer certificate"), "fallback passes a failed certificate")
assert(policy.request_verdict(valid_only, "SUCCESS"), "a verified certificate passes")
ok, err = policy.request_verdict(valid_only, "NONE")
assert(not ok and err:find("NONE"), "no certificate is stopped")
ok = policy.request_verdict(valid_only, "FAILED:certificate has expired")
assert(not ok, "a failed certificate is stopped")
ok = policy.request_verdict(valid_only, nil)
assert(not ok, "plain HTTP on a validating port is stopped")

print("drawbridge-client-cert policy: ok")
