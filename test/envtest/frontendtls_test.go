package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/testutil"
)

var _ = Describe("Gateway spec.tls.frontend", func() {
	ctx := context.Background()

	It("reads CA ConfigMaps and Secrets as they come and go, configures drawbridge-client-cert, and reports insecure fallback", func() {
		ns := newNamespace()
		class := newClass(nil)
		ca, err := testutil.NewTestCA("envtest client CA")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Create(ctx, tlsSecret(ns, "cert"))).To(Succeed())
		https := gwv1.Listener{Name: "https", Port: 443, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
			CertificateRefs: []gwv1.SecretObjectReference{{Name: "cert"}},
		}}
		gw := newGateway(ns, class.Name, func(gw *gwv1.Gateway) {
			gw.Spec.TLS = &gwv1.GatewayTLSConfig{Frontend: &gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: &gwv1.FrontendTLSValidation{
				CACertificateRefs: []gwv1.ObjectReference{{Group: "", Kind: "ConfigMap", Name: "client-ca"}},
			}}}}
		}, https, httpListener("http", 80))

		// The ConfigMap does not exist yet: the HTTPS listener is not served.
		Eventually(listenerStatus(gw, "https")).Should(And(
			HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionFalse, "InvalidCACertificateRef")),
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionFalse, "NoValidCACertificate")),
			HaveField("Conditions", listenerCondition("Programmed", metav1.ConditionFalse, "Invalid"))))
		Eventually(listenerStatus(gw, "http")).Should(HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionTrue, "Accepted")))
		Expect(gatewayCondition(gw, "InsecureFrontendValidationMode")()).To(BeNil())

		// It appears: the metadata watch brings the Gateway back, and the
		// bundle reaches the plugin.
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client-ca"}, Data: map[string]string{"ca.crt": string(ca.CertPEM)}}
		Expect(k8s.Create(ctx, cm)).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(And(
			HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs")),
			HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionTrue, "Accepted"))))
		translated := func() string {
			c, _ := configs.Get(client.ObjectKeyFromObject(gw))
			return string(c.JSON)
		}
		Eventually(translated).Should(And(ContainSubstring(`"name":"drawbridge-client-cert"`), ContainSubstring(`"mode":"AllowValidOnly"`)))

		// A broken bundle is reported again.
		cm.Data["ca.crt"] = "not a certificate"
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionFalse, "NoValidCACertificate")))
		Eventually(translated).ShouldNot(ContainSubstring("drawbridge-client-cert"))
		cm.Data["ca.crt"] = string(ca.CertPEM)
		Expect(k8s.Update(ctx, cm)).To(Succeed())

		// AllowInsecureFallback sets the Gateway condition; AllowValidOnly removes it.
		setMode := func(mode gwv1.FrontendValidationModeType) {
			var live gwv1.Gateway
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
			live.Spec.TLS.Frontend.Default.Validation.Mode = mode
			Expect(k8s.Update(ctx, &live)).To(Succeed())
		}
		setMode(gwv1.AllowInsecureFallback)
		Eventually(gatewayCondition(gw, "InsecureFrontendValidationMode")).Should(haveCondition(metav1.ConditionTrue, "ConfigurationChanged"))
		Eventually(translated).Should(ContainSubstring(`"mode":"AllowInsecureFallback"`))
		setMode(gwv1.AllowValidOnly)
		Eventually(func() bool {
			var live gwv1.Gateway
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live); err != nil {
				return false
			}
			for _, c := range live.Status.Conditions {
				if c.Type == "InsecureFrontendValidationMode" {
					return false
				}
			}
			return live.Status.Conditions != nil && gatewayCondition(gw, "Accepted")() != nil
		}).Should(BeTrue())

		// A CA Secret (ca.crt, as cert-manager writes it) works the same way.
		var live gwv1.Gateway
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gw), &live)).To(Succeed())
		live.Spec.TLS.Frontend.Default.Validation.CACertificateRefs = []gwv1.ObjectReference{{Group: "", Kind: "Secret", Name: "client-ca"}}
		Expect(k8s.Update(ctx, &live)).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("ResolvedRefs", metav1.ConditionFalse, "InvalidCACertificateRef")))
		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "client-ca"},
			Data: map[string][]byte{"ca.crt": ca.CertPEM}})).To(Succeed())
		Eventually(listenerStatus(gw, "https")).Should(HaveField("Conditions", listenerCondition("Accepted", metav1.ConditionTrue, "Accepted")))
		Eventually(translated).Should(ContainSubstring(`"name":"drawbridge-client-cert"`))
	})

	It("never caches ConfigMap contents", func() {
		ns := newNamespace()
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c"}})).To(Succeed())
		err := managerCache.Get(ctx, types.NamespacedName{Namespace: ns, Name: "c"}, &corev1.ConfigMap{})
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("not cached"))
	})
})
