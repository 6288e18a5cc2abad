package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A Namespace event reaches the Gateways in that namespace and those that
// select namespaces by label (in a listener, in allowedListeners, or in a
// ListenerSet's listener), not every Gateway.
func TestGatewaysForNamespace(t *testing.T) {
	scheme := gatewayTestScheme(t)
	selector := &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr.To(gwv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}
	all := &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr.To(gwv1.NamespacesFromAll)}}
	gateway := func(ns string, routes *gwv1.AllowedRoutes) *gwv1.Gateway {
		return &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw"}, Spec: gwv1.GatewaySpec{
			Listeners: []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType, AllowedRoutes: routes}}}}
	}
	plain := gateway("plain", all)
	own := gateway("own", nil)
	byListener := gateway("by-listener", selector)
	byAllowedListeners := gateway("by-allowed-listeners", all)
	byAllowedListeners.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{
		From: ptr.To(gwv1.NamespacesFromSelector), Selector: &metav1.LabelSelector{}}}
	bySet := gateway("by-set", all)
	set := &gwv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "sets", Name: "ls"}, Spec: gwv1.ListenerSetSpec{
		ParentRef: gwv1.ParentGatewayReference{Name: "gw", Namespace: ptr.To(gwv1.Namespace("by-set"))},
		Listeners: []gwv1.ListenerEntry{{Name: "x", Port: 8080, Protocol: gwv1.HTTPProtocolType, AllowedRoutes: selector}}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(plain, own, byListener, byAllowedListeners, bySet, set).Build()
	r := &GatewayReconciler{Client: c, ListenerSets: true}

	names := func(ns string) []string {
		var out []string
		for _, req := range r.gatewaysForNamespace(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) {
			out = append(out, req.Namespace)
		}
		slices.Sort(out)
		return out
	}
	selecting := []string{"by-allowed-listeners", "by-listener", "by-set"}
	if got := names("elsewhere"); !slices.Equal(got, selecting) {
		t.Errorf("a namespace without Gateways: got %v, want %v", got, selecting)
	}
	if got, want := names("own"), append([]string{"own"}, selecting...); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("a Gateway's own namespace: got %v, want %v", got, want)
	}
}

func TestNamespaceChangedPassesLabelsAndDeletion(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a"}}}
	annotated := old.DeepCopy()
	annotated.Annotations = map[string]string{"note": "x"}
	relabelled := old.DeepCopy()
	relabelled.Labels["team"] = "b"
	deleting := old.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	for _, tc := range []struct {
		name string
		new  *corev1.Namespace
		want bool
	}{{"annotation only", annotated, false}, {"labels", relabelled, true}, {"deletion starts", deleting, true}} {
		if got := namespaceChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: passed %v, want %v", tc.name, got, tc.want)
		}
	}
}
