package controllers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/drawbridge-dev/drawbridge/internal/certs"
)

func parsePEM(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// askingFor is the request of a replica whose client CA is ca.
func askingFor(t *testing.T, caPEM []byte) *tls.CertificateRequestInfo {
	return &tls.CertificateRequestInfo{AcceptableCAs: [][]byte{parsePEM(t, caPEM).RawSubject}, Version: tls.VersionTLS13,
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}}
}

func TestAdminPKIRotationKeepsReachingReplicasThatHaveNotRolled(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).Build()
	p := &AdminPKI{Reader: c, Writer: c, Namespace: "drawbridge-system", Now: time.Now}

	first, err := p.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldServer, err := first.IssueServer([]string{"r1.web-kong-admin.apps.svc"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	oldClient, err := p.ClientCertificate(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The platform team rotates: a new CA in the Secret.
	second, err := certs.NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "drawbridge-system", Name: CASecretName}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{corev1.TLSCertKey: second.CertPEM, corev1.TLSPrivateKeyKey: second.KeyPEM}
	if err := c.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	if ca, _ := p.CA(ctx); string(ca.CertPEM) != string(first.CertPEM) {
		t.Fatal("the CA changed before CASecretChanged")
	}
	p.CASecretChanged()
	if ca, _ := p.CA(ctx); string(ca.CertPEM) != string(second.CertPEM) {
		t.Fatal("the CA in the Secret was not taken after CASecretChanged")
	}
	newServer, err := second.IssueServer([]string{"r2.web-kong-admin.apps.svc"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// A replica that still trusts only the first CA gets the certificate
	// that CA issued; a rolled one gets one from the new CA.
	got, err := p.ClientCertificateFor(ctx, askingFor(t, first.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	if string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: got.Certificate[0]})) != string(oldClient.CertPEM) {
		t.Error("a replica asking for the previous CA did not get the previous client certificate")
	}
	got, err = p.ClientCertificateFor(ctx, askingFor(t, second.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	if issuer := parsePEM(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: got.Certificate[0]})).Issuer.SerialNumber; issuer != parsePEM(t, second.CertPEM).Subject.SerialNumber {
		t.Errorf("a replica asking for the new CA got a certificate issued by CA %q", issuer)
	}

	// Server certificates of both CAs verify, for their own names only.
	for _, tc := range []struct {
		pair certs.Pair
		name string
	}{{oldServer, "r1.web-kong-admin.apps.svc"}, {newServer, "r2.web-kong-admin.apps.svc"}} {
		cs := tls.ConnectionState{ServerName: tc.name, PeerCertificates: []*x509.Certificate{parsePEM(t, tc.pair.CertPEM)}}
		if err := p.VerifyServer(ctx, cs); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		cs.ServerName = "other.web-kong-admin.apps.svc"
		if err := p.VerifyServer(ctx, cs); err == nil {
			t.Errorf("%s verified for another name", tc.name)
		}
	}
	stranger, _ := certs.NewCA(time.Now())
	strangerServer, _ := stranger.IssueServer([]string{"r1.web-kong-admin.apps.svc"}, time.Now())
	err = p.VerifyServer(ctx, tls.ConnectionState{ServerName: "r1.web-kong-admin.apps.svc", PeerCertificates: []*x509.Certificate{parsePEM(t, strangerServer.CertPEM)}})
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) {
		t.Errorf("a certificate from another CA: %v, want a certificate verification error", err)
	}

	// Deleting the Secret is a rotation too: a new CA is made; at most
	// two retired CAs are kept.
	if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "drawbridge-system", Name: CASecretName}}); err != nil {
		t.Fatal(err)
	}
	p.CASecretChanged()
	third, err := p.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(third.CertPEM) == string(second.CertPEM) || string(third.CertPEM) == string(first.CertPEM) {
		t.Fatal("no new CA after the Secret was deleted")
	}
	if len(p.retired) != maxRetiredCAs {
		t.Errorf("%d retired CAs kept, want %d", len(p.retired), maxRetiredCAs)
	}
	if err := p.VerifyServer(ctx, tls.ConnectionState{ServerName: "r1.web-kong-admin.apps.svc", PeerCertificates: []*x509.Certificate{parsePEM(t, oldServer.CertPEM)}}); err != nil {
		t.Errorf("the first CA's replica after a second rotation: %v", err)
	}
}
