package translate

import (
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Kong's HTTP router reads the Host header through
// kong.tools.http.get_header("host", ngx.ctx), and when the Host carries a
// port it takes net.dst.port from that port instead of the listener's
// (kong/router/atc.lua matching: params.port from split_host_port;
// kong/router/fields.lua: net.dst.port returns params.port first). It also
// compares http.host case-sensitively. So without help, "Host: a.example:8080"
// sent to the port-80 listener reaches a route of the 8080 listener,
// "Host: a.example:1234" matches no route at all, and "Host: A.Example"
// misses a route for a.example, although Gateway API hostnames are
// case-insensitive and a route must only see its own listener's traffic.
//
// One global pre-function fixes what the router sees, before it runs:
// global plugins run in the rewrite phase, the router in access.before. The
// chunk replaces ngx.ctx.cached_request_headers (the table get_header reads
// when it is set) with the request headers whose host is lower-cased and
// stripped of its port, so net.dst.port falls back to ctx.host_port (the
// listener's port after port_maps) and http.host is lower case. Routes use
// preserve_host, so the router then sets ngx.var.upstream_host to the
// normalised host; the access chunk (after the router, before the balancer
// sets the upstream Host or :authority) puts the Host the client sent back.
// A route's own pre-function replaces the global one in access: Drawbridge
// gives one only to routes that answer the request themselves (redirects),
// so nothing is proxied with the normalised Host.
//
// Kong's router cache keys on the host it read and on net.dst.port, so
// requests that differ only in their Host port share the (correct) entry.

// hostNormaliseRewrite is the rewrite-phase chunk. IPv6 literals keep their
// brackets ("[::1]:80" becomes "[::1]").
const hostNormaliseRewrite = `local headers = ngx.req.get_headers()
local host = headers.host
if type(host) == "table" then host = host[1] end
if type(host) == "string" then
  local norm = host:lower()
  if norm:sub(1, 1) == "[" then
    local e = norm:find("]", 1, true)
    if e then norm = norm:sub(1, e) end
  else
    local c = norm:find(":", 1, true)
    if c then norm = norm:sub(1, c - 1) end
  end
  if norm ~= host then
    headers.host = norm
    ngx.ctx.cached_request_headers = headers
    ngx.ctx.drawbridge_host = { host, norm }
  end
end
`

// hostNormaliseAccess is the access-phase chunk restoring the client's Host
// for the upstream request.
const hostNormaliseAccess = `local h = ngx.ctx.drawbridge_host
if h and ngx.var.upstream_host == h[2] then
  ngx.var.upstream_host = h[1]
end
`

// globalPlugins returns the configuration's global plugins: the Host
// normalisation when any route goes through Kong's HTTP router.
func (t *translator) globalPlugins() []kong.Plugin {
	httpRoutes := false
	for _, sb := range t.kongServices {
		for _, r := range sb.routes {
			for _, p := range r.Protocols {
				switch p {
				case "http", "https", "grpc", "grpcs":
					httpRoutes = true
				}
			}
		}
	}
	if !httpRoutes {
		return nil
	}
	tags := objectTags("Gateway", t.gw.Namespace, t.gw.Name, string(t.gw.UID))
	return []kong.Plugin{{
		Name: kong.PluginPreFunction,
		Tags: append(tags, "drawbridge-host-normalisation"),
		Config: map[string]any{
			"rewrite": []string{hostNormaliseRewrite},
			"access":  []string{hostNormaliseAccess},
		},
	}}
}
