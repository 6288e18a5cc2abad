package kongstandin

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// startTCPEcho echoes with a prefix so tests can tell backends apart.
func startTCPEcho(t *testing.T, prefix string, tlsCfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(testTimeout))
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				_, _ = fmt.Fprintf(c, "%s:%s", prefix, buf[:n])
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil && n == 0 {
		return "error: " + err.Error()
	}
	return string(buf[:n])
}

func streamService(name, proto, backend string, route map[string]any) map[string]any {
	h, p, _ := net.SplitHostPort(backend)
	return map[string]any{"name": name, "protocol": proto, "host": h, "port": json.Number(p), "routes": []any{route}}
}

// Source: reference 3.3 (tcp/udp routes on destinations port after port_maps,
// tls routes by SNI, tls_passthrough reads SNI without terminating; no match
// closes the connection).
func TestStreamProxy(t *testing.T) {
	tcpPort, tlsPort, udpPort := freePort(t), freePort(t), freePortUDP(t)
	s := startStandin(t, map[string]string{
		"KONG_STREAM_LISTEN": fmt.Sprintf("127.0.0.1:%d, 127.0.0.1:%d ssl, 127.0.0.1:%d udp", tcpPort, tlsPort, udpPort),
		"KONG_PORT_MAPS":     fmt.Sprintf("9000:%d", tcpPort),
	})
	ca := newCA(t, "ca")
	kc, kk := ca.issue(t, "kong-tls", nil, false)
	bc, bk := ca.issue(t, "backend-passthrough", nil, false)
	bpair, _ := tls.X509KeyPair([]byte(bc), []byte(bk))
	plain := startTCPEcho(t, "plain", nil)
	terminated := startTCPEcho(t, "term", nil)
	passthrough := startTCPEcho(t, "pass", &tls.Config{Certificates: []tls.Certificate{bpair}})
	udpBackend := startUDPEcho(t)
	doc := map[string]any{"_format_version": "3.0",
		"services": []any{
			streamService("tcp", "tcp", plain, map[string]any{"name": "tcp", "protocols": []any{"tcp"}, "expression": `net.dst.port == 9000`}),
			streamService("tls", "tcp", terminated, map[string]any{"name": "tls", "protocols": []any{"tls"}, "expression": `tls.sni == "term.example"`}),
			streamService("pt", "tcp", passthrough, map[string]any{"name": "pt", "protocols": []any{"tls_passthrough"}, "expression": `tls.sni == "pass.example"`}),
			streamService("udp", "udp", udpBackend, map[string]any{"name": "udp", "protocols": []any{"udp"}, "expression": fmt.Sprintf(`net.dst.port == %d`, udpPort)}),
		},
		"certificates": []any{map[string]any{"cert": kc, "key": kk, "snis": []any{"term.example"}}},
	}
	s.mustConfig(doc)
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, c, "hi"); got != "plain:hi" {
		t.Errorf("tcp (port_maps 9000) = %q", got)
	}
	c.Close()
	dial := func(sni string) *tls.Conn {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: testTimeout}, "tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // test inspects certificates
		if err != nil {
			t.Fatalf("tls dial %s: %v", sni, err)
		}
		return c
	}
	tc := dial("term.example")
	if cn := tc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "kong-tls" {
		t.Errorf("tls route served %q, want Kong's certificate", cn)
	}
	if got := roundTrip(t, tc, "t"); got != "term:t" {
		t.Errorf("tls = %q", got)
	}
	tc.Close()
	pc := dial("pass.example")
	if cn := pc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "backend-passthrough" {
		t.Errorf("passthrough served %q, want the backend's certificate", cn)
	}
	if got := roundTrip(t, pc, "p"); got != "pass:p" {
		t.Errorf("passthrough = %q", got)
	}
	pc.Close()
	// An SNI no route takes is closed during the handshake, before any
	// certificate is sent.
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: testTimeout}, "tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort),
		&tls.Config{ServerName: "other.example", InsecureSkipVerify: true}); err == nil { //nolint:gosec // only the refusal matters
		c.Close()
		t.Errorf("unmatched SNI completed a handshake")
	} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset by peer") {
		t.Errorf("unmatched SNI: %v, want the connection closed", err)
	}
	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if got := roundTrip(t, u, "dgram"); got != "udp:dgram" {
		t.Errorf("udp = %q", got)
	}
	// No route: the connection is closed without data.
	s.mustConfig(map[string]any{"_format_version": "3.0", "upstreams": []any{map[string]any{"name": "kong"}}})
	c2, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetDeadline(time.Now().Add(testTimeout))
	if n, err := c2.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("unmatched connection not closed: n=%d err=%v", n, err)
	}
}

func freePortUDP(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func startUDPEcho(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("udp:"), buf[:n]...), addr)
		}
	}()
	return pc.LocalAddr().String()
}
