// Package metricsserving configures the operator's metrics endpoint, which
// also serves the translated Kong configurations for inspection. In a cluster
// it is HTTPS, and every request must carry a Kubernetes bearer token whose
// subject may "get" the request path (a TokenReview and a SubjectAccessReview
// against the API server). Plain HTTP is for local development only.
package metricsserving

import (
	"crypto/tls"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Config is what the manager's flags say about the endpoint.
type Config struct {
	// BindAddress is host:port, or "0" to serve no metrics.
	BindAddress string
	// Secure serves HTTPS with authentication and authorization. False
	// serves plain HTTP to anyone who can connect.
	Secure bool
	// CertDir holds tls.crt and tls.key (for example from cert-manager or a
	// service CA), reloaded when they change. Empty: a self-signed
	// certificate generated at start, which still encrypts the scrape.
	CertDir string
	// HTTP2 allows HTTP/2. Off by default: the endpoint gains nothing from it
	// and HTTP/2 servers have had denial-of-service bugs (stream resets) that
	// a scrape endpoint should not be exposed to.
	HTTP2 bool
}

// Options turns the configuration into controller-runtime metrics options.
func Options(c Config) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: c.BindAddress, SecureServing: c.Secure}
	if !c.Secure {
		return opts
	}
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	if c.CertDir != "" {
		opts.CertDir = c.CertDir
		opts.CertName = "tls.crt"
		opts.KeyName = "tls.key"
	}
	if !c.HTTP2 {
		opts.TLSOpts = append(opts.TLSOpts, func(cfg *tls.Config) { cfg.NextProtos = []string{"http/1.1"} })
	}
	return opts
}
