package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/internal/testutil"
)

func tlsSecret(ns, name string) *corev1.Secret {
	certPEM, keyPEM, err := testutil.SelfSignedPEM("example.com")
	Expect(err).NotTo(HaveOccurred())
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}
}

var _ = Describe("Gateway listeners", func() {
	ctx := context.Background()

	It("serves the valid listeners of a Gateway with invalid ones and reports each precisely", func() {
		ns, certNS := newNamespace(), newNamespace()
		class := newClass(nil)
		https := gwv1.Listener{Name: "https", Port: 443, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
			CertificateRefs: []gwv1.SecretObjectReference{{Name: "shared-cert", Namespace: ptr.To(gwv1.Namespace(certNS))}},
		}}
		local := gwv1.Listener{Name: "local-tls", Port: 8443, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
			CertificateRefs: []gwv1.SecretObjectReference{{Name: "later"}},
		}}
		conflictA := httpListener("plain", 80)
		conflictB := gwv1.Listener{Name: "secure-on-80", Port: 80, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
			CertificateRefs: []gwv1.SecretObjectReference{{Name: "later"}},
		}}
		gw := newGateway(ns, class.Name, nil, httpListener("ok", 8080), https, local, conflictA, conflictB,
			gwv1.Listener{Name: "sctp", Port: 9999, Protocol: "example.com/SCTP"})
		Expect(k8s.Create(ctx, tlsSecret(certNS, "shared-cert"))).To(Succeed())

		Eventually(gatewayCondition(gw, "Accepted")).Should(And(
			haveCondition(metav1.ConditionTrue, "ListenersNotValid"), HaveField("Message", ContainSubstring("1 of 6 listeners are valid"))))
		Eventually(listenerStatus(gw, "ok")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")))
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")))
		Eventually(listenerStatus(gw, "local-tls")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionFalse, "InvalidCertificateRef")))
		Eventually(listenerStatus(gw, "plain")).Should(HaveField("Conditions", listenerCondition("Conflicted", metav1.ConditionTrue, "ProtocolConflict")))
		Eventually(listenerStatus(gw, "secure-on-80")).Should(HaveField("Conditions", listenerCondition("Conflicted", metav1.ConditionTrue, "ProtocolConflict")))
		Eventually(listenerStatus(gw, "sctp")).Should(And(
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionFalse, "UnsupportedProtocol")),
			HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionFalse, "Invalid"))))

		// Conflicted and unsupported listeners get no port; the others do.
		name := provision.NamesFor(gw).DataPlane
		var svc corev1.Service
		Eventually(func() []int32 {
			if err := get(&svc, ns, name)(); err != nil {
				return nil
			}
			var ports []int32
			for _, p := range svc.Spec.Ports {
				ports = append(ports, p.Port)
			}
			return ports
		}).Should(ConsistOf(int32(8080), int32(443), int32(8443)))

		// A ReferenceGrant and the missing Secret fix the two listeners.
		grant := &gwv1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: certNS, Name: "gateways"},
			Spec: gwv1.ReferenceGrantSpec{
				From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gwv1.Namespace(ns)}},
				To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "Secret"}},
			},
		}
		Expect(k8s.Create(ctx, grant)).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")))
		Expect(k8s.Create(ctx, tlsSecret(ns, "later"))).To(Succeed())
		Eventually(listenerStatus(gw, "local-tls")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")))
		Eventually(gatewayCondition(gw, "Accepted")).Should(HaveField("Message", ContainSubstring("3 of 6 listeners are valid")))

		// Removing the grant takes the permission away again.
		Expect(k8s.Delete(ctx, grant)).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionFalse, "RefNotPermitted")))
	})

	It("never caches Secret contents", func() {
		// The manager's cache refuses reads of kinds it has no informer for,
		// and Secrets are only watched as metadata, so no typed Secret
		// informer (which would hold every Secret's data) may exist.
		ns := newNamespace()
		Expect(k8s.Create(ctx, tlsSecret(ns, "s"))).To(Succeed())
		err := managerCache.Get(ctx, types.NamespacedName{Namespace: ns, Name: "s"}, &corev1.Secret{})
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("not cached"))
	})
})
