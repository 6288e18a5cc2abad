package kongstandin

// Stream proxy (KONG_STREAM_LISTEN): tcp, udp, tls (terminated by Kong) and
// tls_passthrough (SNI read from the ClientHello, bytes forwarded untouched).
// Reference 3.3: destinations/net.dst.port see the port after port_maps;
// a connection no route matches is closed.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

const clientHelloTimeout = 10 * time.Second

func (s *Server) serveStream(ln net.Listener, l Listener) {
	defer s.wg.Done()
	localPort := ln.Addr().(*net.TCPAddr).Port
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			stop := context.AfterFunc(s.ctx, func() { _ = c.Close() })
			defer stop()
			defer c.Close()
			s.handleStreamConn(c, l, localPort)
		}()
	}
}

func (s *Server) streamMatchContext(src, dst net.Addr, localPort int, proto, sni string) *matchContext {
	ctx := newMatchContext()
	ctx.setString("net.protocol", proto)
	if sni != "" {
		ctx.setString("tls.sni", sni)
	}
	if ap, err := netip.ParseAddrPort(src.String()); err == nil {
		ctx.setIP("net.src.ip", ap.Addr())
		ctx.setInt("net.src.port", int(ap.Port()))
	}
	if ap, err := netip.ParseAddrPort(dst.String()); err == nil {
		ctx.setIP("net.dst.ip", ap.Addr())
	}
	ctx.setInt("net.dst.port", s.cfg.publishedPort(localPort))
	return ctx
}

// matchStream returns the first route (in priority order) whose protocols
// include one of want and whose expression matches.
func matchStream(rt *runtime, ctx *matchContext, want ...string) *route {
	for _, r := range rt.streamRoutes {
		ok := false
		for _, p := range want {
			ok = ok || r.hasProtocol(p)
		}
		if !ok {
			continue
		}
		ctx.reset()
		if evalExpr(r.expr, ctx) {
			return r
		}
	}
	return nil
}

func (s *Server) handleStreamConn(c net.Conn, l Listener, localPort int) {
	rt := s.rt.Load()
	if !l.SSL {
		ctx := s.streamMatchContext(c.RemoteAddr(), c.LocalAddr(), localPort, "tcp", "")
		r := matchStream(rt, ctx, "tcp")
		s.pipeStream(rt, c, r, nil, "")
		return
	}
	hello, sni, err := peekClientHello(c)
	if err != nil {
		s.errLog.Printf("stream %s: reading ClientHello: %v", c.RemoteAddr(), err)
		return
	}
	// Before termination the connection is still plain tcp to the router.
	ctx := s.streamMatchContext(c.RemoteAddr(), c.LocalAddr(), localPort, "tcp", sni)
	if r := matchStream(rt, ctx, "tls_passthrough"); r != nil {
		s.pipeStream(rt, c, r, hello, sni)
		return
	}
	// Kong's preread routing decides before any handshake: a connection
	// that no tls route would take either is closed there, so the client
	// never sees the default certificate.
	ctx = s.streamMatchContext(c.RemoteAddr(), c.LocalAddr(), localPort, "tls", sni)
	r := matchStream(rt, ctx, "tls")
	if r == nil {
		s.pipeStream(rt, c, nil, nil, sni)
		return
	}
	tc := tls.Server(&prefixConn{Conn: c, prefix: bytes.NewReader(hello)}, s.proxyTLSConfig(nil))
	_ = tc.SetDeadline(time.Now().Add(clientHelloTimeout))
	if err := tc.Handshake(); err != nil {
		s.errLog.Printf("stream %s: TLS handshake: %v", c.RemoteAddr(), err)
		return
	}
	_ = tc.SetDeadline(time.Time{})
	s.pipeStream(rt, tc, r, nil, sni)
}

var errHelloRead = errors.New("client hello captured")

// peekClientHello reads the TLS ClientHello without answering it, returning
// the bytes consumed and the SNI, so the connection can still be passed
// through or terminated.
func peekClientHello(c net.Conn) ([]byte, string, error) {
	rec := &recordingConn{Conn: c}
	_ = c.SetReadDeadline(time.Now().Add(clientHelloTimeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	var sni string
	err := tls.Server(rec, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni = h.ServerName
		return nil, errHelloRead
	}}).Handshake()
	if !errors.Is(err, errHelloRead) {
		return nil, "", fmt.Errorf("not a TLS ClientHello: %w", err)
	}
	return rec.buf.Bytes(), sni, nil
}

// recordingConn records what is read and swallows writes (the alert the
// aborted handshake would send).
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.buf.Write(b[:n])
	return n, err
}

func (r *recordingConn) Write(b []byte) (int, error) { return len(b), nil }

// prefixConn replays already-read bytes before reading from the connection.
type prefixConn struct {
	net.Conn
	prefix *bytes.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if p.prefix.Len() > 0 {
		return p.prefix.Read(b)
	}
	return p.Conn.Read(b)
}

// dialService connects to the route's service, trying targets like the HTTP
// balancer (retries on connect failure).
func dialService(rt *runtime, svc *service, network string) (net.Conn, error) {
	up := rt.upstreams[svc.host]
	tried := map[*target]bool{}
	var lastErr error
	for attempt := 0; attempt <= svc.retries; attempt++ {
		host, port := svc.host, svc.port
		if up != nil {
			tg := up.pickTarget(tried)
			if tg == nil && len(tried) > 0 {
				tried = map[*target]bool{}
				tg = up.pickTarget(tried)
			}
			if tg == nil {
				return nil, errNoPeer
			}
			tried[tg] = true
			host, port = tg.host, tg.port
		}
		d := net.Dialer{Timeout: svc.connectTimeout}
		c, err := d.Dial(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (s *Server) pipeStream(rt *runtime, client net.Conn, r *route, preface []byte, sni string) {
	start := time.Now()
	if r == nil || r.service == nil {
		fmt.Fprintf(s.streamLog, "%s [%s] TCP 0 no Route found with those values\n", client.RemoteAddr(), start.Format(time.RFC3339))
		return
	}
	if !s.streamPreread(rt, client, r, preface != nil) {
		closeReading(client)
		return
	}
	svc := r.service
	up, err := dialService(rt, svc, "tcp")
	if err != nil {
		s.errLog.Printf("stream %s: connect to service %s: %v", client.RemoteAddr(), svc.name, err)
		return
	}
	if svc.protocol == "tls" {
		name := sni
		if name == "" {
			name = svc.host
		}
		tc := tls.Client(up, &tls.Config{ServerName: name, InsecureSkipVerify: true}) //nolint:gosec // Kong's default: no upstream verification
		_ = tc.SetDeadline(time.Now().Add(svc.connectTimeout))
		if err := tc.Handshake(); err != nil {
			s.errLog.Printf("stream %s: TLS to upstream: %v", client.RemoteAddr(), err)
			_ = up.Close()
			return
		}
		_ = tc.SetDeadline(time.Time{})
		up = tc
	}
	defer up.Close()
	stop := context.AfterFunc(s.ctx, func() { _ = up.Close() })
	defer stop()
	if len(preface) > 0 {
		if _, err := up.Write(preface); err != nil {
			return
		}
	}
	upd := &deadlineConn{Conn: up, read: svc.readTimeout, write: svc.writeTimeout}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(upd, client); closeWrite(up) }()
	go func() { defer wg.Done(); _, _ = io.Copy(client, upd); closeWrite(client) }()
	wg.Wait()
	fmt.Fprintf(s.streamLog, "%s [%s] TCP 200 route=%s %.3fs\n", client.RemoteAddr(), start.Format(time.RFC3339), r.name, time.Since(start).Seconds())
}

// refusedDrain bounds how long a refused connection's input is read before
// it is closed.
const refusedDrain = 200 * time.Millisecond

// closeReading ends a refused connection the way nginx does after its
// preread phase has read the client's first bytes: a FIN, then the rest of
// what the client sent is read and dropped, so closing does not turn into a
// reset because unread data was left in the socket.
func closeReading(c net.Conn) {
	closeWrite(c)
	_ = c.SetReadDeadline(time.Now().Add(refusedDrain))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<16))
}

func closeWrite(c net.Conn) {
	switch x := c.(type) {
	case interface{ CloseWrite() error }:
		_ = x.CloseWrite()
	default:
		_ = c.Close()
	}
}

// ---- UDP ----

type udpSession struct {
	up       net.Conn
	lastSeen time.Time
}

func (s *Server) serveUDP(pc net.PacketConn, l Listener) {
	defer s.wg.Done()
	localPort := pc.LocalAddr().(*net.UDPAddr).Port
	var mu sync.Mutex
	sessions := map[string]*udpSession{}
	var sessWG sync.WaitGroup
	defer func() {
		mu.Lock()
		for _, ss := range sessions {
			_ = ss.up.Close()
		}
		mu.Unlock()
		sessWG.Wait()
	}()
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		key := addr.String()
		mu.Lock()
		ss := sessions[key]
		mu.Unlock()
		if ss == nil {
			rt := s.rt.Load()
			ctx := s.streamMatchContext(addr, pc.LocalAddr(), localPort, "udp", "")
			r := matchStream(rt, ctx, "udp")
			if r == nil || r.service == nil {
				fmt.Fprintf(s.streamLog, "%s UDP no Route found with those values\n", addr)
				continue
			}
			up, err := dialService(rt, r.service, "udp")
			if err != nil {
				s.errLog.Printf("udp %s: connect to service %s: %v", addr, r.service.name, err)
				continue
			}
			ss = &udpSession{up: up}
			mu.Lock()
			sessions[key] = ss
			mu.Unlock()
			sessWG.Add(1)
			go func(ss *udpSession, client net.Addr, idle time.Duration) {
				defer sessWG.Done()
				defer func() {
					mu.Lock()
					delete(sessions, client.String())
					mu.Unlock()
					_ = ss.up.Close()
				}()
				rb := make([]byte, 65535)
				for {
					_ = ss.up.SetReadDeadline(time.Now().Add(idle))
					n, err := ss.up.Read(rb)
					if err != nil {
						return
					}
					if _, err := pc.WriteTo(rb[:n], client); err != nil {
						return
					}
				}
			}(ss, addr, r.service.readTimeout)
		}
		_, _ = ss.up.Write(pkt)
	}
}

// streamPreread runs the preread phase of the route's stream plugins and
// reports whether the connection may proceed. ip-restriction refuses with
// kong.response.error, which in the stream subsystem logs the message and
// closes the connection without sending anything (kong/pdk/response.lua
// send_stream: bodies go to the client only below 400). Any other plugin
// on a stream route is not run by the stand-in: the connection is closed
// and the error log says why.
func (s *Server) streamPreread(rt *runtime, client net.Conn, r *route, passthrough bool) bool {
	proto := "tcp"
	if _, ok := client.(*tls.Conn); ok {
		proto = "tls"
	} else if passthrough {
		proto = "tls_passthrough"
	}
	for _, p := range rt.pluginsFor(r, proto) {
		if p.name == "pre-function" {
			continue // as before: its Lua phases are HTTP ones
		}
		ipr, ok := p.impl.(*ipRestriction)
		if !ok {
			s.errLog.Printf("stream %s: stand-in: plugin '%s' on stream route %s is accepted in configurations but not run by the stand-in; closing", client.RemoteAddr(), p.name, r.name)
			return false
		}
		host, _, err := net.SplitHostPort(client.RemoteAddr().String())
		if err != nil {
			continue
		}
		if a, err := netip.ParseAddr(host); err == nil && ipr.denied(a) {
			fmt.Fprintf(s.streamLog, "%s [%s] TCP 403 IP address not allowed: %s\n", client.RemoteAddr(), time.Now().Format(time.RFC3339), a.Unmap())
			return false
		}
	}
	return true
}
