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

func ptr[T any](v T) *T { return &v }

// fuzzSnapshot builds a Gateway with an HTTP and a wildcard listener and one
// HTTPRoute whose spec is driven by the fuzzer.
func fuzzSnapshot(hostname, path string, pathKind uint8, header, value string, query string, method string, filterKind uint8, filterArg string, weight int32) *translate.Snapshot {
	pathTypes := []gwv1.PathMatchType{gwv1.PathMatchPathPrefix, gwv1.PathMatchExact, gwv1.PathMatchRegularExpression}
	match := gwv1.HTTPRouteMatch{Path: &gwv1.HTTPPathMatch{Type: ptr(pathTypes[int(pathKind)%3]), Value: ptr(path)}}
	if header != "" {
		match.Headers = []gwv1.HTTPHeaderMatch{{Name: gwv1.HTTPHeaderName(header), Value: value}}
	}
	if query != "" {
		match.QueryParams = []gwv1.HTTPQueryParamMatch{{Name: gwv1.HTTPHeaderName(query), Value: value, Type: ptr(gwv1.QueryParamMatchRegularExpression)}}
	}
	if method != "" {
		match.Method = ptr(gwv1.HTTPMethod(method))
	}
	var filters []gwv1.HTTPRouteFilter
	switch filterKind % 7 {
	case 1:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterRequestHeaderModifier,
			RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Set: []gwv1.HTTPHeader{{Name: gwv1.HTTPHeaderName(header), Value: filterArg}}}})
	case 2:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterRequestRedirect,
			RequestRedirect: &gwv1.HTTPRequestRedirectFilter{Hostname: ptr(gwv1.PreciseHostname(filterArg)), StatusCode: ptr(301)}})
	case 3:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterURLRewrite,
			URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr(filterArg)}}})
	case 4:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterCORS,
			CORS: &gwv1.HTTPCORSFilter{AllowOrigins: []gwv1.CORSOrigin{gwv1.CORSOrigin(filterArg)}, AllowMethods: []gwv1.HTTPMethodWithWildcard{gwv1.HTTPMethodWithWildcard(method)}}})
	case 5:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterResponseHeaderModifier,
			ResponseHeaderModifier: &gwv1.HTTPHeaderFilter{Add: []gwv1.HTTPHeader{{Name: gwv1.HTTPHeaderName(header), Value: filterArg}}, Remove: []string{value}}})
	case 6:
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterURLRewrite,
			URLRewrite: &gwv1.HTTPURLRewriteFilter{Hostname: ptr(gwv1.PreciseHostname(filterArg)), Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr(filterArg)}}})
	}
	var hostnames []gwv1.Hostname
	if hostname != "" {
		hostnames = []gwv1.Hostname{gwv1.Hostname(hostname)}
	}
	route := gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "default"},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
			Hostnames:       hostnames,
			Rules: []gwv1.HTTPRouteRule{{
				Matches: []gwv1.HTTPRouteMatch{match}, Filters: filters,
				BackendRefs: []gwv1.HTTPBackendRef{
					{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: "web", Port: ptr(gwv1.PortNumber(8080))}, Weight: ptr(weight)}},
					{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: "api", Port: ptr(gwv1.PortNumber(8080))}}},
				},
			}},
		},
	}
	return &translate.Snapshot{
		GatewayClass: &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "drawbridge"}, Spec: gwv1.GatewayClassSpec{ControllerName: gatewayapi.ControllerName}},
		Gateway: &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "drawbridge",
			Listeners: []gwv1.Listener{
				{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType},
				{Name: "wild", Port: 80, Protocol: gwv1.HTTPProtocolType, Hostname: ptr(gwv1.Hostname("*.example.com"))},
			},
		}},
		HTTPRoutes: []gwv1.HTTPRoute{route},
		Services: []corev1.Service{
			{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "default"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}},
		},
		EndpointSlices: []discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(3000))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}},
		}},
	}
}

// FuzzTranslateHTTPRoute checks that no route spec panics the translator
// and that every config it produces passes the Kong validator. The seed
// corpus runs under plain `go test`.
func FuzzTranslateHTTPRoute(f *testing.F) {
	f.Add("app.example.com", "/api", uint8(0), "x-version", "v2", "", "GET", uint8(0), "", int32(1))
	f.Add("", "/", uint8(0), "", "", "page", "", uint8(1), "prod", int32(0))
	f.Add("*.example.com", "/v[0-9]+", uint8(2), "Host", "a.example.com", "", "POST", uint8(2), "new.example.com", int32(50))
	f.Add("a.example.com", "/old", uint8(0), "x-a", "b", "", "", uint8(3), "/new", int32(3))
	f.Add("", "/(", uint8(2), "bad name", "\"quoted\\\"", "q-dash", "PATCH", uint8(4), "https://*.example.org", int32(65535))
	f.Add("b.example.com", "/exact", uint8(1), "x-b", "$(headers.host)", "", "", uint8(1), "$(x)", int32(1000000))
	f.Add("c.example.com", "/", uint8(0), "X-Resp", "Server", "", "WEIRD", uint8(5), "v", int32(-1))
	f.Add("", "/p", uint8(0), "x", "y", "", "", uint8(6), "not a host", int32(2))
	f.Add("unrelated.org", "/", uint8(0), "", "", "", "", uint8(0), "", int32(1))
	f.Fuzz(func(t *testing.T, hostname, path string, pathKind uint8, header, value, query, method string, filterKind uint8, filterArg string, weight int32) {
		snap := fuzzSnapshot(hostname, path, pathKind, header, value, query, method, filterKind, filterArg, weight)
		res, err := translate.Translate(snap)
		if err != nil {
			t.Fatalf("translate: %v", err)
		}
		if err := kong.Validate(res.Config); err != nil {
			t.Fatalf("invalid config for %+v: %v", snap.HTTPRoutes[0].Spec, err)
		}
	})
}
