package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/drawbridge-dev/drawbridge/internal/convert"
)

// convertAndApply converts old-controller manifests the way `drawbridge
// convert` does, applies the result and returns the report.
func convertAndApply(ctx SpecContext, ns, input string) []convert.Item {
	in := &convert.Input{}
	Expect(in.ReadBytes("input", []byte(input))).To(Succeed())
	out := convert.Convert(in, convert.Options{GatewayClass: "e2e", GatewayNamespace: ns, GatewayName: "migrated"})
	y, err := convert.YAML(out.Objects())
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("converted objects", string(y))
	Expect(applyYAML(ctx, string(y))).To(Succeed())
	return out.Report
}

var _ = Describe("drawbridge convert", func() {
	It("carries a KIC app (key-auth with a consumer and its credential, strip-path, a header match) over to Drawbridge", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo-a", 1, corev1.ProtocolTCP, "")
		echoBackend(ctx, ns, "echo-b", 1, corev1.ProtocolTCP, "")
		host := "api." + ns + ".example"
		// The credential Secret exists in the cluster already, as under KIC.
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata:
  name: alice-key
  namespace: %s
  labels: {konghq.com/credential: key-auth}
stringData: {key: alice-secret-key}
`, ns))).To(Succeed())
		report := convertAndApply(ctx, ns, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata:
  name: alice-key
  namespace: %[1]s
  labels: {konghq.com/credential: key-auth}
stringData: {key: alice-secret-key}
---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: alice
  namespace: %[1]s
  annotations: {kubernetes.io/ingress.class: kong}
username: alice
credentials: [alice-key]
---
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata: {name: need-key, namespace: %[1]s}
plugin: key-auth
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: %[1]s
  annotations:
    konghq.com/plugins: need-key
    konghq.com/strip-path: "true"
spec:
  ingressClassName: kong
  rules:
  - host: %[2]s
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service: {name: echo-a, port: {number: 8080}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: beta
  namespace: %[1]s
  annotations:
    konghq.com/headers.x-beta: "on"
spec:
  ingressClassName: kong
  rules:
  - host: %[2]s
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service: {name: echo-b, port: {number: 8080}}
`, ns, host))
		Expect(report).To(BeEmpty(), "nothing of this app should be left out")
		gw := waitProgrammed(ctx, ns, "migrated")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()

		By("a request without a key is refused by key-auth")
		eventuallyStatus(c, http.MethodGet, base+"/api/orders", host, nil, nil, http.StatusUnauthorized)
		By("the consumer's key is accepted, and strip-path removes /api")
		Eventually(func(g Gomega) {
			code, echo, err := request(c, base+"/api/orders", host, map[string]string{"apikey": "alice-secret-key"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(code).To(Equal(http.StatusOK))
			g.Expect(echo.Pod).To(HavePrefix("echo-a-"))
			g.Expect(echo.Path).To(Equal("/orders"))
		}).WithTimeout(60 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		By("a wrong key is refused")
		code, _, err := request(c, base+"/api/orders", host, map[string]string{"apikey": "guess"})
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized))
		By("the header match goes to the other backend, without key-auth and without stripping")
		code, echo, err := request(c, base+"/api/orders", host, map[string]string{"X-Beta": "on"})
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))
		Expect(echo.Pod).To(HavePrefix("echo-b-"))
		Expect(echo.Path).To(Equal("/api/orders"))
		By("a path no Ingress serves gets 404")
		code, _, err = request(c, base+"/elsewhere", host, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusNotFound))
	}, NodeTimeout(5*time.Minute))

	It("carries an ingress-nginx app (rewrite, canary by weight and header, ssl-redirect) over to Drawbridge", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo-main", 1, corev1.ProtocolTCP, "")
		echoBackend(ctx, ns, "echo-canary", 1, corev1.ProtocolTCP, "")
		host := "shop." + ns + ".example"
		roots, certPEM, keyPEM := selfSigned(host)
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: %s}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, ns, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM)))).To(Succeed())
		report := convertAndApply(ctx, ns, fmt.Sprintf(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: %[1]s
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  ingressClassName: nginx
  tls:
  - hosts: [%[2]s]
    secretName: shop-tls
  rules:
  - host: %[2]s
    http:
      paths:
      - path: /shop(/|$)(.*)
        pathType: ImplementationSpecific
        backend:
          service: {name: echo-main, port: {number: 8080}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop-canary
  namespace: %[1]s
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "50"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
spec:
  ingressClassName: nginx
  rules:
  - host: %[2]s
    http:
      paths:
      - path: /shop(/|$)(.*)
        pathType: ImplementationSpecific
        backend:
          service: {name: echo-canary, port: {number: 8080}}
`, ns, host))
		Expect(report).To(BeEmpty())
		gw := waitProgrammed(ctx, ns, "migrated")
		plain := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		secure := "https://" + hostAddr(gw, 443, corev1.ProtocolTCP)
		c := tlsClient(host, roots)

		By("HTTPS: the rewrite sends /shop/items as /items, and the canary header always reaches the canary")
		for i := 0; i < 5; i++ {
			eventuallyEcho(c, secure+"/shop/items", host, map[string]string{"X-Canary": "always"}, "echo-canary-")
		}
		_, echo, err := request(c, secure+"/shop/items?x=1", host, map[string]string{"X-Canary": "always"})
		Expect(err).NotTo(HaveOccurred())
		Expect(echo.Path).To(Equal("/items?x=1"))
		By("X-Canary: never always reaches the main backend")
		for i := 0; i < 5; i++ {
			eventuallyEcho(c, secure+"/shop", host, map[string]string{"X-Canary": "never"}, "echo-main-")
		}
		By("without the header, weight 50 splits between both (40 requests)")
		seen := map[string]int{}
		for i := 0; i < 40; i++ {
			code, echo, err := request(c, secure+"/shop/items", host, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK))
			seen[strings.Join(strings.Split(echo.Pod, "-")[:2], "-")]++
		}
		AddReportEntry("canary weight 50 over 40 requests", seen)
		Expect(seen).To(HaveKey("echo-main"))
		Expect(seen).To(HaveKey("echo-canary"))
		Expect(seen["echo-main"] + seen["echo-canary"]).To(Equal(40))

		By("plain HTTP is redirected to HTTPS with 308, as ingress-nginx does for a TLS host")
		noFollow := httpClient()
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		h := eventuallyStatus(noFollow, http.MethodGet, plain+"/shop/items?x=1", host, nil, nil, http.StatusPermanentRedirect)
		Expect(h.Get("Location")).To(Equal("https://" + host + "/shop/items?x=1"))
	}, NodeTimeout(5*time.Minute))
})
