package kongdiff

// The operator's admin client against real Kong's admin listener, set up
// the way internal/provision renders it (TLS, client certificates verified
// against the operator CA with depth 1): the operator's certificate gets the
// configuration in, and a missing or foreign certificate is reported as an
// admin authentication failure, never as Kong rejecting the configuration.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/certs"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
)

func TestAdminMutualTLSOnRealKong(t *testing.T) {
	install, why := findKong()
	if install == nil {
		t.Skip(why)
	}
	now := time.Now()
	operatorCA, err := certs.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	foreignCA, err := certs.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	const serverName = "kong-0.gw-admin.default.svc"
	server, err := operatorCA.IssueServer([]string{serverName}, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	adminPort := ports[0]
	startRealKong(t, install, map[string]string{
		"KONG_DATABASE":                           "off",
		"KONG_ROUTER_FLAVOR":                      "expressions",
		"KONG_NGINX_WORKER_PROCESSES":             "1",
		"KONG_PROXY_LISTEN":                       "off",
		"KONG_STREAM_LISTEN":                      "off",
		"KONG_STATUS_LISTEN":                      "off",
		"KONG_ADMIN_GUI_LISTEN":                   "off",
		"KONG_ADMIN_LISTEN":                       "127.0.0.1:" + strconv.Itoa(adminPort) + " ssl",
		"KONG_ADMIN_SSL_CERT":                     write("tls.crt", server.CertPEM),
		"KONG_ADMIN_SSL_CERT_KEY":                 write("tls.key", server.KeyPEM),
		"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE": write("ca.crt", operatorCA.CertPEM),
		"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT":      "on",
		"KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH":       "1",
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(operatorCA.CertPEM)
	replica := dataplane.Replica{Name: "kong-0", Namespace: "default", Address: "127.0.0.1", Port: adminPort, ServerName: serverName}
	config := []byte(`{"_format_version":"3.0","upstreams":[{"name":"admin-tls-check"}]}`)

	push := func(t *testing.T, clientCerts []tls.Certificate) dataplane.Result {
		t.Helper()
		p := dataplane.NewPusher(dataplane.WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: clientCerts}),
			dataplane.WithMaxAttempts(3), dataplane.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return p.Push(ctx, []dataplane.Replica{replica}, config)
	}
	client := func(ca *certs.CA) []tls.Certificate {
		pair, err := ca.IssueClient("drawbridge", now)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}

	t.Run("operator certificate", func(t *testing.T) {
		res := push(t, client(operatorCA))
		if !res.AllInSync() {
			t.Fatalf("push with the operator's certificate: %s: %v", res.Summary(), res.Err())
		}
	})
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":      nil,
		"foreign certificate": client(foreignCA),
	} {
		t.Run(name, func(t *testing.T) {
			res := push(t, certs)
			if res.AllInSync() {
				t.Fatal("Kong took the configuration from a client it should refuse")
			}
			if res.Rejection != nil {
				t.Fatalf("an authentication failure was read as a configuration rejection: %+v", res.Rejection)
			}
			var auth *dataplane.AdminAuthError
			if !errors.As(res.Err(), &auth) {
				t.Fatalf("want an AdminAuthError, got %v", res.Err())
			}
			if got := res.Replicas[0].Attempts; got != 1 {
				t.Errorf("an authentication failure was tried %d times; a retry cannot fix it", got)
			}
			t.Logf("Kong 3.9.3 answered: %v", auth)
		})
	}
}
