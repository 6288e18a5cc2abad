package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

func TestMergeParentStatuses(t *testing.T) {
	ours := gwv1.GatewayController(gatewayapi.ControllerName)
	section := gwv1.SectionName("http")
	refThis := gwv1.ParentReference{Name: "gw"}
	refThisSection := gwv1.ParentReference{Name: "gw", SectionName: &section}
	refOther := gwv1.ParentReference{Name: "other-gw"}
	then := metav1.Unix(1000, 0)
	existing := []gwv1.RouteParentStatus{
		{ParentRef: refThis, ControllerName: "example.com/someone-else", Conditions: []metav1.Condition{{Type: "Accepted", Status: "True"}}},
		{ParentRef: refOther, ControllerName: ours, Conditions: []metav1.Condition{{Type: "Accepted", Status: "True"}}},
		{ParentRef: refThis, ControllerName: ours, Conditions: []metav1.Condition{{Type: "Accepted", Status: "True", Reason: "Accepted", LastTransitionTime: then}}},
		{ParentRef: refThisSection, ControllerName: ours, Conditions: []metav1.Condition{{Type: "Accepted", Status: "True"}}},
	}
	results := []RouteParentResult{{
		Generation: 7, ParentRef: refThis,
		Accepted:     gatewayapi.True("Accepted", "Accepted", "Route is accepted"),
		ResolvedRefs: gatewayapi.False("ResolvedRefs", "BackendNotFound", "gone"),
	}}
	isThis := func(r gwv1.ParentReference) bool { return r.Name == "gw" }
	got := MergeParentStatuses(existing, results, isThis)
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3 (foreign, other gateway, updated): %+v", len(got), got)
	}
	if got[0].ControllerName != "example.com/someone-else" || got[1].ParentRef.Name != "other-gw" {
		t.Fatalf("entries of others were not kept in place: %+v", got)
	}
	updated := got[2]
	if len(updated.Conditions) != 2 {
		t.Fatalf("want Accepted and ResolvedRefs, got %+v", updated.Conditions)
	}
	for _, c := range updated.Conditions {
		if c.ObservedGeneration != 7 {
			t.Errorf("%s observedGeneration = %d", c.Type, c.ObservedGeneration)
		}
		if c.Type == "Accepted" && !c.LastTransitionTime.Equal(&then) {
			t.Errorf("unchanged Accepted must keep its transition time")
		}
	}
	// A parent seen for the first time is appended.
	fresh := MergeParentStatuses(nil, results, isThis)
	if len(fresh) != 1 || fresh[0].ControllerName != ours {
		t.Fatalf("fresh merge: %+v", fresh)
	}
}
