-- Config of drawbridge-cors, written by Drawbridge's translator from an
-- HTTPRoute CORS filter: the filter's fields in snake case. Origins are
-- checked with the code the handler matches them with.
local typedefs = require "kong.db.schema.typedefs"
local policy = require "kong.plugins.drawbridge-cors.policy"

local function origin(value)
  local ok, err = policy.compile_origin(value)
  if not ok then
    return nil, err
  end
  return true
end

-- RFC 9110 token, or the "*" wildcard.
local TOKEN_OR_STAR = "^[!#$%%&'*+.^_`|~%w%-]+$"

local function token_list(description)
  return {
    description = description,
    type = "array",
    required = true,
    default = {},
    elements = { type = "string", match = TOKEN_OR_STAR },
  }
end

return {
  name = "drawbridge-cors",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { allow_origins = {
              description = "Origins allowed to share responses: '*' or <http|https>://<host>[:<port>], host '*' or '*.<domain>'.",
              type = "array",
              required = true,
              default = {},
              elements = { type = "string", custom_validator = origin },
          } },
          { allow_credentials = { type = "boolean", required = true, default = false } },
          { allow_methods = token_list("Access-Control-Allow-Methods; '*' echoes the preflight's requested method.") },
          { allow_headers = token_list("Access-Control-Allow-Headers; '*' echoes the preflight's requested headers.") },
          { expose_headers = token_list("Access-Control-Expose-Headers; '*' with credentials lists the response's headers.") },
          { max_age = { type = "integer", required = true, default = 5, between = { 1, 2147483647 } } },
        },
    } },
  },
}
