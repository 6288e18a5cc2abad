package node

import "crypto/tls"

// insecureTLS is for HTTPS probes, which like the kubelet's do not verify
// the container's certificate.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // probes never verify, as in Kubernetes
}
