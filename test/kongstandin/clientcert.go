package kongstandin

// Drawbridge's drawbridge-client-cert plugin (a global plugin, one entry
// per Gateway port in config.ports): client certificates are asked for in
// the handshake of HTTPS proxy listeners whose published port has an entry.
// AllowValidOnly fails the handshake when the certificate is missing or does
// not chain to the entry's CAs; AllowInsecureFallback asks and accepts
// anything. While any port has an entry no port resumes TLS sessions, as the
// plugin disables session reuse on real Kong. The plugin's request-time
// check (a resumed session reaching an AllowValidOnly port) has nothing to
// do here, since nothing is resumed.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

const clientCertPluginName = "drawbridge-client-cert"

// clientCertPlugin is the plugin's request phase in the stand-in: nothing
// (see above).
type clientCertPlugin struct {
	noAccess
	noHeaderFilter
}

// clientCertPort is one entry of the plugin's config.ports.
type clientCertPort struct {
	validOnly bool
	pool      *x509.CertPool
}

// clientCertPorts reads the global drawbridge-client-cert of the runtime:
// published port -> entry; nil when there is none.
func (rt *runtime) clientCertPorts() map[int]clientCertPort {
	for _, p := range rt.plugins {
		if p.name != clientCertPluginName || p.routeID != "" || p.serviceID != "" || p.consumer != "" {
			continue
		}
		ports, _ := p.cfg["ports"].([]any)
		out := map[int]clientCertPort{}
		for _, e := range ports {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(getString(m, "ca_certificates")))
			mode := getString(m, "mode")
			out[getInt(m, "port")] = clientCertPort{validOnly: mode == "" || mode == "AllowValidOnly", pool: pool}
		}
		return out
	}
	return nil
}

// withClientCerts makes an HTTPS proxy listener's TLS settings follow the
// plugin: base is the listener's configuration, pubPort its published
// port, http2 whether ALPN offers h2.
func (s *Server) withClientCerts(base *tls.Config, pubPort int, http2 bool) *tls.Config {
	protos := []string{"http/1.1"}
	if http2 {
		protos = []string{"h2", "http/1.1"}
	}
	plain := base.Clone()
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		ports := s.rt.Load().clientCertPorts()
		if ports == nil {
			return nil, nil
		}
		c := plain.Clone()
		c.NextProtos = protos
		c.SessionTicketsDisabled = true
		e, ok := ports[pubPort]
		if !ok {
			return c, nil
		}
		c.ClientCAs = e.pool
		c.ClientAuth = tls.RequestClientCert
		if e.validOnly {
			dc, _ := hello.Conn.(*drainConn)
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				err := verifyClient(cs, e.pool)
				if err != nil {
					if dc != nil {
						dc.drain.Store(true)
					}
					time.Sleep(alertDelay)
				}
				return err
			}
		}
		return c, nil
	}
	return base
}

// alertDelay holds the alert of a refused certificate back a little. A
// TLS 1.3 client learns of the refusal only when it reads, after its
// handshake is over; an alert that arrives before Go's HTTP/2 client has
// queued its first request surfaces as "client conn could not be
// established" instead of the TLS alert itself. Kong's alert comes late
// enough (seen on every request of the differential suite); the in-process
// stand-in's could come first.
const alertDelay = 30 * time.Millisecond

// verifyClient is AllowValidOnly's check: a certificate that chains to the
// pool for client authentication.
func verifyClient(cs tls.ConnectionState, pool *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

// drainListener hands out drainConns.
type drainListener struct{ net.Listener }

func (l drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &drainConn{Conn: c}, nil
}

// drainConn reads what the client already sent before closing a connection
// whose handshake the plugin failed. A TLS 1.3 client sends its first
// request right behind its certificate; closing with those bytes unread
// makes the kernel answer with a reset, which can reach the client before
// the TLS alert. nginx has read them by then and closes cleanly, so the
// client sees the alert.
type drainConn struct {
	net.Conn
	drain atomic.Bool
}

func (c *drainConn) Close() error {
	if c.drain.Load() {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = io.Copy(io.Discard, c.Conn)
	}
	return c.Conn.Close()
}
