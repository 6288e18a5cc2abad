package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The echo of the controller's own status write is dropped; status
// updates by anyone else, and every change a translation reads, pass.
func TestStatusEchoesDropOnlyOurOwnStatusWrites(t *testing.T) {
	old := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "a", Generation: 1, ResourceVersion: "1", Labels: map[string]string{"team": "a"}}}
	withRV := func(rv string, change func(*gwv1.HTTPRoute)) *gwv1.HTTPRoute {
		n := old.DeepCopy()
		n.ResourceVersion = rv
		change(n)
		return n
	}
	ours := withRV("2", func(r *gwv1.HTTPRoute) {
		r.Status.Parents = []gwv1.RouteParentStatus{{ControllerName: "drawbridge.dev/gateway-controller"}}
	})
	for _, tc := range []struct {
		name string
		new  *gwv1.HTTPRoute
		want bool
	}{
		{"our status write", ours, false},
		{"someone else's status write", withRV("3", func(r *gwv1.HTTPRoute) {
			r.Status.Parents = []gwv1.RouteParentStatus{{ControllerName: "example.com/other"}}
		}), true},
		{"spec", withRV("2", func(r *gwv1.HTTPRoute) { r.Generation = 2 }), true},
		{"labels", withRV("2", func(r *gwv1.HTTPRoute) { r.Labels = map[string]string{"team": "b"} }), true},
		{"annotations", withRV("2", func(r *gwv1.HTTPRoute) { r.Annotations = map[string]string{"note": "x"} }), true},
		{"deletion starts", withRV("2", func(r *gwv1.HTTPRoute) { r.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} }), true},
		{"finalizers", withRV("2", func(r *gwv1.HTTPRoute) { r.Finalizers = []string{"example.com/hold"} }), true},
	} {
		e := newStatusEchoes()
		e.end(e.begin(ours), ours, nil)
		if got := e.predicate().Update(event.UpdateEvent{ObjectOld: old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: passed %v, want %v", tc.name, got, tc.want)
		}
	}
	// An echo is recognised once: the same update seen again (a relist)
	// passes.
	e := newStatusEchoes()
	e.end(e.begin(ours), ours, nil)
	p := e.predicate()
	update := event.UpdateEvent{ObjectOld: old, ObjectNew: ours}
	if p.Update(update) || !p.Update(update) {
		t.Error("an echo must be dropped once and then pass")
	}
	// The echo may arrive before the write's answer: while a write is in
	// flight, a status-only update of that object is taken for it; a
	// failed write records nothing.
	e = newStatusEchoes()
	p = e.predicate()
	k := e.begin(ours)
	if p.Update(update) {
		t.Error("a status-only update during our write passed")
	}
	e.end(k, ours, errors.New("conflict"))
	if !p.Update(update) {
		t.Error("after a failed write, a status-only update was dropped")
	}
}

// The Gateway controller's client records the resourceVersion its status
// writes leave.
func TestEchoRecordingClientRecordsStatusWrites(t *testing.T) {
	scheme := gatewayTestScheme(t)
	route := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "a"}}
	base := fake.NewClientBuilder().WithScheme(scheme).WithObjects(route).WithStatusSubresource(route).Build()
	e := newStatusEchoes()
	c := echoRecordingClient{Client: base, echoes: e}
	var cur gwv1.HTTPRoute
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(route), &cur); err != nil {
		t.Fatal(err)
	}
	before := cur.DeepCopy()
	cur.Status.Parents = []gwv1.RouteParentStatus{{ControllerName: "drawbridge.dev/gateway-controller"}}
	if err := c.Status().Patch(context.Background(), &cur, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	if cur.ResourceVersion == before.ResourceVersion || !e.echo(&cur) {
		t.Errorf("the status write (resourceVersion %s -> %s) was not recorded", before.ResourceVersion, cur.ResourceVersion)
	}
}

// gatewayTestScheme knows the core kinds and Gateway API's, for fake
// clients.
func gatewayTestScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := gwv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	return scheme
}
