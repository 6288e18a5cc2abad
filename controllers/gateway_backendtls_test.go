package controllers

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

func tlsVerdict(ns, name string, gen int64, accepted gatewayapi.Condition) *translate.BackendTLSPolicyResult {
	return &translate.BackendTLSPolicyResult{
		Policy: types.NamespacedName{Namespace: "infra", Name: "p"}, Generation: gen,
		AncestorRef: gatewayAncestorRef(&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}),
		Accepted:    accepted,
		ResolvedRefs: gatewayapi.True(string(gwv1.BackendTLSPolicyConditionResolvedRefs), string(gwv1.BackendTLSPolicyReasonResolvedRefs),
			"All CA certificate references resolved"),
	}
}

// TestMergeBackendTLSAncestors covers what BackendTLSPolicyPreserveForeignStatus
// and BackendTLSPolicyObservedGenerationBump check on the policy's status.
func TestMergeBackendTLSAncestors(t *testing.T) {
	gw := types.NamespacedName{Namespace: "infra", Name: "same-namespace"}
	// The suite seeds an entry of another controller for another Gateway.
	foreign := ancestor("gateway-conformance/stale-controller", "infra", "unmanaged-gateway", metav1.ConditionTrue)
	foreignSameGateway := ancestor("example.com/other", "infra", "same-namespace", metav1.ConditionTrue)
	otherGateway := ancestor(gatewayapi.ControllerName, "infra", "other", metav1.ConditionTrue)
	accepted := gatewayapi.True("Accepted", "Accepted", "Policy is accepted")

	t.Run("foreign entries are kept exactly, ours follows the generation", func(t *testing.T) {
		first := mergeBackendTLSAncestors(nil, gw, tlsVerdict("infra", "same-namespace", 1, accepted))
		seeded := append(append([]gwv1.PolicyAncestorStatus(nil), first...), foreign, foreignSameGateway, otherGateway)
		got := mergeBackendTLSAncestors(seeded, gw, tlsVerdict("infra", "same-namespace", 2, accepted))
		if len(got) != 4 {
			t.Fatalf("got %d entries: %+v", len(got), got)
		}
		if !reflect.DeepEqual(got[1], foreign) || !reflect.DeepEqual(got[2], foreignSameGateway) || !reflect.DeepEqual(got[3], otherGateway) {
			t.Fatalf("entries of others changed: %+v", got[1:])
		}
		if string(got[0].ControllerName) != gatewayapi.ControllerName || got[0].AncestorRef.Name != "same-namespace" {
			t.Fatalf("our entry moved or changed owner: %+v", got[0])
		}
		for _, c := range got[0].Conditions {
			if c.ObservedGeneration != 2 {
				t.Errorf("condition %s has observedGeneration %d, want 2", c.Type, c.ObservedGeneration)
			}
		}
		if len(got[0].Conditions) != 2 {
			t.Errorf("our entry has %d conditions, want Accepted and ResolvedRefs", len(got[0].Conditions))
		}
	})
	t.Run("an unchanged verdict keeps its transition time", func(t *testing.T) {
		first := mergeBackendTLSAncestors(nil, gw, tlsVerdict("infra", "same-namespace", 1, accepted))
		first[0].Conditions[0].LastTransitionTime = metav1.Unix(100, 0)
		got := mergeBackendTLSAncestors(first, gw, tlsVerdict("infra", "same-namespace", 2, accepted))
		if !got[0].Conditions[0].LastTransitionTime.Equal(&first[0].Conditions[0].LastTransitionTime) {
			t.Fatalf("transition time moved: %+v", got[0].Conditions[0])
		}
	})
	t.Run("a conflicted verdict replaces an accepted one", func(t *testing.T) {
		first := mergeBackendTLSAncestors(nil, gw, tlsVerdict("infra", "same-namespace", 1, accepted))
		got := mergeBackendTLSAncestors(first, gw, tlsVerdict("infra", "same-namespace", 1, gatewayapi.False("Accepted", "Conflicted", "older policy")))
		if len(got) != 1 || got[0].Conditions[0].Reason != "Conflicted" || got[0].Conditions[0].Status != metav1.ConditionFalse {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("no verdict removes only this Gateway's entry", func(t *testing.T) {
		mine := mergeBackendTLSAncestors(nil, gw, tlsVerdict("infra", "same-namespace", 1, accepted))
		got := mergeBackendTLSAncestors(append(mine, foreign, otherGateway), gw, nil)
		if len(got) != 2 || !reflect.DeepEqual(got[0], foreign) || !reflect.DeepEqual(got[1], otherGateway) {
			t.Fatalf("got %+v", got)
		}
		if last := mergeBackendTLSAncestors(mine, gw, nil); last == nil || len(last) != 0 {
			t.Fatalf("want an empty list (status.ancestors is required), got %#v", last)
		}
	})
}

func TestGatewayResolvedRefs(t *testing.T) {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
	s := &gatewayScope{gateway: gw}
	if c := gatewayResolvedRefs(s); c.Status != metav1.ConditionTrue || c.Reason != string(gwv1.GatewayReasonResolvedRefs) {
		t.Fatalf("no references: %+v", c)
	}
	gw.Spec.TLS = &gwv1.GatewayTLSConfig{Backend: &gwv1.GatewayBackendTLS{ClientCertificateRef: &gwv1.SecretObjectReference{Name: "missing"}}}
	if c := gatewayResolvedRefs(s); c.Status != metav1.ConditionFalse || c.Reason != string(gwv1.GatewayReasonInvalidClientCertificateRef) {
		t.Fatalf("missing client certificate: %+v", c)
	}
	gw.Spec.TLS = nil
	s.listeners = []gatewayapi.ListenerResult{{Name: "https", ResolvedRefs: gatewayapi.False("ResolvedRefs", "InvalidCertificateRef", "Secret x does not exist")}}
	if c := gatewayResolvedRefs(s); c.Status != metav1.ConditionFalse || c.Reason != string(gwv1.GatewayReasonListenersNotResolved) {
		t.Fatalf("unresolved listener: %+v", c)
	}
}
