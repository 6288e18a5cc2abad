package controllers

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// TestGatewayConditionsForAddresses walks the states of spec.addresses,
// including the three the upstream GatewayStaticAddresses test goes through.
func TestGatewayConditionsForAddresses(t *testing.T) {
	ip := func(v string) gwv1.GatewaySpecAddress {
		return gwv1.GatewaySpecAddress{Type: ptr.To(gwv1.IPAddressType), Value: v}
	}
	invalid := gwv1.GatewaySpecAddress{Type: ptr.To(gwv1.AddressType("test/fake-invalid-type")), Value: "fake address teehee!"}
	service := func(typ corev1.ServiceType, ingress ...string) *corev1.Service {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "drawbridge-gw"},
			Spec:       corev1.ServiceSpec{Type: typ, ClusterIP: "10.96.0.10"},
		}
		for _, a := range ingress {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: a})
		}
		return svc
	}
	lb := corev1.ServiceTypeLoadBalancer
	cases := []struct {
		name      string
		addresses []gwv1.GatewaySpecAddress
		// ingress is the Service the reconcile applied and read back; nil
		// where the addresses stop provisioning.
		ingress                   *corev1.Service
		accepted, programmed      string // "Status/Reason"
		programmedMessageContains string
	}{
		{
			name:       "an unsupported type is not accepted",
			addresses:  []gwv1.GatewaySpecAddress{invalid, ip("192.0.2.10"), ip("172.18.255.240")},
			accepted:   "False/UnsupportedAddress",
			programmed: "False/Invalid",
		},
		{
			name:       "a value that is no IP is not accepted",
			addresses:  []gwv1.GatewaySpecAddress{ip("fake address teehee!")},
			accepted:   "False/UnsupportedAddress",
			programmed: "False/Invalid",
		},
		{
			name:                      "two addresses cannot be asked of one Service",
			addresses:                 []gwv1.GatewaySpecAddress{ip("192.0.2.10"), ip("172.18.255.240")},
			accepted:                  "True/Accepted",
			programmed:                "False/AddressNotUsable",
			programmedMessageContains: "spec.addresses has 2 addresses",
		},
		{
			name:                      "the load balancer has not (yet) assigned the address",
			addresses:                 []gwv1.GatewaySpecAddress{ip("192.0.2.10")},
			ingress:                   service(lb),
			accepted:                  "True/Accepted",
			programmed:                "False/AddressNotUsable",
			programmedMessageContains: "has not assigned the requested address 192.0.2.10 to Service infra/drawbridge-gw",
		},
		{
			name:                      "the load balancer kept another address",
			addresses:                 []gwv1.GatewaySpecAddress{ip("172.18.255.240")},
			ingress:                   service(lb, "172.18.255.1"),
			accepted:                  "True/Accepted",
			programmed:                "False/AddressNotUsable",
			programmedMessageContains: "the Service has 172.18.255.1",
		},
		{
			name:                      "a ClusterIP Service has no load balancer to ask",
			addresses:                 []gwv1.GatewaySpecAddress{ip("172.18.255.240")},
			ingress:                   service(corev1.ServiceTypeClusterIP),
			accepted:                  "True/Accepted",
			programmed:                "False/AddressNotUsable",
			programmedMessageContains: "has type ClusterIP",
		},
		{
			name:       "the requested address is assigned",
			addresses:  []gwv1.GatewaySpecAddress{ip("172.18.255.240")},
			ingress:    service(lb, "172.18.255.240"),
			accepted:   "True/Accepted",
			programmed: "True/Programmed",
		},
		{
			name:       "an IPAddress without a value takes what the load balancer gives",
			addresses:  []gwv1.GatewaySpecAddress{ip("")},
			ingress:    service(lb, "172.18.255.7"),
			accepted:   "True/Accepted",
			programmed: "True/Programmed",
		},
		{
			name:       "no spec.addresses",
			ingress:    service(lb, "172.18.255.7"),
			accepted:   "True/Accepted",
			programmed: "True/Programmed",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &gatewayScope{
				gateway: &gwv1.Gateway{Spec: gwv1.GatewaySpec{Addresses: tc.addresses}},
				address: gatewayapi.RequestedAddress(tc.addresses),
			}
			if tc.ingress != nil {
				s.provisioned, s.ingress = true, tc.ingress
				s.deployment = &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}, Status: appsv1.DeploymentStatus{AvailableReplicas: 1}}
				s.sync = &dataplane.Result{InSync: 1, Total: 1}
			}
			accepted, programmed := gatewayConditions(s)
			if got := string(accepted.Status) + "/" + accepted.Reason; got != tc.accepted {
				t.Errorf("Accepted %s (%s), want %s", got, accepted.Message, tc.accepted)
			}
			if got := string(programmed.Status) + "/" + programmed.Reason; got != tc.programmed {
				t.Errorf("Programmed %s (%s), want %s", got, programmed.Message, tc.programmed)
			}
			if !strings.Contains(programmed.Message, tc.programmedMessageContains) {
				t.Errorf("Programmed message %q does not say %q", programmed.Message, tc.programmedMessageContains)
			}
		})
	}
}

// TestListenerConditionsKeepForeignTypes: conditions another controller
// wrote on a listener survive our writes (GatewayPreserveForeignConditions);
// upstream types we do not report are dropped.
func TestListenerConditionsKeepForeignTypes(t *testing.T) {
	foreign := metav1.Condition{Type: "example.com/Audited", Status: metav1.ConditionTrue, Reason: "Seeded", ObservedGeneration: 1}
	stale := metav1.Condition{Type: string(gwv1.ListenerConditionOverlappingTLSConfig), Status: metav1.ConditionTrue, Reason: "Old", ObservedGeneration: 1}
	res := gatewayapi.ListenerResult{
		Accepted:     gatewayapi.True(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonAccepted), "ok"),
		Conflicted:   gatewayapi.False(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonNoConflicts), "ok"),
		ResolvedRefs: gatewayapi.True(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonResolvedRefs), "ok"),
	}
	programmed := gatewayapi.True(string(gwv1.ListenerConditionProgrammed), string(gwv1.ListenerReasonProgrammed), "ok")
	got := listenerConditions([]metav1.Condition{foreign, stale}, 2, res, programmed)
	types := map[string]metav1.Condition{}
	for _, c := range got {
		types[c.Type] = c
	}
	if c, ok := types[foreign.Type]; !ok || c.ObservedGeneration != 1 || c.Reason != "Seeded" {
		t.Errorf("foreign condition lost or changed: %+v", got)
	}
	if _, ok := types[stale.Type]; ok {
		t.Errorf("OverlappingTLSConfig is not reported by Drawbridge and should be dropped: %+v", got)
	}
	for _, typ := range []gwv1.ListenerConditionType{gwv1.ListenerConditionAccepted, gwv1.ListenerConditionConflicted, gwv1.ListenerConditionResolvedRefs, gwv1.ListenerConditionProgrammed} {
		if c, ok := types[string(typ)]; !ok || c.ObservedGeneration != 2 {
			t.Errorf("%s missing or not at generation 2: %+v", typ, got)
		}
	}
}
