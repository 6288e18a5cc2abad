package kongplugins

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

// The HTTPRoute retry tests reproduce Gateway API v1.7.0's
// HTTPRouteRetry, HTTPRouteRetryConnectionError,
// HTTPRouteRetryWithRequestTimeout and HTTPRouteRetryWithBackendTimeout on
// real Kong: the routes are the conformance manifests' routes, translated
// by internal/translate, and the backends behave as echo-basic's
// /retry/ handler does (fail the first succeedAfter requests of a uuid with
// responseCode, or with a TCP reset without it, after delayRetry; then
// answer after delay).

const retryNS = "gateway-conformance-infra"

// retryBackend is a local stand-in for echo-basic: the retry simulation
// of sigs.k8s.io/gateway-api-conformance-images@v0.1.0/echo-basic, plus a
// record of every request it received.
type retryBackend struct {
	name string
	srv  *http.Server
	addr string

	mu       sync.Mutex
	attempts map[string]int
	log      []backendHit
}

type backendHit struct {
	uuid   string
	at     time.Time
	bodyID string // sha256 of the request body
}

// startRetryBackend serves the retry simulation, or handler when given.
func startRetryBackend(tb testing.TB, name string, handler http.HandlerFunc) *retryBackend {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &retryBackend{name: name, addr: l.Addr().String(), attempts: map[string]int{}}
	if handler == nil {
		handler = b.serve
	}
	b.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(l) }()
	tb.Cleanup(func() { _ = b.srv.Close() })
	return b
}

func (b *retryBackend) record(r *http.Request, body []byte) {
	sum := sha256.Sum256(body)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = append(b.log, backendHit{uuid: r.URL.Query().Get("uuid"), at: time.Now(), bodyID: hex.EncodeToString(sum[:])})
}

func (b *retryBackend) port() int {
	_, p, _ := net.SplitHostPort(b.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (b *retryBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	b.record(r, body)
	q := r.URL.Query()
	id := q.Get("uuid")
	if script := q.Get("script"); script != "" {
		// Not in echo-basic: one action per attempt of the uuid (a status
		// or "reset"), then the echo.
		steps := strings.Split(script, ",")
		b.mu.Lock()
		n := b.attempts[id]
		b.attempts[id]++
		b.mu.Unlock()
		if n < len(steps) {
			if steps[n] == "reset" {
				resetConnection(w)
			} else {
				code, _ := strconv.Atoi(steps[n])
				w.Header().Set("X-Failed-Attempt", strconv.Itoa(n+1))
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(code)
				_, _ = io.WriteString(w, "failed attempt")
			}
			return
		}
	} else if strings.HasPrefix(r.URL.Path, "/retry/") {
		if id == "" {
			http.Error(w, "uuid is required", http.StatusBadRequest)
			return
		}
		succeedAfter, err := strconv.Atoi(q.Get("succeedAfter"))
		if err != nil {
			http.Error(w, "succeedAfter is required", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		fail := b.attempts[id] < succeedAfter
		if fail {
			b.attempts[id]++
		}
		b.mu.Unlock()
		if fail {
			sleepFor(q.Get("delayRetry"))
			if code, err := strconv.Atoi(q.Get("responseCode")); err == nil {
				w.WriteHeader(code)
				return
			}
			resetConnection(w)
			return
		}
	}
	sleepFor(q.Get("delay"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"backend": b.name, "path": r.URL.Path, "method": r.Method, "body": hex.EncodeToString(sum[:])})
}

// resetConnection aborts the connection with a TCP RST, as echo-basic's
// default failure mode does.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func sleepFor(d string) {
	if d == "" {
		return
	}
	if v, err := time.ParseDuration(d); err == nil {
		time.Sleep(v)
	}
}

func (b *retryBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.log)
}

// hits returns the requests the backend got for one uuid.
func (b *retryBackend) hits(id string) []backendHit {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []backendHit
	for _, h := range b.log {
		if h.uuid == id {
			out = append(out, h)
		}
	}
	return out
}

// retryFixture is real Kong serving the translation of one HTTPRoute
// manifest whose backendRefs point at local backends.
type retryFixture struct {
	kong   *realkong.Kong
	client *http.Client
}

// serviceYAML is a Service with one EndpointSlice per address: a local
// backend, or a closed port for a backend that refuses connections.
func serviceYAML(name string, addrs ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `---
apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec:
  ports: [{name: http, port: 8080, targetPort: 3000}]
`, name, retryNS)
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		fmt.Fprintf(&sb, `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-%d
  namespace: %s
  labels: {kubernetes.io/service-name: %s}
addressType: IPv4
ports: [{name: http, port: %s, protocol: TCP}]
endpoints: [{addresses: [%s], conditions: {ready: true}}]
`, name, i, retryNS, name, port, host)
	}
	return sb.String()
}

const retryGatewayYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: drawbridge}
spec: {controllerName: drawbridge.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same-namespace, namespace: gateway-conformance-infra}
spec:
  gatewayClassName: drawbridge
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: Same}}
`

func startRetryFixture(t *testing.T, manifests string) *retryFixture {
	t.Helper()
	config := translateManifests(t, retryGatewayYAML+manifests)
	port := realkong.FreePorts(t, 1)[0]
	// Stream listeners too: Kong then loads the plugin into its stream
	// subsystem as well, as on a data plane with TCP or UDP listeners.
	k := realkong.Start(t, realkong.Options{Stream: true, Env: map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + port + " http2",
		"KONG_PORT_MAPS":    "80:" + port,
	}})
	k.HTTP = "127.0.0.1:" + port
	if err := k.PostConfig(config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Connection and timeout errors are expected; Lua errors are not.
		for _, line := range strings.Split(k.ErrorLog(), "\n") {
			if strings.Contains(line, "drawbridge-retry") && (strings.Contains(line, "[error]") || strings.Contains(line, "[crit]")) ||
				strings.Contains(line, "runtime error") || strings.Contains(line, "attempt to ") {
				t.Errorf("Kong logged: %s", line)
			}
		}
	})
	return &retryFixture{kong: k, client: &http.Client{Timeout: 10 * time.Second}}
}

type retryAnswer struct {
	status  int
	body    []byte
	header  http.Header
	elapsed time.Duration
}

func (f *retryFixture) do(t *testing.T, method, path string, body []byte) retryAnswer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+f.kong.HTTP+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, f.kong.ErrorLogTail())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return retryAnswer{status: resp.StatusCode, body: b, header: resp.Header, elapsed: time.Since(start)}
}

// simulate builds a /retry/ request as the conformance test does: the
// simulation values plus a fresh uuid.
func simulate(path string, kv ...string) (string, string) {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	v.Set("uuid", id)
	return path + "?" + v.Encode(), id
}

// The manifests' HTTPRoutes, verbatim from Gateway API v1.7.0's
// conformance/tests/httproute-retry*.yaml.
const (
	retryRouteYAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retries
  namespace: gateway-conformance-infra
spec:
  parentRefs:
    - name: same-namespace
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /retry/code-500-attempts-3
      retry:
        codes:
          - 500
        attempts: 3
      backendRefs:
        - name: infra-backend-v3
          port: 8080
    - matches:
        - path:
            type: PathPrefix
            value: /retry/code-all-attempts-2
      retry:
        codes:
          - 500
          - 502
          - 503
          - 504
        attempts: 2
      backendRefs:
        - name: infra-backend-v3
          port: 8080
    - matches:
        - path:
            type: PathPrefix
            value: /retry/code-all-attempts-0
      retry:
        codes:
          - 500
          - 502
          - 503
          - 504
        attempts: 0
      backendRefs:
        - name: infra-backend-v3
          port: 8080
`
	retryConnectionErrorRouteYAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retries-connection-error
  namespace: gateway-conformance-infra
spec:
  parentRefs:
    - name: same-namespace
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /retry-on-connection-errors
      retry:
        # attempts set intentionally high, so that a test run is very unlikely to miss the healthy backend
        attempts: 100
      backendRefs:
        - name: infra-backend-connection-error
          port: 8080
`
	retryWithTimeoutsRouteYAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retries-with-timeouts
  namespace: gateway-conformance-infra
spec:
  parentRefs:
    - name: same-namespace
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /retry/request-timeout-500ms
      retry:
        codes:
          - 500
        attempts: 5
      timeouts:
        request: 500ms
      backendRefs:
        - name: infra-backend-v3
          port: 8080
    - matches:
        - path:
            type: PathPrefix
            value: /retry/backend-timeout-500ms
      retry:
        codes:
          - 500
        attempts: 3
      timeouts:
        backendRequest: 500ms
        request: 15s
      backendRefs:
        - name: infra-backend-v3
          port: 8080
`
)

// TestRetryCodes is HTTPRouteRetry: every case of the conformance test,
// plus how many requests the backend received for each (the conformance
// test only sees the final status).
func TestRetryCodes(t *testing.T) {
	b := startRetryBackend(t, "infra-backend-v3", nil)
	f := startRetryFixture(t, serviceYAML("infra-backend-v3", b.addr)+retryRouteYAML)
	cases := []struct {
		path         string
		code         string
		succeedAfter int
		want         int
		wantAttempts int
	}{
		{"/retry/code-500-attempts-3", "500", 2, 200, 3},
		{"/retry/code-500-attempts-3", "500", 4, 500, 4},
		{"/retry/code-500-attempts-3", "503", 2, 503, 1},
		{"/retry/code-all-attempts-2", "500", 1, 200, 2},
		{"/retry/code-all-attempts-2", "500", 3, 500, 3},
		{"/retry/code-all-attempts-2", "502", 1, 200, 2},
		{"/retry/code-all-attempts-2", "502", 3, 502, 3},
		{"/retry/code-all-attempts-2", "503", 1, 200, 2},
		{"/retry/code-all-attempts-2", "503", 3, 503, 3},
		{"/retry/code-all-attempts-2", "504", 1, 200, 2},
		{"/retry/code-all-attempts-2", "504", 3, 504, 3},
		{"/retry/code-all-attempts-0", "500", 1, 500, 1},
		{"/retry/code-all-attempts-0", "502", 1, 502, 1},
		{"/retry/code-all-attempts-0", "503", 1, 503, 1},
		{"/retry/code-all-attempts-0", "504", 1, 504, 1},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d %s %s succeedAfter=%d", i, tc.path, tc.code, tc.succeedAfter), func(t *testing.T) {
			path, id := simulate(tc.path, "responseCode", tc.code, "succeedAfter", strconv.Itoa(tc.succeedAfter))
			a := f.do(t, http.MethodGet, path, nil)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.want, a.body)
			}
			if got := len(b.hits(id)); got != tc.wantAttempts {
				t.Fatalf("backend got %d requests, want %d", got, tc.wantAttempts)
			}
			if tc.want == 200 && !bytes.Contains(a.body, []byte(`"backend":"infra-backend-v3"`)) {
				t.Fatalf("the final answer is not the backend's echo: %s", a.body)
			}
		})
	}
}

// TestRetryConnectionError is HTTPRouteRetryConnectionError: the Service
// has a broken endpoint (nothing listens on it: connection refused) and a
// healthy one; with attempts 100 every request must reach the healthy one
// (the conformance test wants 10 consecutive successes).
func TestRetryConnectionError(t *testing.T) {
	healthy := startRetryBackend(t, "infra-backend-connection-error-healthy", nil)
	broken := "127.0.0.1:" + realkong.FreePorts(t, 1)[0] // closed: connect() is refused
	f := startRetryFixture(t, serviceYAML("infra-backend-connection-error", broken, healthy.addr)+retryConnectionErrorRouteYAML)
	for i := range 20 {
		a := f.do(t, http.MethodGet, "/retry-on-connection-errors", nil)
		if a.status != http.StatusOK || !bytes.Contains(a.body, []byte("connection-error-healthy")) {
			t.Fatalf("request %d: status %d, body %s", i, a.status, a.body)
		}
	}
	if !strings.Contains(f.kong.ErrorLog(), "Connection refused") {
		t.Fatal("no request met the broken endpoint: the test proves nothing")
	}
}

// TestRetryWithTimeouts is HTTPRouteRetryWithRequestTimeout and
// HTTPRouteRetryWithBackendTimeout. The request timeout bounds every
// attempt together, so the failing cases must also end near 500 ms, not
// after the retries' own timeouts.
func TestRetryWithTimeouts(t *testing.T) {
	b := startRetryBackend(t, "infra-backend-v3", nil)
	f := startRetryFixture(t, serviceYAML("infra-backend-v3", b.addr)+retryWithTimeoutsRouteYAML)
	cases := []struct {
		name       string
		path       string
		kv         []string
		want       int
		maxElapsed time.Duration
	}{
		{"RequestTimeout succeeds when retries complete within the request timeout",
			"/retry/request-timeout-500ms", []string{"responseCode", "500", "succeedAfter", "1"}, 200, 500 * time.Millisecond},
		{"RequestTimeout fails with 504 when the sum of retry delays exceed the request timeout",
			"/retry/request-timeout-500ms", []string{"responseCode", "500", "succeedAfter", "2", "delayRetry", "300ms"}, 504, 900 * time.Millisecond},
		{"BackendTimeout succeeds when retry attempt complete within the backend timeout",
			"/retry/backend-timeout-500ms", []string{"responseCode", "500", "succeedAfter", "2", "delayRetry", "100ms", "delay", "100ms"}, 200, 2 * time.Second},
		{"BackendTimeout fails with 504 when retry delay exceed the backend timeout",
			"/retry/request-timeout-500ms", []string{"responseCode", "500", "succeedAfter", "2", "delayRetry", "1s", "delay", "1s"}, 504, 900 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The conformance test repeats each probe until it holds
			// (AwaitConvergence); three in a row here.
			for range 3 {
				path, _ := simulate(tc.path, tc.kv...)
				a := f.do(t, http.MethodGet, path, nil)
				if a.status != tc.want {
					t.Fatalf("status %d, want %d after %v; body %s", a.status, tc.want, a.elapsed, a.body)
				}
				t.Logf("%d after %v", a.status, a.elapsed.Round(time.Millisecond))
				// Not a benchmark: a deadline Kong ignored shows up as
				// seconds (attempts x timeout), far above this bound.
				if a.elapsed > tc.maxElapsed {
					t.Fatalf("answered after %v, more than %v", a.elapsed, tc.maxElapsed)
				}
			}
		})
	}
}

const retryExtraRoutesYAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: retry-extras
  namespace: gateway-conformance-infra
spec:
  parentRefs:
    - name: same-namespace
  rules:
    - matches: [{path: {type: PathPrefix, value: /retry/other-endpoint}}]
      retry: {codes: [500], attempts: 1}
      backendRefs: [{name: pair, port: 8080}]
    - matches: [{path: {type: PathPrefix, value: /retry/backoff}}]
      retry: {codes: [503], attempts: 2, backoff: 200ms}
      backendRefs: [{name: single, port: 8080}]
    - matches: [{path: {type: PathPrefix, value: /retry/resets}}]
      retry: {codes: [500], attempts: 3}
      backendRefs: [{name: single, port: 8080}]
    - matches: [{path: {type: PathPrefix, value: /plain}}]
      backendRefs: [{name: single, port: 8080}]
    - matches: [{path: {type: PathPrefix, value: /retried}}]
      retry: {codes: [500], attempts: 3}
      backendRefs: [{name: single, port: 8080}]
`

// TestRetryBehaviour covers what the conformance tests leave out: a retry
// goes to the other endpoint, waits at least the backoff, replays the
// request body, and after a connection failure is retried only for methods
// that may be sent twice.
func TestRetryBehaviour(t *testing.T) {
	var failing *retryBackend
	failing = startRetryBackend(t, "always-500", func(w http.ResponseWriter, r *http.Request) {
		failing.record(r, nil)
		w.WriteHeader(http.StatusInternalServerError)
	})
	good := startRetryBackend(t, "good", nil)
	single := startRetryBackend(t, "single", nil)
	f := startRetryFixture(t, serviceYAML("pair", failing.addr, good.addr)+serviceYAML("single", single.addr)+retryExtraRoutesYAML)

	t.Run("another endpoint", func(t *testing.T) {
		// Every request that meets the failing endpoint first is retried
		// once, on the good one.
		for i := range 20 {
			path, id := simulate("/retry/other-endpoint/x", "succeedAfter", "0")
			a := f.do(t, http.MethodGet, path, nil)
			if a.status != http.StatusOK {
				t.Fatalf("request %d: status %d (failing endpoint got %d, good one %d)", i, a.status, len(failing.hits(id)), len(good.hits(id)))
			}
		}
		if failing.count() == 0 {
			t.Fatal("no request met the failing endpoint: the test proves nothing")
		}
	})

	t.Run("backoff", func(t *testing.T) {
		path, id := simulate("/retry/backoff", "responseCode", "503", "succeedAfter", "2")
		if a := f.do(t, http.MethodGet, path, nil); a.status != http.StatusOK {
			t.Fatalf("status %d", a.status)
		}
		hits := single.hits(id)
		if len(hits) != 3 {
			t.Fatalf("backend got %d requests, want 3", len(hits))
		}
		// 200 ms before the first retry, 400 ms before the second (doubled).
		for i, min := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond} {
			if gap := hits[i+1].at.Sub(hits[i].at); gap < min {
				t.Fatalf("retry %d came %v after the previous attempt, before the %v backoff", i+1, gap, min)
			}
		}
	})

	t.Run("body replayed", func(t *testing.T) {
		// 1 MiB: larger than Kong's client_body_buffer_size, so nginx keeps
		// it in a temporary file that every attempt reads again.
		body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		sum := sha256.Sum256(body)
		path, id := simulate("/retry/resets", "responseCode", "500", "succeedAfter", "2")
		a := f.do(t, http.MethodPost, path, body)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		hits := single.hits(id)
		if len(hits) != 3 {
			t.Fatalf("backend got %d requests, want 3", len(hits))
		}
		for i, h := range hits {
			if h.bodyID != hex.EncodeToString(sum[:]) {
				t.Fatalf("attempt %d got another body", i+1)
			}
		}
	})

	t.Run("final answer only", func(t *testing.T) {
		// Headers and body of the failed attempts do not leak into the
		// answer; HEAD is retried too.
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			path, id := simulate("/retry/resets", "script", "500,500")
			a := f.do(t, method, path, nil)
			if a.status != http.StatusOK || len(single.hits(id)) != 3 {
				t.Fatalf("%s: status %d after %d requests", method, a.status, len(single.hits(id)))
			}
			if v := a.header.Get("X-Failed-Attempt"); v != "" {
				t.Fatalf("%s: the answer carries a failed attempt's header X-Failed-Attempt: %s", method, v)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("%s: Content-Type %q, want the echo's application/json", method, ct)
			}
			if method == http.MethodGet && !bytes.Contains(a.body, []byte(`"backend":"single"`)) {
				t.Fatalf("body %q", a.body)
			}
		}
	})

	t.Run("h2c client", func(t *testing.T) {
		// Kong 3.9 lets buffered proxying (ngx.location.capture) serve
		// HTTP/2 requests (its ngx_lua patch 09); the retries go the same way.
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		h2 := &retryFixture{kong: f.kong, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}}
		path, id := simulate("/retry/resets", "script", "500")
		a := h2.do(t, http.MethodGet, path, nil)
		if a.status != http.StatusOK || len(single.hits(id)) != 2 {
			t.Fatalf("status %d after %d requests", a.status, len(single.hits(id)))
		}
	})

	t.Run("connection reset on a retry", func(t *testing.T) {
		// The backend answers 500, then resets the connection, then
		// echoes: GET and PUT get there; POST stops at the reset, as
		// nginx does not send a POST twice once it may have been
		// processed.
		for _, tc := range []struct {
			method string
			want   int
			hits   int
		}{{http.MethodGet, 200, 3}, {http.MethodPut, 200, 3}, {http.MethodPost, 502, 2}} {
			path, id := simulate("/retry/resets", "script", "500,reset")
			a := f.do(t, tc.method, path, []byte("payload"))
			if a.status != tc.want {
				t.Fatalf("%s: status %d, want %d: %s", tc.method, a.status, tc.want, a.body)
			}
			if got := len(single.hits(id)); got != tc.hits {
				t.Fatalf("%s: backend got %d requests, want %d", tc.method, got, tc.hits)
			}
		}
	})
}

// TestRetryWebSocketPassesThrough: Kong does not buffer upgrades, so a
// WebSocket handshake on a route with drawbridge-retry is proxied as usual
// (and gets only the connection-error retries).
func TestRetryWebSocketPassesThrough(t *testing.T) {
	b := startRetryBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		_, _ = rw.WriteString("echo:" + line)
		_ = rw.Flush()
	})
	f := startRetryFixture(t, serviceYAML("pair", b.addr)+serviceYAML("single", b.addr)+retryExtraRoutesYAML)
	conn, err := net.DialTimeout("tcp", f.kong.HTTP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET /retried/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101")) {
		t.Fatalf("handshake answer: %q", buf[:n])
	}
	_, _ = io.WriteString(conn, "hello\n")
	var got []byte
	for !bytes.Contains(got, []byte("echo:hello")) {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
}

// BenchmarkRetryOverhead measures what drawbridge-retry adds to a request
// whose first answer is final: the same backend behind a rule with retry
// codes (buffered by Kong, checked by the plugin) and one without. It
// reports p50 and p99 over a bounded loop of sequential requests.
func BenchmarkRetryOverhead(b *testing.B) {
	backend := startRetryBackend(b, "single", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok":true}`)
	})

	config := translateManifests(b, retryGatewayYAML+serviceYAML("pair", backend.addr)+serviceYAML("single", backend.addr)+retryExtraRoutesYAML)
	port := realkong.FreePorts(b, 1)[0]
	k := realkong.Start(b, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + port,
		"KONG_PORT_MAPS":    "80:" + port,
	}})
	if err := k.PostConfig(config); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	measure := func(path string, n int) []time.Duration {
		out := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			resp, err := client.Get("http://127.0.0.1:" + port + path)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", path, resp.StatusCode)
			}
			out = append(out, time.Since(start))
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	const n = 2000
	measure("/plain", 200) // warm up both paths and the keepalive pools
	measure("/retried", 200)
	b.ResetTimer()
	for range b.N {
		// Interleave in blocks so load changes on the shared machine hit
		// both alike.
		var plain, retried []time.Duration
		for range 4 {
			plain = append(plain, measure("/plain", n/4)...)
			retried = append(retried, measure("/retried", n/4)...)
		}
		sort.Slice(plain, func(i, j int) bool { return plain[i] < plain[j] })
		sort.Slice(retried, func(i, j int) bool { return retried[i] < retried[j] })
		q := func(d []time.Duration, p float64) float64 {
			return float64(d[int(p*float64(len(d)-1))].Microseconds())
		}
		b.ReportMetric(q(plain, 0.5), "plain-p50-µs")
		b.ReportMetric(q(plain, 0.99), "plain-p99-µs")
		b.ReportMetric(q(retried, 0.5), "retry-p50-µs")
		b.ReportMetric(q(retried, 0.99), "retry-p99-µs")
	}
}
