-- drawbridge-h2c has nothing to configure: the translator attaches it to
-- the routes of HTTPRoute rules whose backends are h2c.
local typedefs = require("kong.db.schema.typedefs")

return {
  name = "drawbridge-h2c",
  fields = {
    { protocols = typedefs.protocols_http },
    { consumer = typedefs.no_consumer },
    { config = { type = "record", fields = {} } },
  },
}
