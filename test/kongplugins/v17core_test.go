package kongplugins

import (
	"fmt"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// Core tests new in Gateway API v1.7.0 whose outcome depends on the Kong
// configuration: HTTPRouteRuleOrder, GRPCRouteMultipleGateways and
// GatewayNameMaximumLength (the last one only checks status upstream; here
// its Gateway also carries routes, so every Kong entity named after it is
// generated and must be accepted by real Kong).

// v17TranslateGateway translates the snapshot of one Gateway among several.
func v17TranslateGateway(t testing.TB, gateway string, manifests ...string) *translate.Result {
	t.Helper()
	objs := &translatecli.Objects{}
	if err := objs.Decode("fixture.yaml", strings.NewReader(strings.Join(manifests, "\n---\n"))); err != nil {
		t.Fatal(err)
	}
	snaps, _ := objs.Snapshots()
	for _, s := range snaps {
		if s.Name == v17NS+"/"+gateway {
			res, err := translate.Translate(s.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
	}
	t.Fatalf("Gateway %s is not in the manifests", gateway)
	return nil
}

const ruleOrderRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rule-order, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: Exact, value: /rule-order}, headers: [{name: x-version, value: one}, {name: x-color, value: blue}]}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: Exact, value: /rule-order}, headers: [{name: x-color, value: blue}, {name: x-version, value: one}]}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rule-order-invalid-backend, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: Exact, value: /rule-order-invalid-backend}}]
    backendRefs: [{name: nonexistent, port: 8080}]
  - matches: [{path: {type: Exact, value: /rule-order-invalid-backend}}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
`

// TestHTTPRouteRuleOrder runs HTTPRouteRuleOrder on real Kong: of two
// rules with the same matches the first wins, and when the first one's
// backend does not exist the request gets 500, not the second rule.
func TestHTTPRouteRuleOrder(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "infra-backend-v1-pod")
	v2 := v17StartEcho(t, "infra-backend-v2-pod")
	res := translateResult(t, v17GatewayClass, v17SameNamespace("same-namespace", k.httpPort, "Same"),
		v17Service("infra-backend-v1", v1, ""), v17Service("infra-backend-v2", v2, ""), ruleOrderRoutes)
	if r := v17RouteResult(t, res, "HTTPRoute", "rule-order"); r.Accepted.Status != "True" || r.ResolvedRefs.Status != "True" {
		t.Fatalf("rule-order: %+v %+v", r.Accepted, r.ResolvedRefs)
	}
	if r := v17RouteResult(t, res, "HTTPRoute", "rule-order-invalid-backend"); r.Accepted.Status != "True" ||
		r.ResolvedRefs.Status != "False" || r.ResolvedRefs.Reason != "BackendNotFound" {
		t.Fatalf("rule-order-invalid-backend: %+v %+v", r.Accepted, r.ResolvedRefs)
	}
	k.post(t, res)
	v17Eventually(t, "first matching rule", func() error {
		code, e, err := v17HTTPGet(k.httpAddr(), "", "/rule-order", map[string]string{"x-color": "blue", "x-version": "one"})
		if err != nil {
			return err
		}
		if code != 200 || e == nil || !strings.HasPrefix(e.Pod, "infra-backend-v1") {
			return fmt.Errorf("got %d from %+v, want infra-backend-v1", code, e)
		}
		return nil
	})
	v17Eventually(t, "invalid first matching rule", func() error {
		code, e, err := v17HTTPGet(k.httpAddr(), "", "/rule-order-invalid-backend", nil)
		if err != nil {
			return err
		}
		if code != 500 || e != nil {
			return fmt.Errorf("got %d from %+v, want 500 from Kong", code, e)
		}
		return nil
	})
}

func grpcMultipleGatewaysRoutes() string {
	return `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: multiple-gateways-shared-route, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}, {name: all-namespaces}]
  rules:
  - matches: [{method: {service: ` + v17EchoService + `, method: Echo}}]
    backendRefs: [{name: grpc-infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: same-namespace-dedicated-route, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{method: {service: ` + v17EchoService + `, method: EchoTwo}}]
    backendRefs: [{name: grpc-infra-backend-v2, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: all-namespaces-dedicated-route, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: all-namespaces}]
  rules:
  - matches: [{method: {service: ` + v17EchoService + `, method: EchoTwo}}]
    backendRefs: [{name: grpc-infra-backend-v3, port: 8080}]
`
}

// TestGRPCRouteMultipleGateways runs GRPCRouteMultipleGateways on real
// Kong: each Gateway's data plane (one Kong, given each Gateway's
// configuration in turn) serves the shared route and only its own
// dedicated route. The conformance client sends no :authority of its own
// choosing, so the calls carry Kong's address as :authority.
func TestGRPCRouteMultipleGateways(t *testing.T) {
	k := v17StartKong(t, false)
	backends := map[string]string{}
	var manifests []string
	manifests = append(manifests, v17GatewayClass,
		v17SameNamespace("same-namespace", k.httpPort, "Same"), v17SameNamespace("all-namespaces", k.httpPort, "All"))
	for _, name := range []string{"grpc-infra-backend-v1", "grpc-infra-backend-v2", "grpc-infra-backend-v3"} {
		backends[name] = v17StartEcho(t, name+"-pod")
		manifests = append(manifests, v17Service(name, backends[name], ""))
	}
	manifests = append(manifests, grpcMultipleGatewaysRoutes())
	for _, tc := range []struct{ gateway, dedicated, unexpected string }{
		{"same-namespace", "grpc-infra-backend-v2", "grpc-infra-backend-v3"},
		{"all-namespaces", "grpc-infra-backend-v3", "grpc-infra-backend-v2"},
	} {
		t.Run(tc.gateway, func(t *testing.T) {
			res := v17TranslateGateway(t, tc.gateway, manifests...)
			v17RequireAccepted(t, res)
			if len(res.Routes) != 2 {
				t.Fatalf("Gateway %s has %d route parents, want the shared and its dedicated route", tc.gateway, len(res.Routes))
			}
			k.post(t, res)
			for _, call := range []struct{ method, backend string }{{"Echo", "grpc-infra-backend-v1"}, {"EchoTwo", tc.dedicated}} {
				c := grpcHeaderCase{method: call.method, backend: call.backend}
				v17Eventually(t, call.method, func() error {
					method := "/" + v17EchoService + "/" + call.method
					a, err := v17GRPCCall(k.httpAddr(), "", method, nil)
					if err != nil {
						return err
					}
					if a.grpcStatus != "0" || a.echo == nil || !strings.HasPrefix(a.echo.Pod, c.backend) || a.echo.Path != method {
						return fmt.Errorf("want %s on %s, got %s %+v", method, c.backend, a, a.echo)
					}
					return nil
				})
			}
		})
	}
}

// v17LongName is the 253-character Gateway name of the upstream test
// GatewayNameMaximumLength: its prefix and then "a" up to the limit.
var v17LongName = func() string {
	const prefix = "gateway-name-maximum-length-"
	return prefix + strings.Repeat("a", 253-len(prefix))
}()

// TestGatewayNameMaximumLength gives a Gateway with the longest name a
// Kubernetes object can have, and routes with that name too, so that Kong
// entities are named after them (a GRPCRoute also makes the translator add
// a fallback route with a service and upstream named after the Gateway),
// and checks that real Kong accepts the configuration and routes HTTP and
// gRPC traffic with it. Those names keep a single DNS label
// longer than 63 characters, which Kong's host and upstream name rules
// accept (kong/tools/ip.lua check_hostname checks characters, not lengths).
func TestGatewayNameMaximumLength(t *testing.T) {
	k := v17StartKong(t, false)
	v1 := v17StartEcho(t, "infra-backend-v1-pod")
	gw := fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  gatewayClassName: drawbridge
  listeners:
  - {name: http, port: %[3]s, protocol: HTTP}
`, v17LongName, v17NS, k.httpPort)
	routes := fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  parentRefs: [{name: %[1]s}]
  rules: [{matches: [{path: {type: PathPrefix, value: /http}}], backendRefs: [{name: infra-backend-v1, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  parentRefs: [{name: %[1]s}]
  rules: [{matches: [{method: {service: %[3]s}}], backendRefs: [{name: infra-backend-v1, port: 8080}]}]
`, v17LongName, v17NS, v17EchoService)
	res := translateResult(t, v17GatewayClass, gw, v17Service("infra-backend-v1", v1, ""), routes)
	v17RequireAccepted(t, res)
	longest := ""
	for _, s := range res.Config.Services {
		if len(s.Host) > len(longest) {
			longest = s.Host
		}
	}
	if len(longest) <= 63 {
		t.Fatalf("no generated host name is longer than a DNS label; the test no longer covers long labels (%q)", longest)
	}
	k.post(t, res)
	v17Eventually(t, "HTTP", func() error {
		code, e, err := v17HTTPGet(k.httpAddr(), "", "/http", nil)
		if err != nil {
			return err
		}
		if code != 200 || e == nil || e.Pod != "infra-backend-v1-pod" {
			return fmt.Errorf("got %d from %+v", code, e)
		}
		return nil
	})
	v17Eventually(t, "gRPC", func() error {
		a, err := v17GRPCCall(k.httpAddr(), "", "/"+v17EchoService+"/Echo", nil)
		if err != nil {
			return err
		}
		if a.grpcStatus != "0" || a.echo == nil {
			return fmt.Errorf("got %s", a)
		}
		return nil
	})
	v17Eventually(t, "gRPC fallback", func() error {
		a, err := v17GRPCCall(k.httpAddr(), "", "/other.Service/Echo", nil)
		if err != nil {
			return err
		}
		if a.grpcStatus != "12" {
			return fmt.Errorf("got %s, want Unimplemented (12) from the fallback route", a)
		}
		return nil
	})
}
