package kongplugins

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// v17EchoService is the gRPC service of the conformance suite's echo
// server; methods are called as /<service>/<method>.
const v17EchoService = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"

// grpcHeaderRoutes is the GRPCRoute of the upstream test
// GRPCRouteRequestHeaderModifier: three rules with the same Echo match that
// differ only in their request header modifier (set, add, remove), and one
// EchoTwo rule that does all three.
const grpcHeaderRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc-request-header-modifier, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{method: {service: ` + v17EchoService + `, method: Echo}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Header-Set, value: set-overwrites-values}]}}]
    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]
  - matches: [{method: {service: ` + v17EchoService + `, method: Echo}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: X-Header-Add, value: add-appends-values}]}}]
    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]
  - matches: [{method: {service: ` + v17EchoService + `, method: Echo}}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {remove: [X-Header-Remove]}}]
    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]
  - matches: [{method: {service: ` + v17EchoService + `, method: EchoTwo}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set-1, value: header-set-1}, {name: X-Header-Set-2, value: header-set-2}]
        add: [{name: X-Header-Add-1, value: header-add-1}, {name: X-Header-Add-2, value: header-add-2}]
        remove: [X-Header-Remove-1, X-Header-Remove-2]
    backendRefs: [{name: grpc-infra-backend-v2, port: 8080}]
`

// v17SameNamespace is the conformance suite's same-namespace Gateway with
// one HTTP listener on port.
func v17SameNamespace(name, port, from string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: %s}
spec:
  gatewayClassName: drawbridge
  listeners:
  - {name: http, port: %s, protocol: HTTP, allowedRoutes: {namespaces: {from: %s}}}
`, name, v17NS, port, from)
}

// grpcHeaderCase is one call of GRPCRouteRequestHeaderModifier. The
// upstream suite checks only that the call succeeds on the right backend
// and method (its compareResponse reads no metadata); want and absent are
// the metadata the backend must see by the spec. They differ from the
// upstream test's own expectations where those contradict its manifest:
// its Echo rules all share one match, so only the first (set) applies, and
// EchoTwo sets X-Header-Set-1 to header-set-1.
type grpcHeaderCase struct {
	name     string
	method   string
	metadata map[string]string
	backend  string
	want     map[string][]string
	absent   []string
}

var grpcHeaderCases = []grpcHeaderCase{
	{
		name: "set adds a missing header", method: "Echo", backend: "grpc-infra-backend-v1",
		metadata: map[string]string{"Some-Other-Header": "this-header-should-be-set"},
		want:     map[string][]string{"Some-Other-Header": {"this-header-should-be-set"}, "X-Header-Set": {"set-overwrites-values"}},
	},
	{
		name: "set overwrites the client's value", method: "Echo", backend: "grpc-infra-backend-v1",
		metadata: map[string]string{"Some-Other-Header": "this-header-should-be-set", "X-Header-Set": "this-value-should-be-overwritten"},
		want:     map[string][]string{"Some-Other-Header": {"this-header-should-be-set"}, "X-Header-Set": {"set-overwrites-values"}},
	},
	{
		name: "the add rule is shadowed by the first rule with the same match", method: "Echo", backend: "grpc-infra-backend-v1",
		metadata: map[string]string{"Some-Other-Header": "this-header-should-be-set"},
		want:     map[string][]string{"X-Header-Set": {"set-overwrites-values"}},
		absent:   []string{"X-Header-Add"},
	},
	{
		name: "the add rule is shadowed: the client's value is kept alone", method: "Echo", backend: "grpc-infra-backend-v1",
		metadata: map[string]string{"Some-Other-Header": "this-header-should-be-set", "X-Header-Add": "this-value-should-be-appended"},
		want:     map[string][]string{"X-Header-Add": {"this-value-should-be-appended"}, "X-Header-Set": {"set-overwrites-values"}},
	},
	{
		name: "the remove rule is shadowed: the header stays", method: "Echo", backend: "grpc-infra-backend-v1",
		metadata: map[string]string{"X-Header-Remove": "this-should-be-removed"},
		want:     map[string][]string{"X-Header-Remove": {"this-should-be-removed"}, "X-Header-Set": {"set-overwrites-values"}},
	},
	{
		name: "set, add and remove in one filter", method: "EchoTwo", backend: "grpc-infra-backend-v2",
		metadata: map[string]string{"X-Header-Set-2": "set-header-2", "X-Header-Add-2": "add-header-2", "X-Header-Remove-2": "should-be-removed-2", "Some-Other-Header": "another-header-val"},
		want: map[string][]string{
			"X-Header-Set-1": {"header-set-1"}, "X-Header-Set-2": {"header-set-2"},
			"X-Header-Add-1": {"header-add-1"}, "X-Header-Add-2": {"add-header-2", "header-add-2"},
			"Some-Other-Header": {"another-header-val"},
		},
		absent: []string{"X-Header-Remove-2"},
	},
	{
		name: "header names are case-insensitive", method: "EchoTwo", backend: "grpc-infra-backend-v2",
		metadata: map[string]string{"x-header-set-1": "original-set-1", "x-header-add-1": "existing-add-1", "x-header-remove-1": "should-be-removed-1"},
		want: map[string][]string{
			"X-Header-Set-1": {"header-set-1"}, "X-Header-Set-2": {"header-set-2"},
			"X-Header-Add-1": {"existing-add-1", "header-add-1"}, "X-Header-Add-2": {"header-add-2"},
		},
		absent: []string{"X-Header-Remove-1"},
	},
}

// check makes the call and compares what the backend saw.
func (c grpcHeaderCase) check(addr string) error {
	_, err := c.call(addr)
	return err
}

// call makes the call, compares what the backend saw and names the pod
// that answered.
func (c grpcHeaderCase) call(addr string) (string, error) {
	method := "/" + v17EchoService + "/" + c.method
	a, err := v17GRPCCall(addr, v17EchoService, method, c.metadata)
	if err != nil {
		return "", err
	}
	if a.httpStatus != 200 || a.grpcStatus != "0" || a.echo == nil {
		return "", fmt.Errorf("want an OK echo, got %s", a)
	}
	e := a.echo
	if e.Path != method || e.Namespace != v17NS || !strings.HasPrefix(e.Pod, c.backend) {
		return "", fmt.Errorf("want %s on %s, got %s on pod %s (namespace %s)", method, c.backend, e.Path, e.Pod, e.Namespace)
	}
	if e.Proto != "HTTP/2.0" || e.Host != v17EchoService {
		return "", fmt.Errorf("backend got %s with :authority %q, want HTTP/2.0 and %q", e.Proto, e.Host, v17EchoService)
	}
	for name, want := range c.want {
		if got := e.Headers[name]; !slices.Equal(got, want) {
			return "", fmt.Errorf("metadata %s = %q, want %q (all: %v)", name, got, want, e.Headers)
		}
	}
	for _, name := range c.absent {
		if got, ok := e.Headers[name]; ok {
			return "", fmt.Errorf("metadata %s = %q, want it removed", name, got)
		}
	}
	return e.Pod, nil
}

// TestGRPCRouteRequestHeaderModifier runs the cases of the v1.7.0
// conformance test GRPCRouteRequestHeaderModifier on real Kong: gRPC over
// h2c to a plain listener, through the request-transformer the translator
// emits for GRPCRoute header filters, to h2c gRPC backends.
func TestGRPCRouteRequestHeaderModifier(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "grpc-infra-backend-v1-pod")
	v2 := v17StartEcho(t, "grpc-infra-backend-v2-pod")
	res := translateResult(t, v17GatewayClass, v17SameNamespace("same-namespace", k.httpPort, "Same"),
		v17Service("grpc-infra-backend-v1", v1, ""), v17Service("grpc-infra-backend-v2", v2, ""), grpcHeaderRoutes)
	v17RequireAccepted(t, res)
	k.post(t, res)
	for _, c := range grpcHeaderCases {
		t.Run(c.name, func(t *testing.T) {
			v17Eventually(t, c.name, func() error { return c.check(k.httpAddr()) })
		})
	}
}

// TestGRPCRouteBackendRequestHeaderModifier checks header modifiers on
// backendRefs of a GRPCRoute rule: identical on every backendRef they apply
// to the rule, and each backend sees them.
func TestGRPCRouteBackendRequestHeaderModifier(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "grpc-infra-backend-v1-pod")
	v2 := v17StartEcho(t, "grpc-infra-backend-v2-pod")
	route := `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: backend-filters, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{method: {service: ` + v17EchoService + `, method: Echo}}]
    backendRefs:
    - name: grpc-infra-backend-v1
      port: 8080
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Backend-Set, value: from-route}], add: [{name: X-Backend-Add, value: added}], remove: [X-Backend-Remove]}}]
    - name: grpc-infra-backend-v2
      port: 8080
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Backend-Set, value: from-route}], add: [{name: X-Backend-Add, value: added}], remove: [X-Backend-Remove]}}]
`
	res := translateResult(t, v17GatewayClass, v17SameNamespace("same-namespace", k.httpPort, "Same"),
		v17Service("grpc-infra-backend-v1", v1, ""), v17Service("grpc-infra-backend-v2", v2, ""), route)
	v17RequireAccepted(t, res)
	k.post(t, res)
	seen := map[string]bool{}
	c := grpcHeaderCase{
		method: "Echo", backend: "grpc-infra-backend-v",
		metadata: map[string]string{"X-Backend-Set": "client", "X-Backend-Add": "client", "X-Backend-Remove": "client"},
		want:     map[string][]string{"X-Backend-Set": {"from-route"}, "X-Backend-Add": {"client", "added"}},
		absent:   []string{"X-Backend-Remove"},
	}
	for i := 0; i < 8; i++ {
		pod, err := c.call(k.httpAddr())
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		seen[pod] = true
	}
	if len(seen) != 2 {
		t.Errorf("calls reached %v, want both backends", seen)
	}
}
