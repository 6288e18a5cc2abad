package dataplane

// Test harness: Kong stand-ins (test/kongstandin) started in-process with an
// mTLS admin listener on distinct loopback addresses (127.0.0.2, ...), a
// throw-away CA, and a fake clock. All traffic stays on 127.0.0.0/8.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil"
	"github.com/drawbridge-dev/drawbridge/test/kongstandin"
)

// testTimeout bounds every network operation of a test; it is a guard, not
// an assertion.
const testTimeout = 10 * time.Second

// fakeClock records the waits a Pusher asks for and returns at once.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	onSleep func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	hook := c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// pki is a CA with files the stand-ins read, and the operator's client TLS.
type pki struct {
	ca     *testutil.TestCA
	dir    string
	caFile string
	client *tls.Config
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	ca, err := testutil.NewTestCA("drawbridge-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.ClientTLS("drawbridge-operator", ca.Pool())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &pki{ca: ca, dir: dir, client: client}
	p.caFile = p.write(t, "ca.crt", ca.CertPEM)
	return p
}

func (p *pki) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverName is the admin certificate name of a replica, as the operator
// would issue it for "<pod>.<admin svc>.<ns>.svc".
func serverName(name string) string { return name + ".kong-admin.apps.svc" }

// kongReplica is one running stand-in.
type kongReplica struct {
	t      testing.TB
	pki    *pki
	srv    *kongstandin.Server
	rep    Replica
	status string // http://ip:port of the status listener
}

// startKong starts a stand-in whose mTLS admin listener is on ip:port
// (port 0 picks one). Its status listener is plain HTTP on ip.
func (p *pki) startKong(t testing.TB, name, ip string, port int) *kongReplica {
	t.Helper()
	certPEM, keyPEM, err := p.ca.IssueServer(serverName(name), []string{serverName(name)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"KONG_DATABASE=off",
		"KONG_ROUTER_FLAVOR=expressions",
		"KONG_PROXY_LISTEN=off",
		"KONG_STREAM_LISTEN=off",
		"KONG_CLUSTER_LISTEN=off",
		"KONG_ADMIN_LISTEN=" + net.JoinHostPort(ip, strconv.Itoa(port)) + " ssl",
		"KONG_STATUS_LISTEN=" + net.JoinHostPort(ip, "0"),
		"KONG_ADMIN_SSL_CERT=" + p.write(t, name+".crt", certPEM),
		"KONG_ADMIN_SSL_CERT_KEY=" + p.write(t, name+".key", keyPEM),
		"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE=" + p.caFile,
		"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on",
		"KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH=3",
		"KONG_NGINX_WORKER_PROCESSES=1",
		"KONG_PROXY_ACCESS_LOG=off",
		"KONG_PROXY_ERROR_LOG=off",
		"KONG_ADMIN_ACCESS_LOG=off",
		"KONG_ADMIN_ERROR_LOG=off",
	}
	srv, err := kongstandin.Run(env)
	if err != nil {
		t.Fatalf("stand-in %s: %v", name, err)
	}
	k := &kongReplica{t: t, pki: p, srv: srv, status: "http://" + srv.StatusAddrs()[0].String()}
	admin := srv.AdminAddrs()[0].(*net.TCPAddr)
	k.rep = Replica{Name: name, Address: admin.IP.String(), Port: admin.Port, ServerName: serverName(name)}
	t.Cleanup(k.stop)
	return k
}

func (k *kongReplica) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_ = k.srv.Shutdown(ctx)
}

// restart kills the stand-in (connections drop, as when a container
// dies) and starts a fresh one (no configuration) on the same admin
// address, as a Kong pod that restarted in place.
func (k *kongReplica) restart() *kongReplica {
	k.t.Helper()
	k.srv.Close()
	return k.pki.startKong(k.t, k.rep.Name, k.rep.Address, k.rep.Port)
}

// ready returns the status code of GET /status/ready.
func (k *kongReplica) ready() int {
	k.t.Helper()
	c := &http.Client{Timeout: testTimeout}
	resp, err := c.Get(k.status + "/status/ready")
	if err != nil {
		k.t.Fatalf("GET /status/ready on %s: %v", k.rep.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// configHash returns configuration_hash from the plain status listener.
func (k *kongReplica) configHash() string {
	k.t.Helper()
	c := &http.Client{Timeout: testTimeout}
	resp, err := c.Get(k.status + "/status")
	if err != nil {
		k.t.Fatalf("GET /status on %s: %v", k.rep.Name, err)
	}
	defer resp.Body.Close()
	var st struct {
		Hash string `json:"configuration_hash"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		k.t.Fatal(err)
	}
	return st.Hash
}

// counter counts admin requests per host and "METHOD /path".
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *counter { return &counter{n: map[string]int{}} }

func (c *counter) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.mu.Lock()
		c.n[r.URL.Host+" "+r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		return next.RoundTrip(r)
	})
}

func (c *counter) get(rep Replica, methodPath string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[net.JoinHostPort(rep.Address, strconv.Itoa(rep.Port))+" "+methodPath]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// loopbackOnly is a Dialer that refuses anything outside 127.0.0.0/8 and
// records which replica each dial was for.
type loopbackOnly struct {
	mu    sync.Mutex
	dials map[string]int
}

func (l *loopbackOnly) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil, fmt.Errorf("test dialer refuses non-loopback address %s", addr)
	}
	if rep, ok := ReplicaFromContext(ctx); ok {
		l.mu.Lock()
		if l.dials == nil {
			l.dials = map[string]int{}
		}
		l.dials[rep.Name]++
		l.mu.Unlock()
	}
	d := net.Dialer{Timeout: testTimeout}
	return d.DialContext(ctx, network, addr)
}

// newTestPusher returns a Pusher with the PKI's client certificate, a fake
// clock, a loopback-only dialer and a request counter.
func newTestPusher(t testing.TB, p *pki, opts ...Option) (*Pusher, *counter, *fakeClock) {
	cnt, clk := newCounter(), newFakeClock()
	lo := &loopbackOnly{}
	base := []Option{WithTLSConfig(p.client), WithClock(clk), WithDialer(lo.dial), WithRoundTripper(cnt.wrap),
		WithTimeout(testTimeout), WithBackoff(100*time.Millisecond, time.Second), WithMaxAttempts(3)}
	pusher := NewPusher(append(base, opts...)...)
	// Runs before the stand-ins' cleanups (registered earlier), so their
	// graceful shutdown does not wait for our idle connections.
	t.Cleanup(pusher.Close)
	return pusher, cnt, clk
}

// validConfig is a small declarative configuration; marker makes distinct
// configurations.
func validConfig(marker string) []byte {
	return []byte(`{"_format_version":"3.0",
 "services":[{"name":"svc","host":"127.0.0.1","port":9,"routes":[
  {"name":"httproute.apps.web.0","expression":"http.path ^= \"/` + marker + `\"",
   "tags":["k8s-kind:HTTPRoute","k8s-group:gateway.networking.k8s.io","k8s-version:v1","k8s-namespace:apps","k8s-name:web","k8s-uid:1111"]}]}],
 "upstreams":[{"name":"kong"}]}`)
}

// --- mutual TLS ---

// A replica must not be reachable without a client certificate signed by
// the operator's CA: not by a bare TLS client, not by one with a foreign
// certificate, and not by a Pusher without a client certificate. Like
// nginx's ssl_verify_client, the stand-in completes the handshake and
// answers nginx's HTML 400 page, which the Pusher must report as an admin
// authentication failure, never as Kong rejecting the configuration. It is
// retried (a rotation may be half done), no faster than the auth floor.
func TestAdminAPIRejectsClientsWithoutTheOperatorCertificate(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	addr := net.JoinHostPort(k.rep.Address, strconv.Itoa(k.rep.Port))

	tryGet := func(cfg *tls.Config) (int, string) {
		cfg.ServerName = k.rep.ServerName
		c := &http.Client{Timeout: testTimeout, Transport: &http.Transport{TLSClientConfig: cfg}}
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://" + addr + "/status")
		if err != nil {
			t.Fatalf("GET /status: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Sanity: the operator's certificate works.
	if code, _ := tryGet(p.client.Clone()); code != http.StatusOK {
		t.Fatalf("operator client: HTTP %d", code)
	}
	if code, body := tryGet(&tls.Config{RootCAs: p.ca.Pool()}); code != http.StatusBadRequest || !strings.Contains(body, "400 No required SSL certificate was sent") {
		t.Fatalf("a client without a certificate: HTTP %d %q", code, body)
	}
	foreign, err := testutil.NewTestCA("someone-else")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := foreign.ClientTLS("intruder", p.ca.Pool())
	if err != nil {
		t.Fatal(err)
	}
	// Offered whatever CAs the replica names in its certificate request
	// (the stand-in names them, as nginx does): Go's client would withhold
	// a certificate from another CA, and the replica would see none.
	offered := fc.Certificates[0]
	fc.Certificates = nil
	fc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &offered, nil }
	if code, body := tryGet(fc); code != http.StatusBadRequest || !strings.Contains(body, "400 The SSL certificate error") {
		t.Fatalf("a client with a foreign certificate: HTTP %d %q", code, body)
	}

	// A Pusher with a foreign certificate gets an admin authentication
	// error after every attempt and reports no rejection.
	pf, _, clk := newTestPusher(t, p, WithTLSConfig(fc))
	res := pf.Push(context.Background(), []Replica{k.rep}, validConfig("a"))
	o := res.Replicas[0]
	var ae *AdminAuthError
	if o.InSync || o.Rejection != nil || res.Rejection != nil || !errors.As(o.Err, &ae) || ae.Reason != "The SSL certificate error" || o.AuthFailure() != ae {
		t.Fatalf("push with a foreign certificate: %+v", o)
	}
	if o.Attempts != 3 || fmt.Sprint(clk.Sleeps()) != fmt.Sprint([]time.Duration{DefaultAuthRetryFloor, DefaultAuthRetryFloor}) {
		t.Fatalf("push with a foreign certificate: %d attempts, sleeps %v; want 3 attempts, %v apart", o.Attempts, clk.Sleeps(), DefaultAuthRetryFloor)
	}

	// A Pusher without a client certificate fails and the replica stays unconfigured.
	noCert := &tls.Config{RootCAs: p.ca.Pool()}
	pusher, cnt, _ := newTestPusher(t, p, WithTLSConfig(noCert))
	res = pusher.Push(context.Background(), []Replica{k.rep}, validConfig("a"))
	if res.InSync != 0 || !errors.As(res.Replicas[0].Err, &ae) || ae.Reason != "No required SSL certificate was sent" || res.Rejection != nil {
		t.Fatalf("push without client certificate: %+v", res.Replicas[0])
	}
	if k.ready() != http.StatusServiceUnavailable || k.configHash() != zeroConfigHash {
		t.Fatal("the replica accepted configuration from a client without a certificate")
	}
	if res.Replicas[0].Attempts != 3 || cnt.get(k.rep, "POST /config") != 3 {
		t.Fatalf("attempts = %d, posts = %d; nginx's certificate refusal is retried up to the attempt limit",
			res.Replicas[0].Attempts, cnt.get(k.rep, "POST /config"))
	}

	// After a rotation to a valid certificate the same Pusher succeeds.
	pusher.SetTLSConfig(p.client)
	if res := pusher.Push(context.Background(), []Replica{k.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatalf("after SetTLSConfig: %v", res.Err())
	}
	if k.ready() != http.StatusOK {
		t.Fatal("replica not ready after push")
	}
}

// The client verifies the admin server certificate against the operator CA
// and the replica's server name. A failure is an admin authentication
// failure: retried (the replica may still serve a certificate from before
// a rotation), reported as such, never as a rejection.
func TestServerCertificateIsVerified(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, cnt, clk := newTestPusher(t, p)
	wrong := k.rep
	wrong.ServerName = serverName("kong-1")
	res := pusher.Push(context.Background(), []Replica{wrong}, validConfig("a"))
	o := res.Replicas[0]
	var cv *tls.CertificateVerificationError
	var se *AdminServerCertError
	if o.InSync || !errors.As(o.Err, &cv) || !errors.As(o.Err, &se) || o.AuthFailure() != se || o.Rejection != nil {
		t.Fatalf("wrong server name: %+v", o)
	}
	if !strings.Contains(o.Err.Error(), "the replica's admin server certificate did not verify against the operator CA") {
		t.Fatalf("error %q does not say the server certificate did not verify", o.Err)
	}
	// Nothing reaches the replica: the handshake fails before any request.
	if o.Attempts != 3 || len(clk.Sleeps()) != 2 || cnt.get(k.rep, "POST /config") != 3 || k.configHash() != zeroConfigHash {
		t.Fatalf("certificate failure: attempts %d sleeps %v hash %s", o.Attempts, clk.Sleeps(), k.configHash())
	}

	untrusting := p.client.Clone()
	other, err := testutil.NewTestCA("other")
	if err != nil {
		t.Fatal(err)
	}
	untrusting.RootCAs = other.Pool()
	pusher2, _, _ := newTestPusher(t, p, WithTLSConfig(untrusting))
	res = pusher2.Push(context.Background(), []Replica{k.rep}, validConfig("a"))
	if res.InSync != 0 || !errors.As(res.Replicas[0].Err, &cv) || len(res.AuthFailures()) != 1 {
		t.Fatalf("server certificate from an untrusted CA accepted: %+v", res.Replicas[0])
	}
	if got := res.Lagging(); !strings.HasPrefix(got, "not in sync: kong-0 (POST /config: the replica's admin server certificate did not verify against the operator CA (x509: ") {
		t.Fatalf("Lagging() = %q", got)
	}
}

func TestReplicaValidation(t *testing.T) {
	pusher := NewPusher(WithClock(newFakeClock()))
	good := Replica{Name: "a", Address: "127.0.0.1", Port: 1, ServerName: "a"}
	cases := []Replica{
		{Address: "127.0.0.1", Port: 1, ServerName: "x"},
		{Name: "b", Port: 1, ServerName: "x"},
		{Name: "c", Address: "127.0.0.1", ServerName: "x"},
		{Name: "d", Address: "127.0.0.1", Port: 1},
	}
	res := pusher.Push(context.Background(), cases, validConfig("a"))
	for i, o := range res.Replicas {
		if o.Err == nil || o.Attempts != 0 {
			t.Errorf("case %d: %+v", i, o)
		}
	}
	if res.AllInSync() || res.Total != 4 {
		t.Fatalf("result %+v", res)
	}
	dup := pusher.Push(context.Background(), []Replica{good, good}, nil)
	if dup.Replicas[1].Err == nil || !strings.Contains(dup.Replicas[1].Err.Error(), "twice") {
		t.Fatalf("duplicate: %+v", dup.Replicas[1])
	}
	if got := (Result{}).AllInSync(); got {
		t.Fatal("no replicas is not in sync")
	}
	if s := (Result{InSync: 2, Total: 3}).Summary(); s != "2/3 replicas hold the current configuration" {
		t.Fatal(s)
	}
	if s := good.String(); s != `a (127.0.0.1:1, server name "a")` {
		t.Fatal(s)
	}
	if u := good.URL(); u != "https://127.0.0.1:1" {
		t.Fatal(u)
	}
	if u := (Replica{Address: "::1", Port: 8444}).URL(); u != "https://[::1]:8444" {
		t.Fatal(u)
	}
}

func TestLaggingNamesEveryReplicaOutOfSyncAndWhy(t *testing.T) {
	long := errors.New("replica web-c: POST /config: " + strings.Repeat("x", 500) + "\nsecond line")
	res := Result{Total: 4, InSync: 1, Replicas: []Outcome{
		{Replica: Replica{Name: "web-a"}, InSync: true},
		{Replica: Replica{Name: "web-b"}, Err: fmt.Errorf("GET /status: %w", &AdminAuthError{Status: 400, Reason: "The SSL certificate error"})},
		{Replica: Replica{Name: "web-c"}, Err: long},
		{Replica: Replica{Name: "web-d"}, Rejection: &ConfigError{Status: 400}, Err: errors.New("rejected")},
	}}
	got := res.Lagging()
	if !strings.HasPrefix(got, "not in sync: web-b (GET /status: Kong admin API refused the operator's client certificate") {
		t.Errorf("Lagging() = %q: want web-b named first with its admin authentication failure", got)
	}
	if !strings.Contains(got, "; web-c (POST /config: xxx") || strings.Contains(got, "second line") || len(got) > 2*laggingCauseMax+100 {
		t.Errorf("Lagging() = %q: want web-c's cause cut to one bounded line", got)
	}
	if strings.Contains(got, "web-a") || strings.Contains(got, "web-d") {
		t.Errorf("Lagging() = %q names a replica in sync or one whose rejection is reported on its own", got)
	}
	if got := (Result{Total: 1, InSync: 1, Replicas: []Outcome{{Replica: Replica{Name: "a"}, InSync: true}}}).Lagging(); got != "" {
		t.Errorf("all in sync: Lagging() = %q, want empty", got)
	}
}
