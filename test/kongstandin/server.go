package kongstandin

// Server lifecycle: binding the proxy, stream, admin and status listeners,
// and a Kong-like graceful stop ("kong quit": stop accepting, then drain).

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one running stand-in.
type Server struct {
	cfg         *Config
	rl          rlCounters // rate-limiting's local counters
	errLog      *log.Logger
	proxyLog    io.Writer
	adminLog    io.Writer
	streamLog   io.Writer
	rt          atomic.Pointer[runtime]
	loadMu      sync.Mutex
	nodeID      string
	hostname    string
	defaultCert tls.Certificate
	adminTLS    *tls.Config
	// adminClientCheck is nginx's per-request client certificate check
	// on TLS admin listeners (nil without ssl_verify_client).
	adminClientCheck *clientCertCheck
	started          time.Time

	httpServers []*http.Server
	streamLns   []net.Listener
	udpConns    []net.PacketConn
	closers     []io.Closer

	proxyAddrs, streamAddrs, adminAddrs, statusAddrs []net.Addr

	connsAccepted, connsActive, connsHandled, totalRequests atomic.Int64

	// Forced faults (faults.go).
	policy         atomic.Pointer[EntityPolicy]
	busyMu         sync.Mutex
	busyLeft       int
	busyRetryAfter time.Duration
	// unavailableLeft and unavailableRetryAfter are guarded by busyMu.
	unavailableLeft       int
	unavailableRetryAfter time.Duration
	delayMu               sync.Mutex
	adminDelay            time.Duration
	delayChanged          chan struct{} // closed when adminDelay changes
	adminHeld             atomic.Int64  // admin calls waiting out adminDelay
	configPosts           atomic.Int64
	// stopping is closed when Shutdown or Close begins, so calls held by
	// SlowAdmin do not hold the shutdown up.
	stopping     chan struct{}
	stoppingOnce sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Run starts a stand-in from a KONG_* environment, as Kong's container
// would read it: ConfigFromEnv, New and Start in one.
func Run(environ []string) (*Server, error) {
	cfg, err := ConfigFromEnv(environ)
	if err != nil {
		return nil, fmt.Errorf("stand-in configuration: %w", err)
	}
	srv, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("stand-in: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start the stand-in: %w", err)
	}
	return srv, nil
}

// Prefix is the KONG_PREFIX the stand-in was configured with.
func (s *Server) Prefix() string { return s.cfg.Prefix }

// New prepares a stand-in from a Config; nothing is bound until Start.
func New(cfg *Config) (*Server, error) {
	s := &Server{cfg: cfg, nodeID: uuidV4(), started: time.Now(), stopping: make(chan struct{})}
	s.hostname, _ = os.Hostname()
	var err error
	if s.errLog, s.closers, err = openErrorLog(cfg.ProxyErrorLog, s.closers); err != nil {
		return nil, err
	}
	if s.proxyLog, s.closers, err = openLog(cfg.ProxyAccessLog, s.closers); err != nil {
		return nil, err
	}
	if s.adminLog, s.closers, err = openLog(cfg.AdminAccessLog, s.closers); err != nil {
		return nil, err
	}
	if s.streamLog, s.closers, err = openLog(cfg.StreamAccessLog, s.closers); err != nil {
		return nil, err
	}
	if cfg.SSLCert != "" {
		if s.defaultCert, err = tls.LoadX509KeyPair(cfg.SSLCert, cfg.SSLCertKey); err != nil {
			return nil, fmt.Errorf("load KONG_SSL_CERT/KONG_SSL_CERT_KEY: %w", err)
		}
	} else if s.defaultCert, err = selfSignedDefault(); err != nil {
		return nil, err
	}
	for _, l := range cfg.AdminListeners {
		if l.SSL {
			if s.adminTLS, s.adminClientCheck, err = adminTLSConfig(cfg); err != nil {
				return nil, err
			}
			break
		}
	}
	s.rt.Store(emptyRuntime())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// openLog maps a Kong log setting to a writer. Relative paths live in Kong's
// prefix directory, which the stand-in does not have, so they are discarded.
func openLog(setting string, closers []io.Closer) (io.Writer, []io.Closer, error) {
	path := strings.Fields(setting + " ")[0]
	switch {
	case path == "off" || path == "":
		return io.Discard, closers, nil
	case path == "/dev/stdout":
		return os.Stdout, closers, nil
	case path == "/dev/stderr":
		return os.Stderr, closers, nil
	case !strings.HasPrefix(path, "/"):
		return io.Discard, closers, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, closers, fmt.Errorf("open log %s: %w", path, err)
	}
	return f, append(closers, f), nil
}

func openErrorLog(setting string, closers []io.Closer) (*log.Logger, []io.Closer, error) {
	w, closers, err := openLog(setting, closers)
	if err != nil {
		return nil, closers, err
	}
	return log.New(w, "[kong-standin] ", log.LstdFlags|log.Lmicroseconds), closers, nil
}

func uuidV4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start binds every configured listener and starts serving.
func (s *Server) Start() (err error) {
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	for _, l := range s.cfg.ProxyListeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("proxy listener %q: %w", l.Listener, err)
		}
		s.proxyAddrs = append(s.proxyAddrs, ln.Addr())
		port := ln.Addr().(*net.TCPAddr).Port
		if !l.SSL {
			ln = kongErrorPageListener{ln}
		}
		tlsCfg := s.proxyTLSConfig(nil)
		if l.SSL {
			tlsCfg = s.withClientCerts(tlsCfg, s.cfg.publishedPort(port), l.HTTP2)
		}
		s.serveHTTP(ln, l, s.proxyHandler(l, port), tlsCfg, true)
	}
	for _, l := range s.cfg.AdminListeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("admin listener %q: %w", l.Listener, err)
		}
		s.adminAddrs = append(s.adminAddrs, ln.Addr())
		h := s.adminHandler(false)
		if l.SSL {
			h = s.adminClientCheck.wrap(h)
		}
		s.serveHTTP(ln, l, h, s.adminTLS, false)
	}
	for _, l := range s.cfg.StatusListeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("status listener %q: %w", l.Listener, err)
		}
		s.statusAddrs = append(s.statusAddrs, ln.Addr())
		s.serveHTTP(ln, l, s.adminHandler(true), nil, false)
	}
	for _, l := range s.cfg.StreamListeners {
		if l.UDP {
			pc, err := net.ListenPacket("udp", l.Addr())
			if err != nil {
				return fmt.Errorf("stream listener %q: %w", l.Listener, err)
			}
			s.udpConns = append(s.udpConns, pc)
			s.streamAddrs = append(s.streamAddrs, pc.LocalAddr())
			s.wg.Add(1)
			go s.serveUDP(pc, l)
			continue
		}
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("stream listener %q: %w", l.Listener, err)
		}
		s.streamLns = append(s.streamLns, ln)
		s.streamAddrs = append(s.streamAddrs, ln.Addr())
		s.wg.Add(1)
		go s.serveStream(ln, l)
	}
	return nil
}

func (s *Server) serveHTTP(ln net.Listener, l Listener, h http.Handler, tlsCfg *tls.Config, proxy bool) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 60 * time.Second,
		ErrorLog:          s.errLog,
	}
	var p http.Protocols
	p.SetHTTP1(true)
	if l.SSL {
		// ALPN offers h2 only on listeners with the http2 flag, as nginx
		// does; admin listeners too (Kong 3.9.3 turns "http2 on" in the
		// admin server only for an admin_listen entry that has the flag:
		// kong/templates/nginx_kong.lua, the kong_admin server block).
		p.SetHTTP2(l.HTTP2)
		srv.TLSConfig = tlsCfg.Clone()
		srv.TLSConfig.NextProtos = nil
	} else if l.HTTP2 {
		// A plain listener with http2 speaks h2c with prior knowledge.
		p.SetUnencryptedHTTP2(true)
	}
	srv.Protocols = &p
	if !proxy && l.SSL && s.adminClientCheck != nil {
		srv.ConnContext = s.adminClientCheck.connContext
		// What http.Server would offer itself (ServeTLS), now fixed here.
		protos := []string{"http/1.1"}
		if l.HTTP2 {
			protos = []string{"h2", "http/1.1"}
		}
		srv.TLSConfig.GetConfigForClient = s.adminClientCheck.namingCAs(srv.TLSConfig, protos)
	}
	if proxy {
		srv.ConnState = func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.connsAccepted.Add(1)
				s.connsActive.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.connsActive.Add(-1)
				s.connsHandled.Add(1)
			}
		}
	}
	s.httpServers = append(s.httpServers, srv)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var err error
		if l.SSL {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errLog.Printf("listener %s stopped: %v", l.Listener, err)
		}
	}()
}

// ProxyAddrs, StreamAddrs, AdminAddrs and StatusAddrs return bound addresses in
// the order of the corresponding KONG_*_LISTEN entries.
func (s *Server) ProxyAddrs() []net.Addr  { return s.proxyAddrs }
func (s *Server) StreamAddrs() []net.Addr { return s.streamAddrs }
func (s *Server) AdminAddrs() []net.Addr  { return s.adminAddrs }
func (s *Server) StatusAddrs() []net.Addr { return s.statusAddrs }

// Shutdown stops accepting, lets in-flight requests and streams finish until
// ctx expires, then closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	for _, ln := range s.streamLns {
		_ = ln.Close()
	}
	var firstErr error
	for _, srv := range s.httpServers {
		if err := srv.Shutdown(ctx); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	done := make(chan struct{})
	go func() {
		s.cancel()
		for _, pc := range s.udpConns {
			_ = pc.Close()
		}
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Close()
		<-done
		if firstErr == nil {
			firstErr = ctx.Err()
		}
	}
	for _, c := range s.closers {
		_ = c.Close()
	}
	return firstErr
}

// stop releases the admin calls SlowAdmin holds.
func (s *Server) stop() { s.stoppingOnce.Do(func() { close(s.stopping) }) }

// Close stops everything immediately.
func (s *Server) Close() {
	s.stop()
	s.cancel()
	for _, srv := range s.httpServers {
		_ = srv.Close()
	}
	for _, ln := range s.streamLns {
		_ = ln.Close()
	}
	for _, pc := range s.udpConns {
		_ = pc.Close()
	}
}
