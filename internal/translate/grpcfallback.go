package translate

import (
	"fmt"
	"sort"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// grpcUnimplementedLua answers a gRPC request that no GRPCRoute matched.
// Kong's own "no Route matched" answer is HTTP 404 with grpc-status 5
// (NotFound, kong/pdk/response.lua HTTP_TO_GRPC_STATUS), while gRPC and the
// Gateway API conformance suite expect Unimplemented (12) for an unknown
// method. kong.response.exit keeps a grpc-status header it is given, and
// with a gRPC Content-Type and no body it sends an empty gRPC response. The
// HTTP status stays 404, which clients that read only the HTTP status also
// map to Unimplemented. Kong treats only HTTP/2 requests as gRPC; an
// HTTP/1.x request gets Kong's own 404, exactly as without this route.
const grpcUnimplementedLua = `if ngx.req.http_version() ~= 2 then
  return kong.response.error(404, "no Route matched with those values")
end
kong.response.exit(404, nil, { ["Content-Type"] = "application/grpc", ["grpc-status"] = "12", ["grpc-message"] = "no GRPCRoute matches this request" })
`

// grpcFallbackRoutes adds, per port whose HTTP or HTTPS listeners carry
// GRPCRoutes, a route of the lowest priority (0, below every priority
// assignPriorities gives) that catches gRPC requests (Content-Type
// application/grpc...) no other route took and answers Unimplemented.
// Other requests still get Kong's 404.
func (t *translator) grpcFallbackRoutes() {
	type portKey struct {
		port  int32
		https bool
	}
	ports := map[portKey]*listenerInfo{}
	for i, l := range t.listeners {
		if !l.serves() || (l.kind != provision.KindHTTP && l.kind != provision.KindHTTPS) {
			continue
		}
		for key := range t.attached[i] {
			if key.Kind != "GRPCRoute" {
				continue
			}
			k := portKey{int32(l.spec.Port), l.kind == provision.KindHTTPS}
			if _, ok := ports[k]; !ok {
				ports[k] = l
			}
			break
		}
	}
	keys := make([]portKey, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].port != keys[j].port {
			return keys[i].port < keys[j].port
		}
		return !keys[i].https
	})
	noStrip := false
	for _, k := range keys {
		l := ports[k]
		// http/https, not grpc/grpcs: Kong answers an HTTP/1.x request on
		// a gRPC route with 426, which would change what non-gRPC clients
		// get; the Lua tells the two apart instead.
		proto := "http"
		if k.https {
			proto = "https"
		}
		tags := objectTags("Gateway", t.gw.Namespace, t.gw.Name, string(t.gw.UID))
		tags = append(tags, "drawbridge-listener:"+l.tag())
		name := fmt.Sprintf("%s.grpc-unimplemented.%d", entityName("Gateway", t.gw.Namespace, t.gw.Name, l.index), k.port)
		t.upstreams = append(t.upstreams, kong.Upstream{Name: name, Tags: tags})
		route := &kong.Route{
			Name:       name,
			Protocols:  []string{proto},
			Expression: portPredicate(l) + ` && http.headers.content_type ^= "application/grpc"`,
			Priority:   0,
			StripPath:  &noStrip,
			Tags:       tags,
			Plugins: []kong.Plugin{{Name: kong.PluginPreFunction, Tags: tags,
				Config: map[string]any{"access": []string{grpcUnimplementedLua}}}},
		}
		t.kongServices = append(t.kongServices, &serviceBuild{
			svc:    kong.Service{Name: name, Protocol: "http", Host: name, Port: 80, Tags: tags},
			routes: []*kong.Route{route},
		})
	}
}
