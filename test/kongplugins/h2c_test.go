package kongplugins

// HTTPRoute backends with appProtocol kubernetes.io/h2c on real Kong 3.9.3
// (Gateway API v1.7.0 HTTPRouteBackendProtocolH2C). The translator gives
// such a rule a "grpc" Kong service under its http/https routes, so nginx's
// grpc module proxies it over HTTP/2 cleartext, plus the drawbridge-h2c
// plugin for rewrites. The backend here answers 400 to anything that is not
// HTTP/2 (as echo-basic's h2c server does, without its Upgrade: h2c
// loophole) and counts such requests, so every 200 proves the request
// arrived as HTTP/2.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// h2cEcho is what the test backends answer: what they received.
type h2cEcho struct {
	Pod     string              `json:"pod"`
	Proto   string              `json:"proto"`
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	BodyLen int                 `json:"bodyLen"`
	BodySHA string              `json:"bodySHA"`
}

// h2cBackend is a local backend. With h2cOnly it serves HTTP/2 cleartext
// with prior knowledge and refuses HTTP/1.x with 400 (counted in refused);
// otherwise it is an HTTP/1.1 server.
type h2cBackend struct {
	name    string
	addr    string
	h2cOnly bool
	served  atomic.Int64 // requests answered normally
	refused atomic.Int64 // HTTP/1.x requests an h2c-only backend refused
	conns   atomic.Int64 // TCP connections accepted
	gates   sync.Map     // stream id -> chan struct{}
}

func (b *h2cBackend) gate(id string) chan struct{} {
	ch, _ := b.gates.LoadOrStore(id, make(chan struct{}))
	return ch.(chan struct{})
}

func startH2CBackend(t *testing.T, name string, h2cOnly bool) *h2cBackend {
	t.Helper()
	b := &h2cBackend{name: name, h2cOnly: h2cOnly}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = l.Addr().String()
	p := new(http.Protocols)
	p.SetHTTP1(true) // so an HTTP/1.x request is answered (400) and counted, not just cut
	if h2cOnly {
		p.SetUnencryptedHTTP2(true)
	}
	srv := &http.Server{Handler: http.HandlerFunc(b.serve), Protocols: p, ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				b.conns.Add(1)
			}
		}}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return b
}

func (b *h2cBackend) serve(w http.ResponseWriter, r *http.Request) {
	if b.h2cOnly && r.ProtoMajor != 2 {
		b.refused.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "Expected h2c request")
		return
	}
	b.served.Add(1)
	ctx := r.Context()
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc"):
		// A unary gRPC answer: echo the request message back.
		msg, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = w.Write(msg)
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "")
		return
	case r.URL.Path == "/stream":
		// Sends one line, waits until the client has read it, sends the
		// next: a proxy that buffered the response would stall here.
		f := w.(http.Flusher)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "first\n")
		f.Flush()
		select {
		case <-b.gate(r.URL.Query().Get("id")):
			fmt.Fprint(w, "second\n")
		case <-time.After(5 * time.Second):
			fmt.Fprint(w, "late\n")
		case <-ctx.Done():
		}
		return
	case r.URL.Path == "/slow":
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return
		}
	case r.URL.Path == "/big":
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(h2cPattern(n))
		return
	case r.Header.Get("Upgrade") == "websocket" && !b.h2cOnly:
		// Enough of a WebSocket server for the handshake: 101, then echo.
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		line, _ := rw.ReadString('\n')
		fmt.Fprint(rw, "echo:"+line)
		_ = rw.Flush()
		return
	}
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.Header().Set("X-Backend", b.name)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(h2cEcho{
		Pod: b.name + "-pod", Proto: r.Proto, Method: r.Method, URI: r.RequestURI, Host: r.Host,
		Headers: r.Header, BodyLen: len(body), BodySHA: hex.EncodeToString(sum[:]),
	})
}

// h2cPattern is n deterministic bytes.
func h2cPattern(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte('a' + i%26)
	}
	return out
}

// h2cClients are the two ways clients reach the Gateway's HTTP listener:
// HTTP/1.1, and HTTP/2 with prior knowledge (the conformance suite's
// H2C_PRIOR_KNOWLEDGE round tripper).
func h2cClients() map[string]*http.Client {
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	return map[string]*http.Client{
		"HTTP/1.1": {Timeout: 20 * time.Second, Transport: &http.Transport{Protocols: h1}},
		"h2c":      {Timeout: 20 * time.Second, Transport: &http.Transport{Protocols: h2c}},
	}
}

func h2cClientNames() []string { return []string{"HTTP/1.1", "h2c"} }

// h2cTLSClients reach the HTTPS listener with HTTP/1.1 and with h2 (ALPN).
func h2cTLSClients(serverName string) map[string]*http.Client {
	cfg := &tls.Config{ServerName: serverName, InsecureSkipVerify: true} //nolint:gosec // self-signed test certificate
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	h2 := new(http.Protocols)
	h2.SetHTTP2(true)
	return map[string]*http.Client{
		"HTTP/1.1": {Timeout: 20 * time.Second, Transport: &http.Transport{Protocols: h1, TLSClientConfig: cfg.Clone()}},
		"h2c":      {Timeout: 20 * time.Second, Transport: &http.Transport{Protocols: h2, TLSClientConfig: cfg.Clone()}}, // h2 over TLS
	}
}

// h2cSelfSigned returns a PEM certificate and key for host.
func h2cSelfSigned(t *testing.T, host string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func h2cIndent(s, pad string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return pad + strings.Join(lines, "\n"+pad)
}

func h2cEndpointPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// h2cManifests are the Gateway API objects: the conformance test's route
// (backend-protocol-h2c, no hostnames) and its Service port (8081 ->
// 3001, appProtocol kubernetes.io/h2c), plus routes for the other cases,
// each on its own hostname.
func h2cManifests(h2c, web, dead, h2c2 *h2cBackend, cert, key string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: drawbridge
spec:
  controllerName: drawbridge.dev/gateway-controller
---
apiVersion: v1
kind: Service
metadata:
  name: infra-backend-v1
  namespace: gateway-conformance-infra
spec:
  ports:
  - name: first-port
    protocol: TCP
    port: 8080
    targetPort: 3000
  - name: second-port
    protocol: TCP
    appProtocol: kubernetes.io/h2c
    port: 8081
    targetPort: 3001
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: infra-backend-v1-1
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: infra-backend-v1
addressType: IPv4
ports:
- name: first-port
  port: %[2]s
- name: second-port
  port: %[1]s
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata:
  name: infra-backend-v2
  namespace: gateway-conformance-infra
spec:
  ports:
  - name: second-port
    appProtocol: kubernetes.io/h2c
    port: 8081
    targetPort: 3001
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: infra-backend-v2-1
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: infra-backend-v2
addressType: IPv4
ports:
- name: second-port
  port: %[6]s
endpoints:
- addresses: [127.0.0.1]
---
# two endpoints, one refusing connections: Kong's balancer retries
apiVersion: v1
kind: Service
metadata:
  name: flaky
  namespace: gateway-conformance-infra
spec:
  ports:
  - name: h2c
    appProtocol: kubernetes.io/h2c
    port: 8081
    targetPort: 3001
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-1
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: flaky
addressType: IPv4
ports:
- name: h2c
  port: %[3]s
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flaky-2
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: flaky
addressType: IPv4
ports:
- name: h2c
  port: %[1]s
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Service
metadata:
  name: dead
  namespace: gateway-conformance-infra
spec:
  ports:
  - name: h2c
    appProtocol: kubernetes.io/h2c
    port: 8081
    targetPort: 3001
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: dead-1
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: dead
addressType: IPv4
ports:
- name: h2c
  port: %[3]s
endpoints:
- addresses: [127.0.0.1]
---
apiVersion: v1
kind: Secret
metadata:
  name: tls
  namespace: gateway-conformance-infra
type: kubernetes.io/tls
stringData:
  tls.crt: |
%[4]s
  tls.key: |
%[5]s
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: same-namespace
  namespace: gateway-conformance-infra
spec:
  gatewayClassName: drawbridge
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Same
  - name: https
    port: 443
    protocol: HTTPS
    hostname: tls.example
    tls:
      certificateRefs:
      - name: tls
---
# tests/httproute-backend-protocol-h2c.yaml, as in Gateway API v1.7.0
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backend-protocol-h2c
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8081
---
# the same filters in front of an h2c and an HTTP/1.1 backend: the two must
# receive the same request line and headers
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: filters
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [filters-h2c.example, filters-h1.example]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /prefix}
      headers: [{name: X-Wire, value: h2c}]
    filters: &prefix
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Set, value: "1"}]
        add: [{name: X-Multi, value: added}]
        remove: [X-Remove]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        add: [{name: X-Resp, value: "1"}]
    backendRefs:
    - {name: infra-backend-v1, port: 8081}
  - matches:
    - path: {type: PathPrefix, value: /prefix}
      headers: [{name: X-Wire, value: h1}]
    filters: *prefix
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /full}
      headers: [{name: X-Wire, value: h2c}]
    filters: &full
    - type: URLRewrite
      urlRewrite:
        hostname: rewritten.example
        path: {type: ReplaceFullPath, replaceFullPath: /replaced/full}
    backendRefs:
    - {name: infra-backend-v1, port: 8081}
  - matches:
    - path: {type: PathPrefix, value: /full}
      headers: [{name: X-Wire, value: h1}]
    filters: *full
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: timeout
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [timeout.example]
  rules:
  - timeouts: {request: 300ms}
    backendRefs:
    - {name: infra-backend-v1, port: 8081}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mixed
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [mixed.example]
  rules:
  - backendRefs:
    - {name: infra-backend-v1, port: 8081}
    - {name: infra-backend-v1, port: 8080}
---
# per-backend header filters (drawbridge-backend-select) on h2c backendRefs
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: per-backend
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [per-backend.example]
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8081
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Ref, value: v1}]
    - name: infra-backend-v2
      port: 8081
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          set: [{name: X-Ref, value: v2}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: plain
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [plain.example]
  rules:
  - backendRefs:
    - {name: infra-backend-v1, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: dead
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [dead.example]
  rules:
  - backendRefs:
    - {name: dead, port: 8081}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retry-attempts
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [retry.example]
  rules:
  - retry: {attempts: 2}
    backendRefs:
    - {name: flaky, port: 8081}
---
# refused: retry.codes need Kong's HTTP/1.1-only buffered proxy path
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retry-codes
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [retry-codes.example]
  rules:
  - retry: {codes: [500], attempts: 2}
    backendRefs:
    - {name: infra-backend-v1, port: 8081}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: tls
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
    sectionName: https
  rules:
  - backendRefs:
    - {name: infra-backend-v1, port: 8081}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: grpc
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  hostnames: [grpc.example]
  rules:
  - backendRefs:
    - {name: infra-backend-v1, port: 8081}
`, h2cEndpointPort(h2c.addr), h2cEndpointPort(web.addr), h2cEndpointPort(dead.addr),
		h2cIndent(cert, "    "), h2cIndent(key, "    "), h2cEndpointPort(h2c2.addr))
}

// h2cEnv starts real Kong with the listeners a provisioned data plane has
// (plain HTTP with http2, so h2c prior knowledge and HTTP/1.1 share the
// port; HTTPS with http2) and the Gateway ports mapped onto them.
type h2cEnv struct {
	kong                 *realkong.Kong
	http, https          string
	h2c, h2c2, web, dead *h2cBackend
	result               *translate.Result
}

func startH2CEnv(t *testing.T) *h2cEnv {
	t.Helper()
	if _, why := realkong.FindInstall(); why != "" {
		t.Skip(why)
	}
	e := &h2cEnv{
		h2c:  startH2CBackend(t, "infra-backend-v1", true),
		h2c2: startH2CBackend(t, "infra-backend-v2", true),
		web:  startH2CBackend(t, "infra-backend-v1-http", false),
		dead: &h2cBackend{},
	}
	// A port nothing listens on: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.dead.addr = l.Addr().String()
	l.Close()
	ports := realkong.FreePorts(t, 2)
	e.http, e.https = "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	e.kong = realkong.Start(t, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN": fmt.Sprintf("%s http2, %s http2 ssl", e.http, e.https),
		"KONG_PORT_MAPS":    fmt.Sprintf("80:%s, 443:%s", ports[0], ports[1]),
	}})
	cert, key := h2cSelfSigned(t, "tls.example")
	e.result = translateResult(t, h2cManifests(e.h2c, e.web, e.dead, e.h2c2, cert, key))
	if err := e.kong.PostConfig(e.result.JSON); err != nil {
		t.Fatalf("%v\n%s", err, e.kong.ErrorLogTail())
	}
	return e
}

// do sends one request and returns the answer with its whole body.
func (e *h2cEnv) do(t *testing.T, c *http.Client, method, target, host string, body io.Reader, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v\n%s", method, target, host, err, e.kong.ErrorLogTail())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return resp, b
}

func decodeH2CEcho(t *testing.T, resp *http.Response, body []byte) h2cEcho {
	t.Helper()
	var echo h2cEcho
	if err := json.Unmarshal(body, &echo); err != nil {
		t.Fatalf("status %d, body is not the backend's echo: %v\n%.400s", resp.StatusCode, err, body)
	}
	return echo
}

// TestH2CRouteStatus checks what the translator reports: the conformance
// route is Accepted and ResolvedRefs (it was UnsupportedProtocol before),
// and a rule mixing h2c and HTTP/1.1 backends says why one is dropped.
func TestH2CRouteStatus(t *testing.T) {
	b := &h2cBackend{addr: "127.0.0.1:1"}
	cert, key := h2cSelfSigned(t, "tls.example")
	res := translateResult(t, h2cManifests(b, b, b, b, cert, key))
	seen := 0
	for _, r := range res.Routes {
		switch r.Route.Name {
		case "backend-protocol-h2c", "filters", "timeout", "plain", "dead", "tls", "per-backend", "retry-attempts":
			seen++
			if r.Accepted.Status != "True" || r.ResolvedRefs.Status != "True" {
				t.Errorf("%s: Accepted %s/%s, ResolvedRefs %s/%s: %s", r.Route, r.Accepted.Status, r.Accepted.Reason, r.ResolvedRefs.Status, r.ResolvedRefs.Reason, r.ResolvedRefs.Message)
			}
		case "retry-codes":
			seen++
			if r.Accepted.Status != "False" || r.Accepted.Reason != "UnsupportedValue" || !strings.Contains(r.Accepted.Message, "retry.codes") {
				t.Errorf("retry-codes: Accepted %s/%s: %s", r.Accepted.Status, r.Accepted.Reason, r.Accepted.Message)
			}
		case "mixed":
			seen++
			if r.Accepted.Status != "True" || r.ResolvedRefs.Status != "False" || r.ResolvedRefs.Reason != "UnsupportedProtocol" ||
				!strings.Contains(r.ResolvedRefs.Message, "rules[0].backendRefs[1]") {
				t.Errorf("mixed: Accepted %s, ResolvedRefs %s/%s: %s", r.Accepted.Status, r.ResolvedRefs.Status, r.ResolvedRefs.Reason, r.ResolvedRefs.Message)
			}
		}
	}
	if seen != 10 {
		t.Errorf("saw %d of 10 HTTPRoutes in the results", seen)
	}
}

// TestH2CBackendProtocol runs every case on one real Kong.
func TestH2CBackendProtocol(t *testing.T) {
	e := startH2CEnv(t)
	clients := h2cClients()
	base := "http://" + e.http

	// HTTPRouteBackendProtocolH2C: "http2 prior knowledge request should
	// reach backend", with the conformance suite's Host (the Gateway
	// address); and the same from an HTTP/1.1 client.
	t.Run("conformance", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			resp, body := e.do(t, clients[name], http.MethodGet, base+"/", "", nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d, want 200: %.300s", name, resp.StatusCode, body)
			}
			echo := decodeH2CEcho(t, resp, body)
			if echo.Pod != "infra-backend-v1-pod" || echo.Proto != "HTTP/2.0" || echo.URI != "/" {
				t.Errorf("%s: backend saw %+v", name, echo)
			}
			if want := "HTTP/" + map[string]string{"HTTP/1.1": "1.1", "h2c": "2.0"}[name]; resp.Proto != want {
				t.Errorf("%s: client got %s, want %s", name, resp.Proto, want)
			}
		}
	})

	// Kong keeps upstream connections alive for the grpc module too: one
	// HTTP/2 connection carries sequential requests.
	t.Run("upstream connection reused", func(t *testing.T) {
		before := e.h2c.conns.Load()
		for range 20 {
			resp, body := e.do(t, clients["HTTP/1.1"], http.MethodGet, base+"/reuse", "reuse.example", nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %.200s", resp.StatusCode, body)
			}
		}
		if n := e.h2c.conns.Load() - before; n > 1 {
			t.Errorf("20 sequential requests opened %d connections to the h2c backend", n)
		}
	})

	t.Run("methods, request line, headers", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
				target := "/a/b%20c/%2F/d?x=1&y=%2F&z=%20#"
				hdr := http.Header{"X-Multi": {"a", "b"}, "X-Custom": {"v1"}, "Authorization": {"Bearer t"}}
				resp, body := e.do(t, clients[name], m, base+strings.TrimSuffix(target, "#"), "H2C.example:80", nil, hdr)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s %s: status %d: %.300s", name, m, resp.StatusCode, body)
				}
				if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
					t.Errorf("%s %s: Set-Cookie %q, want [a=1 b=2]", name, m, got)
				}
				if resp.Header.Get("X-Backend") != "infra-backend-v1" {
					t.Errorf("%s %s: X-Backend %q", name, m, resp.Header.Get("X-Backend"))
				}
				if m == "HEAD" {
					if len(body) != 0 {
						t.Errorf("%s HEAD: body of %d bytes", name, len(body))
					}
					continue
				}
				echo := decodeH2CEcho(t, resp, body)
				if echo.Proto != "HTTP/2.0" || echo.Method != m || echo.URI != "/a/b%20c/%2F/d?x=1&y=%2F&z=%20" || echo.Host != "H2C.example:80" {
					t.Errorf("%s %s: backend saw proto %s method %s uri %q host %q", name, m, echo.Proto, echo.Method, echo.URI, echo.Host)
				}
				if got := echo.Headers["X-Multi"]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
					t.Errorf("%s %s: X-Multi %q", name, m, got)
				}
				if echo.Headers["Authorization"] == nil || echo.Headers["X-Custom"] == nil || echo.Headers["X-Forwarded-For"] == nil {
					t.Errorf("%s %s: headers %v", name, m, echo.Headers)
				}
				for _, hop := range []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade"} {
					if echo.Headers[hop] != nil {
						t.Errorf("%s %s: hop-by-hop %s reached the HTTP/2 backend", name, m, hop)
					}
				}
			}
		}
	})

	// Kong's HTTP/1.1 proxying sends its normalised, escaped path; the h2c
	// backend must get the same, sent raw here so no client cleans it.
	// Percent-encoded reserved characters are the one difference, once
	// the path had to be rebuilt (drawbridge-h2c path.lua).
	t.Run("raw request targets match the HTTP/1.1 backend", func(t *testing.T) {
		rawURI := func(target, host string) string {
			c, err := net.DialTimeout("tcp", e.http, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v", target, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return decodeH2CEcho(t, resp, body).URI
		}
		for _, target := range []string{"/a/b%20c/%2F/d?x=%7E&y", "//x", "/./z", "/y/../z", "/%7E", "/a|b", "/a%7cb", "/%E2%82%AC?q=%20", "/a?"} {
			h2, h1 := rawURI(target, "raw.example"), rawURI(target, "plain.example")
			if h2 != h1 {
				t.Errorf("%s: h2c backend got %q, HTTP/1.1 backend %q", target, h2, h1)
			}
			t.Logf("%s -> %s", target, h2)
		}
		h2, h1 := rawURI("/%7E/%2F", "raw.example"), rawURI("/%7E/%2F", "plain.example")
		if h2 != "/~//" || h1 != "/~/%2F" {
			t.Errorf("/%%7E/%%2F: h2c backend got %q, HTTP/1.1 backend %q; want the known difference /~// and /~/%%2F", h2, h1)
		}
	})

	t.Run("large bodies", func(t *testing.T) {
		const n = 4 << 20
		payload := h2cPattern(n)
		sum := sha256.Sum256(payload)
		for _, name := range h2cClientNames() {
			for _, chunked := range []bool{false, true} {
				var body io.Reader = bytes.NewReader(payload)
				if chunked {
					body = io.MultiReader(bytes.NewReader(payload)) // no length: chunked on HTTP/1.1
				}
				resp, rb := e.do(t, clients[name], http.MethodPost, base+"/upload", "", body, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s chunked=%v: status %d: %.300s", name, chunked, resp.StatusCode, rb)
				}
				echo := decodeH2CEcho(t, resp, rb)
				if echo.BodyLen != n || echo.BodySHA != hex.EncodeToString(sum[:]) || echo.Proto != "HTTP/2.0" {
					t.Errorf("%s chunked=%v: backend got %d bytes sha %s over %s", name, chunked, echo.BodyLen, echo.BodySHA, echo.Proto)
				}
			}
			resp, rb := e.do(t, clients[name], http.MethodGet, fmt.Sprintf("%s/big?n=%d", base, n), "", nil, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(rb, payload) {
				t.Errorf("%s: download status %d, %d bytes, equal %v", name, resp.StatusCode, len(rb), bytes.Equal(rb, payload))
			}
		}
	})

	t.Run("streaming", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			id := "s-" + strings.ReplaceAll(name, "/", "")
			req, _ := http.NewRequest(http.MethodGet, base+"/stream?id="+id, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := clients[name].Do(req.WithContext(ctx))
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", name, err)
			}
			r := bufio.NewReader(resp.Body)
			first, err := r.ReadString('\n')
			start := time.Now()
			close(e.h2c.gate(id)) // only now may the backend send the rest
			rest, _ := io.ReadAll(r)
			resp.Body.Close()
			cancel()
			if err != nil || first != "first\n" || string(rest) != "second\n" {
				t.Errorf("%s: got %q then %q (err %v): the first chunk must reach the client before the backend ends the response", name, first, rest, err)
			}
			t.Logf("%s: second chunk %v after the first was read", name, time.Since(start).Round(time.Millisecond))
		}
	})

	t.Run("rewrites and header filters match the HTTP/1.1 backend", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			for _, target := range []string{"/prefix", "/prefix/", "/prefix/x/y%20z?q=1&r=%26", "/full/anything?k=v"} {
				var echoes [2]h2cEcho
				for i, wire := range []string{"h2c", "h1"} {
					hdr := http.Header{"X-Wire": {wire}, "X-Multi": {"client"}, "X-Remove": {"gone"}}
					resp, body := e.do(t, clients[name], http.MethodGet, base+target, "filters-"+wire+".example", nil, hdr)
					wantResp := "" // only the /prefix rules modify the response
					if strings.HasPrefix(target, "/prefix") {
						wantResp = "1"
					}
					if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Resp") != wantResp {
						t.Fatalf("%s %s via %s: status %d, X-Resp %q: %.300s", name, target, wire, resp.StatusCode, resp.Header.Get("X-Resp"), body)
					}
					echoes[i] = decodeH2CEcho(t, resp, body)
				}
				h2, h1 := echoes[0], echoes[1]
				if h2.Proto != "HTTP/2.0" || h1.Proto != "HTTP/1.1" {
					t.Errorf("%s %s: protos %s / %s", name, target, h2.Proto, h1.Proto)
				}
				if h2.URI != h1.URI {
					t.Errorf("%s %s: h2c backend got %q, HTTP/1.1 backend %q", name, target, h2.URI, h1.URI)
				}
				wantH2, wantH1 := "filters-h2c.example", "filters-h1.example"
				if strings.HasPrefix(target, "/full") {
					wantH2, wantH1 = "rewritten.example", "rewritten.example"
				}
				if h2.Host != wantH2 || h1.Host != wantH1 {
					t.Errorf("%s %s: hosts %q / %q", name, target, h2.Host, h1.Host)
				}
				for _, k := range []string{"X-Set", "X-Multi", "X-Remove"} {
					if fmt.Sprint(h2.Headers[k]) != fmt.Sprint(h1.Headers[k]) {
						t.Errorf("%s %s: %s is %q at the h2c backend, %q at the HTTP/1.1 one", name, target, k, h2.Headers[k], h1.Headers[k])
					}
				}
				t.Logf("%s %s -> %s", name, target, h2.URI)
			}
		}
	})

	t.Run("timeout", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			start := time.Now()
			resp, body := e.do(t, clients[name], http.MethodGet, base+"/slow", "timeout.example", nil, nil)
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("%s: status %d, want 504: %.200s", name, resp.StatusCode, body)
			}
			t.Logf("%s: 504 after %v (Kong retries a timed-out GET 5 times, as for HTTP/1.1 upstreams)", name, time.Since(start).Round(time.Millisecond))
		}
	})

	t.Run("backend down", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			resp, body := e.do(t, clients[name], http.MethodGet, base+"/", "dead.example", nil, nil)
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("%s: status %d, want 502: %.200s", name, resp.StatusCode, body)
			}
		}
	})

	// retry.attempts without codes is Kong's balancer retrying connection
	// errors, which works for grpc services as for http ones.
	t.Run("connection errors retried to another endpoint", func(t *testing.T) {
		refusedBefore := strings.Count(e.kong.ErrorLog(), "(111: Connection refused)")
		defer func() {
			if strings.Count(e.kong.ErrorLog(), "(111: Connection refused)") == refusedBefore {
				t.Errorf("no request tried the refusing endpoint: the case proves nothing")
			}
		}()
		for _, name := range h2cClientNames() {
			for i := range 6 {
				resp, body := e.do(t, clients[name], http.MethodGet, base+"/r", "retry.example", nil, nil)
				if resp.StatusCode != http.StatusOK || decodeH2CEcho(t, resp, body).Proto != "HTTP/2.0" {
					t.Fatalf("%s request %d: status %d: %.200s", name, i, resp.StatusCode, body)
				}
			}
		}
	})

	t.Run("mixed rule sends everything to its h2c backend", func(t *testing.T) {
		h2Before, webBefore := e.h2c.served.Load(), e.web.served.Load()
		for _, name := range h2cClientNames() {
			for range 10 {
				resp, body := e.do(t, clients[name], http.MethodGet, base+"/", "mixed.example", nil, nil)
				if resp.StatusCode != http.StatusOK || decodeH2CEcho(t, resp, body).Pod != "infra-backend-v1-pod" {
					t.Fatalf("%s: status %d: %.200s", name, resp.StatusCode, body)
				}
			}
		}
		if got := e.h2c.served.Load() - h2Before; got != 20 {
			t.Errorf("h2c backend served %d of 20", got)
		}
		if got := e.web.served.Load() - webBefore; got != 0 {
			t.Errorf("the dropped HTTP/1.1 backend served %d", got)
		}
	})

	// drawbridge-backend-select picks the backendRef (its own upstream)
	// and applies its filters; the request still goes over HTTP/2.
	t.Run("per-backend filters on h2c backendRefs", func(t *testing.T) {
		seen := map[string]int{}
		for _, name := range h2cClientNames() {
			for range 10 {
				resp, body := e.do(t, clients[name], http.MethodGet, base+"/pb", "per-backend.example", nil, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d: %.200s", name, resp.StatusCode, body)
				}
				echo := decodeH2CEcho(t, resp, body)
				ref := echo.Headers["X-Ref"]
				if echo.Proto != "HTTP/2.0" || len(ref) != 1 || echo.Pod != "infra-backend-"+ref[0]+"-pod" {
					t.Errorf("%s: backend %s saw proto %s X-Ref %q", name, echo.Pod, echo.Proto, ref)
				}
				seen[echo.Pod]++
			}
		}
		if seen["infra-backend-v1-pod"] != 10 || seen["infra-backend-v2-pod"] != 10 {
			t.Errorf("weights 1:1 over 20 requests: %v", seen)
		}
	})

	t.Run("HTTPS listener", func(t *testing.T) {
		tlsClients := h2cTLSClients("tls.example")
		for _, name := range h2cClientNames() {
			resp, body := e.do(t, tlsClients[name], http.MethodPost, "https://"+e.https+"/tls?x=1", "tls.example", strings.NewReader("hello"), nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d: %.300s", name, resp.StatusCode, body)
			}
			echo := decodeH2CEcho(t, resp, body)
			if echo.Proto != "HTTP/2.0" || echo.URI != "/tls?x=1" || echo.BodyLen != 5 || echo.Headers["X-Forwarded-Proto"][0] != "https" {
				t.Errorf("%s: backend saw %+v", name, echo)
			}
		}
	})

	// WebSocket needs HTTP/1.1 Upgrade (or RFC 8441 extended CONNECT over
	// HTTP/2, which nginx 1.25.3 does not implement). nginx's grpc module
	// drops Upgrade and Connection, so an h2c backend sees a plain HTTP/2
	// GET and the client gets that answer, never 101.
	t.Run("websocket to an h2c backend is a plain request", func(t *testing.T) {
		hdr := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
		resp, body := e.do(t, clients["HTTP/1.1"], http.MethodGet, base+"/ws", "", nil, hdr)
		if resp.StatusCode == http.StatusSwitchingProtocols {
			t.Fatalf("got 101 from an h2c backend")
		}
		echo := decodeH2CEcho(t, resp, body)
		if resp.StatusCode != http.StatusOK || echo.Proto != "HTTP/2.0" || echo.Headers["Upgrade"] != nil || echo.Headers["Sec-Websocket-Key"] == nil {
			t.Errorf("status %d, backend saw %+v", resp.StatusCode, echo)
		}
	})

	// Ordinary routes keep Kong's HTTP/1.1 proxying, WebSocket included.
	t.Run("plain HTTPRoute unchanged", func(t *testing.T) {
		for _, name := range h2cClientNames() {
			resp, body := e.do(t, clients[name], http.MethodGet, base+"/p?q=1", "plain.example", nil, nil)
			echo := decodeH2CEcho(t, resp, body)
			if resp.StatusCode != http.StatusOK || echo.Proto != "HTTP/1.1" || echo.Pod != "infra-backend-v1-http-pod" {
				t.Errorf("%s: status %d, backend saw %+v", name, resp.StatusCode, echo)
			}
		}
		conn, err := net.DialTimeout("tcp", e.http, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: plain.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("plain WebSocket upgrade: %v %v", err, resp)
		}
		fmt.Fprint(conn, "ping\n")
		line, _ := br.ReadString('\n')
		if line != "echo:ping\n" {
			t.Errorf("after 101: %q", line)
		}
	})

	// GRPCRoutes keep Kong's gRPC routes: gRPC works, and a non-gRPC
	// request matching one still gets Kong's 415.
	t.Run("GRPCRoute unchanged", func(t *testing.T) {
		msg := []byte("\x08\x01")
		frame := make([]byte, 5+len(msg))
		binary.BigEndian.PutUint32(frame[1:5], uint32(len(msg)))
		copy(frame[5:], msg)
		hdr := http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}}
		resp, body := e.do(t, clients["h2c"], http.MethodPost, base+"/pkg.Svc/Method", "grpc.example", bytes.NewReader(frame), hdr)
		if resp.StatusCode != http.StatusOK || resp.Trailer.Get("Grpc-Status") != "0" || resp.Header.Get("X-Path") != "/pkg.Svc/Method" || !bytes.Equal(body, frame) {
			t.Errorf("gRPC: status %d, grpc-status %q, path %q, body %q", resp.StatusCode, resp.Trailer.Get("Grpc-Status"), resp.Header.Get("X-Path"), body)
		}
		resp, body = e.do(t, clients["HTTP/1.1"], http.MethodPost, base+"/pkg.Svc/Method", "grpc.example", strings.NewReader("x"), http.Header{"Content-Type": {"text/plain"}})
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("non-gRPC request on a GRPCRoute: status %d, want Kong's 415: %.200s", resp.StatusCode, body)
		}
	})

	if n := e.h2c.refused.Load() + e.h2c2.refused.Load(); n != 0 {
		t.Errorf("the h2c backends refused %d HTTP/1.x requests: Kong must only speak HTTP/2 to them", n)
	}
	// The dead backend and the timeout cases log errors; nothing else may.
	for _, l := range strings.Split(e.kong.ErrorLog(), "\n") {
		if (strings.Contains(l, "[error]") || strings.Contains(l, "[crit]") || strings.Contains(l, "[alert]")) &&
			!strings.Contains(l, "upstream timed out") && !strings.Contains(l, "(111: Connection refused)") {
			t.Errorf("Kong error log: %s", l)
		}
	}
}

// TestH2CLatency reports (no assertion) how long a small GET takes through
// Kong to the h2c backend and to an HTTP/1.1 backend, from both clients.
func TestH2CLatency(t *testing.T) {
	e := startH2CEnv(t)
	clients := h2cClients()
	const n = 300
	for _, name := range h2cClientNames() {
		for _, host := range []string{"", "plain.example"} {
			var ds []time.Duration
			for i := range n + 20 {
				start := time.Now()
				resp, body := e.do(t, clients[name], http.MethodGet, "http://"+e.http+"/lat", host, nil, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %.200s", resp.StatusCode, body)
				}
				if i >= 20 { // warm-up
					ds = append(ds, time.Since(start))
				}
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			backend := map[string]string{"": "h2c backend", "plain.example": "HTTP/1.1 backend"}[host]
			t.Logf("%s client -> %s: p50 %v p99 %v (n=%d)", name, backend, ds[n/2].Round(time.Microsecond), ds[n*99/100].Round(time.Microsecond), n)
		}
	}
}

// TestH2CRetryCodesImpossible keeps the evidence for refusing retry.codes
// on h2c rules: drawbridge-retry makes Kong proxy through its buffered
// location (/kong_buffered_http), whose proxy_pass speaks HTTP/1.x only, so
// on a grpc service nginx cannot even build the request. The config is the
// translator's for a rule with codes on an HTTP/1.1 Service, with the
// service switched to grpc as an h2c rule would have it.
func TestH2CRetryCodesImpossible(t *testing.T) {
	h2c := startH2CBackend(t, "infra-backend-v1", true)
	ports := realkong.FreePorts(t, 1)
	k := realkong.Start(t, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + ports[0] + " http2",
		"KONG_PORT_MAPS":    "80:" + ports[0],
	}})
	res := translateResult(t, fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: drawbridge}
spec: {controllerName: drawbridge.dev/gateway-controller}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: default}
spec:
  ports: [{name: h2c, port: 8081, targetPort: 3001}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-1, namespace: default, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
ports: [{name: h2c, port: %s}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: drawbridge
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - retry: {codes: [500], attempts: 2}
    backendRefs: [{name: s, port: 8081}]
`, h2cEndpointPort(h2c.addr)))
	cfg := string(res.JSON)
	if !strings.Contains(cfg, `"name":"drawbridge-retry"`) || strings.Count(cfg, `"protocol":"http"`) != 1 {
		t.Fatalf("unexpected translation: %s", cfg)
	}
	cfg = strings.Replace(cfg, `"protocol":"http"`, `"protocol":"grpc"`, 1)
	if err := k.PostConfig([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	for _, name := range h2cClientNames() {
		resp, body := (&h2cEnv{kong: k}).do(t, h2cClients()[name], http.MethodGet, "http://127.0.0.1:"+ports[0]+"/x", "", nil, nil)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500: %.200s", name, resp.StatusCode, body)
		}
	}
	if !strings.Contains(k.ErrorLog(), `invalid URL prefix in "grpc://kong_upstream/x"`) {
		t.Errorf("Kong's error log does not say why:\n%s", k.ErrorLogTail())
	}
	if h2c.served.Load()+h2c.refused.Load() != 0 {
		t.Errorf("the backend was reached")
	}
}
