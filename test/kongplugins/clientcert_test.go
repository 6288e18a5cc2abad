package kongplugins

// The Gateway API v1.7.0 conformance tests of frontend client-certificate
// validation (spec.tls.frontend), reproduced on real Kong 3.9.3 with the
// configuration Drawbridge's translator makes and its drawbridge-client-cert
// plugin:
//
//   - GatewayFrontendClientCertificateValidation
//   - GatewayFrontendClientCertificateValidationInsecureFallback
//   - GatewayInvalidFrontendClientCertificateValidation
//   - GatewayFrontendInvalidDefaultClientCertificateValidation
//
// The suite counts a request as failed only when its round trip returns an
// error: an HTTP error status would be a pass for "succeeded". The plugin
// therefore fails the TLS handshake itself.

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// ccGateway is a Gateway with spec.tls.frontend (frontend, YAML under
// "frontend:"; none when empty) and listeners (YAML list items).
func ccGateway(name, frontend, listeners string) string {
	tls := ""
	if frontend != "" {
		tls = "  tls:\n    frontend:\n" + ccIndent(frontend, 6)
	}
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: %s
  namespace: %s
spec:
  gatewayClassName: drawbridge
%s  listeners:
%s`, name, ccNamespace, tls, listeners)
}

// ccHTTPS is an HTTPS listener serving the suite's server certificate.
func ccHTTPS(name string, port int, hostname string) string {
	h := ""
	if hostname != "" {
		h = "\n  hostname: " + hostname
	}
	return ccIndent(fmt.Sprintf(`- name: %s
  port: %d
  protocol: HTTPS%s
  allowedRoutes:
    namespaces:
      from: Same
  tls:
    certificateRefs:
    - group: ""
      kind: Secret
      name: tls-validity-checks-certificate
      namespace: %s`, name, port, h, ccNamespace), 2)
}

// ccValidation is one validation block naming ConfigMaps (or, with
// kind:name, other kinds; with name@namespace, another namespace).
func ccValidation(mode string, refs ...string) string {
	var b strings.Builder
	b.WriteString("validation:\n")
	if mode != "" {
		b.WriteString("  mode: " + mode + "\n")
	}
	b.WriteString("  caCertificateRefs:\n")
	for _, r := range refs {
		kind, name := "ConfigMap", r
		if k, n, ok := strings.Cut(r, ":"); ok {
			kind, name = k, n
		}
		name, ns, cross := strings.Cut(name, "@")
		fmt.Fprintf(&b, "  - kind: %s\n    group: \"\"\n    name: %s\n", kind, name)
		if cross {
			fmt.Fprintf(&b, "    namespace: %s\n", ns)
		}
	}
	return b.String()
}

// ccFrontend is spec.tls.frontend: the default validation and per-port ones.
func ccFrontend(def string, perPort map[int]string, order ...int) string {
	s := "default:\n" + ccIndent(def, 2)
	if len(order) > 0 {
		s += "perPort:\n"
		for _, p := range order {
			if perPort[p] == "" {
				s += fmt.Sprintf("- port: %d\n  tls: {}\n", p)
				continue
			}
			s += fmt.Sprintf("- port: %d\n  tls:\n", p) + ccIndent(perPort[p], 4)
		}
	}
	return s
}

// ccRoutes are the two routes of the valid-configuration tests: example.org
// on every listener to infra-backend-v1, and anything on the listener for
// second-example.org to infra-backend-v2.
func ccRoutes(gateway string) string {
	return fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %[1]s-hostname
  namespace: %[2]s
spec:
  parentRefs:
  - name: %[1]s
  hostnames:
  - example.org
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %[1]s-no-hostname
  namespace: %[2]s
spec:
  parentRefs:
  - name: %[1]s
    sectionName: https-with-hostname
  rules:
  - backendRefs:
    - name: infra-backend-v2
      port: 8080
`, gateway, ccNamespace)
}

// ccListenerVerdict finds a listener's verdict in a translation result.
func ccListenerVerdict(t *testing.T, res *translate.Result, name string) gatewayapi.ListenerResult {
	t.Helper()
	for _, l := range res.Listeners {
		if string(l.Name) == name {
			return l.Verdict
		}
	}
	t.Fatalf("no listener %s", name)
	return gatewayapi.ListenerResult{}
}

// ccWantCondition checks one listener condition; reason "" is any reason,
// as in the suite.
func ccWantCondition(t *testing.T, listener string, c gatewayapi.Condition, status metav1.ConditionStatus, reason string) {
	t.Helper()
	if c.Status != status || (reason != "" && c.Reason != reason) {
		t.Errorf("listener %s: %s is %s/%s (%s), want %s/%s", listener, c.Type, c.Status, c.Reason, c.Message, status, reason)
	}
}

const (
	ccDefaultCM = "tls-validity-checks-ca-certificate"
	ccPerPortCM = "tls-validity-checks-per-port-ca-certificate"
)

// TestClientCertValidation reproduces GatewayFrontendClientCertificateValidation:
// port 443 trusts the default CA, port 8443 the per-port CA; each port
// serves clients of its own CA and refuses the other's (AllowValidOnly).
func TestClientCertValidation(t *testing.T) {
	f := ccNewFixtures(t)
	gw := ccGateway("client-validation-default",
		ccFrontend(ccValidation("", ccDefaultCM), map[int]string{8443: ccValidation("", ccPerPortCM)}, 8443),
		ccHTTPS("https", 443, "")+ccHTTPS("https-with-hostname", 8443, "second-example.org"))
	res := ccTranslate(t, f, gw+ccRoutes("client-validation-default"))
	for _, l := range res.Listeners {
		if !l.Verdict.Valid() || l.AttachedRoutes == 0 {
			t.Fatalf("listener %s: valid %v, %d routes: %+v", l.Name, l.Verdict.Valid(), l.AttachedRoutes, l.Verdict)
		}
	}
	k, addrs := ccStartKong(t, ccListener{443, true}, ccListener{8443, true})
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}

	t.Run("default configuration", func(t *testing.T) {
		ccExpect(t, "443, default CA's client", addrs[443], "example.org", f.serverPEM, f.client, "infra-backend-v1")
		ccExpect(t, "443, per-port CA's client", addrs[443], "example.org", f.serverPEM, f.perPort, "")
		ccExpect(t, "443, no client certificate", addrs[443], "example.org", f.serverPEM, nil, "")
	})
	t.Run("per-port configuration", func(t *testing.T) {
		ccExpect(t, "8443, per-port CA's client", addrs[8443], "second-example.org", f.serverPEM, f.perPort, "infra-backend-v2")
		ccExpect(t, "8443, default CA's client", addrs[8443], "second-example.org", f.serverPEM, f.client, "")
		ccExpect(t, "8443, no client certificate", addrs[8443], "second-example.org", f.serverPEM, nil, "")
	})
	t.Run("the handshake itself fails", func(t *testing.T) {
		a := ccGet(addrs[443], "example.org", "example.org", f.serverPEM, f.perPort, nil)
		if a.err == nil || !strings.Contains(a.err.Error(), "tls: unknown certificate authority") {
			t.Errorf("want a TLS alert for the other CA's certificate, got %s", a)
		}
		a = ccGet(addrs[8443], "second-example.org", "second-example.org", f.serverPEM, nil, nil)
		if a.err == nil || !strings.Contains(a.err.Error(), "tls: certificate required") {
			t.Errorf("want a TLS alert for a missing certificate, got %s", a)
		}
		if log := k.ErrorLog(); !strings.Contains(log, "certificate verify failed") || !strings.Contains(log, "peer did not return a certificate") {
			t.Errorf("Kong's error log does not show the refused handshakes")
		}
	})
}

// TestClientCertInsecureFallback reproduces
// GatewayFrontendClientCertificateValidationInsecureFallback: both ports ask
// for a certificate and let every client through, and the Gateway says so.
func TestClientCertInsecureFallback(t *testing.T) {
	f := ccNewFixtures(t)
	gw := ccGateway("client-validation-insecure-fallback",
		ccFrontend(ccValidation("AllowInsecureFallback", ccDefaultCM), map[int]string{8443: ccValidation("AllowInsecureFallback", ccPerPortCM)}, 8443),
		ccHTTPS("https", 443, "")+ccHTTPS("https-with-hostname", 8443, "second-example.org"))
	res := ccTranslate(t, f, gw+ccRoutes("client-validation-insecure-fallback"))
	if len(res.GatewayConditions) != 1 || res.GatewayConditions[0].Type != "InsecureFrontendValidationMode" ||
		res.GatewayConditions[0].Status != metav1.ConditionTrue || res.GatewayConditions[0].Reason != "ConfigurationChanged" {
		t.Errorf("want InsecureFrontendValidationMode True/ConfigurationChanged on the Gateway, got %+v", res.GatewayConditions)
	}
	k, addrs := ccStartKong(t, ccListener{443, true}, ccListener{8443, true})
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}
	t.Run("default configuration", func(t *testing.T) {
		ccExpect(t, "443, matching client certificate", addrs[443], "example.org", f.serverPEM, f.client, "infra-backend-v1")
		ccExpect(t, "443, non-matching client certificate", addrs[443], "example.org", f.serverPEM, f.perPort, "infra-backend-v1")
		ccExpect(t, "443, no client certificate", addrs[443], "example.org", f.serverPEM, nil, "infra-backend-v1")
	})
	t.Run("per-port configuration", func(t *testing.T) {
		ccExpect(t, "8443, matching client certificate", addrs[8443], "second-example.org", f.serverPEM, f.perPort, "infra-backend-v2")
		ccExpect(t, "8443, non-matching client certificate", addrs[8443], "second-example.org", f.serverPEM, f.client, "infra-backend-v2")
		ccExpect(t, "8443, no client certificate", addrs[8443], "second-example.org", f.serverPEM, nil, "infra-backend-v2")
	})
}

// TestClientCertInvalidReferences reproduces
// GatewayInvalidFrontendClientCertificateValidation (status only upstream):
// each invalid per-port reference affects only the listener on its port.
// The valid port goes on validating on real Kong, and the listeners that
// are not accepted are not served at all.
func TestClientCertInvalidReferences(t *testing.T) {
	f := ccNewFixtures(t)
	gw := ccGateway("gateway-with-invalid-client-cert-validation",
		ccFrontend(ccValidation("", ccDefaultCM), map[int]string{
			7443: ccValidation("", "non-exisitng-cm"),
			8443: ccValidation("", "Service:infra-backend-v2"),
			6443: ccValidation("", "web-backend-cm@gateway-conformance-web-backend"),
		}, 7443, 8443, 6443),
		ccHTTPS("https", 443, "")+ccHTTPS("https-unresolved", 7443, "first-example.org")+
			ccHTTPS("https-invalid-kind", 8443, "second-example.org")+ccHTTPS("https-grant-missing", 6443, "fourth-example.org"))
	route := fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: misconfigured-client-certificate-validation-https-test
  namespace: %s
spec:
  parentRefs:
  - name: gateway-with-invalid-client-cert-validation
  hostnames:
  - example.org
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
`, ccNamespace)
	res := ccTranslate(t, f, gw+route)

	v := ccListenerVerdict(t, res, "https")
	ccWantCondition(t, "https", v.ResolvedRefs, metav1.ConditionTrue, "")
	ccWantCondition(t, "https", v.Accepted, metav1.ConditionTrue, "")
	if !v.Valid() {
		t.Error("listener https: want Programmed (a valid listener)")
	}
	for _, c := range []struct{ listener, reason string }{
		{"https-unresolved", "InvalidCACertificateRef"},
		{"https-invalid-kind", "InvalidCACertificateKind"},
		{"https-grant-missing", "RefNotPermitted"},
	} {
		v := ccListenerVerdict(t, res, c.listener)
		ccWantCondition(t, c.listener, v.ResolvedRefs, metav1.ConditionFalse, c.reason)
		ccWantCondition(t, c.listener, v.Accepted, metav1.ConditionFalse, "NoValidCACertificate")
		if v.Valid() || v.Serves() {
			t.Errorf("listener %s: want neither served nor Programmed", c.listener)
		}
	}

	// The data plane opens only the served port, 443.
	k, addrs := ccStartKong(t, ccListener{443, true})
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}
	ccExpect(t, "443, default CA's client", addrs[443], "example.org", f.serverPEM, f.client, "infra-backend-v1")
	ccExpect(t, "443, per-port CA's client", addrs[443], "example.org", f.serverPEM, f.perPort, "")
}

// TestClientCertInvalidDefault reproduces
// GatewayFrontendInvalidDefaultClientCertificateValidation: an invalid
// default makes the HTTPS listener fail while the HTTP listener serves, even
// with a per-port entry for port 80. A provisioned data plane does not
// even open port 443 (the listener is not accepted); Kong here listens on
// it anyway, and the request still fails.
func TestClientCertInvalidDefault(t *testing.T) {
	f := ccNewFixtures(t)
	gw := ccGateway("invalid-default-client-validation-config",
		ccFrontend(ccValidation("", "does-not-exist"), map[int]string{80: ccValidation("", ccPerPortCM)}, 80),
		ccHTTPS("https", 443, "")+ccIndent(`- name: http
  port: 80
  protocol: HTTP
  allowedRoutes:
    namespaces:
      from: Same`, 2))
	route := fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: invalid-default-client-validation-config
  namespace: %s
spec:
  parentRefs:
  - name: invalid-default-client-validation-config
  hostnames:
  - example.org
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
`, ccNamespace)
	res := ccTranslate(t, f, gw+route)
	v := ccListenerVerdict(t, res, "http")
	ccWantCondition(t, "http", v.ResolvedRefs, metav1.ConditionTrue, "")
	ccWantCondition(t, "http", v.Accepted, metav1.ConditionTrue, "")
	if !v.Valid() {
		t.Error("listener http: want Programmed")
	}
	v = ccListenerVerdict(t, res, "https")
	ccWantCondition(t, "https", v.ResolvedRefs, metav1.ConditionFalse, "InvalidCACertificateRef")
	ccWantCondition(t, "https", v.Accepted, metav1.ConditionFalse, "NoValidCACertificate")
	if v.Valid() || v.Serves() {
		t.Error("listener https: want neither served nor Programmed")
	}

	k, addrs := ccStartKong(t, ccListener{80, false}, ccListener{443, true})
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}
	t.Run("the HTTP listener serves", func(t *testing.T) {
		for range 3 {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addrs[80]+"/", nil)
			req.Host = "example.org"
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "infra-backend-v1" {
				t.Fatalf("want 200 from infra-backend-v1, got %d from %q", resp.StatusCode, resp.Header.Get("X-Backend"))
			}
		}
	})
	t.Run("the HTTPS listener fails", func(t *testing.T) {
		ccExpect(t, "443, no client certificate", addrs[443], "example.org", f.serverPEM, nil, "")
	})
}

// TestClientCertSessionResumption: Kong's HTTPS ports share one TLS session
// cache and ticket key, and a resumed handshake runs no certificate phase
// and asks for no certificate. While any port validates, the plugin lets no
// port issue resumable sessions; a session made before (when no port
// validated) and resumed on an AllowValidOnly port is refused before
// routing with nginx's 400 for a missing certificate.
func TestClientCertSessionResumption(t *testing.T) {
	f := ccNewFixtures(t)
	listeners := ccHTTPS("https", 443, "") + ccHTTPS("open", 9443, "")
	route := fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: resumption
  namespace: %s
spec:
  parentRefs:
  - name: resumption
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
`, ccNamespace)
	// Before: no validation anywhere. After: port 443 validates, and port
	// 9443 has a per-port entry without validation.
	before := ccTranslate(t, f, ccGateway("resumption", "", listeners)+route)
	after := ccTranslate(t, f, ccGateway("resumption", ccFrontend(ccValidation("", ccDefaultCM), map[int]string{9443: ""}, 9443), listeners)+route)
	k, addrs := ccStartKong(t, ccListener{443, true}, ccListener{9443, true})

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.serverPEM)
	get := func(cache tls.ClientSessionCache, h2 bool, addr string) (*http.Response, string, error) {
		tr := &http.Transport{DisableKeepAlives: true, ForceAttemptHTTP2: h2,
			TLSClientConfig: &tls.Config{ServerName: "example.org", RootCAs: roots, ClientSessionCache: cache}}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
		req.Host = "example.org"
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: tr}).Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body), nil
	}
	// seed makes a session on port 9443 and checks it can be resumed there.
	seed := func(t *testing.T, h2 bool) (tls.ClientSessionCache, bool) {
		cache := tls.NewLRUClientSessionCache(4)
		resumed := false
		for range 2 {
			resp, _, err := get(cache, h2, addrs[9443])
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("port 9443 (no validation): %v %v", resp, err)
			}
			resumed = resumed || resp.TLS.DidResume
		}
		return cache, resumed
	}

	if err := k.PostConfig(before.JSON); err != nil {
		t.Fatal(err)
	}
	caches := map[bool]tls.ClientSessionCache{}
	for _, h2 := range []bool{false, true} {
		cache, resumed := seed(t, h2)
		if !resumed {
			t.Fatalf("http2=%v: sessions are not resumed on port 9443 without validation; the test proves nothing", h2)
		}
		caches[h2] = cache
	}

	if err := k.PostConfig(after.JSON); err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			resp, body, err := get(caches[h2], h2, addrs[443])
			switch {
			case err != nil:
				t.Fatalf("port 443 with a session from before: want 400, got %v", err)
			case !resp.TLS.DidResume:
				t.Fatalf("port 443: the client did not resume its session (%d); the test proves nothing", resp.StatusCode)
			case resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No required SSL certificate was sent") || resp.Header.Get("X-Backend") != "":
				t.Fatalf("port 443 with a resumed session: want 400 from the plugin, got %d %q", resp.StatusCode, body)
			}
			if _, resumed := seed(t, h2); resumed {
				t.Errorf("port 9443 still issues resumable sessions while port 443 validates")
			}
			if resp, _, err := get(tls.NewLRUClientSessionCache(4), h2, addrs[443]); err == nil {
				t.Errorf("port 443: a client without a certificate or session got %d", resp.StatusCode)
			}
		})
	}
}

// TestClientCertIntermediate: a client certificate issued by an
// intermediate CA is accepted when the client sends the intermediate and
// the bundle holds only the root (the default verify_depth allows it), and
// refused when the client leaves the intermediate out.
func TestClientCertIntermediate(t *testing.T) {
	f := ccNewFixtures(t)
	inter := ccNewCA(t)
	// Re-sign the intermediate with the default CA so it chains to it.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2025), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: inter.cert.NotBefore, NotAfter: inter.cert.NotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca.cert, &inter.key.PublicKey, f.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if inter.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	leaf := inter.client(t)
	withChain := &tls.Certificate{Certificate: append(append([][]byte{}, leaf.Certificate...), der), PrivateKey: leaf.PrivateKey}

	gw := ccGateway("intermediate", ccFrontend(ccValidation("", ccDefaultCM), nil), ccHTTPS("https", 443, ""))
	res := ccTranslate(t, f, gw+ccRoutes("intermediate"))
	k, addrs := ccStartKong(t, ccListener{443, true})
	if err := k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}
	ccExpect(t, "leaf and intermediate", addrs[443], "example.org", f.serverPEM, withChain, "infra-backend-v1")
	ccExpect(t, "leaf alone", addrs[443], "example.org", f.serverPEM, leaf, "")
}
