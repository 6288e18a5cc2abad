package kongstandin

// TLS: the admin listener's server certificate and client verification
// (KONG_ADMIN_SSL_*, KONG_NGINX_ADMIN_SSL_*), and SNI-based certificate
// selection on proxy and stream listeners (reference section 2, Certificate/SNI).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("unsupported private key format")
}

// selfSignedDefault creates Kong's fallback certificate (CN=localhost), used
// when no configured SNI matches and KONG_SSL_CERT is not set.
func selfSignedDefault() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate default certificate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Kong"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create default certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// proxyTLSConfig selects certificates by SNI from the current configuration.
func (s *Server) proxyTLSConfig(nextProtos []string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.certificateFor(hello), nil
		},
	}
}

func (s *Server) certificateFor(hello *tls.ClientHelloInfo) *tls.Certificate {
	if hello.ServerName == "" {
		// Kong serves its default certificate to a client without SNI,
		// even when a "*" SNI is configured (runloop/certificate.lua
		// find_certificate).
		return &s.defaultCert
	}
	cp := s.rt.Load().certificateFor(hello.ServerName)
	if cp == nil {
		return &s.defaultCert
	}
	// With cert_alt, offer the certificate the client can use (RSA vs ECDSA).
	for i := range cp.certs {
		if hello.SupportsCertificate(&cp.certs[i]) == nil {
			return &cp.certs[i]
		}
	}
	return &cp.certs[0]
}

// adminTLSConfig builds the admin listener's TLS settings and, when
// KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT is on or optional, the client
// certificate check. nginx's ssl_verify_client does not fail the handshake:
// it asks for a certificate, accepts whatever comes, and answers the first
// request with its HTML 400 page when the certificate is missing (on) or
// does not verify (src/http/ngx_http_request.c, ngx_http_ssl_handshake
// handler and ngx_http_process_request). The stand-in does the same.
func adminTLSConfig(c *Config) (*tls.Config, *clientCertCheck, error) {
	cert, err := tls.LoadX509KeyPair(c.AdminSSLCert, c.AdminSSLCertKey)
	if err != nil {
		return nil, nil, fmt.Errorf("load admin certificate (KONG_ADMIN_SSL_CERT=%s, KONG_ADMIN_SSL_CERT_KEY=%s): %w", c.AdminSSLCert, c.AdminSSLCertKey, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if c.AdminVerifyClient == "off" {
		return cfg, nil, nil
	}
	pemBytes, err := os.ReadFile(c.AdminClientCA)
	if err != nil {
		return nil, nil, fmt.Errorf("read admin client CA (KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE): %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, nil, fmt.Errorf("KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE=%s contains no PEM certificate", c.AdminClientCA)
	}
	cfg.ClientAuth = tls.RequestClientCert
	return cfg, &clientCertCheck{pool: pool, depth: c.AdminVerifyDepth, required: c.AdminVerifyClient != "optional"}, nil
}

// namingCAs is a GetConfigForClient for a listener whose final TLS
// configuration is tmpl with ALPN protos: nginx names the CAs of
// ssl_client_certificate in its certificate request (unlike
// ssl_trusted_certificate), and a client offers only a certificate that
// chains to one of them (Go's client withholds any other). The names
// follow the bundle in force (SetAdminClientCA).
func (c *clientCertCheck) namingCAs(tmpl *tls.Config, protos []string) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	base := tmpl.Clone()
	base.NextProtos = protos
	return func(*tls.ClientHelloInfo) (*tls.Config, error) {
		per := base.Clone()
		per.ClientCAs = c.current()
		return per, nil
	}
}

// current is the client CA bundle in force for new connections.
func (c *clientCertCheck) current() *x509.CertPool {
	if o := c.override.Load(); o != nil {
		return o
	}
	return c.pool
}

// clientCertCheck is nginx's ssl_verify_client decision, made per request
// from the verdict of the connection's handshake.
type clientCertCheck struct {
	// pool is the bundle read from KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE;
	// override, when set, replaces it for new connections (SetAdminClientCA).
	pool     *x509.CertPool
	override atomic.Pointer[x509.CertPool]
	depth    int
	required bool
}

// clientCAKey keys the bundle in force when a connection was accepted.
type clientCAKey struct{}

// connContext remembers, per connection, the bundle in force when it was
// accepted (http.Server.ConnContext).
func (c *clientCertCheck) connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, clientCAKey{}, c.current())
}

// nginx's texts for NGX_HTTPS_NO_CERT and NGX_HTTPS_CERT_ERROR, both sent
// with status 400 (src/http/ngx_http_special_response.c).
const (
	nginxNoCert   = "No required SSL certificate was sent"
	nginxCertFail = "The SSL certificate error"
)

// refusal returns nginx's reason for refusing the connection's client
// certificate, or "". roots is the bundle in force when the connection
// was accepted.
func (c *clientCertCheck) refusal(cs *tls.ConnectionState, roots *x509.CertPool) string {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		if c.required {
			return nginxNoCert
		}
		return ""
	}
	inter := x509.NewCertPool()
	for _, ic := range cs.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nginxCertFail
	}
	// nginx's verify depth counts certificates above the client certificate.
	for _, ch := range chains {
		if len(ch)-1 <= c.depth {
			return ""
		}
	}
	return nginxCertFail
}

// wrap answers refused requests with nginx's HTML 400 page and closes the
// connection, as nginx does for these errors.
func (c *clientCertCheck) wrap(h http.Handler) http.Handler {
	if c == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		roots, ok := r.Context().Value(clientCAKey{}).(*x509.CertPool)
		if !ok {
			roots = c.pool
		}
		reason := c.refusal(r.TLS, roots)
		if reason == "" {
			h.ServeHTTP(w, r)
			return
		}
		// As Kong 3.9.3 sent it: no server signature (server_tokens off),
		// charset from the admin server's "charset UTF-8".
		body := "<html>\r\n<head><title>400 " + reason + "</title></head>\r\n<body>\r\n" +
			"<center><h1>400 Bad Request</h1></center>\r\n<center>" + reason + "</center>\r\n" +
			"</body>\r\n</html>\r\n"
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, body)
	})
}
