-- Configuration of drawbridge-client-cert: one entry per Kong listen port
-- whose HTTPS listeners validate client certificates (Gateway API
-- spec.tls.frontend, resolved per port by the operator).
local typedefs = require "kong.db.schema.typedefs"
local policy = require "kong.plugins.drawbridge-client-cert.policy"

local port_entry = {
  type = "record",
  fields = {
    -- The Gateway listener port. Kong binds unprivileged ports and
    -- port_maps maps them back; the plugin reads the port as Kong's router
    -- reads net.dst.port.
    { port = typedefs.port { required = true } },
    { mode = { type = "string", required = true, default = policy.ALLOW_VALID_ONLY,
               one_of = { policy.ALLOW_VALID_ONLY, policy.ALLOW_INSECURE_FALLBACK } } },
    -- PEM bundle of the trusted CA certificates.
    { ca_certificates = { type = "string", required = true, len_min = 1,
                          custom_validator = policy.validate_bundle } },
    -- Longest chain accepted, as OpenSSL counts it (intermediate CAs the
    -- client may send between its certificate and a trusted CA).
    { verify_depth = { type = "integer", required = true, default = policy.DEFAULT_DEPTH, between = { 0, 100 } } },
  },
}

return {
  name = "drawbridge-client-cert",
  fields = {
    -- Global only: the TLS handshake happens before any route is known.
    { consumer = typedefs.no_consumer },
    { route = typedefs.no_route },
    { service = typedefs.no_service },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { ports = { type = "array", required = true, default = {}, elements = port_entry,
                      custom_validator = policy.validate_ports } },
        },
    } },
  },
}
