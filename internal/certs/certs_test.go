package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestIssuedCertificatesDoMutualTLS(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	names := AdminServerNames("web-kong-admin", "apps")
	server, err := ca.IssueServer(names, now)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("drawbridge", now)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA(now)
	stranger, _ := other.IssueClient("stranger", now)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	serverCert, _ := tls.X509KeyPair(server.CertPEM, server.KeyPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for i := 0; i < 3; i++ { // exactly the three dials below
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_, _ = c.Write([]byte("ok"))
			c.Close()
		}
	}()

	dial := func(pair *Pair) error {
		cfg := &tls.Config{RootCAs: pool, ServerName: ReplicaServerName("web-kong-admin", "apps")}
		if pair != nil {
			cert, _ := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
			cfg.Certificates = []tls.Certificate{cert}
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(conn)
		if err != nil {
			return err
		}
		if string(b) != "ok" {
			return errors.New("handshake rejected")
		}
		return nil
	}
	if err := dial(&client); err != nil {
		t.Fatalf("client with our certificate: %v", err)
	}
	if err := dial(nil); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	if err := dial(&stranger); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
}

func TestNeedsRenewal(t *testing.T) {
	now := time.Now()
	ca, _ := NewCA(now)
	names := AdminServerNames("web-kong-admin", "apps")
	pair, _ := ca.IssueServer(names, now)
	if ca.NeedsRenewal(pair.CertPEM, names, now) {
		t.Fatal("a fresh certificate must not need renewal")
	}
	if !ca.NeedsRenewal(pair.CertPEM, names, now.Add(ServerLifetime*2/3+time.Hour)) {
		t.Fatal("a certificate past two thirds of its life must be renewed")
	}
	if !ca.NeedsRenewal(pair.CertPEM, AdminServerNames("other-kong-admin", "apps"), now) {
		t.Fatal("a certificate for other names must be renewed")
	}
	other, _ := NewCA(now)
	if !other.NeedsRenewal(pair.CertPEM, names, now) {
		t.Fatal("a certificate from another CA must be renewed")
	}
	if !ca.NeedsRenewal([]byte("garbage"), names, now) {
		t.Fatal("garbage must be renewed")
	}
}

func TestLoadCARoundTripAndMismatch(t *testing.T) {
	now := time.Now()
	ca, _ := NewCA(now)
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaded.IssueClient("x", now); err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA(now)
	if _, err := LoadCA(ca.CertPEM, other.KeyPEM); err == nil {
		t.Fatal("a key of another CA must be rejected")
	}
}
