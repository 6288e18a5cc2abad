-- drawbridge-backend-tls: TLS from Kong to a backend as a BackendTLSPolicy
-- (and the Gateway's backend client certificate) asks for it. Drawbridge
-- puts it on Kong services whose protocol is https, grpcs or tls.
local typedefs = require "kong.db.schema.typedefs"
local san = require "kong.plugins.drawbridge-backend-tls.san"

local function valid_bundle(pem)
  local x509 = require "resty.openssl.x509"
  local n = 0
  for block in san.pem_blocks(pem) do
    local _, err = x509.new(block, "PEM")
    if err then
      return nil, "invalid CA certificate: " .. err
    end
    n = n + 1
  end
  if n == 0 then
    return nil, "no PEM CERTIFICATE block"
  end
  return true
end

return {
  name = "drawbridge-backend-tls",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols },
    { config = {
        type = "record",
        fields = {
          -- The TLS server name sent to the backend (the policy's
          -- hostname). The Host header the backend receives is unchanged.
          { sni = { type = "string", required = true, len_min = 1 } },
          -- PEM CA certificates the backend's chain must lead to.
          { ca_certificates = {
              type = "array", required = true, len_min = 1,
              elements = { type = "string", custom_validator = valid_bundle },
          } },
          -- When present, the backend certificate must carry one of these
          -- SANs and the sni is not used to authenticate it.
          { subject_alt_names = {
              type = "record", required = false,
              fields = {
                { hostnames = { type = "array", elements = { type = "string", len_min = 1 } } },
                { uris = { type = "array", elements = { type = "string", len_min = 1 } } },
              },
          } },
          -- The id of a Kong certificate presented to the backend.
          { client_certificate = { type = "string", uuid = true, required = false } },
        },
    } },
  },
}
