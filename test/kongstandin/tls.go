package kongstandin

// TLS: the admin listener's server certificate and client verification
// (KONG_ADMIN_SSL_*, KONG_NGINX_ADMIN_SSL_*), and SNI-based certificate
// selection on proxy and stream listeners (reference section 2, Certificate/SNI).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
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

// adminTLSConfig builds the admin listener's TLS settings. With
// KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on a client without a certificate signed
// by the configured CA fails the handshake, as nginx's ssl_verify_client does.
func adminTLSConfig(c *Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.AdminSSLCert, c.AdminSSLCertKey)
	if err != nil {
		return nil, fmt.Errorf("load admin certificate (KONG_ADMIN_SSL_CERT=%s, KONG_ADMIN_SSL_CERT_KEY=%s): %w", c.AdminSSLCert, c.AdminSSLCertKey, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if c.AdminVerifyClient == "off" {
		return cfg, nil
	}
	pemBytes, err := os.ReadFile(c.AdminClientCA)
	if err != nil {
		return nil, fmt.Errorf("read admin client CA (KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE): %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE=%s contains no PEM certificate", c.AdminClientCA)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	if c.AdminVerifyClient == "optional" {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	depth := c.AdminVerifyDepth
	// nginx's verify depth counts certificates above the client certificate.
	cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
		for _, ch := range chains {
			if len(ch)-1 <= depth {
				return nil
			}
		}
		if len(chains) == 0 {
			return nil
		}
		return fmt.Errorf("client certificate chain exceeds verify depth %d", depth)
	}
	return cfg, nil
}
