package envtest

import (
	"context"
	"crypto/x509"
	"encoding/pem"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/drawbridge-dev/drawbridge/controllers"
	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

var _ = Describe("Admin API certificates", func() {
	ctx := context.Background()

	It("issues each Gateway a server certificate from the operator CA and rolls Kong when it is replaced", func() {
		ns := newNamespace()
		class := newClass(nil)
		gw := newGateway(ns, class.Name, nil)
		names := provision.NamesFor(gw)

		var secret corev1.Secret
		Eventually(get(&secret, ns, names.AdminTLS)).Should(Succeed())
		Expect(secret.Type).To(Equal(corev1.SecretTypeTLS))
		Expect(secret.Data).To(HaveKey("tls.key"))
		var caSecret corev1.Secret
		Expect(k8s.Get(ctx, types.NamespacedName{Namespace: operatorNamespace, Name: controllers.CASecretName}, &caSecret)).To(Succeed())
		Expect(secret.Data["ca.crt"]).To(Equal(caSecret.Data["tls.crt"]))

		// The certificate verifies for the name the operator will dial.
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(caSecret.Data["tls.crt"])).To(BeTrue())
		block, _ := pem.Decode(secret.Data["tls.crt"])
		cert, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: certs.ReplicaServerName(names.Admin, ns),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		Expect(err).NotTo(HaveOccurred())

		annotation := func() string {
			dep := deployment(ns, names.DataPlane)()
			if dep == nil {
				return ""
			}
			return dep.Spec.Template.Annotations[provision.AnnotationAdminCert]
		}
		Eventually(annotation).ShouldNot(BeEmpty())
		first := annotation()

		// A deleted certificate is reissued, and the pods roll to pick it up.
		Expect(k8s.Delete(ctx, &secret)).To(Succeed())
		Eventually(annotation).ShouldNot(Equal(first))
		Eventually(get(&corev1.Secret{}, ns, names.AdminTLS)).Should(Succeed())
	})
})
