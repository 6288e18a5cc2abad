package kongplugins

import (
	"fmt"
	"strings"
	"testing"
)

// GatewayRouteHostnameIntersectionPrecedence on real Kong: routes attached
// to one listener are ranked by their own hostnames, not by their
// intersections with the listener's, which are equal in every case here.
// Each case reproduces one of the upstream tests
// HTTPRouteMultipleRoutesAttachmentSameHostnameIntersection,
// GRPCRouteMultipleRoutesAttachmentSameHostnameIntersection and
// TLSRouteMultipleRoutesAttachmentSameHostnameIntersection: an older route
// with the less specific hostname, a newer one (a second later, as the
// suite creates it) with the more specific hostname.

const (
	v17Older = "2026-01-01T00:00:00Z"
	v17Newer = "2026-01-01T00:00:01Z"
)

// v17HostGateway is a Gateway with one listener for hostname.
func v17HostGateway(name, protocol, port, hostname, kind, tls string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: %s}
spec:
  gatewayClassName: drawbridge
  listeners:
  - {name: listener, protocol: %s, port: %s, hostname: "%s", allowedRoutes: {namespaces: {from: Same}, kinds: [{kind: %s}]}%s}
`, name, v17NS, protocol, port, hostname, kind, tls)
}

// v17HostRoute is a route of kind with one hostname, created at created,
// with one rule: match (may be empty) and backendRef backend:port.
func v17HostRoute(kind, name, gateway, hostname, created, match, backend string, port int) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: %s
metadata: {name: %s, namespace: %s, creationTimestamp: "%s"}
spec:
  parentRefs: [{name: %s}]
  hostnames: ["%s"]
  rules: [{%sbackendRefs: [{name: %s, port: %d}]}]
`, kind, name, v17NS, created, gateway, hostname, match, backend, port)
}

type hostPrecedenceHTTPCase struct {
	name       string
	listener   string
	olderHost  string
	olderMatch string
	newerHost  string
	newerMatch string
	requests   []hostPrecedenceRequest
}

type hostPrecedenceRequest struct {
	path    string
	headers map[string]string
	backend string
}

const (
	matchPathPrefix       = `matches: [{path: {type: PathPrefix, value: /path/prefix}}], `
	matchPathPrefixB      = `matches: [{path: {type: PathPrefix, value: /path/prefix}, headers: [{type: Exact, name: Header-B, value: B}]}], `
	matchShortPrefix      = `matches: [{path: {type: PathPrefix, value: /path}}], `
	matchShortPrefixHdrA  = `matches: [{path: {type: PathPrefix, value: /path}, headers: [{type: Exact, name: Header-A, value: A}]}], `
	hostPrecedenceLongURL = "/path/prefix/longer"
)

var hostPrecedenceHTTPCases = []hostPrecedenceHTTPCase{
	{
		name: "exact route hostname beats older wildcard", listener: "abc.example.com",
		olderHost: "*.example.com", newerHost: "abc.example.com",
		requests: []hostPrecedenceRequest{{path: "/", backend: "infra-backend-v2"}},
	},
	{
		name: "exact route hostname beats older wildcard with a longer path prefix", listener: "abc.example.com",
		olderHost: "*.example.com", olderMatch: matchPathPrefix, newerHost: "abc.example.com", newerMatch: matchShortPrefix,
		requests: []hostPrecedenceRequest{{path: hostPrecedenceLongURL, backend: "infra-backend-v2"}},
	},
	{
		name: "exact route hostname passes unmatched requests to the wildcard route", listener: "abc.example.com",
		olderHost: "*.example.com", olderMatch: matchPathPrefixB, newerHost: "abc.example.com", newerMatch: matchShortPrefixHdrA,
		requests: []hostPrecedenceRequest{
			{path: hostPrecedenceLongURL, headers: map[string]string{"Header-A": "A", "Header-B": "B"}, backend: "infra-backend-v2"},
			{path: hostPrecedenceLongURL, headers: map[string]string{"Header-B": "B"}, backend: "infra-backend-v1"},
		},
	},
	{
		name: "longer wildcard route hostname beats older shorter wildcard", listener: "*.example.com",
		olderHost: "*.com", newerHost: "*.example.com",
		requests: []hostPrecedenceRequest{{path: "/", backend: "infra-backend-v2"}},
	},
	{
		name: "longer wildcard route hostname beats older shorter wildcard with a longer path prefix", listener: "*.example.com",
		olderHost: "*.com", olderMatch: matchPathPrefix, newerHost: "*.example.com", newerMatch: matchShortPrefix,
		requests: []hostPrecedenceRequest{{path: hostPrecedenceLongURL, backend: "infra-backend-v2"}},
	},
	{
		name: "longer wildcard route hostname passes unmatched requests to the shorter one", listener: "*.example.com",
		olderHost: "*.com", olderMatch: matchPathPrefixB, newerHost: "*.example.com", newerMatch: matchShortPrefixHdrA,
		requests: []hostPrecedenceRequest{
			{path: hostPrecedenceLongURL, headers: map[string]string{"Header-A": "A", "Header-B": "B"}, backend: "infra-backend-v2"},
			{path: hostPrecedenceLongURL, headers: map[string]string{"Header-B": "B"}, backend: "infra-backend-v1"},
		},
	},
}

// TestHTTPRouteHostnameIntersectionPrecedence: each case is one Gateway (a
// data plane of its own, so one Kong given each configuration in turn).
func TestHTTPRouteHostnameIntersectionPrecedence(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "infra-backend-v1-pod")
	v2 := v17StartEcho(t, "infra-backend-v2-pod")
	for _, c := range hostPrecedenceHTTPCases {
		t.Run(c.name, func(t *testing.T) {
			res := translateResult(t, v17GatewayClass, v17HostGateway("gw", "HTTP", k.httpPort, c.listener, "HTTPRoute", ""),
				v17Service("infra-backend-v1", v1, ""), v17Service("infra-backend-v2", v2, ""),
				v17HostRoute("HTTPRoute", "older", "gw", c.olderHost, v17Older, c.olderMatch, "infra-backend-v1", 8080),
				v17HostRoute("HTTPRoute", "newer", "gw", c.newerHost, v17Newer, c.newerMatch, "infra-backend-v2", 8080))
			v17RequireAccepted(t, res)
			k.post(t, res)
			for _, r := range c.requests {
				v17Eventually(t, fmt.Sprintf("%s %v", r.path, r.headers), func() error {
					code, e, err := v17HTTPGet(k.httpAddr(), "abc.example.com", r.path, r.headers)
					if err != nil {
						return err
					}
					if code != 200 || e == nil || !strings.HasPrefix(e.Pod, r.backend) {
						return fmt.Errorf("got %d from %+v, want %s", code, e, r.backend)
					}
					return nil
				})
			}
		})
	}
}

// TestGRPCRouteHostnameIntersectionPrecedence: gRPC calls with :authority
// abc.example.com.
func TestGRPCRouteHostnameIntersectionPrecedence(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "grpc-infra-backend-v1-pod")
	v2 := v17StartEcho(t, "grpc-infra-backend-v2-pod")
	for _, c := range []struct{ name, listener, olderHost, newerHost string }{
		{"exact route hostname beats older wildcard", "abc.example.com", "*.example.com", "abc.example.com"},
		{"longer wildcard route hostname beats older shorter wildcard", "*.example.com", "*.com", "*.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := translateResult(t, v17GatewayClass, v17HostGateway("gw", "HTTP", k.httpPort, c.listener, "GRPCRoute", ""),
				v17Service("grpc-infra-backend-v1", v1, ""), v17Service("grpc-infra-backend-v2", v2, ""),
				v17HostRoute("GRPCRoute", "older", "gw", c.olderHost, v17Older, "", "grpc-infra-backend-v1", 8080),
				v17HostRoute("GRPCRoute", "newer", "gw", c.newerHost, v17Newer, "", "grpc-infra-backend-v2", 8080))
			v17RequireAccepted(t, res)
			k.post(t, res)
			v17Eventually(t, "Echo", func() error {
				method := "/" + v17EchoService + "/Echo"
				a, err := v17GRPCCall(k.httpAddr(), "abc.example.com", method, nil)
				if err != nil {
					return err
				}
				if a.grpcStatus != "0" || a.echo == nil || !strings.HasPrefix(a.echo.Pod, "grpc-infra-backend-v2") || a.echo.Path != method {
					return fmt.Errorf("got %s %+v, want %s on grpc-infra-backend-v2", a, a.echo, method)
				}
				return nil
			})
		})
	}
}

// TestTLSRouteHostnameIntersectionPrecedence: passthrough listeners, TLS to
// the backends with SNI abc.example.com, each backend's certificate
// verified as the suite verifies tls-checks-certificate.
func TestTLSRouteHostnameIntersectionPrecedence(t *testing.T) {
	k := v17StartKong(t, true)
	cert, roots := v17SelfSigned(t, "abc.example.com", "*.example.com")
	b1 := v17StartTLSEcho(t, "tls-backend-pod", cert)
	b2 := v17StartTLSEcho(t, "tls-backend-2-pod", cert)
	passthrough := ", tls: {mode: Passthrough}"
	for _, c := range []struct{ name, listener, olderHost, newerHost string }{
		{"exact route hostname beats older wildcard", "abc.example.com", "*.example.com", "abc.example.com"},
		{"longer wildcard route hostname beats older shorter wildcard", "*.example.com", "*.com", "*.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := translateResult(t, v17GatewayClass, v17HostGateway("gw", "TLS", k.tlsPort, c.listener, "TLSRoute", passthrough),
				v17Service("tls-backend", b1, "tls"), v17Service("tls-backend-2", b2, "tls"),
				v17HostRoute("TLSRoute", "older", "gw", c.olderHost, v17Older, "", "tls-backend", 443),
				v17HostRoute("TLSRoute", "newer", "gw", c.newerHost, v17Newer, "", "tls-backend-2", 443))
			v17RequireAccepted(t, res)
			k.post(t, res)
			v17Eventually(t, "TLS", func() error {
				e, err := v17TLSGet(k.tlsAddr(), "abc.example.com", roots)
				if err != nil {
					return err
				}
				if !strings.HasPrefix(e.Pod, "tls-backend-2") || e.SNI != "abc.example.com" {
					return fmt.Errorf("got pod %s with SNI %q, want tls-backend-2 with abc.example.com", e.Pod, e.SNI)
				}
				return nil
			})
		})
	}
}
