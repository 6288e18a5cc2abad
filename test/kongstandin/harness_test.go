package kongstandin

// Test harness: starts a stand-in on 127.0.0.1 ephemeral ports and talks to
// it only through its listeners; echo backends run on 127.0.0.1 too.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testTimeout = 5 * time.Second

type standin struct {
	t      *testing.T
	srv    *Server
	admin  string // base URL of the (plain) admin API
	status string // base URL of the status API
	client *http.Client
}

// baseEnv is the environment the operator renders, on loopback ephemeral ports.
func baseEnv() map[string]string {
	return map[string]string{
		"KONG_DATABASE":               "off",
		"KONG_ROUTER_FLAVOR":          "expressions",
		"KONG_PROXY_LISTEN":           "127.0.0.1:0, 127.0.0.1:0 http2 ssl",
		"KONG_ADMIN_LISTEN":           "127.0.0.1:0",
		"KONG_STATUS_LISTEN":          "127.0.0.1:0",
		"KONG_STREAM_LISTEN":          "off",
		"KONG_CLUSTER_LISTEN":         "off",
		"KONG_NGINX_WORKER_PROCESSES": "1",
		"KONG_PROXY_ACCESS_LOG":       "off",
		"KONG_ADMIN_ACCESS_LOG":       "off",
		"KONG_PROXY_ERROR_LOG":        "off",
		"KONG_ADMIN_ERROR_LOG":        "off",
		"KONG_LOG_LEVEL":              "notice",
	}
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func startStandin(t *testing.T, overrides map[string]string) *standin {
	t.Helper()
	env := baseEnv()
	for k, v := range overrides {
		env[k] = v
	}
	cfg, err := ConfigFromEnv(envList(env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	s := &standin{t: t, srv: srv, client: &http.Client{Timeout: testTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if len(srv.AdminAddrs()) > 0 && !cfg.AdminListeners[0].SSL {
		s.admin = "http://" + srv.AdminAddrs()[0].String()
	}
	if len(srv.StatusAddrs()) > 0 {
		s.status = "http://" + srv.StatusAddrs()[0].String()
	}
	return s
}

func (s *standin) proxyURL() string     { return "http://" + s.srv.ProxyAddrs()[0].String() }
func (s *standin) proxyTLSAddr() string { return s.srv.ProxyAddrs()[1].String() }

// do performs a request and decodes a JSON body if there is one.
func (s *standin) do(method, url string, body []byte, hdr map[string]string) (*http.Response, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"_raw": string(b)}
	}
	return resp, m
}

// postConfig POSTs a declarative config as go-kong does (check_hash and flatten_errors).
func (s *standin) postConfig(cfg any) (int, map[string]any) {
	s.t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, m := s.do("POST", s.admin+"/config?check_hash=1&flatten_errors=1", b, map[string]string{"Content-Type": "application/json"})
	return resp.StatusCode, m
}

func (s *standin) mustConfig(cfg any) {
	s.t.Helper()
	if code, body := s.postConfig(cfg); code != http.StatusCreated {
		s.t.Fatalf("POST /config = %d: %v", code, body)
	}
}

// echo is what the echo backend saw.
type echo struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Name    string              `json:"name"`
	Body    string              `json:"body"`
}

// startEcho starts an HTTP backend that answers with what it received.
func startEcho(t *testing.T, name string) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(echo{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host, Headers: r.Header, Name: name, Body: string(b)})
	}))
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

func splitHostPortInt(t *testing.T, hp string) (string, json.Number) {
	t.Helper()
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatal(err)
	}
	return h, json.Number(p)
}

// getEcho sends a proxied request and decodes the echo.
func (s *standin) getEcho(method, path string, hdr map[string]string) (*http.Response, echo) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.proxyURL()+path, nil)
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var e echo
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &e)
	return resp, e
}

// svcRoute builds a one-service config with the given routes pointing at backend.
func svcConfig(backend string, routes ...map[string]any) map[string]any {
	h, p, _ := net.SplitHostPort(backend)
	rs := []any{}
	for _, r := range routes {
		rs = append(rs, r)
	}
	return map[string]any{
		"_format_version": "3.0",
		"services":        []any{map[string]any{"name": "svc", "host": h, "port": json.Number(p), "routes": rs}},
	}
}

// ---- certificates ----

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns PEM cert and key for the given names, signed by the CA.
func (ca *testCA) issue(t *testing.T, cn string, dns []string, client bool) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// freePort reserves an ephemeral loopback port for tests that must know a
// listener's port in advance (port_maps, net.dst.port).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// peerCN dials the TLS proxy listener with an SNI and returns the served CN.
func peerCN(t *testing.T, addr, sni string, alpn []string) (string, string) {
	t.Helper()
	d := &net.Dialer{Timeout: testTimeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: alpn}) //nolint:gosec // test inspects the served certificate
	if err != nil {
		t.Fatalf("dial %s sni=%q: %v", addr, sni, err)
	}
	defer c.Close()
	st := c.ConnectionState()
	return st.PeerCertificates[0].Subject.CommonName, st.NegotiatedProtocol
}
