package kongplugins

// drawbridge-mirror on real Kong: the three upstream conformance tests
// (HTTPRouteRequestMirror, HTTPRouteRequestMultipleMirrors,
// HTTPRouteRequestPercentageMirror, Gateway API v1.7.0) reproduced with
// their own manifests, translated by the real translator, posted to real
// Kong and sent traffic; then what the tests leave out: bodies, a mirror
// that never answers, the in-flight bound, invalid mirror refs.
//
// The conformance tests decide that a mirror received a copy by reading
// the echo-basic pod's log for "Echoing back request made to <path> to
// client" (utils/http/mirror.go); the local backends here write the same
// line for every request, and the assertions read it with the same
// regular expression.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/http2"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// mirrorRequestIDParam is the query parameter the conformance suite adds to
// every request so a backend's log line names one request
// (utils/http/http.go requestIDQueryParam).
const mirrorRequestIDParam = "gateway-api-conformance-request-id"

// mirrorLogRegexp is utils/http.GetMirrorLogRegexp.
func mirrorLogRegexp(path string) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf("Echoing back request made to %s to client", regexp.QuoteMeta(path)))
}

// mirrorSeen is one request a backend received.
type mirrorSeen struct {
	method, uri, host string
	header            http.Header
	body              []byte
}

// mirrorBackend is a local stand-in for one echo-basic pod: it logs the
// line the conformance suite reads, records the request and answers with
// its name. gate, when set, holds every answer until it is closed.
type mirrorBackend struct {
	name string
	srv  *httptest.Server
	gate chan struct{}

	mu       sync.Mutex
	logs     []string
	seen     []mirrorSeen
	inFlight int
	maxIn    int
}

func newMirrorBackend(t testing.TB, name string, gate chan struct{}) *mirrorBackend {
	b := &mirrorBackend{name: name, gate: gate}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.logs = append(b.logs, fmt.Sprintf("Echoing back request made to %s to client (%s)", r.RequestURI, r.RemoteAddr))
		b.seen = append(b.seen, mirrorSeen{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body})
		b.inFlight++
		if b.inFlight > b.maxIn {
			b.maxIn = b.inFlight
		}
		b.mu.Unlock()
		if b.gate != nil {
			select {
			case <-b.gate:
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		}
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"pod": b.name, "path": r.RequestURI})
	}))
	t.Cleanup(func() {
		if b.gate != nil {
			select {
			case <-b.gate:
			default:
				close(b.gate)
			}
		}
		b.srv.CloseClientConnections()
		b.srv.Close()
	})
	return b
}

func (b *mirrorBackend) port() string {
	_, p, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	return p
}

// count is the number of log lines matching re.
func (b *mirrorBackend) count(re *regexp.Regexp) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.logs {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// find returns the recorded requests whose URI is uri.
func (b *mirrorBackend) find(uri string) []mirrorSeen {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []mirrorSeen
	for _, s := range b.seen {
		if s.uri == uri {
			out = append(out, s)
		}
	}
	return out
}

// waitLog polls until a log line matches re, as ExpectMirroredRequest does
// (every second there, every 20 ms here), for at most timeout.
func (b *mirrorBackend) waitLog(re *regexp.Regexp, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if b.count(re) > 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mirrorLab is real Kong with the three conformance backends.
type mirrorLab struct {
	k      *realkong.Kong
	proxy  string // 127.0.0.1:port of the Gateway listener
	v1     *mirrorBackend
	v2, v3 *mirrorBackend
	client *http.Client
}

// startMirrorLab starts Kong with its HTTP proxy on a port that is also the
// Gateway listener's port, so the translated routes match it directly.
func startMirrorLab(t testing.TB, mirrorGate chan struct{}) *mirrorLab {
	port := realkong.FreePorts(t, 1)[0]
	lab := &mirrorLab{proxy: "127.0.0.1:" + port}
	lab.k = realkong.Start(t, realkong.Options{Env: map[string]string{
		"KONG_PROXY_LISTEN": lab.proxy + ", 127.0.0.1:" + realkong.FreePorts(t, 1)[0] + " ssl http2",
	}})
	lab.v1 = newMirrorBackend(t, "infra-backend-v1", nil)
	lab.v2 = newMirrorBackend(t, "infra-backend-v2", mirrorGate)
	lab.v3 = newMirrorBackend(t, "infra-backend-v3", nil)
	lab.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(lab.client.CloseIdleConnections)
	return lab
}

// mirrorInfra is the conformance suite's infrastructure for these tests:
// the gateway-conformance-infra namespace, its same-namespace Gateway and
// the three echo Services, whose single endpoints are local backends.
func (lab *mirrorLab) infra() string {
	_, port, _ := net.SplitHostPort(lab.proxy)
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: drawbridge
spec:
  controllerName: drawbridge.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: same-namespace
  namespace: gateway-conformance-infra
spec:
  gatewayClassName: drawbridge
  listeners:
  - name: http
    port: %s
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Same
`, port)
	for _, be := range []*mirrorBackend{lab.v1, lab.v2, lab.v3} {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: gateway-conformance-infra
spec:
  ports:
  - name: http
    port: 8080
    targetPort: 3000
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-1
  namespace: gateway-conformance-infra
  labels:
    kubernetes.io/service-name: %[1]s
addressType: IPv4
ports:
- name: http
  port: %[2]s
endpoints:
- addresses: [127.0.0.1]
`, be.name, be.port())
	}
	return b.String()
}

// apply translates routes, checks every route is Accepted with
// ResolvedRefs True (GatewayAndHTTPRoutesMustBeAccepted and, for the
// percentage test, HTTPRouteMustHaveResolvedRefsConditionsTrue) and posts
// the config to Kong.
func (lab *mirrorLab) apply(t testing.TB, routes string) *translate.Result {
	t.Helper()
	res := translateResult(t, lab.infra()+"---\n"+routes)
	for _, r := range res.Routes {
		if r.Accepted.Status != "True" || r.ResolvedRefs.Status != "True" {
			t.Fatalf("%s: Accepted %s/%s %q, ResolvedRefs %s/%s %q", r.Route, r.Accepted.Status, r.Accepted.Reason, r.Accepted.Message,
				r.ResolvedRefs.Status, r.ResolvedRefs.Reason, r.ResolvedRefs.Message)
		}
	}
	if err := lab.k.PostConfig(res.JSON); err != nil {
		t.Fatalf("%v\n%s", err, lab.k.ErrorLogTail())
	}
	return res
}

// mirrorCase is one conformance test case: a request, what the backend
// must receive, and the mirrors that must log the request.
type mirrorCase struct {
	path          string
	headers       map[string]string
	expectHeaders map[string]string
	absent        []string
	mirrors       []*mirrorBackend
}

// withRequestID is ExpectedResponse.AddRequestIDQueryParam.
func withRequestID(path string) string {
	return path + "?" + mirrorRequestIDParam + "=" + uuid.NewString()
}

// roundTrip sends one request through Kong and checks what the suite's
// MakeRequestAndExpectEventuallyConsistentResponse checks: 200 from
// infra-backend-v1, which received the expected path, headers and none of
// the absent ones.
func (lab *mirrorLab) roundTrip(path string, c mirrorCase) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+lab.proxy+path, nil)
	if err != nil {
		return err
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := lab.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var echo struct{ Pod, Path string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &echo) != nil || echo.Pod != lab.v1.name {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	got := lab.v1.find(path)
	if len(got) == 0 {
		return fmt.Errorf("GET %s: infra-backend-v1 did not receive it", path)
	}
	h := got[len(got)-1].header
	for k, want := range c.expectHeaders {
		if v := strings.Join(h.Values(k), ","); v != want {
			return fmt.Errorf("GET %s: backend header %s = %q, want %q", path, k, v, want)
		}
	}
	for _, k := range c.absent {
		if len(h.Values(k)) > 0 {
			return fmt.Errorf("GET %s: backend header %s = %q, want none", path, k, h.Values(k))
		}
	}
	return nil
}

// runMirrorCases does what HTTPRouteRequestMirror and
// HTTPRouteRequestMultipleMirrors do for each case: a fresh request ID, a
// request that the backend must receive as expected, then every mirror
// must log the request's path. It also checks what the upstream tests do
// not: the copy carries what the backend received (path, query, filtered
// headers).
func (lab *mirrorLab) runMirrorCases(t *testing.T, cases []mirrorCase) {
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d%s", i, strings.ReplaceAll(c.path, "/", "_")), func(t *testing.T) {
			path := withRequestID(c.path)
			if err := lab.roundTrip(path, c); err != nil {
				t.Fatalf("%v\n%s", err, lab.k.ErrorLogTail())
			}
			for _, m := range c.mirrors {
				if !m.waitLog(mirrorLogRegexp(path), 10*time.Second) {
					t.Fatalf("no mirrored request for %s in %s's log\n%s", path, m.name, lab.k.ErrorLogTail())
				}
				copies := m.find(path)
				if len(copies) != 1 {
					t.Fatalf("%s received %d copies of %s, want 1", m.name, len(copies), path)
				}
				orig := lab.v1.find(path)[0]
				cp := copies[0]
				if cp.method != orig.method || cp.host != orig.host {
					t.Errorf("copy %s %s (Host %s), backend got %s %s (Host %s)", cp.method, cp.uri, cp.host, orig.method, orig.uri, orig.host)
				}
				for k := range c.expectHeaders {
					if a, b := strings.Join(cp.header.Values(k), ","), strings.Join(orig.header.Values(k), ","); a != b {
						t.Errorf("copy header %s = %q, backend got %q", k, a, b)
					}
				}
				for _, k := range c.absent {
					if v := cp.header.Values(k); len(v) > 0 {
						t.Errorf("copy header %s = %q, want none", k, v)
					}
				}
			}
			// A mirror that is not listed must not get a copy.
			for _, m := range []*mirrorBackend{lab.v2, lab.v3} {
				listed := false
				for _, l := range c.mirrors {
					listed = listed || l == m
				}
				if !listed && m.count(mirrorLogRegexp(path)) > 0 {
					t.Errorf("%s received a copy of %s without being a mirror of its rule", m.name, path)
				}
			}
		})
	}
}

// The header-modifier case of the three tests: the rule's filters run
// before the copy is taken.
var mirrorModifyHeaders = mirrorCase{
	headers:       map[string]string{"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1"},
	expectHeaders: map[string]string{"X-Header-Add": "header-val-1", "X-Header-Add-Append": "append-val-1,header-val-2", "X-Header-Set": "set-overwrites-values"},
	absent:        []string{"X-Header-Remove"},
}

func withPath(c mirrorCase, path string, mirrors ...*mirrorBackend) mirrorCase {
	c.path = path
	c.mirrors = mirrors
	return c
}

// httproute-request-mirror.yaml, v1.7.0, verbatim.
const mirrorRouteYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: request-mirror
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /mirror
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
  - matches:
    - path:
        type: PathPrefix
        value: /mirror-and-modify-headers
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Header-Set
          value: set-overwrites-values
        add:
        - name: X-Header-Add
          value: header-val-1
        - name: X-Header-Add-Append
          value: header-val-2
        remove:
        - X-Header-Remove
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
`

// httproute-request-multiple-mirrors.yaml, v1.7.0, verbatim.
const multipleMirrorsRouteYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: request-multiple-mirrors
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /multi-mirror
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v3
          namespace: gateway-conformance-infra
          port: 8080
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
  - matches:
    - path:
        type: PathPrefix
        value: /multi-mirror-and-modify-request-headers
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Header-Set
          value: set-overwrites-values
        add:
        - name: X-Header-Add
          value: header-val-1
        - name: X-Header-Add-Append
          value: header-val-2
        remove:
        - X-Header-Remove
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v3
          namespace: gateway-conformance-infra
          port: 8080
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
`

// httproute-request-percentage-mirror.yaml, v1.7.0, verbatim.
const percentageMirrorRouteYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: request-percentage-mirror
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /percent-mirror
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
        percent: 20
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
  - matches:
    - path:
        type: PathPrefix
        value: /percent-mirror-fraction
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
        fraction:
          numerator: 25
          denominator: 50
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
  - matches:
    - path:
        type: PathPrefix
        value: /percent-mirror-and-modify-headers
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: X-Header-Set
          value: set-overwrites-values
        add:
        - name: X-Header-Add
          value: header-val-1
        - name: X-Header-Add-Append
          value: header-val-2
        remove:
        - X-Header-Remove
    - type: RequestMirror
      requestMirror:
        backendRef:
          name: infra-backend-v2
          namespace: gateway-conformance-infra
          port: 8080
        percent: 35
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      namespace: gateway-conformance-infra
`

// TestMirrorConformanceRequestMirror reproduces HTTPRouteRequestMirror.
func TestMirrorConformanceRequestMirror(t *testing.T) {
	lab := startMirrorLab(t, nil)
	lab.apply(t, mirrorRouteYAML)
	lab.runMirrorCases(t, []mirrorCase{
		{path: "/mirror", mirrors: []*mirrorBackend{lab.v2}},
		withPath(mirrorModifyHeaders, "/mirror-and-modify-headers", lab.v2),
	})
}

// TestMirrorConformanceMultipleMirrors reproduces
// HTTPRouteRequestMultipleMirrors.
func TestMirrorConformanceMultipleMirrors(t *testing.T) {
	lab := startMirrorLab(t, nil)
	lab.apply(t, multipleMirrorsRouteYAML)
	lab.runMirrorCases(t, []mirrorCase{
		{path: "/multi-mirror", mirrors: []*mirrorBackend{lab.v2, lab.v3}},
		withPath(mirrorModifyHeaders, "/multi-mirror-and-modify-request-headers", lab.v2, lab.v3),
	})
}

// TestMirrorConformancePercentageMirror reproduces
// HTTPRouteRequestPercentageMirror: per case, one request that must
// succeed, then up to 5 rounds of 500 requests (10 at a time) with a fresh
// request ID, until the number of copies infra-backend-v2 logged for that
// ID is within 3 binomial standard deviations of the share. Like the
// upstream test, the count is read once, right after the last answer.
func TestMirrorConformancePercentageMirror(t *testing.T) {
	const (
		concurrent = 10
		total      = 500
		checks     = 5
		sigmas     = 3.0
	)
	lab := startMirrorLab(t, nil)
	lab.apply(t, percentageMirrorRouteYAML)
	cases := []struct {
		c       mirrorCase
		percent float64
	}{
		{mirrorCase{path: "/percent-mirror"}, 20},
		{mirrorCase{path: "/percent-mirror-fraction"}, 50},
		{withPath(mirrorModifyHeaders, "/percent-mirror-and-modify-headers"), 35},
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.c.path, "/"), func(t *testing.T) {
			if err := lab.roundTrip(tc.c.path, tc.c); err != nil {
				t.Fatal(err)
			}
			p := tc.percent / 100
			want := total * p
			margin := sigmas * math.Sqrt(total*p*(1-p))
			for k := range checks {
				path := withRequestID(tc.c.path)
				sem := make(chan struct{}, concurrent)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var errs []error
				for range total {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						if err := lab.roundTrip(path, tc.c); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(errs) > 0 {
					t.Fatalf("%d of %d requests failed, first: %v", len(errs), total, errs[0])
				}
				got := float64(lab.v2.count(mirrorLogRegexp(path)))
				time.Sleep(500 * time.Millisecond)
				later := lab.v2.count(mirrorLogRegexp(path))
				t.Logf("check %d: %s copies %v right after the last answer, %d half a second later; want %.0f (%.1f..%.1f)",
					k+1, lab.v2.name, got, later, want, want-margin, want+margin)
				if got >= want-margin && got <= want+margin {
					return
				}
			}
			t.Fatalf("mirrored share out of tolerance in all %d checks", checks)
		})
	}
}

// mirrorSimpleRoute is one rule on /m mirrored to infra-backend-v2.
const mirrorSimpleRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: simple-mirror
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path: {type: PathPrefix, value: /m}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v2, port: 8080}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /plain}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
`

// TestMirrorBodies: a body within the limit (64 KiB by default) is copied,
// whether it has a length, is chunked, comes over HTTP/2 without a length,
// or is larger than nginx's in-memory body buffer (8 KiB, then read from
// nginx's temporary file); a request whose body is over the limit is not
// mirrored at all, and the client's request is untouched either way.
func TestMirrorBodies(t *testing.T) {
	lab := startMirrorLab(t, nil)
	lab.apply(t, mirrorSimpleRoute)
	// HTTP/2 with prior knowledge on the plain listener: Kong's http2 flag
	// turns it on server-wide, and an HTTP/2 stream may carry a body
	// without a length.
	h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	cases := []struct {
		name    string
		size    int
		chunked bool
		h2      bool
		copied  bool
	}{
		{"small", 11, false, false, true},
		{"chunked", 300, true, false, true},
		{"file-buffered", 40 << 10, false, false, true},
		{"at-limit", 64 << 10, false, false, true},
		{"over-limit", 64<<10 + 1, false, false, false},
		{"chunked-over-limit", 100 << 10, true, false, false},
		{"h2", 500, false, true, true},
		{"h2-file-buffered", 20 << 10, false, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := withRequestID("/m/" + c.name)
			body := bytes.Repeat([]byte("0123456789abcdef"), c.size/16+1)[:c.size]
			var rd io.Reader = bytes.NewReader(body)
			if c.chunked {
				rd = io.MultiReader(bytes.NewReader(body)) // unknown length: chunked
			}
			client := lab.client
			if c.h2 {
				client = h2
			}
			req, _ := http.NewRequest(http.MethodPost, "http://"+lab.proxy+path, rd)
			if c.h2 {
				req.ContentLength = -1 // no content-length on the HTTP/2 stream
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d\n%s", resp.StatusCode, lab.k.ErrorLogTail())
			}
			got := lab.v1.find(path)
			if len(got) != 1 || !bytes.Equal(got[0].body, body) {
				t.Fatalf("backend got %d requests, body intact %v", len(got), len(got) == 1 && bytes.Equal(got[0].body, body))
			}
			if !c.copied {
				// The copy would be sent at once; give it the time a copy
				// takes here, then check none came.
				lab.waitCopies(t)
				if n := len(lab.v2.find(path)); n != 0 {
					t.Fatalf("mirror got %d copies of a request whose body is over the limit", n)
				}
				return
			}
			if !lab.v2.waitLog(mirrorLogRegexp(path), 10*time.Second) {
				t.Fatalf("no copy\n%s", lab.k.ErrorLogTail())
			}
			cp := lab.v2.find(path)[0]
			if cp.method != http.MethodPost || !bytes.Equal(cp.body, body) {
				t.Fatalf("copy %s with %d body bytes, want POST with %d", cp.method, len(cp.body), len(body))
			}
			if cl := cp.header.Get("Content-Length"); cl != fmt.Sprint(len(body)) {
				t.Errorf("copy Content-Length %q, want %d", cl, len(body))
			}
			if te := cp.header.Get("Transfer-Encoding"); te != "" {
				t.Errorf("copy Transfer-Encoding %q", te)
			}
		})
	}
	if log := lab.k.ErrorLog(); !strings.Contains(log, "body_too_large=") {
		t.Errorf("the plugin did not report the copies it dropped for their body size")
	}
}

// waitCopies sends a request that is not mirrored and waits for in-flight
// copies to settle: a copy leaves Kong right after the access phase of its
// request, so by the time a later request on the same connection has been
// answered and another 200 ms passed, earlier copies have arrived.
func (lab *mirrorLab) waitCopies(t *testing.T) {
	t.Helper()
	resp, err := lab.client.Get("http://" + lab.proxy + "/plain")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond)
}

// TestMirrorNeverDelaysTheClient: the mirror holds every copy unanswered
// until the test lets it go, and the clients' answers arrive anyway. No
// clock is involved: the mirror answers only after every client has its
// answer, so a client that waited for its copy would never get one.
func TestMirrorNeverDelaysTheClient(t *testing.T) {
	gate := make(chan struct{})
	lab := startMirrorLab(t, gate)
	lab.apply(t, mirrorSimpleRoute)
	const n = 20
	for i := range n {
		path := withRequestID(fmt.Sprintf("/m/held-%d", i))
		resp, err := lab.client.Get("http://" + lab.proxy + path)
		if err != nil {
			t.Fatalf("request %d: %v (the client waited for the held copy?)\n%s", i, err, lab.k.ErrorLogTail())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for lab.v2.count(regexp.MustCompile("/m/held-")) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lab.v2.mu.Lock()
	held := lab.v2.inFlight
	lab.v2.mu.Unlock()
	if held != n {
		t.Fatalf("mirror holds %d copies, want all %d in flight while the clients already have their answers", held, n)
	}
	close(gate)
}

// TestMirrorInFlightBound: with max_in_flight 3 and a mirror that holds
// every copy, a worker has 3 copies in flight and drops the others (and
// says so in its log) while every client is answered; once the mirror
// answers, copies flow again.
func TestMirrorInFlightBound(t *testing.T) {
	gate := make(chan struct{})
	lab := startMirrorLab(t, gate)
	res := translateResult(t, lab.infra()+"---\n"+mirrorSimpleRoute)
	cfg := mirrorSetPluginField(t, res.JSON, "max_in_flight", 3)
	if err := lab.k.PostConfig(cfg); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		resp, err := lab.client.Get("http://" + lab.proxy + withRequestID(fmt.Sprintf("/m/bound-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	lab.waitCopies(t)
	if got := lab.v2.count(regexp.MustCompile("/m/bound-")); got != 3 {
		t.Fatalf("mirror received %d copies with max_in_flight 3, want 3", got)
	}
	// The first drop is reported at once, the next ones within 10 s.
	if log := lab.k.ErrorLog(); !regexp.MustCompile(`\[drawbridge-mirror\] copies since last report: .*busy=1 .*\(in flight 3\)`).MatchString(log) {
		t.Errorf("the plugin did not report the copy dropped over its in-flight bound\n%s", lab.k.ErrorLogTail())
	}
	close(gate)
	// The held copies are answered, so the worker has room again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		path := withRequestID("/m/after")
		resp, err := lab.client.Get("http://" + lab.proxy + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if lab.v2.waitLog(mirrorLogRegexp(path), 500*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no copy after the mirror answered the held ones\n%s", lab.k.ErrorLogTail())
		}
	}
}

// mirrorSetPluginField sets a field of every drawbridge-mirror plugin of
// a translated config (settings the translator leaves at their defaults).
func mirrorSetPluginField(t *testing.T, cfgJSON []byte, field string, value any) []byte {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range cfg["services"].([]any) {
		for _, r := range s.(map[string]any)["routes"].([]any) {
			plugins, _ := r.(map[string]any)["plugins"].([]any)
			for _, p := range plugins {
				pm := p.(map[string]any)
				if pm["name"] == "drawbridge-mirror" {
					pm["config"].(map[string]any)[field] = value
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no drawbridge-mirror plugin in the config")
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMirrorInvalidRefs: mirrors whose backendRef does not resolve get
// ResolvedRefs=False with the upstream reasons, are left out of the
// configuration, and the rule keeps serving its backend and its valid
// mirror; Kong accepts the result.
func TestMirrorInvalidRefs(t *testing.T) {
	lab := startMirrorLab(t, nil)
	routes := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: invalid-mirrors
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path: {type: PathPrefix, value: /m}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: no-such-service, port: 8080}
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v3, namespace: other-ns, port: 8080}
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v2, port: 8080}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
`
	res := translateResult(t, lab.infra()+"---\n"+routes)
	if len(res.Routes) != 1 {
		t.Fatalf("want one route result, got %d", len(res.Routes))
	}
	r := res.Routes[0]
	if r.Accepted.Status != "True" {
		t.Fatalf("Accepted %s/%s %q", r.Accepted.Status, r.Accepted.Reason, r.Accepted.Message)
	}
	if r.ResolvedRefs.Status != "False" || r.ResolvedRefs.Reason != "BackendNotFound" ||
		!strings.Contains(r.ResolvedRefs.Message, "rules[0].filters[0].requestMirror.backendRef: Service gateway-conformance-infra/no-such-service does not exist") ||
		!strings.Contains(r.ResolvedRefs.Message, "rules[0].filters[1].requestMirror.backendRef: Service other-ns/infra-backend-v3 is in another namespace and no ReferenceGrant") {
		t.Fatalf("ResolvedRefs %s/%s %q", r.ResolvedRefs.Status, r.ResolvedRefs.Reason, r.ResolvedRefs.Message)
	}
	if err := lab.k.PostConfig(res.JSON); err != nil {
		t.Fatal(err)
	}
	lab.runMirrorCases(t, []mirrorCase{{path: "/m/x", mirrors: []*mirrorBackend{lab.v2}}})
}

// TestMirrorSchemaOnRealKong: Kong loads drawbridge-mirror's schema and
// refuses what it forbids, with the plugin's own message.
func TestMirrorSchemaOnRealKong(t *testing.T) {
	lab := startMirrorLab(t, nil)
	res := translateResult(t, lab.infra()+"---\n"+mirrorSimpleRoute)
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"mirrors", []any{map[string]any{"name": "x", "endpoints": []string{"127.0.0.1:1"}, "numerator": 3, "denominator": 2}}, "numerator must be less than or equal to denominator"},
		{"mirrors", []any{map[string]any{"name": "x", "endpoints": []string{"127.0.0.1"}}}, "is not host:port"},
		{"mirrors", []any{}, "mirrors"},
		{"max_in_flight", 0, "max_in_flight"},
	} {
		err := lab.k.PostConfig(mirrorSetPluginField(t, res.JSON, c.field, c.value))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%v: Kong answered %v, want a refusal naming %q", c.field, c.value, err, c.want)
		}
	}
}

// BenchmarkMirrorLatency measures what mirroring adds to the client's
// latency on real Kong: sequential requests, one every 5 ms, taking turns
// between
// a route without mirror, the same route mirrored to a backend that answers
// at once, and one mirrored to a backend that answers after 500 ms (one
// copy every 15 ms, so about 33 in flight, under the default bound of
// 128). b.N is the number of requests per variant. It reports p50 and p99
// of each variant and logs p90, max and the copies received; it checks
// only that every copy arrived and every answer was 200, never a time.
//
//	KONG_DIR=... go test ./test/kongplugins/ -run '^$' -bench MirrorLatency -benchtime 1000x -v
func BenchmarkMirrorLatency(b *testing.B) {
	t := b
	const (
		pace  = 5 * time.Millisecond
		slowD = 500 * time.Millisecond
	)
	n := b.N
	lab := startMirrorLab(t, nil)
	slow := newMirrorBackend(t, "infra-backend-v3", nil)
	slowHandler := slow.srv.Config.Handler
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slowD)
		slowHandler.ServeHTTP(w, r)
	})
	lab.v3 = slow
	lab.apply(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: latency
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path: {type: PathPrefix, value: /plain}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /fast}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v2, port: 8080}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
  - matches:
    - path: {type: PathPrefix, value: /slow}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v3, port: 8080}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
`)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) time.Duration {
		start := time.Now()
		resp, err := client.Get("http://" + lab.proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return d
	}
	variants := []struct {
		prefix string
		b      *mirrorBackend
	}{{"/plain", nil}, {"/fast", lab.v2}, {"/slow", slow}}
	// Warm the connection and Kong's caches.
	for range 50 {
		for _, v := range variants {
			get(v.prefix + "/warm")
		}
	}
	// The variants take turns request by request (the first of each turn
	// rotates), so the load of the shared machine falls on all alike.
	lat := make([][]time.Duration, len(variants))
	next := time.Now()
	for i := range n {
		for j := range variants {
			v := (i + j) % len(variants)
			time.Sleep(time.Until(next))
			next = next.Add(pace)
			lat[v] = append(lat[v], get(fmt.Sprintf("%s/%d", variants[v].prefix, i)))
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(math.Ceil(p*float64(len(s))))-1]
	}
	time.Sleep(slowD + 500*time.Millisecond)
	for vi, v := range variants {
		copies := "-"
		if v.b != nil {
			got := v.b.count(regexp.MustCompile("made to " + v.prefix + "/[0-9]+ "))
			copies = fmt.Sprintf("%d/%d", got, n)
			if got != n {
				t.Errorf("%s: mirror received %d of %d copies\n%s", v.prefix, got, n, lab.k.ErrorLogTail())
			}
		}
		t.Logf("%-7s n %d  p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  max %7.3f ms  copies %s", v.prefix, n,
			ms(pct(lat[vi], 0.50)), ms(pct(lat[vi], 0.90)), ms(pct(lat[vi], 0.99)), ms(pct(lat[vi], 1)), copies)
		name := strings.TrimPrefix(v.prefix, "/")
		b.ReportMetric(ms(pct(lat[vi], 0.50)), name+"-p50-ms")
		b.ReportMetric(ms(pct(lat[vi], 0.99)), name+"-p99-ms")
	}
	b.ReportMetric(0, "ns/op")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// TestMirrorExternalName: a mirror Service of type ExternalName gives the
// plugin a host name, which it resolves with Kong's DNS client in the
// copy's timer (here "localhost", answered from /etc/hosts).
func TestMirrorExternalName(t *testing.T) {
	lab := startMirrorLab(t, nil)
	port := lab.v2.port()
	lab.apply(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: external-mirror
  namespace: gateway-conformance-infra
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: http
    port: %[1]s
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: external-mirror
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path: {type: PathPrefix, value: /ext}
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: external-mirror, port: %[1]s}
    backendRefs:
    - {name: infra-backend-v1, port: 8080}
`, port))
	lab.runMirrorCases(t, []mirrorCase{{path: "/ext", mirrors: []*mirrorBackend{lab.v2}}})
}

// TestMirrorWithPerBackendFilters: a rule whose backendRefs carry their own
// header filters (drawbridge-backend-select, PRIORITY 799) and a mirror
// (800): the copy carries the rule's filter but not the filter of the
// backendRef that served the request, which belongs to that backend only.
func TestMirrorWithPerBackendFilters(t *testing.T) {
	lab := startMirrorLab(t, nil)
	lab.apply(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mirror-backend-filters
  namespace: gateway-conformance-infra
spec:
  parentRefs:
  - name: same-namespace
  rules:
  - matches:
    - path: {type: PathPrefix, value: /pb}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Rule, value: rule}]
    - type: RequestMirror
      requestMirror:
        backendRef: {name: infra-backend-v2, port: 8080}
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      filters:
      - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Backend, value: v1}]}}
    - name: infra-backend-v1
      port: 8080
      weight: 0
      filters:
      - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Backend, value: never}]}}
`)
	path := withRequestID("/pb")
	if err := lab.roundTrip(path, mirrorCase{expectHeaders: map[string]string{"X-Rule": "rule", "X-Backend": "v1"}}); err != nil {
		t.Fatalf("%v\n%s", err, lab.k.ErrorLogTail())
	}
	if !lab.v2.waitLog(mirrorLogRegexp(path), 10*time.Second) {
		t.Fatalf("no copy\n%s", lab.k.ErrorLogTail())
	}
	cp := lab.v2.find(path)[0]
	if cp.header.Get("X-Rule") != "rule" || cp.header.Get("X-Backend") != "" {
		t.Fatalf("copy X-Rule %q X-Backend %q, want rule and none", cp.header.Get("X-Rule"), cp.header.Get("X-Backend"))
	}
}
