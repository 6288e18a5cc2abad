// Package scalegen generates the Gateway API objects that the scale
// benchmarks translate, push and serve: one Gateway and N HTTPRoutes spread
// over namespaces and hostnames, each with a path prefix, a header match on
// every third route, and two weighted backends. The same objects feed the
// in-process translation benchmark, the CLI benchmark (as YAML), the Kong
// apply benchmark and the lab benchmark, so their figures compare.
package scalegen

import (
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// Options shape a generated set.
type Options struct {
	Routes int
	// Namespaces the routes and Services are spread over (default 20).
	Namespaces int
	// Hostnames the routes are spread over (default 50).
	Hostnames int
	// GatewayNamespace and GatewayName name the Gateway (default infra/gw).
	GatewayNamespace, GatewayName string
	// Port is the Gateway's HTTP listener port (default 80).
	Port int32
	// Prefix starts every generated route, Service and namespace name, so
	// several sets can share a cluster (default "").
	Prefix string
	// Endpoints gives the addresses of Service i (default: three addresses
	// of 10.x.y.0/24 per Service, all distinct), and TargetPort their port
	// (default 8080).
	Endpoints  func(service int) []string
	TargetPort int32
}

func (o *Options) defaults() {
	if o.Namespaces <= 0 {
		o.Namespaces = 20
	}
	if o.Hostnames <= 0 {
		o.Hostnames = 50
	}
	if o.GatewayNamespace == "" {
		o.GatewayNamespace = "infra"
	}
	if o.GatewayName == "" {
		o.GatewayName = "gw"
	}
	if o.Port == 0 {
		o.Port = 80
	}
	if o.TargetPort == 0 {
		o.TargetPort = 8080
	}
	if o.Endpoints == nil {
		o.Endpoints = func(i int) []string {
			return []string{fmt.Sprintf("10.%d.%d.1", i/250%250, i%250), fmt.Sprintf("10.%d.%d.2", i/250%250, i%250), fmt.Sprintf("10.%d.%d.3", i/250%250, i%250)}
		}
	}
}

// Set is one generated Gateway with its routes and backends.
type Set struct {
	GatewayClass   *gwv1.GatewayClass
	Gateway        *gwv1.Gateway
	Namespaces     []corev1.Namespace
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	HTTPRoutes     []gwv1.HTTPRoute
}

// Namespace is the namespace of the i-th generated namespace.
func (o Options) Namespace(i int) string {
	o.defaults()
	return fmt.Sprintf("%steam-%d", o.Prefix, i%o.Namespaces)
}

// Hostname is the hostname of route i.
func (o Options) Hostname(i int) string {
	o.defaults()
	return fmt.Sprintf("app%d.example.com", i%o.Hostnames)
}

// Path is the path prefix route i matches.
func (o Options) Path(i int) string { return fmt.Sprintf("/app/%d", i) }

// Header is the header route i also matches, if any (every third route).
func (o Options) Header(i int) (name, value string, ok bool) {
	if i%3 != 0 {
		return "", "", false
	}
	return "x-tenant", fmt.Sprintf("t%d", i%7), true
}

// Generate builds the set. Routes get one Service for every five routes
// (at least two), each with three endpoints; the second backend of a route
// is always in the route's own namespace, so no ReferenceGrant is needed.
func Generate(o Options) *Set {
	o.defaults()
	s := &Set{
		GatewayClass: &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"}, Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}},
		Gateway: &gwv1.Gateway{TypeMeta: metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway"}, ObjectMeta: metav1.ObjectMeta{Name: o.GatewayName, Namespace: o.GatewayNamespace}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "drawbridge",
			Listeners: []gwv1.Listener{{Name: "http", Port: o.Port, Protocol: gwv1.HTTPProtocolType,
				AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr.To(gwv1.NamespacesFromAll)}}}},
		}},
	}
	for i := 0; i < o.Namespaces; i++ {
		s.Namespaces = append(s.Namespaces, corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: o.Namespace(i)}})
	}
	services := max(o.Routes/5, 2)
	// Services are numbered so that service i lives in namespace i mod
	// Namespaces; with at least 2*Namespaces services every namespace has
	// two.
	for i := 0; i < services; i++ {
		ns, name := o.Namespace(i), fmt.Sprintf("%ssvc-%d", o.Prefix, i)
		// Selectorless: the EndpointSlice below is the Service's only
		// source of endpoints, as the generator wrote it.
		s.Services = append(s.Services, corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(o.TargetPort)}}}})
		var eps []discoveryv1.Endpoint
		for _, addr := range o.Endpoints(i) {
			eps = append(eps, discoveryv1.Endpoint{Addresses: []string{addr},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		s.EndpointSlices = append(s.EndpointSlices, discoveryv1.EndpointSlice{
			TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
			ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: ns, Labels: map[string]string{
				discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "scalegen.drawbridge.dev"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(o.TargetPort), Protocol: ptr.To(corev1.ProtocolTCP)}},
			Endpoints:   eps,
		})
	}
	for i := 0; i < o.Routes; i++ {
		svcA := i % services
		svcB := (svcA + o.Namespaces) % services // same namespace as svcA when services >= 2*Namespaces
		if o.Namespace(svcB) != o.Namespace(svcA) {
			svcB = svcA
		}
		s.HTTPRoutes = append(s.HTTPRoutes, o.Route(i, fmt.Sprintf("%ssvc-%d", o.Prefix, svcA), fmt.Sprintf("%ssvc-%d", o.Prefix, svcB), o.Namespace(svcA), 90))
	}
	return s
}

// Route is route i: it sends weightA percent to backend a and the rest to
// backend b, both Services on port 80 in namespace ns.
func (o Options) Route(i int, a, b, ns string, weightA int32) gwv1.HTTPRoute {
	o.defaults()
	match := gwv1.HTTPRouteMatch{Path: &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchPathPrefix), Value: ptr.To(o.Path(i))}}
	if name, value, ok := o.Header(i); ok {
		match.Headers = []gwv1.HTTPHeaderMatch{{Name: gwv1.HTTPHeaderName(name), Value: value}}
	}
	ref := func(name string, w int32) gwv1.HTTPBackendRef {
		return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
			Name: gwv1.ObjectName(name), Port: ptr.To(gwv1.PortNumber(80))}, Weight: ptr.To(w)}}
	}
	return gwv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%sroute-%d", o.Prefix, i), Namespace: ns, CreationTimestamp: metav1.Unix(int64(1700000000+i%100), 0)},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: gwv1.ObjectName(o.GatewayName), Namespace: ptr.To(gwv1.Namespace(o.GatewayNamespace))}}},
			Hostnames:       []gwv1.Hostname{gwv1.Hostname(o.Hostname(i))},
			Rules:           []gwv1.HTTPRouteRule{{Matches: []gwv1.HTTPRouteMatch{match}, BackendRefs: []gwv1.HTTPBackendRef{ref(a, weightA), ref(b, 100-weightA)}}},
		},
	}
}

// Snapshot is the set as the translator reads it.
func (s *Set) Snapshot() *translate.Snapshot {
	return &translate.Snapshot{
		GatewayClass:   s.GatewayClass,
		Gateway:        s.Gateway,
		HTTPRoutes:     s.HTTPRoutes,
		Services:       s.Services,
		EndpointSlices: s.EndpointSlices,
		Namespaces:     s.Namespaces,
	}
}

// WriteYAML writes the set as a multi-document manifest, the input of
// `drawbridge translate`.
func (s *Set) WriteYAML(w io.Writer) error {
	doc := func(apiVersion, kind string, obj any) error {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "---\napiVersion: %s\nkind: %s\n%s", apiVersion, kind, stripTypeMeta(data))
		return err
	}
	if err := doc("gateway.networking.k8s.io/v1", "GatewayClass", s.GatewayClass); err != nil {
		return err
	}
	if err := doc("gateway.networking.k8s.io/v1", "Gateway", s.Gateway); err != nil {
		return err
	}
	for i := range s.Namespaces {
		if err := doc("v1", "Namespace", &s.Namespaces[i]); err != nil {
			return err
		}
	}
	for i := range s.Services {
		if err := doc("v1", "Service", &s.Services[i]); err != nil {
			return err
		}
	}
	for i := range s.EndpointSlices {
		if err := doc("discovery.k8s.io/v1", "EndpointSlice", &s.EndpointSlices[i]); err != nil {
			return err
		}
	}
	for i := range s.HTTPRoutes {
		if err := doc("gateway.networking.k8s.io/v1", "HTTPRoute", &s.HTTPRoutes[i]); err != nil {
			return err
		}
	}
	return nil
}

// stripTypeMeta drops the apiVersion and kind lines a typed object may
// marshal, since doc writes its own.
func stripTypeMeta(data []byte) []byte {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return data
	}
	delete(m, "apiVersion")
	delete(m, "kind")
	delete(m, "status")
	out, err := yaml.Marshal(m)
	if err != nil {
		return data
	}
	return out
}
