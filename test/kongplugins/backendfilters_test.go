package kongplugins

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

// getEcho sends GET path with headers and decodes the echo backend's answer.
func getEcho(client *http.Client, addr, path string, headers map[string]string) (echoed, *http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return echoed{}, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return echoed{}, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return echoed{}, resp, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var e echoed
	if err := json.Unmarshal(body, &e); err != nil {
		return echoed{}, resp, fmt.Errorf("GET %s: echo body: %v", path, err)
	}
	return e, resp, nil
}

// backendWeightsRoute is the HTTPRoute of the v1.7.0 conformance test
// HTTPRouteRequestHeaderModifierBackendWeights
// (tests/httproute-request-header-modifier-backend-weights.yaml).
const backendWeightsRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: request-header-modifier-backend-weights, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - backendRefs:
    - name: infra-backend-v1
      port: 8080
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: Backend, value: infra-backend-v1}]}
    - name: infra-backend-v2
      port: 8080
      weight: 10
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: Backend, value: infra-backend-v2}]}
`

// TestHTTPRouteRequestHeaderModifierBackendWeights reproduces the v1.7.0
// conformance test of that name on real Kong 3.9.3: one rule, two
// backendRefs of weight 10 that each set a different Backend header. Every
// one of 100 requests must reach the pod its Backend header names. The
// conformance test does not check the split; with one Kong worker the
// picker's smooth weighted round robin makes it exactly 50/50, which is
// checked too.
func TestHTTPRouteRequestHeaderModifierBackendWeights(t *testing.T) {
	v1 := echoBackend(t, "infra-backend-v1-7d4f9")
	v2 := echoBackend(t, "infra-backend-v2-5c8b2")
	k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
		return []string{gatewayOn(k), backendService("infra-backend-v1", v1.Listener.Addr().String()),
			backendService("infra-backend-v2", v2.Listener.Addr().String()), backendWeightsRoute}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	// "Assert request succeeds before checking traffic": 200, from a
	// backend in the infrastructure namespace, path /.
	e, _, err := getEcho(client, k.HTTP, "/", nil)
	if err != nil || e.Namespace != conformanceNS || e.Path != "/" || e.Method != "GET" {
		t.Fatalf("first request: %+v %v\n%s", e, err, k.ErrorLogTail())
	}
	seen := map[string]int{}
	for range 100 {
		e, _, err := getEcho(client, k.HTTP, "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		backends := http.Header(e.Headers).Values("Backend")
		if len(backends) != 1 {
			t.Fatalf("expected a single 'Backend' header to have been set, got %d", len(backends))
		}
		if !strings.HasPrefix(e.Pod, backends[0]) {
			t.Fatalf("Backend %q reached pod %q", backends[0], e.Pod)
		}
		seen[backends[0]]++
	}
	if seen["infra-backend-v1"] != 50 || seen["infra-backend-v2"] != 50 {
		t.Errorf("weights 10/10 split 100 requests as %v, want 50/50", seen)
	}
}

// backendHeaderRoutes are the HTTPRoute of the v1.7.0 conformance test
// HTTPRouteBackendRequestHeaderModifier
// (tests/httproute-request-header-modifier-backend.yaml), field for field.
// With extra, every rule gets a second backendRef of weight 0 with another
// filter, which makes the backendRefs' filters differ: the rule is then
// served through drawbridge-backend-select instead of the rule-level
// request-transformer, and must answer the same.
func backendHeaderRoutes(extra bool) string {
	rules := []struct{ path, filter string }{
		{"/set", `{set: [{name: X-Header-Set, value: set-overwrites-values}]}`},
		{"/add", `{add: [{name: X-Header-Add, value: add-appends-values}]}`},
		{"/remove", `{remove: [X-Header-Remove]}`},
		{"/multiple", `{set: [{name: X-Header-Set-1, value: header-set-1}, {name: X-Header-Set-2, value: header-set-2}],
            add: [{name: X-Header-Add-1, value: header-add-1}, {name: X-Header-Add-2, value: header-add-2}, {name: X-Header-Add-3, value: header-add-3}],
            remove: [X-Header-Remove-1, X-Header-Remove-2]}`},
		{"/case-insensitivity", `{set: [{name: X-Header-Set, value: header-set}], add: [{name: X-Header-Add, value: header-add}], remove: [X-Header-Remove]}`},
	}
	var b strings.Builder
	b.WriteString(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: request-header-modifier, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
`)
	for _, r := range rules {
		fmt.Fprintf(&b, `  - matches: [{path: {type: PathPrefix, value: %s}}]
    backendRefs:
    - name: infra-backend-v1
      port: 8080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: %s
`, r.path, r.filter)
		if extra {
			b.WriteString(`    - name: infra-backend-v2
      port: 8080
      weight: 0
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: Backend, value: never}]}
`)
		}
	}
	return b.String()
}

// headerCase is one case of HTTPRouteRequestHeaderModifier's table (which
// HTTPRouteBackendRequestHeaderModifier reuses).
type headerCase struct {
	path   string
	sent   map[string]string
	want   map[string]string // header values at the backend, joined with ","
	absent []string
}

var backendHeaderCases = []headerCase{
	{"/set", map[string]string{"Some-Other-Header": "val"},
		map[string]string{"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, nil},
	{"/set", map[string]string{"Some-Other-Header": "val", "X-Header-Set": "some-other-value"},
		map[string]string{"Some-Other-Header": "val", "X-Header-Set": "set-overwrites-values"}, nil},
	{"/add", map[string]string{"Some-Other-Header": "val"},
		map[string]string{"Some-Other-Header": "val", "X-Header-Add": "add-appends-values"}, nil},
	{"/add", map[string]string{"Some-Other-Header": "val", "X-Header-Add": "some-other-value"},
		map[string]string{"Some-Other-Header": "val", "X-Header-Add": "some-other-value,add-appends-values"}, nil},
	{"/remove", map[string]string{"X-Header-Remove": "val"}, nil, []string{"X-Header-Remove"}},
	{"/multiple", map[string]string{"X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2", "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val"},
		map[string]string{"X-Header-Set-1": "header-set-1", "X-Header-Set-2": "header-set-2", "X-Header-Add-1": "header-add-1",
			"X-Header-Add-2": "add-val-2,header-add-2", "X-Header-Add-3": "header-add-3", "Another-Header": "another-header-val"},
		[]string{"X-Header-Remove-1", "X-Header-Remove-2"}},
	{"/case-insensitivity", map[string]string{"x-header-set": "original-val-set", "x-header-add": "original-val-add", "x-header-remove": "original-val-remove", "Another-Header": "another-header-val"},
		map[string]string{"X-Header-Set": "header-set", "X-Header-Add": "original-val-add,header-add", "Another-Header": "another-header-val"},
		[]string{"x-header-remove", "X-Header-Remove"}},
}

// TestHTTPRouteBackendRequestHeaderModifier reproduces the seven cases of
// the v1.7.0 conformance test of that name on real Kong 3.9.3, once as the
// test writes the route (identical backendRef filters, folded into the
// rule) and once with the rules forced through drawbridge-backend-select.
func TestHTTPRouteBackendRequestHeaderModifier(t *testing.T) {
	for _, extra := range []bool{false, true} {
		t.Run(map[bool]string{false: "as in the conformance test", true: "through drawbridge-backend-select"}[extra], func(t *testing.T) {
			v1 := echoBackend(t, "infra-backend-v1-7d4f9")
			v2 := echoBackend(t, "infra-backend-v2-5c8b2")
			k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
				return []string{gatewayOn(k), backendService("infra-backend-v1", v1.Listener.Addr().String()),
					backendService("infra-backend-v2", v2.Listener.Addr().String()), backendHeaderRoutes(extra)}
			})
			if got := slices.Contains(routePluginNames(t, k), "drawbridge-backend-select"); got != extra {
				t.Fatalf("drawbridge-backend-select configured: %v, want %v", got, extra)
			}
			client := &http.Client{Timeout: 5 * time.Second}
			for i, c := range backendHeaderCases {
				e, _, err := getEcho(client, k.HTTP, c.path, c.sent)
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				if e.Path != c.path || e.Namespace != conformanceNS || !strings.HasPrefix(e.Pod, "infra-backend-v1") {
					t.Errorf("case %d: reached %s %s pod %s", i, e.Path, e.Namespace, e.Pod)
				}
				h := http.Header(e.Headers)
				for name, want := range c.want {
					if got := strings.Join(h.Values(name), ","); got != want {
						t.Errorf("case %d %s: backend saw %s %q, want %q", i, c.path, name, got, want)
					}
				}
				for _, name := range c.absent {
					if v := h.Values(name); len(v) > 0 {
						t.Errorf("case %d %s: backend saw %s %q, want it absent", i, c.path, name, v)
					}
				}
				if v := h.Values("Backend"); len(v) > 0 {
					t.Errorf("case %d: the weight-0 backendRef's filter was applied: Backend %q", i, v)
				}
			}
		})
	}
}

// TestBackendSelectWeightsAndRetries checks what the conformance tests do
// not: uneven weights are honoured exactly, a backendRef with several
// endpoints spreads over them, a dead endpoint is retried on another
// endpoint of the same backendRef (Kong's balancer retries, as for rules
// without per-backend filters), and rule-level and response filters apply.
func TestBackendSelectWeightsAndRetries(t *testing.T) {
	a1 := echoBackend(t, "a-one")
	a2 := echoBackend(t, "a-two")
	b1 := echoBackend(t, "b-one")
	dead := realkong.FreePorts(t, 1)[0] // nothing listens there
	routes := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: weights, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Rule, value: rule}, {name: Backend, value: overridden}]}
    backendRefs:
    - name: svc-a
      port: 8080
      weight: 1
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: Backend, value: svc-a}]}
      - type: ResponseHeaderModifier
        responseHeaderModifier: {set: [{name: X-Served-By, value: svc-a}]}
    - name: svc-b
      port: 8080
      weight: 3
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: Backend, value: svc-b}]}
`
	k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
		return []string{gatewayOn(k),
			backendService("svc-a", a1.Listener.Addr().String(), a2.Listener.Addr().String(), "127.0.0.1:"+dead),
			backendService("svc-b", b1.Listener.Addr().String()), routes}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	byBackend, byPod := map[string]int{}, map[string]int{}
	for range 400 {
		e, resp, err := getEcho(client, k.HTTP, "/", nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, k.ErrorLogTail())
		}
		h := http.Header(e.Headers)
		backend := h.Get("Backend")
		if h.Get("X-Rule") != "rule" || len(h.Values("Backend")) != 1 {
			t.Fatalf("backend saw X-Rule %q Backend %q", h.Values("X-Rule"), h.Values("Backend"))
		}
		if !strings.HasPrefix(e.Pod, strings.TrimPrefix(backend, "svc-")) {
			t.Fatalf("Backend %q reached pod %q", backend, e.Pod)
		}
		if served := resp.Header.Get("X-Served-By"); (backend == "svc-a") != (served == "svc-a") {
			t.Fatalf("Backend %q answered with X-Served-By %q", backend, served)
		}
		byBackend[backend]++
		byPod[e.Pod]++
	}
	if byBackend["svc-a"] != 100 || byBackend["svc-b"] != 300 {
		t.Errorf("weights 1/3 split 400 requests as %v, want 100/300", byBackend)
	}
	if byPod["a-one"] == 0 || byPod["a-two"] == 0 {
		t.Errorf("svc-a's live endpoints got %v", byPod)
	}
	// Kong's balancer tried the dead endpoint and retried another one.
	if log := k.ErrorLog(); !strings.Contains(log, "127.0.0.1:"+dead) || !strings.Contains(log, "connect() failed") {
		t.Errorf("no failed connection to the dead endpoint 127.0.0.1:%s in Kong's error log", dead)
	}
	t.Logf("400 requests: backends %v, pods %v", byBackend, byPod)
	if n := strings.Count(k.ErrorLog(), "drawbridge-backend-select"); n > 0 {
		t.Errorf("plugin logged %d errors:\n%s", n, k.ErrorLogTail())
	}
}
