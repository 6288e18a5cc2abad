package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
}

// CA returns the admin CA, loading or creating its Secret on first use.
func (p *AdminPKI) CA(ctx context.Context) (*certs.CA, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ca != nil {
		return p.ca, nil
	}
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
	p.ca = ca
	return ca, nil
}

// ClientCertificate returns the operator's admin-API client certificate,
// renewing it in memory long before it expires.
func (p *AdminPKI) ClientCertificate(ctx context.Context) (certs.Pair, error) {
	ca, err := p.CA(ctx)
	if err != nil {
		return certs.Pair{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ca.NeedsRenewal(p.client.CertPEM, nil, p.Now()) {
		pair, err := ca.IssueClient("drawbridge-operator", p.Now())
		if err != nil {
			return certs.Pair{}, err
		}
		p.client = pair
	}
	return p.client, nil
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
