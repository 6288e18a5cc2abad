package kongdiff

// The operator's admin client against real Kong's admin listener, set up
// the way internal/provision renders it (TLS, client certificates verified
// against the operator CA with depth 1): the operator's certificate gets the
// configuration in, and a missing or foreign certificate is reported as an
// admin authentication failure, never as Kong rejecting the configuration.
// The stand-in's answers to such clients are held to real Kong's: the
// protocol chosen, status, headers but Date, body, and the closed connection.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
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
	operatorCA, foreignCA, server, write := adminTLSFixture(t, now)
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
			dataplane.WithMaxAttempts(3), dataplane.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
			dataplane.WithAuthRetryFloor(50*time.Millisecond))
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
			// Retried (a rotation may be half done) up to the attempt limit.
			if got := res.Replicas[0].Attempts; got != 3 {
				t.Errorf("an authentication failure was tried %d times, want 3", got)
			}
			t.Logf("Kong 3.9.3 answered: %v", auth)
		})
	}
}

// adminAnswer is what an admin listener answered one GET /status, kept for
// comparing real Kong with the stand-in.
type adminAnswer struct {
	// ALPN is the protocol the listener picks when h2 and http/1.1 are
	// offered, as the operator's client offers them.
	ALPN string
	// Status, Header (every header but Date) and Body of the HTTP/1.1
	// answer.
	Status int
	Header map[string]string
	Body   string
	// Closed reports that the listener closed the connection after the
	// answer.
	Closed bool
}

// askAdmin sends GET /status to a TLS admin listener with the given client
// certificates, over HTTP/1.1 on a connection of its own.
func askAdmin(t *testing.T, addr, serverName string, roots *x509.CertPool, clientCerts []tls.Certificate) adminAnswer {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, ServerName: serverName, Certificates: clientCerts, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	var ans adminAnswer

	probe := cfg.Clone()
	probe.NextProtos = []string{"h2", "http/1.1"}
	c, err := tls.DialWithDialer(dialer, "tcp", addr, probe)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	ans.ALPN = c.ConnectionState().NegotiatedProtocol
	_ = c.Close()

	h1 := cfg.Clone()
	h1.NextProtos = []string{"http/1.1"}
	c, err = tls.DialWithDialer(dialer, "tcp", addr, h1)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /status HTTP/1.1\r\nHost: "+serverName+"\r\nUser-Agent: kongdiff\r\nAccept: */*\r\n\r\n"); err != nil {
		t.Fatalf("send GET /status to %s: %v", addr, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the answer of %s: %v", addr, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read the body of %s: %v", addr, err)
	}
	ans.Status, ans.Body = resp.StatusCode, string(body)
	ans.Header = map[string]string{}
	for k, v := range resp.Header {
		if k != "Date" {
			ans.Header[k] = strings.Join(v, ", ")
		}
	}
	// Closed: the next read sees the end of the stream rather than waiting.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	ans.Closed = errors.Is(err, io.EOF)
	return ans
}

// A replica that holds the previous admin client CA (a rotation half done)
// refuses the operator's certificate. Real Kong does it when its
// KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE holds the old CA; the stand-in,
// started the same way, must answer the same (adminAnswer), and so must
// its SetAdminClientCA knob when the rotation completes (real Kong: the
// file replaced and `kong reload`). The operator's Pusher reads both
// answers as an admin authentication failure, retried.
func TestAdminClientCertificateRefusalStandinMatchesKong(t *testing.T) {
	install, why := findKong()
	if install == nil {
		t.Skip(why)
	}
	now := time.Now()
	newCA, oldCA, server, write := adminTLSFixture(t, now)
	caFile := write("ca.crt", oldCA.CertPEM)
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	env := func(port int) map[string]string {
		return map[string]string{
			"KONG_DATABASE":                           "off",
			"KONG_ROUTER_FLAVOR":                      "expressions",
			"KONG_NGINX_WORKER_PROCESSES":             "1",
			"KONG_PROXY_LISTEN":                       "off",
			"KONG_STREAM_LISTEN":                      "off",
			"KONG_STATUS_LISTEN":                      "off",
			"KONG_ADMIN_GUI_LISTEN":                   "off",
			"KONG_ADMIN_LISTEN":                       "127.0.0.1:" + strconv.Itoa(port) + " ssl",
			"KONG_ADMIN_SSL_CERT":                     write("tls.crt", server.CertPEM),
			"KONG_ADMIN_SSL_CERT_KEY":                 write("tls.key", server.KeyPEM),
			"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE": caFile,
			"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT":      "on",
			"KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH":       "1",
		}
	}
	kong := startRealKong(t, install, env(ports[0]))
	standin := startStandin(t, env(ports[1]))
	kongAddr, standinAddr := "127.0.0.1:"+strconv.Itoa(ports[0]), "127.0.0.1:"+strconv.Itoa(ports[1])
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(newCA.CertPEM)
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
	operator, previous := client(newCA), client(oldCA)

	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		want  int
	}{
		{"operator certificate from the new CA", operator, http.StatusBadRequest},
		{"no certificate", nil, http.StatusBadRequest},
		{"certificate from the CA the replica holds", previous, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, s := askAdmin(t, kongAddr, serverName, roots, tc.certs), askAdmin(t, standinAddr, serverName, roots, tc.certs)
			t.Logf("Kong 3.9.3 answered %+v", k)
			if k.Status != tc.want {
				t.Fatalf("Kong answered %d, want %d", k.Status, tc.want)
			}
			if k.Status == http.StatusOK {
				// Accepted: the status bodies differ by design (memory,
				// counters); the listener's behaviour must not.
				k.Body, s.Body, k.Header, s.Header = "", "", nil, nil
			}
			if !reflect.DeepEqual(k, s) {
				t.Errorf("the stand-in answered differently:\nkong:    %+v\nstandin: %+v", k, s)
			}
		})
	}

	pushBoth := func(t *testing.T) (kongRes, standinRes dataplane.Result) {
		t.Helper()
		push := func(port int) dataplane.Result {
			// The operator presents its current certificate even when the
			// replica names only another CA (controllers.AdminPKI
			// ClientCertificateFor); Go's default would withhold it.
			offer := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &operator[0], nil }
			p := dataplane.NewPusher(dataplane.WithTLSConfig(&tls.Config{RootCAs: roots, GetClientCertificate: offer, MinVersion: tls.VersionTLS12}),
				dataplane.WithMaxAttempts(2), dataplane.WithBackoff(20*time.Millisecond, 50*time.Millisecond), dataplane.WithAuthRetryFloor(20*time.Millisecond))
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep := dataplane.Replica{Name: "kong-0", Namespace: "default", Address: "127.0.0.1", Port: port, ServerName: serverName}
			return p.Push(ctx, []dataplane.Replica{rep}, []byte(`{"_format_version":"3.0","upstreams":[{"name":"rotation-check"}]}`))
		}
		return push(ports[0]), push(ports[1])
	}
	t.Run("the operator's push while the replica holds the old CA", func(t *testing.T) {
		kr, sr := pushBoth(t)
		for name, res := range map[string]dataplane.Result{"kong": kr, "standin": sr} {
			o := res.Replicas[0]
			var auth *dataplane.AdminAuthError
			if o.InSync || res.Rejection != nil || !errors.As(o.AuthFailure(), &auth) || auth.Reason != "The SSL certificate error" || o.Attempts != 2 {
				t.Errorf("%s: want an admin authentication failure (\"The SSL certificate error\") after 2 attempts and no rejection, got %+v", name, o)
			}
		}
	})

	// The rotation completes: the file holds the new CA; real Kong re-reads
	// it on reload, the stand-in is told.
	if err := os.WriteFile(caFile, newCA.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := kong.run(kongStartTimeout, "reload"); err != nil {
		t.Fatalf("kong reload: %v\n%s", err, out)
	}
	if err := standin.SetAdminClientCA(newCA.CertPEM); err != nil {
		t.Fatal(err)
	}
	t.Run("after the rotation", func(t *testing.T) {
		// Reload replaces nginx's workers in the background.
		deadline := time.Now().Add(30 * time.Second)
		k := askAdmin(t, kongAddr, serverName, roots, operator)
		for k.Status != http.StatusOK && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			k = askAdmin(t, kongAddr, serverName, roots, operator)
		}
		s := askAdmin(t, standinAddr, serverName, roots, operator)
		if k.Status != http.StatusOK || s.Status != http.StatusOK || k.ALPN != s.ALPN || k.Closed != s.Closed {
			t.Fatalf("after the rotation:\nkong:    %+v\nstandin: %+v", k, s)
		}
		kr, sr := pushBoth(t)
		if !kr.AllInSync() || !sr.AllInSync() {
			t.Fatalf("push after the rotation: kong %v, standin %v", kr.Err(), sr.Err())
		}
	})
}

// serverName is the admin server name the replicas of these tests answer to.
const serverName = "kong-0.gw-admin.default.svc"

// adminTLSFixture makes the certificates of an admin TLS test: the CA that
// issues the server certificate, another CA, the server certificate, and a
// function that writes a file into the test's directory and returns its
// path.
func adminTLSFixture(t *testing.T, now time.Time) (issuer, other *certs.CA, server certs.Pair, write func(name string, data []byte) string) {
	t.Helper()
	issuer, err := certs.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	other, err = certs.NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	server, err = issuer.IssueServer([]string{serverName}, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write = func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return issuer, other, server, write
}
