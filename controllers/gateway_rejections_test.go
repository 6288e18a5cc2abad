package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

func testRoute(name string, gen int64, backend string) *gwv1.HTTPRoute {
	return &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Generation: gen},
		Spec: gwv1.HTTPRouteSpec{Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{
			BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(backend)}},
		}}}}},
	}
}

func testSnapshot() ([]client.Object, *translate.Snapshot) {
	a, b, c := testRoute("a", 1, "web"), testRoute("b", 4, "web"), testRoute("c", 2, "api")
	snap := &translate.Snapshot{
		HTTPRoutes: []gwv1.HTTPRoute{*a, *b, *c},
		Services: []corev1.Service{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", ResourceVersion: "10"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "api", ResourceVersion: "11"}},
		},
		Secrets: []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "tls", ResourceVersion: "7"}}},
	}
	return []client.Object{a, b, c}, snap
}

func routeNames(s *translate.Snapshot) []string {
	var out []string
	for _, r := range s.HTTPRoutes {
		out = append(out, r.Name)
	}
	return out
}

func TestNewRejectionsTakeOnlyObjectsThatCanBeLeftOut(t *testing.T) {
	routes, snap := testSnapshot()
	versions := objectVersions(routes, snap)
	ce := &dataplane.ConfigError{Objects: []dataplane.ObjectError{
		{Kind: "HTTPRoute", Namespace: "apps", Name: "b", EntityType: "route", EntityName: "httproute.apps.b.0.0", Messages: []string{"bad"}},
		{Kind: "HTTPRoute", Namespace: "apps", Name: "b", EntityType: "route", EntityName: "httproute.apps.b.1.0", Messages: []string{"worse"}},
		{EntityType: "upstream", Messages: []string{"untagged"}},                                     // cannot be attributed
		{Kind: "HTTPRoute", Namespace: "apps", Name: "ghost", Messages: []string{"not in snapshot"}}, // not ours to drop
		{Kind: "HTTPRoute", Namespace: "apps", Name: "a", Messages: []string{"already out"}},
	}}
	got := newRejections(ce, versions, map[objectRef]rejection{{"HTTPRoute", "apps", "a"}: {Version: "1"}})
	if len(got) != 1 {
		t.Fatalf("rejections = %v, want only route b", got)
	}
	rej := got[objectRef{"HTTPRoute", "apps", "b"}]
	if rej.Version != "4" || rej.Message != `Kong rejected route "httproute.apps.b.0.0" generated from HTTPRoute apps/b: bad; Kong rejected route "httproute.apps.b.1.0" generated from HTTPRoute apps/b: worse` {
		t.Fatalf("rejection of b = %+v", rej)
	}
	if newRejections(nil, versions, nil) != nil {
		t.Fatal("no error must give no rejections")
	}
}

func TestWithoutRejectedLeavesOutRoutesTheirBackendsAndSecrets(t *testing.T) {
	routes, snap := testSnapshot()
	if got := withoutRejected(snap, routes, nil); got != snap {
		t.Fatal("nothing excluded must return the snapshot itself")
	}
	excluded := map[objectRef]rejection{
		{"HTTPRoute", "apps", "a"}: {Message: "route a"},
		{"Service", "apps", "api"}: {Message: "upstream api"},
		{"Secret", "infra", "tls"}: {Message: "certificate"},
	}
	got := withoutRejected(snap, routes, excluded)
	if names := routeNames(got); len(names) != 1 || names[0] != "b" {
		t.Fatalf("routes kept = %v, want [b]: a is rejected and c uses the rejected Service", names)
	}
	if len(got.Secrets) != 0 || len(snap.Secrets) != 1 {
		t.Fatalf("secrets kept = %d (original %d)", len(got.Secrets), len(snap.Secrets))
	}
	if len(snap.HTTPRoutes) != 3 {
		t.Fatal("the full snapshot was modified")
	}
	left := leftOut(routes, excluded)
	if left[objectRef{"HTTPRoute", "apps", "c"}] != "backend Service apps/api: upstream api" || left[objectRef{"HTTPRoute", "apps", "a"}] != "route a" {
		t.Fatalf("leftOut = %v", left)
	}
}

func TestRejectionsAreForgottenWhenTheObjectChanges(t *testing.T) {
	gw := types.NamespacedName{Namespace: "apps", Name: "gw"}
	var r rejections
	ref := objectRef{"HTTPRoute", "apps", "b"}
	r.remember(gw, ref, rejection{Version: "4", Message: "bad"})
	if got := r.current(gw, map[objectRef]string{ref: "4"}); len(got) != 1 {
		t.Fatalf("unchanged route: %v", got)
	}
	if got := r.current(gw, map[objectRef]string{ref: "5"}); len(got) != 0 {
		t.Fatalf("edited route still excluded: %v", got)
	}
	if got := r.current(gw, map[objectRef]string{ref: "4"}); len(got) != 0 {
		t.Fatal("a forgotten rejection came back")
	}
	r.remember(gw, ref, rejection{Version: "4"})
	r.forget(gw)
	if got := r.current(gw, map[objectRef]string{ref: "4"}); len(got) != 0 {
		t.Fatal("forget kept the Gateway's rejections")
	}
}
