package metricsserving

import (
	"crypto/tls"
	"testing"
)

func TestPlainHTTPHasNoFilter(t *testing.T) {
	o := Options(Config{BindAddress: "127.0.0.1:18080"})
	if o.SecureServing || o.FilterProvider != nil || len(o.TLSOpts) != 0 {
		t.Errorf("plain HTTP options = %+v", o)
	}
	if o.BindAddress != "127.0.0.1:18080" {
		t.Errorf("bind address = %q", o.BindAddress)
	}
}

func TestSecureServingAuthenticatesAndAuthorizes(t *testing.T) {
	o := Options(Config{BindAddress: ":8443", Secure: true})
	if !o.SecureServing || o.FilterProvider == nil {
		t.Fatalf("secure options = %+v", o)
	}
	if o.CertDir != "" {
		t.Errorf("no cert dir given, so the self-signed default must stay: %q", o.CertDir)
	}
	cfg := &tls.Config{NextProtos: []string{"h2"}}
	for _, f := range o.TLSOpts {
		f(cfg)
	}
	if len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != "http/1.1" {
		t.Errorf("HTTP/2 must be off by default, NextProtos = %v", cfg.NextProtos)
	}
}

func TestSecureServingWithCertificatesAndHTTP2(t *testing.T) {
	o := Options(Config{BindAddress: ":8443", Secure: true, CertDir: "/certs", HTTP2: true})
	if o.CertDir != "/certs" || o.CertName != "tls.crt" || o.KeyName != "tls.key" {
		t.Errorf("certificate options = %q %q %q", o.CertDir, o.CertName, o.KeyName)
	}
	if len(o.TLSOpts) != 0 {
		t.Error("HTTP/2 was allowed, yet a TLS option restricts the protocols")
	}
}
