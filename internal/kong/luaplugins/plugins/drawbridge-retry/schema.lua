-- Configuration of drawbridge-retry, written by the translator from an
-- HTTPRoute rule's `retry` (and `timeouts.request`): see handler.lua.
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "drawbridge-retry",
  fields = {
    { protocols = typedefs.protocols_http },
    { consumer = typedefs.no_consumer },
    { config = {
        type = "record",
        fields = {
          -- Statuses that make the plugin try again (Gateway API allows
          -- 400..599).
          { codes = { type = "array", required = true, len_min = 1,
                      elements = { type = "integer", between = { 400, 599 } } } },
          -- Retries after the first attempt, whatever their cause.
          { attempts = { type = "integer", required = true, between = { 1, 32767 } } },
          -- Base interval before a retry; 0 retries at once.
          { backoff_ms = { type = "integer", required = true, default = 25,
                           between = { 0, 2147483646 } } },
          -- Deadline for the whole request, retries included, measured
          -- from its arrival; 0 means none.
          { request_timeout_ms = { type = "integer", required = true, default = 0,
                                   between = { 0, 2147483646 } } },
        },
    } },
  },
}
