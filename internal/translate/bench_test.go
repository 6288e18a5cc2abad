package translate_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// benchSnapshot builds n HTTPRoutes spread over 20 namespaces and 50
// hostnames, each with a path prefix, a header match on every third route,
// and two weighted backends of 3 endpoints each.
func benchSnapshot(n int) *translate.Snapshot {
	snap := &translate.Snapshot{
		GatewayClass: &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"}, Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}},
		Gateway: &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "infra"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "drawbridge",
			Listeners: []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType,
				AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr(gwv1.NamespacesFromAll)}}}},
		}},
	}
	services := n / 5
	if services < 2 {
		services = 2
	}
	for i := 0; i < services; i++ {
		ns := fmt.Sprintf("team-%d", i%20)
		name := fmt.Sprintf("svc-%d", i)
		snap.Services = append(snap.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
		var eps []discoveryv1.Endpoint
		for e := 0; e < 3; e++ {
			eps = append(eps, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i/250%250, i%250, e+1)}})
		}
		snap.EndpointSlices = append(snap.EndpointSlices, discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
			Endpoints:   eps,
		})
	}
	for i := 0; i < n; i++ {
		svcA, svcB := i%services, (i+20)%services
		ns := fmt.Sprintf("team-%d", svcA%20)
		nsB := fmt.Sprintf("team-%d", svcB%20)
		match := gwv1.HTTPRouteMatch{Path: &gwv1.HTTPPathMatch{Type: ptr(gwv1.PathMatchPathPrefix), Value: ptr(fmt.Sprintf("/app/%d", i))}}
		if i%3 == 0 {
			match.Headers = []gwv1.HTTPHeaderMatch{{Name: "x-tenant", Value: fmt.Sprintf("t%d", i%7)}}
		}
		ref := func(svc int, svcNS string, w int32) gwv1.HTTPBackendRef {
			return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
				Name: gwv1.ObjectName(fmt.Sprintf("svc-%d", svc)), Namespace: ptr(gwv1.Namespace(svcNS)), Port: ptr(gwv1.PortNumber(80))}, Weight: ptr(w)}}
		}
		refs := []gwv1.HTTPBackendRef{ref(svcA, ns, 90)}
		if nsB == ns {
			refs = append(refs, ref(svcB, nsB, 10))
		} else {
			refs = append(refs, ref((svcA+20)%services, ns, 10))
		}
		snap.HTTPRoutes = append(snap.HTTPRoutes, gwv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("route-%d", i), Namespace: ns, CreationTimestamp: metav1.Unix(int64(1700000000+i%100), 0)},
			Spec: gwv1.HTTPRouteSpec{
				CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", Namespace: ptr(gwv1.Namespace("infra"))}}},
				Hostnames:       []gwv1.Hostname{gwv1.Hostname(fmt.Sprintf("app%d.example.com", i%50))},
				Rules:           []gwv1.HTTPRouteRule{{Matches: []gwv1.HTTPRouteMatch{match}, BackendRefs: refs}},
			},
		})
	}
	return snap
}

// BenchmarkTranslate reports the cost of a full translation, JSON encoding
// included, at 100, 1,000 and 10,000 HTTPRoutes.
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		snap := benchSnapshot(n)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				res, err := translate.Translate(snap)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Config.Services) != n {
					b.Fatalf("got %d services, want %d", len(res.Config.Services), n)
				}
			}
		})
	}
}
