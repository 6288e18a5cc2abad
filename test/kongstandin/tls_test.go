package kongstandin

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Source: reference 2 (Certificate/SNI lookup order: exact, *.suffix,
// prefix.*, "*", then Kong's default certificate) and ALPN h2 on "http2 ssl".
func TestSNICertificateSelection(t *testing.T) {
	s := startStandin(t, nil)
	ca := newCA(t, "ca")
	cert := func(cn string, snis ...string) map[string]any {
		c, k := ca.issue(t, cn, nil, false)
		list := []any{}
		for _, n := range snis {
			list = append(list, map[string]any{"name": n})
		}
		return map[string]any{"cert": c, "key": k, "snis": list}
	}
	_, a := startEcho(t, "a")
	doc := svcConfig(a, map[string]any{"name": "r", "expression": `http.path ^= "/"`})
	doc["certificates"] = []any{cert("exact", "api.example.com"), cert("suffix", "*.example.com"), cert("prefix", "www.example.*")}
	s.mustConfig(doc)
	cases := []struct{ sni, want string }{
		{"api.example.com", "exact"},
		{"foo.example.com", "suffix"},
		{"www.example.org", "prefix"},
		{"deep.foo.example.com", "localhost"}, // *.example.com covers one label only
		{"other.test", "localhost"},
	}
	for _, tc := range cases {
		if cn, _ := peerCN(t, s.proxyTLSAddr(), tc.sni, nil); cn != tc.want {
			t.Errorf("sni %s served %q, want %q", tc.sni, cn, tc.want)
		}
	}
	doc["certificates"] = append(doc["certificates"].([]any), cert("catchall", "*"))
	s.mustConfig(doc)
	cn, proto := peerCN(t, s.proxyTLSAddr(), "other.test", []string{"h2", "http/1.1"})
	if cn != "catchall" || proto != "h2" {
		t.Errorf("catch-all: cn=%q alpn=%q", cn, proto)
	}
	// HTTPS request over h2 is routed with net.protocol == "https".
	s.mustConfig(svcConfig(a, map[string]any{"name": "r", "expression": `net.protocol == "https" && tls.sni == "secure.test"`}))
	cl := &http.Client{Timeout: testTimeout, Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{ServerName: "secure.test", InsecureSkipVerify: true}}} //nolint:gosec // test
	defer cl.CloseIdleConnections()
	resp, err := cl.Get("https://" + s.proxyTLSAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("https via h2: %d %s", resp.StatusCode, resp.Proto)
	}
}

// Source: reference 4.1 (gRPC routes; grpc services are proxied over h2c) and
// the Kong gRPC guide: trailers reach the client.
func TestGRPCProxy(t *testing.T) {
	s := startStandin(t, nil)
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("Content-Type") != "application/grpc" {
			http.Error(w, "want h2 grpc", 400)
			return
		}
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		_, _ = w.Write([]byte{0, 0, 0, 0, 0})
		w.Header().Set("Grpc-Status", "0")
	})}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	backend.Protocols = &p
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = backend.Serve(ln) }()
	t.Cleanup(func() { _ = backend.Close() })
	h, port := splitHostPortInt(t, ln.Addr().String())
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "g", "protocol": "grpc", "host": h, "port": port,
		"routes": []any{map[string]any{"name": "gr", "protocols": []any{"grpc", "grpcs"}, "expression": `http.path ^= "/pkg.Svc/"`}}}}})
	cl := &http.Client{Timeout: testTimeout, Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // test
	defer cl.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "https://"+s.proxyTLSAddr()+"/pkg.Svc/Call", strings.NewReader("\x00\x00\x00\x00\x00"))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Errorf("grpc: %d trailers=%v", resp.StatusCode, resp.Trailer)
	}
	// A non-gRPC request on a gRPC route is refused (reference 4.1).
	resp2, _ := s.do("GET", s.proxyURL()+"/pkg.Svc/Call", nil, nil)
	if resp2.StatusCode != 415 {
		t.Errorf("non-grpc request on grpc route = %d, want 415", resp2.StatusCode)
	}
}

// Source: Kong proxies WebSocket upgrades on http routes
// (developer.konghq.com/gateway/entities/route/ "Proxy WebSocket traffic").
func TestWebSocketUpgrade(t *testing.T) {
	s := startStandin(t, nil)
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_ = conn.SetDeadline(time.Now().Add(testTimeout))
		_, _ = io.Copy(conn, brw)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = backend.Serve(ln) }()
	t.Cleanup(func() { _ = backend.Close() })
	s.mustConfig(svcConfig(ln.Addr().String(), map[string]any{"name": "ws", "expression": `http.path == "/ws"`}))
	c, err := net.DialTimeout("tcp", s.srv.ProxyAddrs()[0].String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade status %d", resp.StatusCode)
	}
	_, _ = io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Errorf("echo over upgraded connection: %q %v", buf, err)
	}
}
