package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

var _ = Describe("Gateway traffic", func() {
	It("serves an HTTPRoute and routes by hostname, path and header", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo-main", 1, corev1.ProtocolTCP, "")
		echoBackend(ctx, ns, "echo-api", 1, corev1.ProtocolTCP, "")
		echoBackend(ctx, ns, "echo-canary", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, gatewayYAML(ns, "web", `
  - name: http
    port: 80
    protocol: HTTP
`)+fmt.Sprintf(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: main, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [main.example.com]
  rules:
  - backendRefs: [{name: echo-main, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: %[1]s}
spec:
  parentRefs: [{name: web}]
  hostnames: [api.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2}}]
    backendRefs: [{name: echo-api, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-Canary, value: "yes"}]}]
    backendRefs: [{name: echo-canary, port: 8080}]
  - backendRefs: [{name: echo-main, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "web")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()

		By("routing by hostname")
		eventuallyEcho(c, base+"/", "main.example.com", nil, "echo-main-")
		code, _, err := request(c, base+"/", "unknown.example.com", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusNotFound), "a hostname no route claims gets 404")

		By("routing by path")
		eventuallyEcho(c, base+"/v2/items", "api.example.com", nil, "echo-api-")
		_, echo, err := request(c, base+"/v2/items", "api.example.com", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(echo.Path).To(Equal("/v2/items"))

		By("routing by header")
		eventuallyEcho(c, base+"/other", "api.example.com", map[string]string{"X-Canary": "yes"}, "echo-canary-")
		eventuallyEcho(c, base+"/other", "api.example.com", nil, "echo-main-")
	}, NodeTimeout(4*time.Minute))

	It("splits traffic by backend weight", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo-a", 1, corev1.ProtocolTCP, "")
		echoBackend(ctx, ns, "echo-b", 1, corev1.ProtocolTCP, "")
		Expect(applyYAML(ctx, gatewayYAML(ns, "split", `
  - name: http
    port: 80
    protocol: HTTP
`)+fmt.Sprintf(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: %s}
spec:
  parentRefs: [{name: split}]
  rules:
  - backendRefs:
    - {name: echo-a, port: 8080, weight: 3}
    - {name: echo-b, port: 8080, weight: 1}
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "split")
		base := "http://" + hostAddr(gw, 80, corev1.ProtocolTCP)
		c := httpClient()
		eventuallyEcho(c, base+"/", "split.example.com", nil, "echo-")

		const requests = 200
		counts := map[string]int{}
		for range requests {
			code, echo, err := request(c, base+"/", "split.example.com", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK))
			counts[strings.SplitN(echo.Pod, "-", 3)[1]]++
		}
		AddReportEntry("weighted split over 200 requests (3:1)", counts)
		Expect(counts["a"] + counts["b"]).To(Equal(requests))
		// 3:1 expects 150/50; allow for the balancer's granularity.
		Expect(counts["a"]).To(BeNumerically("~", 150, 25))
	}, NodeTimeout(3*time.Minute))

	It("terminates TLS with a certificate from a Secret", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo", 1, corev1.ProtocolTCP, "")
		roots, certPEM, keyPEM := selfSigned("secure.example.com")
		Expect(applyYAML(ctx, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: secure-cert, namespace: %[1]s}
type: kubernetes.io/tls
data:
  tls.crt: %[2]s
  tls.key: %[3]s
`, ns, base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))+"\n---\n"+gatewayYAML(ns, "secure", `
  - name: https
    port: 443
    protocol: HTTPS
    hostname: secure.example.com
    tls:
      mode: Terminate
      certificateRefs: [{name: secure-cert}]
`)+fmt.Sprintf(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure, namespace: %s}
spec:
  parentRefs: [{name: secure}]
  rules:
  - backendRefs: [{name: echo, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "secure")
		base := "https://" + hostAddr(gw, 443, corev1.ProtocolTCP)
		c := tlsClient("secure.example.com", roots)
		eventuallyEcho(c, base+"/hello", "secure.example.com", nil, "echo-")
		resp, err := c.Get(base + "/hello")
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.TLS).NotTo(BeNil())
		Expect(resp.TLS.PeerCertificates[0].DNSNames).To(ContainElement("secure.example.com"), "the Gateway presents the Secret's certificate")
	}, NodeTimeout(3*time.Minute))

	It("forwards TCP and UDP routes", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		echoBackend(ctx, ns, "echo-tcp", 1, corev1.ProtocolTCP, `        - {name: TCP_ECHO_SERVER, value: "1"}`)
		echoBackend(ctx, ns, "echo-udp", 1, corev1.ProtocolUDP, `        - {name: UDP_ECHO_SERVER, value: "1"}`)
		Expect(applyYAML(ctx, gatewayYAML(ns, "l4", `
  - name: tcp
    port: 9000
    protocol: TCP
  - name: udp
    port: 5300
    protocol: UDP
`)+fmt.Sprintf(`
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: tcp, namespace: %[1]s}
spec:
  parentRefs: [{name: l4, sectionName: tcp}]
  rules:
  - backendRefs: [{name: echo-tcp, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: udp, namespace: %[1]s}
spec:
  parentRefs: [{name: l4, sectionName: udp}]
  rules:
  - backendRefs: [{name: echo-udp, port: 8080}]
`, ns))).To(Succeed())
		gw := waitProgrammed(ctx, ns, "l4")
		tcpAddr := hostAddr(gw, 9000, corev1.ProtocolTCP)
		udpAddr := hostAddr(gw, 5300, corev1.ProtocolUDP)
		Eventually(func(g Gomega) {
			echo, err := tcpEcho(tcpAddr)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(echo.Pod).To(HavePrefix("echo-tcp-"))
		}).WithTimeout(60*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "TCP through %s", tcpAddr)
		Eventually(func(g Gomega) {
			echo, err := udpEcho(udpAddr, "ping")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(echo.Pod).To(HavePrefix("echo-udp-"))
		}).WithTimeout(60*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "UDP through %s", udpAddr)
	}, NodeTimeout(3*time.Minute))
})

type tlsRoots struct{ pool *x509.CertPool }

// selfSigned makes a certificate for host that clients trust through roots.
func selfSigned(host string) (*tlsRoots, []byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tlsRoots{pool: pool},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
