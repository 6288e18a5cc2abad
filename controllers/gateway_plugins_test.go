package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

func ancestor(controller, ns, name string, status metav1.ConditionStatus) gwv1.PolicyAncestorStatus {
	ref := gatewayAncestorRef(&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	return gwv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: gwv1.GatewayController(controller),
		Conditions: []metav1.Condition{{Type: "Accepted", Status: status, Reason: "Accepted", ObservedGeneration: 1,
			LastTransitionTime: metav1.Unix(100, 0)}}}
}

func verdict(ns, name string, gen int64, c gatewayapi.Condition) translate.KongPluginAncestorResult {
	return translate.KongPluginAncestorResult{
		Plugin: translate.KongPluginKey{Namespace: "apps", Name: "limit"}, Generation: gen,
		AncestorRef: gatewayAncestorRef(&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}),
		Accepted:    c,
	}
}

func TestMergePolicyAncestors(t *testing.T) {
	web := types.NamespacedName{Namespace: "apps", Name: "web"}
	other := ancestor("example.com/other", "apps", "web", metav1.ConditionTrue)
	otherGateway := ancestor(gatewayapi.ControllerName, "apps", "api", metav1.ConditionTrue)
	mine := ancestor(gatewayapi.ControllerName, "apps", "web", metav1.ConditionTrue)

	t.Run("writes this Gateway's verdict and keeps the others", func(t *testing.T) {
		got := mergePolicyAncestors([]gwv1.PolicyAncestorStatus{other, otherGateway}, web,
			[]translate.KongPluginAncestorResult{verdict("apps", "web", 3, gatewayapi.False("Accepted", "Invalid", "not on the allow-list"))})
		if len(got) != 3 || got[0].ControllerName != other.ControllerName || got[1].AncestorRef.Name != "api" {
			t.Fatalf("got %+v", got)
		}
		c := got[2].Conditions[0]
		if string(got[2].ControllerName) != gatewayapi.ControllerName || c.Status != metav1.ConditionFalse || c.Reason != "Invalid" || c.ObservedGeneration != 3 {
			t.Fatalf("our entry: %+v", got[2])
		}
	})
	t.Run("unchanged verdict keeps its transition time", func(t *testing.T) {
		got := mergePolicyAncestors([]gwv1.PolicyAncestorStatus{mine}, web,
			[]translate.KongPluginAncestorResult{verdict("apps", "web", 2, gatewayapi.True("Accepted", "Accepted", "applied"))})
		c := got[0].Conditions[0]
		if !c.LastTransitionTime.Equal(&mine.Conditions[0].LastTransitionTime) || c.ObservedGeneration != 2 {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("no verdict removes only this Gateway's entry", func(t *testing.T) {
		got := mergePolicyAncestors([]gwv1.PolicyAncestorStatus{other, mine, otherGateway}, web, nil)
		if len(got) != 2 || got[0].ControllerName != other.ControllerName || got[1].AncestorRef.Name != "api" {
			t.Fatalf("got %+v", got)
		}
		// The last entry removed leaves an empty list that the status patch
		// still carries: status.ancestors is required, and a merge patch to
		// null would delete it (the API server refused that).
		last := mergePolicyAncestors([]gwv1.PolicyAncestorStatus{mine}, web, nil)
		if last == nil || len(last) != 0 {
			t.Fatalf("want an empty list, got %#v", last)
		}
		original, _ := json.Marshal(gwv1.PolicyStatus{Ancestors: []gwv1.PolicyAncestorStatus{mine}})
		modified, _ := json.Marshal(gwv1.PolicyStatus{Ancestors: last})
		patch, err := jsonpatch.CreateMergePatch(original, modified)
		if err != nil || string(patch) != `{"ancestors":[]}` {
			t.Fatalf("merge patch %s (%v), want the list kept empty", patch, err)
		}
	})
	t.Run("at most 16 entries, existing ones first", func(t *testing.T) {
		var existing []gwv1.PolicyAncestorStatus
		for i := 0; i < maxPolicyAncestors; i++ {
			existing = append(existing, ancestor("example.com/other", "ns", string(rune('a'+i)), metav1.ConditionTrue))
		}
		got := mergePolicyAncestors(existing, web, []translate.KongPluginAncestorResult{verdict("apps", "web", 1, gatewayapi.True("Accepted", "Accepted", ""))})
		if len(got) != maxPolicyAncestors || string(got[maxPolicyAncestors-1].ControllerName) != "example.com/other" {
			t.Fatalf("got %d entries", len(got))
		}
	})
}

func TestConsumerConditions(t *testing.T) {
	gw := types.NamespacedName{Namespace: "apps", Name: "web"}
	ok := translate.KongConsumerResult{Accepted: metav1.Condition{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted"}}
	bad := translate.KongConsumerResult{Accepted: metav1.Condition{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "Invalid", Message: "Secret alice-key has no key \"key\""}}
	if c := consumerConditions(ok, true, gw); c[0].Status != metav1.ConditionTrue || c[1].Status != metav1.ConditionTrue || c[1].Reason != "Programmed" {
		t.Fatalf("accepted and live: %+v", c)
	}
	if c := consumerConditions(ok, false, gw); c[1].Status != metav1.ConditionFalse || c[1].Reason != "Pending" {
		t.Fatalf("accepted, not live: %+v", c)
	}
	if c := consumerConditions(bad, true, gw); c[0].Reason != "Invalid" || c[0].Message != bad.Accepted.Message || c[1].Status != metav1.ConditionFalse {
		t.Fatalf("invalid: %+v", c)
	}
}

func TestAdmitsRoutesFrom(t *testing.T) {
	same := gwv1.NamespacesFromSame
	all := gwv1.NamespacesFromAll
	sel := gwv1.NamespacesFromSelector
	gw := func(from *gwv1.FromNamespaces, selector *metav1.LabelSelector) *gwv1.Gateway {
		return &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}, Spec: gwv1.GatewaySpec{Listeners: []gwv1.Listener{{
			Name: "http", AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: from, Selector: selector}},
		}}}}
	}
	if !admitsRoutesFrom(gw(&same, nil), nil, "infra", nil) || admitsRoutesFrom(gw(&same, nil), nil, "apps", nil) {
		t.Error("Same")
	}
	if !admitsRoutesFrom(gw(&all, nil), nil, "apps", nil) {
		t.Error("All")
	}
	s := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	if !admitsRoutesFrom(gw(&sel, s), nil, "apps", map[string]string{"team": "a"}) || admitsRoutesFrom(gw(&sel, s), nil, "apps", map[string]string{"team": "b"}) {
		t.Error("Selector")
	}
}

// A plugin Kong rejected stays in the snapshot, marked with Kong's verdict,
// so translation can say so on the routes that use it and fail closed;
// a rejected consumer is left out.
func TestWithoutRejectedMarksPluginsAndLeavesOutConsumers(t *testing.T) {
	snap := &translate.Snapshot{}
	snap.KongPlugins = append(snap.KongPlugins, kongPlugin("apps", "bad"), kongPlugin("apps", "good"))
	snap.KongConsumers = append(snap.KongConsumers,
		v1alpha1.KongConsumer{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "eve"}},
		v1alpha1.KongConsumer{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "alice"}})
	out := withoutRejected(snap, nil, map[objectRef]rejection{
		{kindKongPlugin, "apps", "bad"}:   {Version: "1", Message: "schema violation"},
		{kindKongConsumer, "apps", "eve"}: {Version: "1", Message: "duplicate key"},
	})
	if len(out.KongPlugins) != 2 || out.RejectedKongPlugins[translate.KongPluginKey{Namespace: "apps", Name: "bad"}] != "schema violation" ||
		len(out.RejectedKongPlugins) != 1 {
		t.Fatalf("plugins %d, rejected %v", len(out.KongPlugins), out.RejectedKongPlugins)
	}
	if len(out.KongConsumers) != 1 || out.KongConsumers[0].Name != "alice" || len(snap.KongConsumers) != 2 {
		t.Fatalf("consumers %+v", out.KongConsumers)
	}
}

func kongPlugin(ns, name string) v1alpha1.KongPlugin {
	return v1alpha1.KongPlugin{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1}, Spec: v1alpha1.KongPluginSpec{Plugin: "rate-limiting"}}
}

// Each Gateway keeps its own verdict on a consumer; the conditions sum them
// up, so two Gateways with different verdicts never overwrite each other.
func TestConsumerStatusPerGateway(t *testing.T) {
	var st v1alpha1.KongConsumerStatus
	a, b := types.NamespacedName{Namespace: "infra", Name: "a"}, types.NamespacedName{Namespace: "infra", Name: "b"}
	ok := translate.KongConsumerResult{Accepted: metav1.Condition{Status: metav1.ConditionTrue, Reason: "Accepted"}}
	clash := translate.KongConsumerResult{Accepted: metav1.Condition{Status: metav1.ConditionFalse, Reason: "Conflicted", Message: "username alice is taken"}}

	setConsumerGateway(&st, 1, b, consumerConditions(clash, true, b))
	setConsumerGateway(&st, 1, a, consumerConditions(ok, true, a))
	summariseConsumer(&st, 1)
	if len(st.Gateways) != 2 || st.Gateways[0].Name != "a" {
		t.Fatalf("gateways %+v", st.Gateways)
	}
	acc := meta.FindStatusCondition(st.Conditions, ConsumerConditionAccepted)
	if acc == nil || acc.Status != metav1.ConditionFalse || acc.Reason != "Conflicted" || !strings.Contains(acc.Message, "Gateway infra/b: username alice is taken") {
		t.Fatalf("Accepted %+v", acc)
	}
	// Gateway a reconciling again does not hide b's verdict.
	setConsumerGateway(&st, 1, a, consumerConditions(ok, true, a))
	summariseConsumer(&st, 1)
	if c := meta.FindStatusCondition(st.Conditions, ConsumerConditionAccepted); c.Status != metav1.ConditionFalse {
		t.Fatalf("b's refusal was overwritten: %+v", c)
	}
	// b stops seeing the consumer: only a's verdict is left.
	if !removeConsumerGateway(&st, b) || removeConsumerGateway(&st, b) {
		t.Fatal("remove")
	}
	summariseConsumer(&st, 1)
	acc, prog := meta.FindStatusCondition(st.Conditions, ConsumerConditionAccepted), meta.FindStatusCondition(st.Conditions, ConsumerConditionProgrammed)
	if acc.Status != metav1.ConditionTrue || prog == nil || prog.Status != metav1.ConditionTrue {
		t.Fatalf("after b left: %+v %+v", acc, prog)
	}
	removeConsumerGateway(&st, a)
	summariseConsumer(&st, 1)
	if st.Conditions != nil {
		t.Fatalf("no Gateway sees the consumer, yet %+v", st.Conditions)
	}
}
