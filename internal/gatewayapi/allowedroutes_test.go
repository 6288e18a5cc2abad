package gatewayapi

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestAllowedRoutesAdmitsNamespace(t *testing.T) {
	from := func(f gwv1.FromNamespaces, sel *metav1.LabelSelector) *gwv1.AllowedRoutes {
		return &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr.To(f), Selector: sel}}
	}
	team := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	byName := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "apps"}}
	cases := []struct {
		name   string
		ar     *gwv1.AllowedRoutes
		ns     string
		labels map[string]string
		want   bool
	}{
		{"default is Same: owner", nil, "gw", nil, true},
		{"default is Same: other", nil, "apps", nil, false},
		{"All", from(gwv1.NamespacesFromAll, nil), "apps", nil, true},
		{"Selector matches labels", from(gwv1.NamespacesFromSelector, team), "apps", map[string]string{"team": "a"}, true},
		{"Selector misses labels", from(gwv1.NamespacesFromSelector, team), "apps", map[string]string{"team": "b"}, false},
		{"Selector on the implied name label", from(gwv1.NamespacesFromSelector, byName), "apps", nil, true},
		{"Selector without selector", from(gwv1.NamespacesFromSelector, nil), "apps", nil, false},
	}
	for _, c := range cases {
		if got := AllowedRoutesAdmitsNamespace(c.ar, "gw", c.ns, c.labels); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
