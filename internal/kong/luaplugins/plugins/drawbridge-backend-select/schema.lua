-- Config of drawbridge-backend-select, written by Drawbridge's translator
-- for an HTTPRoute rule whose backendRefs have different filters: one
-- entry per usable backendRef, with the name of the Kong upstream that
-- holds only that backendRef's endpoints.
local typedefs = require "kong.db.schema.typedefs"

-- An RFC 9110 token (Lua pattern: "%%" is a literal "%").
local HEADER_NAME = "^[!#$%%&'*+.^_`|~%w%-]+$"

local header = {
  type = "record",
  fields = {
    { name = { type = "string", required = true, match = HEADER_NAME } },
    { value = { type = "string", required = true } },
  },
}

local modifier = {
  type = "record",
  required = false,
  fields = {
    { set = { type = "array", elements = header } },
    { add = { type = "array", elements = header } },
    { remove = { type = "array", elements = { type = "string", match = HEADER_NAME } } },
  },
}

return {
  name = "drawbridge-backend-select",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { backends = {
              type = "array",
              required = true,
              len_min = 1,
              elements = {
                type = "record",
                fields = {
                  { upstream = { type = "string", required = true } },
                  { weight = { type = "integer", required = true, between = { 1, 1000000 } } },
                  { request_headers = modifier },
                  { response_headers = modifier },
                },
              },
          } },
        },
    } },
  },
}
