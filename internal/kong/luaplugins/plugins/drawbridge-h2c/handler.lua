-- drawbridge-h2c: lets an HTTPRoute reach a backend that speaks HTTP/2
-- cleartext with prior knowledge (Service appProtocol kubernetes.io/h2c).
--
-- nginx's proxy module speaks HTTP/1.x to upstreams only. Kong 3.9.3
-- already sends a request whose service protocol is "grpc" through its
-- @grpc location (kong/runloop/handler.lua: access.before exec("@grpc")),
-- where nginx's grpc module is a general HTTP/2 cleartext proxy: it
-- forwards any method, headers and body, and answers HTTP/1.1 clients as
-- well. The translator therefore gives such a rule an "http"/"https" Kong
-- route (so Kong's gRPC-only checks, 415 and 426, do not apply) on a
-- "grpc" service.
--
-- What the grpc module does not honour is $upstream_uri: it sends the
-- client's request target unless the request's own URI was changed. This
-- plugin runs after every other access handler (lowest priority) and,
-- when $upstream_uri or $args differ from the client's target (Kong
-- normalised the path, or a plugin rewrote the path or the query), moves
-- them onto the request so the backend receives what an HTTP/1.1 backend
-- would (path.lua says where the two can differ). It does nothing on
-- other locations.

local path = require("kong.plugins.drawbridge-h2c.path")

local ngx = ngx
local var = ngx.var

local H2C = {
  -- Below post-function (-1000): every rewrite is done by then.
  PRIORITY = -100000,
  VERSION = "0.1.0",
}

function H2C:access(conf) -- luacheck: ignore 212
  if var.kong_proxy_mode ~= "grpc" then
    return
  end
  local p = path.new_path(var.request_uri, var.upstream_uri, var.args)
  if p and path.is_origin_path(p) then
    -- jump=false: stay in this location; binary=true: a decoded path may
    -- hold bytes (%00-%1F) that nginx escapes again when sending it.
    ngx.req.set_uri(p, false, true)
  end
end

return H2C
