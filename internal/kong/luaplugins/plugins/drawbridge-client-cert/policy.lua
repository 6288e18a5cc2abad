-- Pure decisions of drawbridge-client-cert, kept apart from the handler so
-- they can be unit tested without a TLS connection.
local _M = {
  ALLOW_VALID_ONLY = "AllowValidOnly",
  ALLOW_INSECURE_FALLBACK = "AllowInsecureFallback",
  -- OpenSSL's depth counts the certificates allowed between the client's
  -- own and a trusted CA: 2 admits a client certificate issued by an
  -- intermediate that a trusted root signed, plus one more level.
  DEFAULT_DEPTH = 2,
  -- The refusal of a request that arrives without a verified certificate
  -- on an AllowValidOnly port (nginx's text for the same case).
  REFUSAL = "No required SSL certificate was sent",
}

local BEGIN = "-----BEGIN CERTIFICATE-----"
local END = "-----END CERTIFICATE-----"

-- count_pem_certificates counts the PEM certificate blocks of a bundle.
function _M.count_pem_certificates(pem)
  local n, from = 0, 1
  while true do
    local s = pem:find(BEGIN, from, true)
    if not s then
      return n
    end
    n = n + 1
    from = s + #BEGIN
  end
end

-- split_pem returns the PEM certificate blocks of a bundle, each with its
-- BEGIN and END lines, in order. Text between blocks is ignored.
function _M.split_pem(pem)
  local out, from = {}, 1
  while true do
    local s = pem:find(BEGIN, from, true)
    if not s then
      return out
    end
    local e = pem:find(END, s, true)
    if not e then
      return out
    end
    out[#out + 1] = pem:sub(s, e + #END - 1) .. "\n"
    from = e + #END
  end
end

-- validate_bundle is the schema check of ca_certificates: at least one PEM
-- certificate, and every block parses.
function _M.validate_bundle(pem)
  if _M.count_pem_certificates(pem) == 0 then
    return nil, "ca_certificates holds no PEM certificate"
  end
  local ok, ssl = pcall(require, "ngx.ssl")
  if ok and ssl.parse_pem_cert then
    local chain, err = ssl.parse_pem_cert(pem)
    if not chain then
      return nil, "ca_certificates is not a valid PEM bundle: " .. tostring(err)
    end
  end
  return true
end

-- validate_ports refuses two entries for one port: the handshake could
-- only follow one of them.
function _M.validate_ports(ports)
  local seen = {}
  for _, p in ipairs(ports) do
    if seen[p.port] then
      return nil, "port " .. p.port .. " is listed twice"
    end
    seen[p.port] = true
  end
  return true
end

-- index maps port -> entry.
function _M.index(ports)
  local out = {}
  for _, p in ipairs(ports or {}) do
    out[p.port] = p
  end
  return out
end

-- request_verdict decides, once the handshake is over, whether a request
-- on a port may proceed. verify is nginx's $ssl_client_verify ("SUCCESS",
-- "NONE" or "FAILED:<reason>"). A failed or missing certificate on an
-- AllowValidOnly port normally never gets here (the handshake fails); it
-- does when the client resumed a TLS session made on another port.
function _M.request_verdict(entry, verify)
  if not entry or entry.mode ~= _M.ALLOW_VALID_ONLY then
    return true
  end
  if verify == "SUCCESS" then
    return true
  end
  return false, "client certificate verification: " .. tostring(verify)
end

return _M
