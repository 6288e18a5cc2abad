package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// CASecretName is the Secret in the operator's namespace that holds the CA
// of all Kong admin APIs. It is created when absent and never logged.
const CASecretName = "drawbridge-admin-ca"

// AdminPKI keeps the operator's CA and its client certificate. The CA is read
// from (or created in) a Secret on first use, so every operator replica
// signs with the same CA.
//
// Rotating the CA is replacing or deleting that Secret. The Gateway
// controller calls CASecretChanged, the next CA call reads the Secret again
// (creating a new CA if it is gone), every Gateway's admin certificate is
// reissued from the new CA and its Kong pods roll. Until they have, the
// replicas still running trust only the previous CA: the PKI keeps the
// previous CA certificate and the client certificate it issued, and offers
// each replica the client certificate whose CA it asks for.
type AdminPKI struct {
	// Reader and Writer reach the API server directly: the CA Secret never
	// enters a cache.
	Reader    client.Reader
	Writer    client.Client
	Namespace string
	Now       func() time.Time

	mu     sync.Mutex
	ca     *certs.CA
	client certs.Pair
	// clientKeyPair is client parsed once, not on every TLS handshake.
	clientKeyPair *tls.Certificate
	stale         bool
	// retired are the CAs used before the current one (newest first, at
	// most maxRetiredCAs), each with the client certificate it issued.
	retired []retiredCA
}

type retiredCA struct {
	certPEM []byte
	// client is the certificate this CA issued to the operator, if any.
	client *tls.Certificate
}

// maxRetiredCAs bounds the previous CAs kept for replicas that have not
// rolled yet: one rotation in progress, and one more started before it ended.
const maxRetiredCAs = 2

// CASecretChanged makes the next CA call read the CA Secret again.
func (p *AdminPKI) CASecretChanged() {
	p.mu.Lock()
	p.stale = true
	p.mu.Unlock()
}

// CA returns the admin CA, loading or creating its Secret on first use and
// after CASecretChanged.
func (p *AdminPKI) CA(ctx context.Context) (*certs.CA, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ca != nil && !p.stale {
		return p.ca, nil
	}
	ca, err := p.loadCA(ctx)
	if err != nil {
		return nil, err
	}
	if p.ca != nil && !bytes.Equal(p.ca.CertPEM, ca.CertPEM) {
		p.retired = append([]retiredCA{{certPEM: p.ca.CertPEM, client: p.clientKeyPair}}, p.retired...)
		if len(p.retired) > maxRetiredCAs {
			p.retired = p.retired[:maxRetiredCAs]
		}
		p.client, p.clientKeyPair = certs.Pair{}, nil
	}
	p.ca, p.stale = ca, false
	return ca, nil
}

// loadCA reads the CA Secret, or creates it with a new CA when it is absent.
func (p *AdminPKI) loadCA(ctx context.Context) (*certs.CA, error) {
	key := types.NamespacedName{Namespace: p.Namespace, Name: CASecretName}
	var secret corev1.Secret
	err := p.Reader.Get(ctx, key, &secret)
	if apierrors.IsNotFound(err) {
		ca, err := certs.NewCA(p.Now())
		if err != nil {
			return nil, err
		}
		secret = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: CASecretName, Namespace: p.Namespace,
				Labels: map[string]string{provision.LabelManagedBy: provision.ManagedByValue}},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: ca.CertPEM, corev1.TLSPrivateKeyKey: ca.KeyPEM},
		}
		if err := p.Writer.Create(ctx, &secret); err != nil {
			if !apierrors.IsAlreadyExists(err) {
				return nil, fmt.Errorf("create CA Secret %s: %w", key, err)
			}
			// Another operator replica won the race; use its CA.
			if err := p.Reader.Get(ctx, key, &secret); err != nil {
				return nil, fmt.Errorf("read CA Secret %s: %w", key, err)
			}
		}
	} else if err != nil {
		return nil, fmt.Errorf("read CA Secret %s: %w", key, err)
	}
	ca, err := certs.LoadCA(secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("CA Secret %s is unusable (delete it to have a new CA created): %w", key, err)
	}
	return ca, nil
}

// ClientCertificate returns the operator's admin-API client certificate,
// renewing it in memory long before it expires.
func (p *AdminPKI) ClientCertificate(ctx context.Context) (certs.Pair, error) {
	pair, _, err := p.clientCertificate(ctx)
	return pair, err
}

// clientCertificate is ClientCertificate with the certificate also parsed
// for crypto/tls.
func (p *AdminPKI) clientCertificate(ctx context.Context) (certs.Pair, *tls.Certificate, error) {
	ca, err := p.CA(ctx)
	if err != nil {
		return certs.Pair{}, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ca.NeedsRenewal(p.client.CertPEM, nil, p.Now()) {
		pair, err := ca.IssueClient("drawbridge-operator", p.Now())
		if err != nil {
			return certs.Pair{}, nil, err
		}
		keyPair, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
		if err != nil {
			return certs.Pair{}, nil, fmt.Errorf("parse the admin client certificate just issued: %w", err)
		}
		p.client, p.clientKeyPair = pair, &keyPair
	}
	return p.client, p.clientKeyPair, nil
}

// ClientCertificateFor is the client certificate to present to a replica:
// the current one, unless the replica asks for a CA (nginx names the CAs
// of its ssl_client_certificate) that only a retired CA's certificate
// chains to, which happens while a rotation rolls the replicas.
func (p *AdminPKI) ClientCertificateFor(ctx context.Context, cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	_, current, err := p.clientCertificate(ctx)
	if err != nil {
		return nil, err
	}
	if cri == nil || cri.SupportsCertificate(current) == nil {
		return current, nil
	}
	p.mu.Lock()
	retired := append([]retiredCA(nil), p.retired...)
	p.mu.Unlock()
	for _, r := range retired {
		if r.client != nil && cri.SupportsCertificate(r.client) == nil {
			return r.client, nil
		}
	}
	// Nothing the replica asks for: the current certificate, which it will
	// refuse, and the push reports that as an authentication failure.
	return current, nil
}

// Roots are the CAs a replica's server certificate may chain to: the
// current one and the retired ones still kept.
func (p *AdminPKI) Roots(ctx context.Context) (*x509.CertPool, error) {
	ca, err := p.CA(ctx)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.retired {
		pool.AppendCertsFromPEM(r.certPEM)
	}
	return pool, nil
}

// VerifyServer checks a replica's server certificate against Roots and the
// name the connection asked for. The standard verification cannot be used:
// its roots are fixed when the TLS configuration is made, and the pushers
// outlive a rotation.
func (p *AdminPKI) VerifyServer(ctx context.Context, cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the replica presented no server certificate")
	}
	roots, err := p.Roots(ctx)
	if err != nil {
		return err
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// adminTLS makes sure the Gateway's admin certificate Secret holds a valid
// certificate from the CA and returns a short fingerprint of it (so the
// Deployment rolls when it changes: Kong reads its admin certificate only at
// start) and when it must be renewed.
func (r *GatewayReconciler) adminTLS(ctx context.Context, s *gatewayScope) (string, time.Time, error) {
	ca, err := r.PKI.CA(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	gw := s.gateway
	names := certs.AdminServerNames(s.names.Admin, gw.Namespace)
	key := types.NamespacedName{Namespace: gw.Namespace, Name: s.names.AdminTLS}
	var secret corev1.Secret
	err = r.APIReader.Get(ctx, key, &secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return "", time.Time{}, fmt.Errorf("read admin certificate Secret %s: %w", key, err)
	}
	current := secret.Data[corev1.TLSCertKey]
	if err != nil || ca.NeedsRenewal(current, names, r.PKI.Now()) || string(secret.Data["ca.crt"]) != string(ca.CertPEM) {
		pair, err := ca.IssueServer(names, r.PKI.Now())
		if err != nil {
			return "", time.Time{}, err
		}
		desired := provision.AdminTLSSecret(gw, s.names, pair.CertPEM, pair.KeyPEM, ca.CertPEM)
		if err := apply(ctx, r.Client, desired); err != nil {
			return "", time.Time{}, err
		}
		current = pair.CertPEM
	}
	renewAt, err := certs.RenewAt(current)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("admin certificate of %s: %w", key, err)
	}
	sum := sha256.Sum256(current)
	return hex.EncodeToString(sum[:8]), renewAt, nil
}
