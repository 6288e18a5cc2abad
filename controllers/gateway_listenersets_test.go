package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

func listenerSetFixture() (*gatewayScope, *gwv1.ListenerSet) {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
	gw.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{From: ptr.To(gwv1.NamespacesFromAll)}}
	gw.Spec.Listeners = []gwv1.Listener{{Name: "web", Port: 80, Protocol: gwv1.HTTPProtocolType, Hostname: ptr.To(gwv1.Hostname("a.example.com"))}}
	ls := &gwv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "ls", Generation: 2}}
	ls.Spec.ParentRef = gwv1.ParentGatewayReference{Name: "gw", Namespace: ptr.To(gwv1.Namespace("infra"))}
	ls.Spec.Listeners = []gwv1.ListenerEntry{
		{Name: "ok", Port: 80, Protocol: gwv1.HTTPProtocolType, Hostname: ptr.To(gwv1.Hostname("b.example.com"))},
		{Name: "clash", Port: 80, Protocol: gwv1.HTTPProtocolType, Hostname: ptr.To(gwv1.Hostname("a.example.com"))},
	}
	s := &gatewayScope{gateway: gw}
	s.listeners = gatewayapi.ValidateListeners(gatewayapi.ListenerInput{Gateway: gw})
	s.listenerSets = gatewayapi.ValidateListenerSets(gatewayapi.ListenerSetInput{
		ListenerInput: gatewayapi.ListenerInput{Gateway: gw}, GatewayListeners: s.listeners, ListenerSets: []gwv1.ListenerSet{*ls},
	})
	return s, ls
}

func condition(t *testing.T, conds []metav1.Condition, condType string) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(conds, condType)
	if c == nil {
		t.Fatalf("no %s condition in %v", condType, conds)
	}
	return *c
}

func TestListenerSetStatus(t *testing.T) {
	s, ls := listenerSetFixture()
	res := s.listenerSets[0]
	counts := map[gwv1.SectionName]int32{"ok": 3}

	st := listenerSetStatus(s, ls, res, counts, true)
	if c := condition(t, st.Conditions, "Accepted"); c.Status != metav1.ConditionTrue || c.Reason != "ListenersNotValid" || c.ObservedGeneration != 2 {
		t.Errorf("Accepted = %+v, want True/ListenersNotValid at generation 2", c)
	}
	if c := condition(t, st.Conditions, "Programmed"); c.Status != metav1.ConditionTrue || c.Reason != "Programmed" {
		t.Errorf("Programmed = %+v", c)
	}
	if len(st.Listeners) != 2 || st.Listeners[0].AttachedRoutes != 3 {
		t.Fatalf("listeners = %+v", st.Listeners)
	}
	clash := st.Listeners[1].Conditions
	for _, typ := range []string{"Accepted", "Programmed"} {
		if c := condition(t, clash, typ); c.Status != metav1.ConditionFalse || c.Reason != "HostnameConflict" {
			t.Errorf("clash %s = %+v, want False/HostnameConflict", typ, c)
		}
	}
	if c := condition(t, clash, "Conflicted"); c.Status != metav1.ConditionTrue {
		t.Errorf("clash Conflicted = %+v", c)
	}

	// The next reconcile keeps transition times and, without translation,
	// the last attached-route counts.
	ls.Status = st
	before := condition(t, st.Conditions, "Accepted").LastTransitionTime
	again := listenerSetStatus(s, ls, res, nil, true)
	if got := condition(t, again.Conditions, "Accepted").LastTransitionTime; !got.Equal(&before) {
		t.Error("an unchanged condition moved its transition time")
	}
	if again.Listeners[0].AttachedRoutes != 3 {
		t.Errorf("attachedRoutes = %d, want the last count 3", again.Listeners[0].AttachedRoutes)
	}

	// A Gateway whose configuration is invalid does not accept it.
	s.invalidParams = "GatewayConfiguration missing"
	bad := listenerSetStatus(s, ls, res, counts, false)
	if c := condition(t, bad.Conditions, "Accepted"); c.Status != metav1.ConditionFalse || c.Reason != "ParentNotAccepted" {
		t.Errorf("Accepted = %+v, want False/ParentNotAccepted", c)
	}
	if c := condition(t, bad.Conditions, "Programmed"); c.Status != metav1.ConditionFalse || c.Reason != "ParentNotAccepted" {
		t.Errorf("Programmed = %+v, want False/ParentNotAccepted", c)
	}
}

func TestServedListenerSetsRememberDeparted(t *testing.T) {
	var m servedListenerSets
	gw := types.NamespacedName{Namespace: "infra", Name: "gw"}
	m.settle(gw, map[string]bool{"apps/a": true, "apps/b": true})
	got := m.claims(gw, map[string]bool{"apps/a": true, "apps/c": true})
	for _, k := range []string{"apps/a", "apps/b", "apps/c"} {
		if !got[k] {
			t.Errorf("claims miss %s: %v", k, got)
		}
	}
	m.settle(gw, map[string]bool{"apps/a": true})
	if got := m.claims(gw, nil); len(got) != 1 || !got["apps/a"] {
		t.Errorf("after settle: %v", got)
	}
	m.forget(gw)
	if got := m.claims(gw, nil); len(got) != 0 {
		t.Errorf("after forget: %v", got)
	}
}
