package translate_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// fuzzBase is a Gateway with a listener of every kind the fuzz targets below
// attach to (HTTP for gRPC, TCP, UDP and TLS passthrough, the last with a
// fuzzed hostname), and one backend Service with endpoints.
func fuzzBase(tlsHostname string, allowListenerSets bool) *translate.Snapshot {
	passthrough := gwv1.TLSModePassthrough
	var tlsHost *gwv1.Hostname
	if tlsHostname != "" {
		tlsHost = ptr(gwv1.Hostname(tlsHostname))
	}
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"}, Spec: gwv1.GatewaySpec{
		GatewayClassName: "drawbridge",
		Listeners: []gwv1.Listener{
			{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType},
			{Name: "tcp", Port: 9000, Protocol: gwv1.TCPProtocolType},
			{Name: "udp", Port: 9001, Protocol: gwv1.UDPProtocolType},
			{Name: "tls", Port: 9443, Protocol: gwv1.TLSProtocolType, Hostname: tlsHost, TLS: &gwv1.ListenerTLSConfig{Mode: &passthrough}},
		},
	}}
	if allowListenerSets {
		from := gwv1.NamespacesFromAll
		gw.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{From: &from}}
	}
	return &translate.Snapshot{
		GatewayClass: &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"}, Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}},
		Gateway:      gw,
		Services: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "tcp", Port: 8080}, {Name: "udp", Port: 8081, Protocol: corev1.ProtocolUDP},
		}}}},
		EndpointSlices: []discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("tcp"), Port: ptr(int32(3000))}, {Name: ptr("udp"), Port: ptr(int32(3001)), Protocol: ptr(corev1.ProtocolUDP)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
		}},
	}
}

// translateValid is the property every fuzz target checks: no input panics
// the translator, and every configuration it produces passes Kong's schema
// checks as internal/kong knows them.
func translateValid(t *testing.T, snap *translate.Snapshot) {
	t.Helper()
	res, err := translate.Translate(snap)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	if err := kong.Validate(res.Config); err != nil {
		t.Fatalf("invalid config: %v", err)
	}
}

func backendRef(port int32, weight int32) gwv1.BackendRef {
	return gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: "web", Port: ptr(gwv1.PortNumber(port))}, Weight: ptr(weight)}
}

// FuzzTranslateGRPCRoute drives a GRPCRoute's hostname, method match,
// header match and header filter.
func FuzzTranslateGRPCRoute(f *testing.F) {
	f.Add("grpc.example.com", "grpc.health.v1.Health", "Check", uint8(0), "x-tenant", "a", uint8(0), "v", int32(1))
	f.Add("", "", "Check", uint8(0), "", "", uint8(1), "", int32(0))
	f.Add("*.example.com", "pkg.Svc", "", uint8(1), "x-v", "v[0-9]+", uint8(2), "added", int32(100))
	f.Add("", "bad service", "bad/method", uint8(1), "bad header", "(", uint8(1), "\"", int32(-1))
	f.Add("a.b", "s", "m", uint8(0), ":authority", "x", uint8(2), "$(y)", int32(1000000))
	f.Fuzz(func(t *testing.T, hostname, service, method string, matchKind uint8, header, value string, filterKind uint8, filterArg string, weight int32) {
		snap := fuzzBase("", false)
		types := []gwv1.GRPCMethodMatchType{gwv1.GRPCMethodMatchExact, gwv1.GRPCMethodMatchRegularExpression}
		match := gwv1.GRPCRouteMatch{}
		if service != "" || method != "" {
			mm := &gwv1.GRPCMethodMatch{Type: ptr(types[int(matchKind)%2])}
			if service != "" {
				mm.Service = ptr(service)
			}
			if method != "" {
				mm.Method = ptr(method)
			}
			match.Method = mm
		}
		if header != "" {
			match.Headers = []gwv1.GRPCHeaderMatch{{Type: ptr(gwv1.GRPCHeaderMatchType([]string{"Exact", "RegularExpression"}[int(matchKind)%2])), Name: gwv1.GRPCHeaderName(header), Value: value}}
		}
		var filters []gwv1.GRPCRouteFilter
		switch filterKind % 3 {
		case 1:
			filters = append(filters, gwv1.GRPCRouteFilter{Type: gwv1.GRPCRouteFilterRequestHeaderModifier,
				RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Set: []gwv1.HTTPHeader{{Name: gwv1.HTTPHeaderName(header), Value: filterArg}}}})
		case 2:
			filters = append(filters, gwv1.GRPCRouteFilter{Type: gwv1.GRPCRouteFilterResponseHeaderModifier,
				ResponseHeaderModifier: &gwv1.HTTPHeaderFilter{Add: []gwv1.HTTPHeader{{Name: gwv1.HTTPHeaderName(header), Value: filterArg}}, Remove: []string{value}}})
		}
		var hostnames []gwv1.Hostname
		if hostname != "" {
			hostnames = []gwv1.Hostname{gwv1.Hostname(hostname)}
		}
		snap.GRPCRoutes = []gwv1.GRPCRoute{{
			ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "default"},
			Spec: gwv1.GRPCRouteSpec{
				CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", SectionName: ptr(gwv1.SectionName("http"))}}},
				Hostnames:       hostnames,
				Rules: []gwv1.GRPCRouteRule{{Matches: []gwv1.GRPCRouteMatch{match}, Filters: filters,
					BackendRefs: []gwv1.GRPCBackendRef{{BackendRef: backendRef(8080, weight)}}}},
			},
		}}
		translateValid(t, snap)
	})
}

// FuzzTranslateStreamRoutes drives TCP, UDP and TLS passthrough routes:
// which listener and port they name, backend ports and weights, and the
// SNI hostnames of a TLSRoute against the listener's hostname.
func FuzzTranslateStreamRoutes(f *testing.F) {
	f.Add(uint8(0), "", "", uint16(0), int32(1), int32(8080))
	f.Add(uint8(1), "", "", uint16(9001), int32(1), int32(8081))
	f.Add(uint8(2), "*.example.com", "a.example.com", uint16(9443), int32(5), int32(8080))
	f.Add(uint8(2), "a.example.com", "*.example.com", uint16(0), int32(0), int32(8080))
	f.Add(uint8(2), "", "bad host!", uint16(80), int32(-3), int32(1))
	f.Add(uint8(0), "", "", uint16(9001), int32(1000001), int32(65536))
	f.Fuzz(func(t *testing.T, kind uint8, listenerHostname, sni string, port uint16, weight, backendPort int32) {
		snap := fuzzBase(listenerHostname, false)
		parent := gwv1.ParentReference{Name: "gw"}
		if port != 0 {
			parent.Port = ptr(gwv1.PortNumber(port))
		}
		meta := metav1.ObjectMeta{Name: "fuzz", Namespace: "default"}
		common := gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{parent}}
		refs := []gwv1.BackendRef{backendRef(backendPort, weight), backendRef(8080, 1)}
		switch kind % 3 {
		case 0:
			snap.TCPRoutes = []gwv1.TCPRoute{{ObjectMeta: meta, Spec: gwv1.TCPRouteSpec{CommonRouteSpec: common, Rules: []gwv1.TCPRouteRule{{BackendRefs: refs}}}}}
		case 1:
			snap.UDPRoutes = []gwv1.UDPRoute{{ObjectMeta: meta, Spec: gwv1.UDPRouteSpec{CommonRouteSpec: common, Rules: []gwv1.UDPRouteRule{{BackendRefs: refs}}}}}
		case 2:
			var hostnames []gwv1.Hostname
			if sni != "" {
				hostnames = []gwv1.Hostname{gwv1.Hostname(sni)}
			}
			snap.TLSRoutes = []gwv1.TLSRoute{{ObjectMeta: meta, Spec: gwv1.TLSRouteSpec{CommonRouteSpec: common, Hostnames: hostnames, Rules: []gwv1.TLSRouteRule{{BackendRefs: refs}}}}}
		}
		translateValid(t, snap)
	})
}

// FuzzTranslateListenerSet drives a ListenerSet's listener (name, port,
// protocol, hostname) against the Gateway's own listeners, with an
// HTTPRoute attached to the set.
func FuzzTranslateListenerSet(f *testing.F) {
	f.Add("extra", uint16(8080), uint8(0), "app.example.com", "app.example.com", true)
	f.Add("http", uint16(80), uint8(0), "", "", true)
	f.Add("clash", uint16(9000), uint8(0), "", "x.example.com", true)
	f.Add("tcp", uint16(9000), uint8(1), "", "", true)
	f.Add("bad name!", uint16(0), uint8(2), "*.*", "*", false)
	f.Add("udp", uint16(9001), uint8(3), "x", "", true)
	f.Fuzz(func(t *testing.T, name string, port uint16, protocol uint8, hostname, routeHostname string, allowed bool) {
		snap := fuzzBase("", allowed)
		protocols := []gwv1.ProtocolType{gwv1.HTTPProtocolType, gwv1.TCPProtocolType, gwv1.HTTPSProtocolType, gwv1.UDPProtocolType}
		l := gwv1.ListenerEntry{Name: gwv1.SectionName(name), Port: gwv1.PortNumber(port), Protocol: protocols[int(protocol)%len(protocols)]}
		if hostname != "" {
			l.Hostname = ptr(gwv1.Hostname(hostname))
		}
		snap.ListenerSets = []gwv1.ListenerSet{{
			ObjectMeta: metav1.ObjectMeta{Name: "set", Namespace: "team"},
			Spec:       gwv1.ListenerSetSpec{ParentRef: gwv1.ParentGatewayReference{Name: "gw", Namespace: ptr(gwv1.Namespace("default"))}, Listeners: []gwv1.ListenerEntry{l}},
		}}
		var hostnames []gwv1.Hostname
		if routeHostname != "" {
			hostnames = []gwv1.Hostname{gwv1.Hostname(routeHostname)}
		}
		group, kind := gwv1.Group(gwv1.GroupName), gwv1.Kind("ListenerSet")
		snap.HTTPRoutes = []gwv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "team"},
			Spec: gwv1.HTTPRouteSpec{
				CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Group: &group, Kind: &kind, Name: "set"}}},
				Hostnames:       hostnames,
				Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
					Name: "web", Namespace: ptr(gwv1.Namespace("default")), Port: ptr(gwv1.PortNumber(8080))}}}}}},
			},
		}}
		translateValid(t, snap)
	})
}
