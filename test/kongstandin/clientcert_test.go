package kongstandin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"
)

// TestClientCertPlugin: drawbridge-client-cert asks for client certificates
// per published port; AllowValidOnly fails the handshake, AllowInsecureFallback
// lets every client through (test/kongplugins checks the same on real Kong).
func TestClientCertPlugin(t *testing.T) {
	validPort, fallbackPort, openPort := freePort(t), freePort(t), freePort(t)
	s := startStandin(t, map[string]string{
		"KONG_PLUGINS":      "bundled," + clientCertPluginName,
		"KONG_PROXY_LISTEN": fmt.Sprintf("127.0.0.1:%d http2 ssl, 127.0.0.1:%d ssl, 127.0.0.1:%d http2 ssl", validPort, fallbackPort, openPort),
		"KONG_PORT_MAPS":    fmt.Sprintf("443:%d, 8443:%d", validPort, fallbackPort),
	})
	serverCA, caA, caB := newCA(t, "server"), newCA(t, "client CA A"), newCA(t, "client CA B")
	_, backend := startEcho(t, "a")
	doc := svcConfig(backend, map[string]any{"name": "r", "expression": `http.path ^= "/"`, "protocols": []any{"https"}})
	c, k := serverCA.issue(t, "server", []string{"example.org"}, false)
	doc["certificates"] = []any{map[string]any{"cert": c, "key": k, "snis": []any{map[string]any{"name": "example.org"}}}}
	doc["plugins"] = []any{map[string]any{"name": clientCertPluginName, "config": map[string]any{"ports": []any{
		map[string]any{"port": 443, "mode": "AllowValidOnly", "ca_certificates": string(caA.pem)},
		map[string]any{"port": 8443, "mode": "AllowInsecureFallback", "ca_certificates": string(caB.pem)},
	}}}}
	s.mustConfig(doc)

	clientOf := func(ca *testCA) *tls.Certificate {
		cp, kp := ca.issue(t, "client", nil, true)
		pair, err := tls.X509KeyPair([]byte(cp), []byte(kp))
		if err != nil {
			t.Fatal(err)
		}
		return &pair
	}
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	get := func(port int, cert *tls.Certificate) (int, string, bool, error) {
		asked := false
		cfg := &tls.Config{ServerName: "example.org", RootCAs: roots}
		if cert != nil {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { asked = true; return cert, nil }
		}
		cl := &http.Client{Timeout: testTimeout, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
		defer cl.CloseIdleConnections()
		resp, err := cl.Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
		if err != nil {
			return 0, "", asked, err
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Proto, asked, nil
	}
	for _, tc := range []struct {
		name   string
		port   int
		cert   *tls.Certificate
		wantOK bool
	}{
		{"valid only, trusted CA", validPort, clientOf(caA), true},
		{"valid only, other CA", validPort, clientOf(caB), false},
		{"valid only, no certificate", validPort, nil, false},
		{"fallback, trusted CA", fallbackPort, clientOf(caB), true},
		{"fallback, other CA", fallbackPort, clientOf(caA), true},
		{"fallback, no certificate", fallbackPort, nil, true},
		{"no entry", openPort, nil, true},
	} {
		status, proto, asked, err := get(tc.port, tc.cert)
		switch {
		case tc.wantOK && (err != nil || status != http.StatusOK):
			t.Errorf("%s: want 200, got %d %v", tc.name, status, err)
		case !tc.wantOK && err == nil:
			t.Errorf("%s: want a failed handshake, got %d", tc.name, status)
		case tc.cert != nil && !asked:
			t.Errorf("%s: the certificate was not asked for", tc.name)
		case tc.wantOK && tc.port != fallbackPort && proto != "HTTP/2.0":
			t.Errorf("%s: ALPN lost h2 (%s)", tc.name, proto)
		}
	}
}
