package translate

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// HTTPRoute backends that speak HTTP/2 cleartext with prior knowledge.
//
// nginx's proxy module talks HTTP/1.x to upstreams, but its grpc module is
// a general HTTP/2 cleartext proxy, and Kong 3.9.3 sends every request
// whose service protocol is "grpc" through it (kong/runloop/handler.lua,
// access.before: exec("@grpc")), whatever the route's protocol. Kong's
// gRPC-only checks (415 for a non-gRPC request, 426 for gRPC over
// HTTP/1.1) are tied to the route's protocols instead. So an HTTPRoute rule
// whose backends are h2c keeps its "http"/"https" Kong routes and gets a
// "grpc" service: any method, header and body, from HTTP/1.1 or HTTP/2
// clients, reaches the backend as HTTP/2. The drawbridge-h2c plugin on its
// routes carries path and query rewrites over, which the grpc module
// would otherwise ignore (it does not read $upstream_uri).

// h2cAppProtocol is the Service port appProtocol (KEP-3726) of backends
// that speak HTTP/2 over cleartext TCP with prior knowledge.
const h2cAppProtocol = "kubernetes.io/h2c"

// pluginH2C is Drawbridge's own plugin (internal/kong/luaplugins) for
// HTTPRoute rules proxied over h2c.
const pluginH2C = "drawbridge-h2c"

// h2cBackends is the Kong service protocol of an HTTPRoute rule whose
// backends are h2c. With a BackendTLSPolicy the same HTTP/2 goes over TLS
// (grpcs), as the policy asks.
var h2cBackends = backendProtocol{kongProtocol: "grpc", l4: corev1.ProtocolTCP, tlsProtocol: "grpcs"}

// wireName says how Drawbridge proxies to a backend of an HTTPRoute.
func wireName(h2c bool) string {
	if h2c {
		return "HTTP/2 cleartext (appProtocol " + h2cAppProtocol + ")"
	}
	return "HTTP/1.1"
}

// splitH2C decides whether an HTTPRoute rule is proxied over h2c. One Kong
// service serves a rule, and nginx picks HTTP/1.1 or HTTP/2 before the
// balancer picks an endpoint, so every backend of a rule must speak the
// same protocol. The first backendRef that can receive traffic (non-zero
// weight; else the first resolved one) decides; backendRefs speaking the
// other protocol are dropped with UnsupportedProtocol.
func splitH2C(b ruleBackends, ruleIdx int) (ruleBackends, bool, []refProblem) {
	if len(b.resolved) == 0 {
		return b, false, nil
	}
	lead := b.resolved[0]
	for _, r := range b.resolved {
		if r.weight > 0 {
			lead = r
			break
		}
	}
	h2c := lead.appProtocol == h2cAppProtocol
	if !slices.ContainsFunc(b.resolved, func(r resolvedBackend) bool { return (r.appProtocol == h2cAppProtocol) != h2c }) {
		return b, h2c, nil // the common case: nothing to drop, nothing to copy
	}
	var kept []resolvedBackend
	var problems []refProblem
	for _, r := range b.resolved {
		if (r.appProtocol == h2cAppProtocol) == h2c {
			kept = append(kept, r)
			continue
		}
		problems = append(problems, refProblem{gwv1.RouteReasonUnsupportedProtocol, fmt.Sprintf(
			"rules[%d].backendRefs[%d]: Service %s/%s port %d speaks %s, but rules[%d].backendRefs[%d] speaks %s; Kong proxies one rule with one protocol, so put h2c and HTTP/1.1 backends in separate rules",
			ruleIdx, r.ref, r.service.Namespace, r.service.Name, r.port, wireName(!h2c), ruleIdx, lead.ref, wireName(h2c))})
	}
	b.resolved = kept
	b.problems = append(b.problems, problems...)
	return b, h2c, problems
}

// h2cRetryUnsupported refuses retry.codes on an h2c rule. drawbridge-retry
// needs Kong's buffered proxying, whose location (/kong_buffered_http in
// nginx_kong.lua) always proxy_passes over HTTP/1.x: with a grpc service
// nginx fails with `invalid URL prefix in "grpc://kong_upstream/..."` and
// Kong answers 500 to every request (seen on real Kong 3.9.3). Retries on
// connection errors (attempts alone) are Kong's balancer's and work.
func h2cRetryUnsupported(ruleIdx int) *unsupported {
	return unsupportedf("rules[%d]: retry.codes cannot be used with backends that speak h2c (appProtocol %s): retrying on status codes replays the request through Kong's buffered proxy path, which speaks HTTP/1.1 only; retry.attempts without codes (connection errors) works", ruleIdx, h2cAppProtocol)
}

// h2cPlugin is the drawbridge-h2c instance of one route.
func h2cPlugin(tags []string) kong.Plugin {
	return kong.Plugin{Name: pluginH2C, Config: map[string]any{}, Tags: tags}
}
