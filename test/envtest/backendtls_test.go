package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/testutil"
)

// ourPolicyEntry returns our status.ancestors entry for a Gateway on a
// BackendTLSPolicy, once all its conditions are about the current spec.
func ourPolicyEntry(ns, name string, gw *gwv1.Gateway) func() *gwv1.PolicyAncestorStatus {
	return func() *gwv1.PolicyAncestorStatus {
		var p gwv1.BackendTLSPolicy
		if err := get(&p, ns, name)(); err != nil {
			return nil
		}
		for i := range p.Status.Ancestors {
			a := &p.Status.Ancestors[i]
			if string(a.ControllerName) != gatewayapi.ControllerName || string(a.AncestorRef.Name) != gw.Name {
				continue
			}
			for _, c := range a.Conditions {
				if c.ObservedGeneration != p.Generation {
					return nil
				}
			}
			return a
		}
		return nil
	}
}

func policyCondition(condType string, status metav1.ConditionStatus, reason string) OmegaMatcherAlias {
	return And(Not(BeNil()), HaveField("Conditions", listenerCondition(condType, status, reason)))
}

var _ = Describe("BackendTLSPolicy status", func() {
	ctx := context.Background()
	It("follows the CA ConfigMap and the spec, and keeps other controllers' entries", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		createBackend(ns, "tls-backend", "10.0.0.9")
		newHTTPRoute(ns, []gwv1.ParentReference{parentRef(gw)}, nil, "tls-backend")
		policy := &gwv1.BackendTLSPolicy{ObjectMeta: metav1.ObjectMeta{Name: "btls", Namespace: ns},
			Spec: gwv1.BackendTLSPolicySpec{
				TargetRefs: []gwv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gwv1.LocalPolicyTargetReference{
					Group: "", Kind: "Service", Name: "tls-backend"}}},
				Validation: gwv1.BackendTLSPolicyValidation{
					CACertificateRefs: []gwv1.LocalObjectReference{{Group: "", Kind: "ConfigMap", Name: "ca"}},
					Hostname:          "abc.example.com",
				},
			}}
		Expect(k8s.Create(ctx, policy)).To(Succeed())

		By("a missing CA ConfigMap")
		Eventually(ourPolicyEntry(ns, "btls", gw)).Should(SatisfyAll(
			policyCondition("Accepted", metav1.ConditionFalse, "NoValidCACertificate"),
			policyCondition("ResolvedRefs", metav1.ConditionFalse, "InvalidCACertificateRef")))

		By("the ConfigMap appears")
		caPEM, _, err := testutil.SelfSignedPEM("ca.example.com")
		Expect(err).NotTo(HaveOccurred())
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ca", Namespace: ns}, Data: map[string]string{"ca.crt": string(caPEM)}}
		Expect(k8s.Create(ctx, cm)).To(Succeed())
		Eventually(ourPolicyEntry(ns, "btls", gw)).Should(SatisfyAll(
			policyCondition("Accepted", metav1.ConditionTrue, "Accepted"),
			policyCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")))

		By("its ca.crt is emptied")
		cm.Data["ca.crt"] = ""
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(ourPolicyEntry(ns, "btls", gw)).Should(policyCondition("Accepted", metav1.ConditionFalse, "NoValidCACertificate"))
		cm.Data["ca.crt"] = string(caPEM)
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(ourPolicyEntry(ns, "btls", gw)).Should(policyCondition("Accepted", metav1.ConditionTrue, "Accepted"))

		By("another controller's entry is seeded, then the spec changes")
		foreign := gwv1.PolicyAncestorStatus{
			AncestorRef: gwv1.ParentReference{Group: ptr.To(gwv1.Group(gwv1.GroupName)), Kind: ptr.To(gwv1.Kind("Gateway")),
				Namespace: ptr.To(gwv1.Namespace(ns)), Name: "unmanaged-gateway"},
			ControllerName: "gateway-conformance/stale-controller",
			Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted",
				ObservedGeneration: 1, LastTransitionTime: metav1.Now()}},
		}
		var live gwv1.BackendTLSPolicy
		Eventually(func() error {
			if err := get(&live, ns, "btls")(); err != nil {
				return err
			}
			live.Status.Ancestors = append(live.Status.Ancestors, foreign)
			return k8s.Status().Update(ctx, &live)
		}).Should(Succeed())
		seeded := live.Status.Ancestors[len(live.Status.Ancestors)-1]
		Eventually(func() error {
			if err := get(&live, ns, "btls")(); err != nil {
				return err
			}
			live.Spec.Validation.Hostname = "second.example.com"
			return k8s.Update(ctx, &live)
		}).Should(Succeed())
		Eventually(ourPolicyEntry(ns, "btls", gw)).Should(policyCondition("Accepted", metav1.ConditionTrue, "Accepted"))
		Expect(get(&live, ns, "btls")()).To(Succeed())
		Expect(live.Generation).To(BeNumerically(">", 1))
		Expect(live.Status.Ancestors).To(ContainElement(seeded), "the other controller's entry must stay as it was")

		By("the Gateway goes away: its entry goes, the other controller's stays")
		Expect(k8s.Delete(ctx, gw)).To(Succeed())
		Eventually(func() []gwv1.PolicyAncestorStatus {
			if err := get(&live, ns, "btls")(); err != nil {
				return nil
			}
			return live.Status.Ancestors
		}).Should(Equal([]gwv1.PolicyAncestorStatus{seeded}))
	})

	It("reports the Gateway's backend client certificate in its ResolvedRefs condition", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, func(g *gwv1.Gateway) {
			g.Spec.TLS = &gwv1.GatewayTLSConfig{Backend: &gwv1.GatewayBackendTLS{ClientCertificateRef: &gwv1.SecretObjectReference{Name: "client"}}}
		})
		Eventually(gatewayCondition(gw, "ResolvedRefs")).Should(haveCondition(metav1.ConditionFalse, "InvalidClientCertificateRef"))
		certPEM, keyPEM, err := testutil.SelfSignedPEM("client")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: ns}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}})).To(Succeed())
		Eventually(gatewayCondition(gw, "ResolvedRefs")).Should(haveCondition(metav1.ConditionTrue, "ResolvedRefs"))
	})
})
