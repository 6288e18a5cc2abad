package kongplugins

// Helpers of the client-certificate tests (clientcert_test.go): the
// certificates the Gateway API conformance suite makes, manifests translated
// by Drawbridge's translator, one real Kong listener per Gateway port, and a
// client that behaves like the suite's round tripper.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// ccNamespace is the conformance suite's infrastructure namespace.
const ccNamespace = "gateway-conformance-infra"

// ccCA is a client CA made the way the conformance suite makes the CAs of
// its ConfigMaps: RSA 2048, and always the same subject and serial, so the
// suite's two CAs differ only in their keys (a certificate from one names
// the other as its issuer, and only the signature tells them apart).
type ccCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pem  string
}

func ccNewCA(t testing.TB) *ccCA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	name := pkix.Name{Organization: []string{"Conformance-style CA"}, Country: []string{"US"}, CommonName: "gatewayapi"}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2024), Subject: name,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &ccCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// ccLeaf makes an RSA certificate for hosts, signed by ca or self-signed
// when ca is nil, with the suite's subject and key usages.
func ccLeaf(t testing.TB, ca *ccCA, usage x509.ExtKeyUsage, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "default", Organization: []string{"Acme Co"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, BasicConstraintsValid: true, DNSNames: hosts,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// client issues a client certificate (no SAN) from the CA.
func (ca *ccCA) client(t testing.TB) *tls.Certificate {
	t.Helper()
	certPEM, keyPEM := ccLeaf(t, ca, x509.ExtKeyUsageClientAuth)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

// ccFixtures are the suite's shared objects: the listeners' server
// certificate (self-signed for "*", "*.org" and "*.wildcard.org"), two CA
// ConfigMaps, a client certificate from each CA, and the two backends.
type ccFixtures struct {
	serverPEM, serverKey []byte
	ca, perPortCA        *ccCA
	client, perPort      *tls.Certificate
	// backends maps a Service name to its local backend's port.
	backends map[string]int
}

// ccCerts are made once per test binary: RSA keys take a while on a
// shared machine.
var (
	ccCertsOnce sync.Once
	ccCerts     *ccFixtures
)

func ccNewFixtures(t testing.TB) *ccFixtures {
	t.Helper()
	ccCertsOnce.Do(func() {
		c := &ccFixtures{ca: ccNewCA(t), perPortCA: ccNewCA(t)}
		c.serverPEM, c.serverKey = ccLeaf(t, nil, x509.ExtKeyUsageServerAuth, "*", "*.org", "*.wildcard.org")
		c.client, c.perPort = c.ca.client(t), c.perPortCA.client(t)
		ccCerts = c
	})
	if ccCerts == nil || ccCerts.client == nil {
		t.Fatal("the test certificates could not be made")
	}
	f := *ccCerts
	f.backends = map[string]int{}
	for _, name := range []string{"infra-backend-v1", "infra-backend-v2"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Backend", name)
			fmt.Fprintln(w, name)
		}))
		t.Cleanup(srv.Close)
		f.backends[name] = srv.Listener.Addr().(*net.TCPAddr).Port
	}
	return &f
}

func ccIndent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad) + "\n"
}

// manifests are the shared objects as YAML: the class, the backends'
// Services and EndpointSlices (pointing at the local backends), the server
// certificate Secret, the two CA ConfigMaps and one in another namespace.
func (f *ccFixtures) manifests() string {
	var b strings.Builder
	b.WriteString(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: drawbridge
spec:
  controllerName: drawbridge.dev/gateway-controller
`)
	names := make([]string, 0, len(f.backends))
	for n := range f.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  ports:
  - name: http
    port: 8080
    targetPort: http
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-1
  namespace: %[2]s
  labels:
    kubernetes.io/service-name: %[1]s
addressType: IPv4
ports:
- name: http
  port: %[3]d
endpoints:
- addresses: [127.0.0.1]
`, name, ccNamespace, f.backends[name])
	}
	fmt.Fprintf(&b, `---
apiVersion: v1
kind: Secret
metadata:
  name: tls-validity-checks-certificate
  namespace: %s
type: kubernetes.io/tls
stringData:
  tls.crt: |
%s  tls.key: |
%s`, ccNamespace, ccIndent(string(f.serverPEM), 4), ccIndent(string(f.serverKey), 4))
	for _, cm := range []struct{ ns, name, pem string }{
		{ccNamespace, "tls-validity-checks-ca-certificate", f.ca.pem},
		{ccNamespace, "tls-validity-checks-per-port-ca-certificate", f.perPortCA.pem},
		{"gateway-conformance-web-backend", "web-backend-cm", f.perPortCA.pem},
	} {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: %s
data:
  ca.crt: |
%s`, cm.name, cm.ns, ccIndent(cm.pem, 4))
	}
	return b.String()
}

// ccTranslate translates the fixtures plus the test's own manifests (the
// Gateway and its routes) with Drawbridge's translator.
func ccTranslate(t testing.TB, f *ccFixtures, manifests string) *translate.Result {
	t.Helper()
	objs := &translatecli.Objects{}
	if err := objs.Decode("fixtures", strings.NewReader(f.manifests())); err != nil {
		t.Fatal(err)
	}
	if err := objs.Decode("test", strings.NewReader(manifests)); err != nil {
		t.Fatal(err)
	}
	snaps, skipped := objs.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("want one Gateway, got %d (skipped: %v)", len(snaps), skipped)
	}
	res, err := translate.Translate(snaps[0].Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ccListener is one Gateway port for Kong to serve.
type ccListener struct {
	port int32
	tls  bool
}

// ccStartKong runs real Kong with one loopback listener per Gateway port
// (ssl and http2 for HTTPS), mapped back to the Gateway port with
// port_maps as a provisioned data plane is, and returns the loopback
// address of each Gateway port.
func ccStartKong(t testing.TB, listeners ...ccListener) (*realkong.Kong, map[int32]string) {
	t.Helper()
	free := realkong.FreePorts(t, len(listeners))
	addrs := map[int32]string{}
	var proxy, maps []string
	for i, l := range listeners {
		addr := "127.0.0.1:" + free[i]
		addrs[l.port] = addr
		flags := ""
		if l.tls {
			flags = " ssl http2"
		}
		proxy = append(proxy, addr+flags)
		maps = append(maps, fmt.Sprintf("%d:%s", l.port, free[i]))
	}
	k := realkong.Start(t, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN": strings.Join(proxy, ", "),
		"KONG_PORT_MAPS":    strings.Join(maps, ", "),
	}})
	return k, addrs
}

// ccAnswer is what one request got.
type ccAnswer struct {
	status  int
	backend string
	err     error
	// asked says whether the server asked for a client certificate (the
	// suite's GetClientCertificateHook was called).
	asked bool
}

func (a ccAnswer) String() string {
	if a.err != nil {
		return fmt.Sprintf("error %v (certificate asked: %v)", a.err, a.asked)
	}
	return fmt.Sprintf("%d from %q (certificate asked: %v)", a.status, a.backend, a.asked)
}

// ccGet sends GET / to addr over TLS the way the conformance suite's round
// tripper does: SNI serverName, only the server certificate trusted, the
// client certificate (if any) handed over by GetClientCertificate, no
// keep-alive. cache, when set, lets the client resume TLS sessions.
func ccGet(addr, serverName, host string, serverPEM []byte, cert *tls.Certificate, cache tls.ClientSessionCache) ccAnswer {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(serverPEM)
	var a ccAnswer
	cfg := &tls.Config{ServerName: serverName, RootCAs: roots, ClientSessionCache: cache}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			a.asked = true
			return cert, nil
		}
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		return ccAnswer{err: err}
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	a.status, a.backend = resp.StatusCode, resp.Header.Get("X-Backend")
	return a
}

// ccExpect sends the request three times (the suite waits for consistent
// answers) and checks each answer: want200 names the backend that must
// answer 200, or "" for a request that must fail without any HTTP answer.
func ccExpect(t *testing.T, what, addr, serverName string, serverPEM []byte, cert *tls.Certificate, wantBackend string) {
	t.Helper()
	for range 3 {
		a := ccGet(addr, serverName, serverName, serverPEM, cert, nil)
		switch {
		case wantBackend == "" && a.err == nil:
			t.Errorf("%s: want a failed request, got %s", what, a)
		case wantBackend != "" && (a.err != nil || a.status != http.StatusOK || a.backend != wantBackend):
			t.Errorf("%s: want 200 from %s, got %s", what, wantBackend, a)
		case cert != nil && !a.asked:
			// The suite asserts the certificate was presented, pass or fail.
			t.Errorf("%s: the server never asked for the client certificate (%s)", what, a)
		default:
			continue
		}
		return
	}
	t.Logf("%s: as expected", what)
}
