-- Pure helpers of drawbridge-backend-tls (no OpenSSL, no nginx), so they
-- can be unit tested with plain resty.
local _M = {}

-- compile turns the configured subject_alt_names ({hostnames = {...},
-- uris = {...}}, either may be absent) into the form the verify callback
-- uses, or nil when the policy lists none: its hostname then authenticates
-- the backend, as nginx does by itself.
function _M.compile(conf_sans)
  if type(conf_sans) ~= "table" then
    return nil
  end
  local out = { hostnames = {}, uris = {}, uri_set = {} }
  for _, h in ipairs(conf_sans.hostnames or {}) do
    -- DNS names compare case-insensitively; X509_check_host does too, the
    -- lower case only keeps cache keys canonical.
    out.hostnames[#out.hostnames + 1] = h:lower()
  end
  for _, u in ipairs(conf_sans.uris or {}) do
    out.uris[#out.uris + 1] = u
    out.uri_set[u] = true
  end
  if #out.hostnames == 0 and #out.uris == 0 then
    return nil
  end
  return out
end

-- uri_matches compares a certificate's URI SAN with the policy's URIs
-- exactly: the API asks for the SAN to match, and SPIFFE IDs, the common
-- case, are compared byte for byte.
function _M.uri_matches(sans, uri)
  return sans ~= nil and sans.uri_set[uri] == true
end

-- cache_key identifies a trust store: the CA bundle and the SAN check
-- installed on it.
function _M.cache_key(pems, sans)
  local parts = { "ca" }
  for _, p in ipairs(pems) do
    parts[#parts + 1] = p
  end
  if sans then
    parts[#parts + 1] = "dns"
    for _, h in ipairs(sans.hostnames) do
      parts[#parts + 1] = h
    end
    parts[#parts + 1] = "uri"
    for _, u in ipairs(sans.uris) do
      parts[#parts + 1] = u
    end
  end
  return table.concat(parts, "\0")
end

-- pem_blocks iterates over the CERTIFICATE blocks of a PEM bundle.
function _M.pem_blocks(pem)
  return pem:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-")
end

return _M
