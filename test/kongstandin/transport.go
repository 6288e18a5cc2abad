package kongstandin

// Upstream connections per service, with Kong's connect/read/write timeouts:
// read and write timeouts bound the time between two successive operations,
// like nginx's proxy_read_timeout and proxy_send_timeout.

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

type transportCache struct {
	mu sync.Mutex
	m  map[string]*http.Transport
}

func (rt *runtime) transportFor(svc *service) *http.Transport {
	rt.transports.mu.Lock()
	defer rt.transports.mu.Unlock()
	if rt.transports.m == nil {
		rt.transports.m = map[string]*http.Transport{}
	}
	if tr := rt.transports.m[svc.id]; tr != nil {
		return tr
	}
	tr := newServiceTransport(svc)
	rt.transports.m[svc.id] = tr
	return tr
}

// closeIdle releases pooled upstream connections of a replaced runtime.
func (rt *runtime) closeIdle() {
	rt.transports.mu.Lock()
	defer rt.transports.mu.Unlock()
	for _, tr := range rt.transports.m {
		tr.CloseIdleConnections()
	}
}

func newServiceTransport(svc *service) *http.Transport {
	dialer := &net.Dialer{Timeout: svc.connectTimeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &deadlineConn{Conn: c, read: svc.readTimeout, write: svc.writeTimeout}, nil
		},
		// Kong does not verify upstream certificates unless tls_verify is set,
		// which the stand-in rejects at POST /config.
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // mirrors Kong's default
		TLSHandshakeTimeout:   svc.connectTimeout,
		ResponseHeaderTimeout: svc.readTimeout,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       60 * time.Second,
		DisableCompression:    true,
	}
	var p http.Protocols
	switch svc.protocol {
	case "grpc":
		p.SetUnencryptedHTTP2(true) // h2c with prior knowledge, as nginx grpc_pass
	case "grpcs":
		p.SetHTTP2(true)
	default:
		p.SetHTTP1(true) // nginx proxies to upstreams over HTTP/1.1
	}
	tr.Protocols = &p
	return tr
}

// deadlineConn refreshes the read/write deadline before every operation.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.read > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.read))
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if c.write > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	}
	return c.Conn.Write(b)
}
