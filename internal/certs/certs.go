// Package certs is the operator's small certificate authority for Kong admin
// APIs. The CA signs one server certificate per Gateway (presented by every
// Kong replica on its admin listener) and the operator's client certificate,
// which Kong requires and verifies against the same CA. Everything here is
// pure: persisting the CA and certificates in Secrets is the caller's job.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Lifetimes. Leaf certificates are short-lived and renewed once two thirds of
// their life has passed, long before they expire.
const (
	CALifetime     = 10 * 365 * 24 * time.Hour
	ServerLifetime = 90 * 24 * time.Hour
	ClientLifetime = 30 * 24 * time.Hour
	// clockSkew backdates NotBefore so a replica with a slightly slow clock
	// accepts a fresh certificate.
	clockSkew = 5 * time.Minute
)

// Pair is a PEM certificate and its PEM private key.
type Pair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// CA signs admin-API certificates.
type CA struct {
	Pair
	cert *x509.Certificate
	key  crypto.Signer
}

// NewCA creates a CA valid from now.
func NewCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	sn := serial()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		// The serial in the subject tells two CAs apart by name: a replica
		// names the CAs it accepts client certificates from (TLS
		// CertificateRequest), and during a rotation the operator picks
		// its certificate by that name.
		Subject:               pkix.Name{CommonName: "Drawbridge admin API CA", Organization: []string{"drawbridge.dev"}, SerialNumber: sn.Text(16)},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CALifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign CA: %w", err)
	}
	return parseCA(encodeCert(der), mustEncodeKey(key))
}

// LoadCA parses a CA stored as PEM.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	return parseCA(certPEM, keyPEM)
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("CA certificate is not a CA")
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("CA key is not PEM")
	}
	parsed, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !parsed.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("CA key does not match the CA certificate")
	}
	return &CA{Pair: Pair{CertPEM: certPEM, KeyPEM: keyPEM}, cert: cert, key: parsed}, nil
}

// IssueServer signs a server certificate for the given DNS names.
func (ca *CA) IssueServer(dnsNames []string, now time.Time) (Pair, error) {
	if len(dnsNames) == 0 {
		return Pair{}, errors.New("a server certificate needs at least one DNS name")
	}
	return ca.issue(pkix.Name{CommonName: dnsNames[0]}, dnsNames, x509.ExtKeyUsageServerAuth, now, ServerLifetime)
}

// IssueClient signs a client certificate with the given common name.
func (ca *CA) IssueClient(commonName string, now time.Time) (Pair, error) {
	return ca.issue(pkix.Name{CommonName: commonName, Organization: []string{"drawbridge.dev"}}, nil, x509.ExtKeyUsageClientAuth, now, ClientLifetime)
}

func (ca *CA) issue(subject pkix.Name, dnsNames []string, usage x509.ExtKeyUsage, now time.Time, lifetime time.Duration) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, fmt.Errorf("generate key: %w", err)
	}
	notAfter := now.Add(lifetime)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Pair{}, fmt.Errorf("sign certificate for %s: %w", subject.CommonName, err)
	}
	return Pair{CertPEM: encodeCert(der), KeyPEM: mustEncodeKey(key)}, nil
}

// NeedsRenewal reports whether a certificate is missing, unparsable, not
// signed by ca, not yet valid, or past two thirds of its lifetime, or whether
// it lacks one of the wanted DNS names.
func (ca *CA) NeedsRenewal(certPEM []byte, dnsNames []string, now time.Time) bool {
	cert, err := parseCert(certPEM)
	if err != nil {
		return true
	}
	if err := cert.CheckSignatureFrom(ca.cert); err != nil {
		return true
	}
	for _, name := range dnsNames {
		if cert.VerifyHostname(name) != nil {
			return true
		}
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	renewAt := cert.NotBefore.Add(life * 2 / 3)
	return now.Before(cert.NotBefore) || !now.Before(renewAt)
}

// RenewAt is when a certificate should be renewed (two thirds of its life).
func RenewAt(certPEM []byte) (time.Time, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return time.Time{}, err
	}
	return cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) * 2 / 3), nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func mustEncodeKey(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		// Marshalling a freshly generated P-256 key cannot fail.
		panic(fmt.Sprintf("encode EC key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("read random serial: %v", err))
	}
	return n
}

// AdminServerNames are the DNS names of a Gateway's admin server certificate.
// The operator verifies every replica against ReplicaServerName, which the
// wildcard covers.
func AdminServerNames(adminService, namespace string) []string {
	return []string{"*." + adminService + "." + namespace + ".svc", adminService + "." + namespace + ".svc"}
}

// ReplicaServerName is the TLS server name the operator expects from each
// replica of a Gateway's admin API.
func ReplicaServerName(adminService, namespace string) string {
	return "pod." + adminService + "." + namespace + ".svc"
}
