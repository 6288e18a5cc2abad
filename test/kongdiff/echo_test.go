package kongdiff

// Echo upstreams on 127.0.0.1: HTTP (HTTP/1.1 and h2c on one port, gRPC,
// WebSocket), TCP (plain or, when the client opens with a TLS handshake,
// TLS) and UDP. Each reports its name and what it received.

import (
	"bufio"
	"crypto/sha1" //nolint:gosec // the WebSocket accept key is defined with SHA-1
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// echoReport is what an HTTP echo received.
type echoReport struct {
	Name    string              `json:"name"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Host    string              `json:"host"`
	Proto   string              `json:"proto"`
	Headers map[string][]string `json:"headers"`
}

// echoPool is a set of running echo servers of one transport.
type echoPool struct {
	names []string
	addrs []string
}

const echoIOTimeout = 3 * time.Second

// startHTTPEchos starts n HTTP echo servers named <prefix><i>.
func startHTTPEchos(t *testing.T, prefix string, n int) *echoPool {
	t.Helper()
	pool := &echoPool{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("echo listener: %v", err)
		}
		var protos http.Protocols
		protos.SetHTTP1(true)
		protos.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: httpEcho(name), Protocols: &protos, ReadHeaderTimeout: echoIOTimeout}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		pool.names = append(pool.names, name)
		pool.addrs = append(pool.addrs, ln.Addr().String())
	}
	return pool
}

func httpEcho(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		// The path exactly as it came on the wire (request line or :path).
		path, _, _ := strings.Cut(r.RequestURI, "?")
		rep := echoReport{Name: name, Method: r.Method, Path: path, Query: r.URL.RawQuery, Host: r.Host, Proto: r.Proto, Headers: r.Header}
		body, _ := json.Marshal(rep)
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			serveWebSocketEcho(w, r, body)
		case strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc"):
			w.Header().Set("Content-Type", "application/grpc")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(grpcFrame(body))
			w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	})
}

// grpcFrame wraps a message in gRPC's length-prefixed framing.
func grpcFrame(msg []byte) []byte {
	out := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(msg)))
	copy(out[5:], msg)
	return out
}

// serveWebSocketEcho completes the upgrade and sends the report as one
// text frame, then closes.
func serveWebSocketEcho(w http.ResponseWriter, r *http.Request, report []byte) {
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) //nolint:gosec // RFC 6455
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket over HTTP/2 is not supported by the echo", http.StatusBadRequest)
		return
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(h[:]))
	_, _ = rw.Write(wsTextFrame(report))
	_ = rw.Flush()
}

func wsTextFrame(p []byte) []byte {
	hdr := []byte{0x81}
	switch {
	case len(p) < 126:
		hdr = append(hdr, byte(len(p)))
	case len(p) < 1<<16:
		hdr = append(hdr, 126, byte(len(p)>>8), byte(len(p)))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(p)))
	}
	return append(hdr, p...)
}

// readWSFrame reads one unmasked frame's payload.
func readWSFrame(r *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("websocket frame of %d bytes", n)
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}

// startTCPEchos starts n TCP echo servers: each reads one line and answers
// "<name> <line>". A client that opens with a TLS handshake gets TLS (the
// upstream of a passthrough route) with a certificate named echo-tls.
func startTCPEchos(t *testing.T, prefix string, n int, cert tls.Certificate) *echoPool {
	t.Helper()
	pool := &echoPool{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("tcp echo listener: %v", err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go serveTCPEcho(c, name, cert)
			}
		}()
		pool.names = append(pool.names, name)
		pool.addrs = append(pool.addrs, ln.Addr().String())
	}
	return pool
}

func serveTCPEcho(c net.Conn, name string, cert tls.Certificate) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(echoIOTimeout))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	var conn io.ReadWriter = struct {
		io.Reader
		io.Writer
	}{br, c}
	tag := ""
	if first[0] == 0x16 {
		tc := tls.Server(&peekedConn{Conn: c, r: br}, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err := tc.Handshake(); err != nil {
			return
		}
		conn, tag = tc, " tls"
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	fmt.Fprintf(conn, "%s%s %s", name, tag, line)
}

// peekedConn reads through the buffered reader that peeked the first byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// startUDPEchos starts n UDP echo servers answering "<name> <payload>".
func startUDPEchos(t *testing.T, prefix string, n int) *echoPool {
	t.Helper()
	pool := &echoPool{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("udp echo listener: %v", err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo([]byte(name+" "+string(buf[:n])), from)
			}
		}()
		pool.names = append(pool.names, name)
		pool.addrs = append(pool.addrs, pc.LocalAddr().String())
	}
	return pool
}
