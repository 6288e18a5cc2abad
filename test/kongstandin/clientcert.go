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
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
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
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	return base
}
