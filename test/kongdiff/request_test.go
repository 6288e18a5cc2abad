package kongdiff

// One request of the corpus and the way it is sent.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

const requestTimeout = 3 * time.Second

// request is one exchange to send to a listener.
type request struct {
	proto   string // h1, h2c, h2, grpc, ws, tcp, udp, tls
	kind    kind
	port    int // Gateway port
	method  string
	host    string // Host header or :authority; "" sends none (h1 only)
	sni     string // TLS server name; "" sends none
	path    string // request target as sent, raw
	headers [][2]string
	// note names what the request probes when that is not plain from the
	// rest of the key ("upper-case Host"), so known differences can name
	// a family.
	note string
}

// key names the request in logs and in known-differences.yaml.
func (r request) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s:%d", r.proto, r.kind, r.port)
	if r.kind == kindHTTPS || r.kind == kindTLS {
		fmt.Fprintf(&b, " sni=%s", orDash(r.sni))
	}
	if r.method != "" {
		fmt.Fprintf(&b, " %s host=%s %s", r.method, orDash(r.host), r.path)
	}
	for _, h := range r.headers {
		fmt.Fprintf(&b, " [%s: %s]", h[0], h[1])
	}
	if r.note != "" {
		fmt.Fprintf(&b, " {%s}", r.note)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// raw is what came back before normalisation.
type raw struct {
	err      string // transport outcome when there is no HTTP answer
	status   int
	header   http.Header
	body     []byte
	peerCert []byte // DER of the leaf the TLS listener served
	stream   string // what a TCP/UDP/TLS stream answered
}

// send performs r against addr.
func send(r request, addr string) raw {
	switch r.proto {
	case "h1", "ws":
		return tlsRefusal(r, sendH1(r, addr))
	case "h2c", "h2", "grpc":
		return tlsRefusal(r, sendH2(r, addr))
	case "tcp", "tls":
		return sendStream(r, addr)
	case "udp":
		return sendUDP(addr)
	}
	return raw{err: "unknown protocol " + r.proto}
}

// tlsRefusal counts a reset on an HTTPS request as the TLS refusal it is.
// A TLS 1.3 client has finished its handshake before the server judges its
// certificate (drawbridge-client-cert refuses one on ports that require it)
// and sends its request at once; it then reads the server's alert, or a
// reset when the server closed with that request unread. Which one depends
// only on timing (real Kong gives both for the same request).
func tlsRefusal(r request, out raw) raw {
	if r.kind == kindHTTPS && out.err == "reset" {
		out.err = "tls error"
	}
	return out
}

func (r request) tlsConfig(alpn ...string) *tls.Config {
	return &tls.Config{ServerName: r.sni, InsecureSkipVerify: true, NextProtos: alpn} //nolint:gosec // the suite compares which certificate is served
}

func dialFor(r request, addr string, alpn ...string) (net.Conn, []byte, error) {
	d := &net.Dialer{Timeout: requestTimeout}
	if r.kind != kindHTTPS && r.kind != kindTLS {
		c, err := d.Dial("tcp", addr)
		return c, nil, err
	}
	c, err := tls.DialWithDialer(d, "tcp", addr, r.tlsConfig(alpn...))
	if err != nil {
		return nil, nil, err
	}
	var leaf []byte
	if pc := c.ConnectionState().PeerCertificates; len(pc) > 0 {
		leaf = pc[0].Raw
	}
	return c, leaf, nil
}

func sendH1(r request, addr string) raw {
	c, leaf, err := dialFor(r, addr, "http/1.1")
	if err != nil {
		return raw{err: classify(err)}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.method, r.path)
	if r.host != "" {
		fmt.Fprintf(&b, "Host: %s\r\n", r.host)
	}
	b.WriteString("User-Agent: kongdiff\r\n")
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if r.proto == "ws" {
		b.WriteString("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	} else {
		b.WriteString("Connection: close\r\n")
	}
	if r.method == http.MethodPost || r.method == http.MethodPut {
		b.WriteString("Content-Length: 0\r\n")
	}
	b.WriteString("\r\n")
	if _, err := c.Write(b.Bytes()); err != nil {
		return raw{err: classify(err), peerCert: leaf}
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: r.method})
	if err != nil {
		return raw{err: classify(err), peerCert: leaf}
	}
	defer resp.Body.Close()
	out := raw{status: resp.StatusCode, header: resp.Header, peerCert: leaf}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		out.body, err = readWSFrame(br)
		if err != nil {
			out.body = []byte("websocket frame: " + classify(err))
		}
		return out
	}
	out.body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		out.body = append(out.body, []byte(" [body: "+classify(err)+"]")...)
	}
	out.body = unframeGRPC(resp.Header, out.body)
	return out
}

// unframeGRPC returns the message of a one-message gRPC body (the echo's
// report), or the body unchanged.
func unframeGRPC(h http.Header, b []byte) []byte {
	if strings.HasPrefix(h.Get("Content-Type"), "application/grpc") && len(b) >= 5 && b[0] == 0 &&
		int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]) == len(b)-5 {
		return b[5:]
	}
	return b
}

func sendH2(r request, addr string) raw {
	var protos http.Protocols
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true, Protocols: &protos}
	if r.kind == kindHTTPS {
		scheme = "https"
		protos.SetHTTP2(true)
		tr.TLSClientConfig = r.tlsConfig()
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	defer tr.CloseIdleConnections()
	var leaf []byte
	client := &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var body io.Reader
	if r.proto == "grpc" {
		body = bytes.NewReader(grpcFrame(nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, scheme+"://"+addr+r.path, body)
	if err != nil {
		return raw{err: "bad request: " + err.Error()}
	}
	req.Host = r.host
	req.Header.Set("User-Agent", "kongdiff")
	for _, h := range r.headers {
		req.Header.Add(h[0], h[1])
	}
	if r.proto == "grpc" {
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
	}
	resp, err := client.Do(req)
	if err != nil {
		if r.kind == kindHTTPS && strings.Contains(err.Error(), "client conn could not be established") {
			// Go's HTTP/2 client says this, instead of the error that
			// ended the connection, when it ends before the server's
			// SETTINGS: over TLS, the alert of a refused certificate
			// that overtook the client's first request (see tlsRefusal).
			return raw{err: "tls error"}
		}
		return raw{err: classify(err)}
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf = resp.TLS.PeerCertificates[0].Raw
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		b = append(b, []byte(" [body: "+classify(err)+"]")...)
	}
	h := resp.Header.Clone()
	for k, v := range resp.Trailer {
		h["Trailer-"+k] = v
	}
	b = unframeGRPC(resp.Header, b)
	return raw{status: resp.StatusCode, header: h, body: b, peerCert: leaf}
}

func sendStream(r request, addr string) raw {
	c, leaf, err := dialFor(r, addr)
	if err != nil {
		return raw{err: classify(err), peerCert: leaf}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return raw{err: classify(err), peerCert: leaf}
	}
	b, err := io.ReadAll(c)
	out := raw{stream: strings.TrimSpace(string(b)), peerCert: leaf}
	if err != nil && len(b) == 0 {
		out.err = classify(err)
	}
	if out.stream == "" && (out.err == "" || out.err == "reset") {
		// A data plane that refuses a connection without answering closes
		// it; whether the client then sees a FIN or a reset depends only on
		// whether its own bytes had arrived (seen both ways on Kong 3.9.3
		// for the same ip-restriction refusal), so both count as one answer.
		out.err = "closed"
	}
	return out
}

const udpWait = 400 * time.Millisecond

func sendUDP(addr string) raw {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return raw{err: classify(err)}
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		return raw{err: classify(err)}
	}
	_ = c.SetReadDeadline(time.Now().Add(udpWait))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return raw{err: classify(err)}
	}
	return raw{stream: string(buf[:n])}
}

// classify turns a transport error into a stable outcome name.
func classify(err error) string {
	s := err.Error()
	switch {
	case err == io.EOF, strings.Contains(s, "EOF"):
		return "closed"
	case strings.Contains(s, "connection reset"), strings.Contains(s, "broken pipe"):
		return "reset"
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "refused"
	case strings.Contains(s, "tls: "), strings.Contains(s, "remote error"), strings.Contains(s, "handshake"):
		return "tls error"
	case strings.Contains(s, "http2"), strings.Contains(s, "stream error"):
		return "http2 error"
	case strings.Contains(s, "malformed HTTP"):
		return "malformed response"
	}
	return "error"
}
