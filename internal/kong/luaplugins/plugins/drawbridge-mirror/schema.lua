-- Configuration of drawbridge-mirror. The translator writes it from the
-- RequestMirror filters of one HTTPRoute rule: one entry of mirrors per
-- filter, with the ready endpoints of its backendRef (EndpointSlice changes
-- re-translate the configuration, so the list follows the Service).

local typedefs = require "kong.db.schema.typedefs"
local copy = require "kong.plugins.drawbridge-mirror.copy"

local function valid_endpoint(ep)
  if copy.split_endpoint(ep) then
    return true
  end
  return nil, "endpoint '" .. ep .. "' is not host:port, [ipv6]:port or ipv4:port"
end

local function numerator_within_denominator(m)
  if m.numerator ~= nil and m.denominator ~= nil and m.numerator > m.denominator then
    return nil, "numerator must be less than or equal to denominator"
  end
  return true
end

return {
  name = "drawbridge-mirror",
  fields = {
    { protocols = typedefs.protocols_http },
    { consumer = typedefs.no_consumer },
    { config = {
        type = "record",
        fields = {
          { mirrors = {
              description = "The mirror backends; each sampled request is copied to one endpoint of each.",
              type = "array",
              required = true,
              len_min = 1,
              elements = {
                type = "record",
                custom_validator = numerator_within_denominator,
                fields = {
                  { name = { description = "The backend, for logs (namespace/name:port).",
                             type = "string", required = true, len_min = 1 } },
                  { endpoints = { description = "Ready endpoints, host:port; empty drops the copies.",
                                  type = "array", required = true, default = {},
                                  elements = { type = "string", custom_validator = valid_endpoint } } },
                  { numerator = { description = "Copy numerator out of every denominator requests.",
                                  type = "integer", required = true, default = 100,
                                  between = { 0, 2147483647 } } },
                  { denominator = { type = "integer", required = true, default = 100,
                                    between = { 1, 2147483647 } } },
                },
              },
          } },
          { max_body_bytes = {
              description = "Largest request body copied; a request with a larger body is not mirrored.",
              type = "integer", required = true, default = 65536, between = { 0, 16777216 } } },
          { max_in_flight = {
              description = "Copies one worker keeps in flight at most; copies over it are dropped.",
              type = "integer", required = true, default = 128, between = { 1, 4096 } } },
          { timeout = {
              description = "Connect, send and read timeout of a copy, in milliseconds.",
              type = "integer", required = true, default = 5000, between = { 1, 600000 } } },
        },
    } },
  },
}
