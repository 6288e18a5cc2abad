package dataplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"

	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// --- against the Kong stand-in ---

func TestFirstPushMakesReplicaReadyAndSamePushIsSkipped(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	if k.ready() != http.StatusServiceUnavailable {
		t.Fatal("a fresh replica must not be ready")
	}

	res := pusher.Push(ctx, []Replica{k.rep}, validConfig("a"))
	if !res.AllInSync() || res.Replicas[0].Skipped || res.Replicas[0].Attempts != 1 {
		t.Fatalf("first push: %+v (%v)", res.Replicas[0], res.Err())
	}
	if k.ready() != http.StatusOK {
		t.Fatal("/status/ready is not 200 after the first push")
	}
	st, ok := pusher.State("kong-0")
	if !ok || st.SHA256 != res.SHA256 || st.LastError != nil || st.LastSuccess.IsZero() {
		t.Fatalf("state after push: %+v", st)
	}

	// Same configuration: one status check, no POST.
	res = pusher.Push(ctx, []Replica{k.rep}, validConfig("a"))
	if !res.AllInSync() || !res.Replicas[0].Skipped {
		t.Fatalf("second push: %+v", res.Replicas[0])
	}
	if n := cnt.get(k.rep, "POST /config"); n != 1 {
		t.Fatalf("POST /config sent %d times for one configuration", n)
	}
	if n := cnt.get(k.rep, "GET /status"); n != 1 {
		t.Fatalf("GET /status sent %d times, want 1", n)
	}

	// A different configuration is pushed.
	res = pusher.Push(ctx, []Replica{k.rep}, validConfig("b"))
	if !res.AllInSync() || res.Replicas[0].Skipped || cnt.get(k.rep, "POST /config") != 2 {
		t.Fatalf("changed config: %+v posts=%d", res.Replicas[0], cnt.get(k.rep, "POST /config"))
	}
}

// A replica that restarted in place (same address, no configuration) shows
// the all-zero hash and gets the configuration again.
func TestLostConfigurationIsPushedAgain(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	cfg := validConfig("a")
	if res := pusher.Push(ctx, []Replica{k.rep}, cfg); !res.AllInSync() {
		t.Fatal(res.Err())
	}

	k2 := k.restart()
	defer pusher.Close() // before k2's cleanup, registered after the Pusher's
	if k2.rep != k.rep {
		t.Fatalf("restarted on %+v, want %+v", k2.rep, k.rep)
	}
	if k2.configHash() != zeroConfigHash || k2.ready() != http.StatusServiceUnavailable {
		t.Fatal("a restarted stand-in must come up without configuration")
	}
	res := pusher.Push(ctx, []Replica{k2.rep}, cfg)
	o := res.Replicas[0]
	if !o.InSync || o.Skipped {
		t.Fatalf("re-push after restart: %+v", o)
	}
	if n := cnt.get(k.rep, "POST /config"); n != 2 {
		t.Fatalf("POST /config count %d, want 2", n)
	}
	if k2.ready() != http.StatusOK || k2.configHash() == zeroConfigHash {
		t.Fatal("restarted replica not configured again")
	}
}

// A new replica gets the configuration at once while the others are only
// checked; a forgotten replica is pushed to again from scratch.
func TestNewReplicaGetsConfigurationAndForget(t *testing.T) {
	p := newPKI(t)
	k0 := p.startKong(t, "kong-0", "127.0.0.2", 0)
	k1 := p.startKong(t, "kong-1", "127.0.0.3", 0)
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	cfg := validConfig("a")
	if res := pusher.Push(ctx, []Replica{k0.rep}, cfg); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	if k1.ready() != http.StatusServiceUnavailable {
		t.Fatal("kong-1 configured before it was listed")
	}
	res := pusher.Push(ctx, []Replica{k0.rep, k1.rep}, cfg)
	if !res.AllInSync() || res.InSync != 2 || !res.Replicas[0].Skipped || res.Replicas[1].Skipped {
		t.Fatalf("with new replica: %+v", res.Replicas)
	}
	if k1.ready() != http.StatusOK || cnt.get(k1.rep, "POST /config") != 1 || cnt.get(k0.rep, "POST /config") != 1 {
		t.Fatal("new replica did not get exactly one push")
	}

	if gone := pusher.Retain([]Replica{k1.rep}); len(gone) != 1 || gone[0] != "kong-0" {
		t.Fatalf("Retain forgot %v", gone)
	}
	if _, ok := pusher.State("kong-0"); ok {
		t.Fatal("kong-0 still remembered")
	}
	res = pusher.Push(ctx, []Replica{k0.rep, k1.rep}, cfg)
	if !res.AllInSync() || res.Replicas[0].Skipped || !res.Replicas[1].Skipped {
		t.Fatalf("after forgetting kong-0: %+v", res.Replicas)
	}
	pusher.Forget("kong-1")
	if _, ok := pusher.State("kong-1"); ok {
		t.Fatal("Forget did not forget kong-1")
	}
}

// A replica whose endpoint changed under the same name (a new pod) is not
// trusted to hold the configuration.
func TestEndpointChangeResetsReplicaState(t *testing.T) {
	p := newPKI(t)
	a := p.startKong(t, "kong-0", "127.0.0.2", 0)
	b := p.startKong(t, "kong-0", "127.0.0.3", 0)
	pusher, _, _ := newTestPusher(t, p)
	ctx := context.Background()
	cfg := validConfig("a")
	if res := pusher.Push(ctx, []Replica{a.rep}, cfg); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	res := pusher.Push(ctx, []Replica{b.rep}, cfg)
	if !res.AllInSync() || res.Replicas[0].Skipped || b.ready() != http.StatusOK {
		t.Fatalf("moved replica: %+v", res.Replicas[0])
	}
	if st, _ := pusher.State("kong-0"); st.Replica != b.rep {
		t.Fatalf("state tracks %+v", st.Replica)
	}
}

// A 400 is parsed, mapped to the object whose entity Kong rejected, and not
// retried; the replica keeps the last configuration it accepted.
func TestRejectionIsMappedToTheObject(t *testing.T) {
	p := newPKI(t)
	k := p.startKong(t, "kong-0", "127.0.0.2", 0)
	pusher, cnt, clk := newTestPusher(t, p)
	ctx := context.Background()
	if res := pusher.Push(ctx, []Replica{k.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	good := k.configHash()

	bad := []byte(`{"_format_version":"3.0",
 "services":[{"name":"svc","host":"127.0.0.1","port":9,"routes":[
  {"name":"httproute.apps.web.0","expression":"http.path ^= \"/web\"",
   "tags":["k8s-kind:HTTPRoute","k8s-namespace:apps","k8s-name:web","k8s-uid:1111"]},
  {"name":"httproute.apps.broken.0","expression":"http.path ^= \"/b\"","protocols":["gopher"],
   "tags":["k8s-kind:HTTPRoute","k8s-group:gateway.networking.k8s.io","k8s-version:v1","k8s-namespace:apps","k8s-name:broken","k8s-uid:2222"]}]}],
 "upstreams":[{"name":"kong"}]}`)
	res := pusher.Push(ctx, []Replica{k.rep}, bad)
	o := res.Replicas[0]
	if o.InSync || o.Attempts != 1 || len(clk.Sleeps()) != 0 || cnt.get(k.rep, "POST /config") != 2 {
		t.Fatalf("rejected push: %+v sleeps %v", o, clk.Sleeps())
	}
	if res.Rejection == nil || o.Rejection != res.Rejection {
		t.Fatalf("rejection not reported: %v", o.Err)
	}
	var ce *ConfigError
	if !errors.As(res.Err(), &ce) || ce.Code != 14 {
		t.Fatalf("error chain: %v", res.Err())
	}
	if len(ce.Objects) != 1 {
		t.Fatalf("objects: %+v", ce.Objects)
	}
	obj := ce.Objects[0]
	if obj.Kind != "HTTPRoute" || obj.Namespace != "apps" || obj.Name != "broken" || obj.UID != "2222" ||
		obj.EntityType != "route" || obj.EntityName != "httproute.apps.broken.0" || len(obj.Messages) == 0 {
		t.Fatalf("mapped to %+v", obj)
	}
	if msg := obj.Message(); !strings.Contains(msg, "HTTPRoute apps/broken") || !strings.Contains(msg, obj.Messages[0]) || !strings.Contains(msg, "protocols") {
		t.Fatalf("message %q", msg)
	}
	if k.configHash() != good || k.ready() != http.StatusOK {
		t.Fatal("the last accepted configuration must stay in force")
	}
	if st, _ := pusher.State("kong-0"); st.LastError == nil || st.SHA256 != "" {
		t.Fatalf("state after rejection: %+v", st)
	}
}

// Three replicas are configured concurrently, each with exactly one POST,
// each dial carrying its replica.
func TestConcurrentPushToThreeReplicas(t *testing.T) {
	p := newPKI(t)
	var ks []*kongReplica
	var reps []Replica
	for i := range 3 {
		k := p.startKong(t, fmt.Sprintf("kong-%d", i), fmt.Sprintf("127.0.0.%d", i+2), 0)
		ks = append(ks, k)
		reps = append(reps, k.rep)
	}
	lo := &loopbackOnly{}
	pusher, cnt, _ := newTestPusher(t, p, WithDialer(lo.dial))
	res := pusher.Push(context.Background(), reps, validConfig("a"))
	if !res.AllInSync() || res.InSync != 3 || res.Total != 3 || res.Summary() != "3/3 replicas hold the current configuration" {
		t.Fatalf("result: %+v (%v)", res, res.Err())
	}
	for i, k := range ks {
		if res.Replicas[i].Replica != k.rep {
			t.Errorf("outcome %d is for %s", i, res.Replicas[i].Replica.Name)
		}
		if k.ready() != http.StatusOK || cnt.get(k.rep, "POST /config") != 1 {
			t.Errorf("%s: ready=%d posts=%d", k.rep.Name, k.ready(), cnt.get(k.rep, "POST /config"))
		}
		lo.mu.Lock()
		if lo.dials[k.rep.Name] == 0 {
			t.Errorf("dialer never saw replica %s in its context", k.rep.Name)
		}
		lo.mu.Unlock()
	}

	// Concurrent Push calls for different configurations serialise per
	// replica and leave every replica on one of them, all in sync.
	var wg sync.WaitGroup
	results := make([]Result, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = pusher.Push(context.Background(), reps, validConfig(strconv.Itoa(i%2)))
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if !r.AllInSync() {
			t.Errorf("concurrent push %d: %v", i, r.Err())
		}
	}
}

// --- against a TLS double with forced answers ---

type reply struct {
	code        int
	retryAfter  string
	contentType string // application/json when empty
	body        string
	block       bool // hang until the request is cancelled
}

// double is a small mTLS admin API that answers POST /config from a
// script (then 201) and GET /status with a fixed hash.
type double struct {
	srv     *httptest.Server
	rep     Replica
	mu      sync.Mutex
	script  []reply
	posts   int
	release chan struct{}
	// hangStatus makes GET /status hang until the request is cancelled.
	hangStatus bool
}

func newDouble(t testing.TB, p *pki, script ...reply) *double {
	t.Helper()
	d := &double{script: script, release: make(chan struct{})}
	certPEM, keyPEM, err := p.ca.IssueServer("double", []string{serverName("double")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	d.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: p.ca.Pool(), ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	d.srv.StartTLS()
	t.Cleanup(func() { close(d.release); d.srv.Close() })
	addr := d.srv.Listener.Addr().(*net.TCPAddr)
	d.rep = Replica{Name: "double-0", Address: addr.IP.String(), Port: addr.Port, ServerName: serverName("double")}
	return d
}

func (d *double) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/status":
		d.mu.Lock()
		hang := d.hangStatus
		d.mu.Unlock()
		if hang {
			select {
			case <-r.Context().Done():
			case <-d.release:
			}
			return
		}
		_, _ = io.WriteString(w, `{"server":{"total_requests":1},"configuration_hash":"0123456789abcdef0123456789abcdef"}`)
	case r.Method == http.MethodPost && r.URL.Path == "/config":
		_, _ = io.Copy(io.Discard, r.Body)
		d.mu.Lock()
		d.posts++
		rp := reply{code: http.StatusCreated, body: `{}`}
		if len(d.script) > 0 {
			rp, d.script = d.script[0], d.script[1:]
		}
		d.mu.Unlock()
		if rp.block {
			select {
			case <-r.Context().Done():
			case <-d.release:
			case <-time.After(testTimeout):
			}
			return
		}
		if rp.retryAfter != "" {
			w.Header().Set("Retry-After", rp.retryAfter)
		}
		if rp.contentType != "" {
			w.Header().Set("Content-Type", rp.contentType)
		}
		w.WriteHeader(rp.code)
		_, _ = io.WriteString(w, rp.body)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not found"}`)
	}
}

func (d *double) postCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.posts
}

// nginxPage is nginx's error page for a 400 with reason (as Kong 3.9.3's
// admin listener sends it).
func nginxPage(reason string) string {
	return "<html>\r\n<head><title>400 " + reason + "</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>" +
		reason + "</center>\r\n</body>\r\n</html>\r\n"
}

// maxJitter makes Backoff.Delay return its ceiling.
func maxJitter(n int64) int64 { return n - 1 }

func TestServerErrorsAreRetriedWithCappedBackoff(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p,
		reply{code: 503, body: `{"message":"Kong currently exiting"}`},
		reply{code: 500, body: `{"message":"An unexpected error occurred"}`},
		reply{code: 504, body: `{"message":"Timed out while loading configuration"}`},
		reply{code: 502, body: `bad gateway`},
	)
	pusher, _, clk := newTestPusher(t, p, WithBackoff(time.Second, 3*time.Second), WithJitter(maxJitter), WithMaxAttempts(6))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	o := res.Replicas[0]
	if !o.InSync || o.Attempts != 5 || d.postCount() != 5 {
		t.Fatalf("outcome %+v posts %d", o, d.postCount())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	if st, _ := pusher.State(d.rep.Name); st.SHA256 != res.SHA256 || st.LastError != nil {
		t.Fatalf("state %+v", st)
	}
}

func TestTooManyRequestsHonorsRetryAfter(t *testing.T) {
	p := newPKI(t)
	clk := newFakeClock()
	date := clk.Now().Add(42 * time.Second).UTC().Format(http.TimeFormat)
	d := newDouble(t, p,
		reply{code: 429, retryAfter: "7", body: `{"message":"Currently loading previous configuration"}`},
		reply{code: 429, retryAfter: date, body: `{"message":"Currently loading previous configuration"}`},
		reply{code: 429, body: `{"message":"Currently loading previous configuration"}`},
	)
	pusher, _, _ := newTestPusher(t, p, WithClock(clk), WithBackoff(time.Second, time.Minute), WithJitter(maxJitter), WithMaxAttempts(5))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	if o := res.Replicas[0]; !o.InSync || o.Attempts != 4 {
		t.Fatalf("outcome %+v", o)
	}
	// 7s from delay-seconds; 42s from the HTTP date (the clock already
	// moved 7s, so 35s remain); no header: backoff for the third retry.
	want := []time.Duration{7 * time.Second, 35 * time.Second, 4 * time.Second}
	if got := clk.Sleeps(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}

func TestRejectionsAndClientErrorsAreNotRetried(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name   string
		reply  reply
		reject bool
	}{
		{"400 code 14", reply{code: 400, body: sampleFlattened}, true},
		{"400 not JSON", reply{code: 400, body: `{"message":"Cannot parse JSON body"}`}, true},
		{"413", reply{code: 413, body: "<html>413 Request Entity Too Large</html>"}, false},
		{"401", reply{code: 401, body: `{"message":"Unauthorized"}`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDouble(t, p, tc.reply)
			pusher, _, clk := newTestPusher(t, p)
			res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
			o := res.Replicas[0]
			if o.InSync || o.Attempts != 1 || d.postCount() != 1 || len(clk.Sleeps()) != 0 {
				t.Fatalf("outcome %+v posts %d sleeps %v", o, d.postCount(), clk.Sleeps())
			}
			if (o.Rejection != nil) != tc.reject {
				t.Fatalf("rejection %v", o.Rejection)
			}
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	p := newPKI(t)
	var script []reply
	for range 10 {
		script = append(script, reply{code: 503, body: `{"message":"Kong currently exiting"}`})
	}
	d := newDouble(t, p, script...)
	pusher, _, clk := newTestPusher(t, p, WithMaxAttempts(4))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	o := res.Replicas[0]
	if o.InSync || o.Attempts != 4 || d.postCount() != 4 || len(clk.Sleeps()) != 3 {
		t.Fatalf("outcome %+v posts %d sleeps %v", o, d.postCount(), clk.Sleeps())
	}
	// The error a Gateway's status shows carries Kong's own message.
	if !strings.Contains(o.Err.Error(), "503") || !strings.Contains(o.Err.Error(), "Kong currently exiting") || res.Err() == nil {
		t.Fatalf("error %v", o.Err)
	}
	for _, s := range clk.Sleeps() {
		if s < 50*time.Millisecond || s > time.Second {
			t.Fatalf("wait %v outside [base/2, cap]", s)
		}
	}
	if st, _ := pusher.State(d.rep.Name); st.LastError == nil || st.SHA256 != "" || !st.LastSuccess.IsZero() {
		t.Fatalf("state %+v", st)
	}
}

// Connection errors are retried; a closed port is a connection error.
func TestConnectionErrorsAreRetried(t *testing.T) {
	p := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	pusher, _, clk := newTestPusher(t, p)
	res := pusher.Push(context.Background(), []Replica{{Name: "gone", Address: "127.0.0.1", Port: addr.Port, ServerName: "gone"}}, validConfig("a"))
	if o := res.Replicas[0]; o.InSync || o.Attempts != 3 || len(clk.Sleeps()) != 2 || !o.Unreachable() {
		t.Fatalf("outcome %+v (unreachable: %v)", o, o.Unreachable())
	}
}

// A call that hangs is cut by the per-call timeout and not made again
// within the push: the replica had its allowance, and another would hold
// the push back as long again. The next Push tries it again.
func TestPerCallTimeoutEndsTheReplicasPush(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p, reply{block: true})
	pusher, _, clk := newTestPusher(t, p, WithTimeout(200*time.Millisecond))
	res := pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	o := res.Replicas[0]
	if o.InSync || o.Attempts != 1 || d.postCount() != 1 || len(clk.Sleeps()) != 0 || o.AuthFailure() != nil || o.Unreachable() {
		t.Fatalf("outcome %+v posts %d sleeps %v", o, d.postCount(), clk.Sleeps())
	}
	if !errors.Is(o.Err, context.DeadlineExceeded) || !strings.Contains(o.Err.Error(), "no answer within the per-call timeout (200ms)") {
		t.Fatalf("error %q does not say the call timed out", o.Err)
	}
	res = pusher.Push(context.Background(), []Replica{d.rep}, validConfig("a"))
	if o := res.Replicas[0]; !o.InSync || d.postCount() != 2 {
		t.Fatalf("next push: %+v posts %d", o, d.postCount())
	}
}

// Cancelling the Push context stops retrying.
func TestCancelStopsRetries(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p, reply{code: 503}, reply{code: 503}, reply{code: 503})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := newFakeClock()
	clk.onSleep = cancel
	pusher, _, _ := newTestPusher(t, p, WithClock(clk), WithMaxAttempts(10))
	res := pusher.Push(ctx, []Replica{d.rep}, validConfig("a"))
	o := res.Replicas[0]
	if o.InSync || o.Attempts != 1 || !errors.Is(o.Err, context.Canceled) {
		t.Fatalf("outcome %+v", o)
	}
}

// With the same SHA, a replica whose status shows a non-zero hash is
// skipped; a status failure is retried like a push failure.
func TestSkipUsesStatusCheck(t *testing.T) {
	p := newPKI(t)
	d := newDouble(t, p)
	pusher, cnt, _ := newTestPusher(t, p)
	ctx := context.Background()
	if res := pusher.Push(ctx, []Replica{d.rep}, validConfig("a")); !res.AllInSync() {
		t.Fatal(res.Err())
	}
	res := pusher.Push(ctx, []Replica{d.rep}, validConfig("a"))
	if !res.Replicas[0].Skipped || d.postCount() != 1 || cnt.get(d.rep, "GET /status") != 1 {
		t.Fatalf("second push %+v posts %d", res.Replicas[0], d.postCount())
	}
}

func largeConfig(services, routesPer int, marker string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"_format_version":"3.0","services":[`)
	for s := range services {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"svc-%d","host":"127.0.0.1","port":%d,"routes":[`, s, 10000+s)
		for r := range routesPer {
			if r > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"httproute.ns%d.route%d.0","priority":%d,"expression":"http.host == \"app%d.example.com\" && http.path ^= \"/%s/%d\"",`+
				`"tags":["k8s-kind:HTTPRoute","k8s-group:gateway.networking.k8s.io","k8s-version:v1","k8s-namespace:ns%d","k8s-name:route%d","k8s-uid:%08d-0000-4000-8000-000000000000"]}`,
				s, r, r+1, s, marker, r, s, r, s*routesPer+r)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`],"upstreams":[{"name":"kong"}]}`)
	return b.Bytes()
}

func startReplicas(b *testing.B, p *pki, n int) []Replica {
	b.Helper()
	reps := make([]Replica, n)
	for i := range n {
		reps[i] = p.startKong(b, fmt.Sprintf("kong-%d", i), fmt.Sprintf("127.0.0.%d", i+2), 0).rep
	}
	return reps
}

// benchCallTimeout is the per-call timeout in benchmarks: ten stand-ins
// compiling 10,000 routes at once on a small, busy machine can take longer
// than the unit tests' timeout, and a benchmark measures rather than judges.
const benchCallTimeout = 2 * time.Minute

// BenchmarkPush pushes a 10,000-route configuration to 10 in-process Kong
// stand-ins over mutual TLS; each iteration pushes a changed configuration
// so nothing is skipped. The time includes the stand-ins validating and
// compiling the configuration, as real Kong replicas would.
func BenchmarkPush(b *testing.B) {
	p := newPKI(b)
	reps := startReplicas(b, p, 10)
	benchmarkChangingPushes(b, p, reps)
}

// BenchmarkPushClientSide is BenchmarkPush against 10 TLS doubles that
// discard the body and answer 201, isolating the Pusher's own cost
// (hashing, mutual TLS, HTTP/2 framing) from Kong's.
func BenchmarkPushClientSide(b *testing.B) {
	p := newPKI(b)
	reps := make([]Replica, 10)
	for i := range reps {
		d := newDouble(b, p)
		reps[i] = d.rep
		reps[i].Name = fmt.Sprintf("double-%d", i)
	}
	benchmarkChangingPushes(b, p, reps)
}

// BenchmarkPushUnchanged measures the dedup path: the same 10,000-route
// configuration again, so each replica costs one GET /status.
func BenchmarkPushUnchanged(b *testing.B) {
	p := newPKI(b)
	reps := startReplicas(b, p, 10)
	pusher, _, _ := newTestPusher(b, p, WithTimeout(benchCallTimeout))
	cfg := largeConfig(100, 100, "a")
	if res := pusher.Push(context.Background(), reps, cfg); !res.AllInSync() {
		b.Fatal(res.Err())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := pusher.Push(context.Background(), reps, cfg)
		if !res.AllInSync() || !res.Replicas[0].Skipped {
			b.Fatalf("%s: %v", res.Summary(), res.Err())
		}
	}
}

// benchmarkChangingPushes pushes two alternating 10,000-route configurations,
// so every push is a real POST to every replica.
func benchmarkChangingPushes(b *testing.B, p *pki, reps []Replica) {
	pusher, _, _ := newTestPusher(b, p, WithTimeout(benchCallTimeout))
	configs := [][]byte{largeConfig(100, 100, "a"), largeConfig(100, 100, "b")}
	b.SetBytes(int64(len(configs[0]) * len(reps)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res := pusher.Push(context.Background(), reps, configs[i%2])
		if !res.AllInSync() || res.Replicas[0].Skipped {
			b.Fatalf("push %d: %s: %v", i, res.Summary(), res.Err())
		}
	}
	b.ReportMetric(float64(len(configs[0])), "config-bytes")
}

func TestConfigBodyCarriesTheConfigurationAsAString(t *testing.T) {
	config := []byte(`{"_format_version":"3.0","services":[{"name":"s","routes":[{"expression":"http.host == \"a\" && http.path ^= \"/<x>\""}]}]}`)
	body := ConfigBody(config)
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if len(got) != 1 || got["config"] != string(config) {
		t.Fatalf("body %s does not carry the configuration alone under \"config\"", body)
	}
	// Kong hashes the string as sent; HTML escapes would only grow it.
	if bytes.Contains(body, []byte(`\u0026`)) || bytes.Contains(body, []byte(`\u003c`)) {
		t.Fatalf("body %s has HTML escapes", body)
	}
}

// ConfigBody writes the configuration as a JSON string itself; the result
// is byte for byte what encoding/json writes, for configurations and for
// text with everything encoding/json escapes in its own ways.
func TestConfigBodyMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`,
		`{"_format_version":"3.0","services":[{"name":"s","routes":[{"expression":"http.path ~ \"^/a\\\\d+$\" && http.host == \"<x>&y\""}]}]}`,
		`"quoted" and \ back\slashes\\ at the end\`,
		"non-ASCII: héllo, 日本, 🙂",
		"a line\nbreak, a\ttab, a \x01 control",
		"a delete \x7f, HTML &lt; & &gt;: <a href=\"x\">",
		"line and paragraph separators: \u2028 \u2029",
		"invalid UTF-8: \xff\xfe, cut \xe6\x97",
	}
	for _, in := range inputs {
		if got, want := ConfigBody([]byte(in)), encodedConfigBody([]byte(in)); !bytes.Equal(got, want) {
			t.Errorf("ConfigBody(%q)\n got %s\nwant %s", in, got, want)
		}
	}
	res, err := translate.Translate(scalegen.Generate(scalegen.Options{Routes: 200}).Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ConfigBody(res.JSON), encodedConfigBody(res.JSON); !bytes.Equal(got, want) {
		t.Error("ConfigBody of a translated configuration differs from encoding/json")
	}
}
