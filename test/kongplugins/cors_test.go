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

// corsRoutes are the HTTPRoutes of the Gateway API v1.7.0 conformance test
// HTTPRouteCORS (tests/httproute-cors.yaml), field for field.
const corsRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-multiple-origins-methods-headers, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3, x-header-4]
        allowCredentials: true
        maxAge: 3600
    matches: [{path: {type: PathPrefix, value: /cors-1}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-wildcard-methods, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com"]
        allowMethods: ["*"]
    matches: [{path: {type: PathPrefix, value: /cors-2}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-wildcard-origin, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["*"]
        allowMethods: [PUT]
        allowCredentials: false
    matches: [{path: {type: PathPrefix, value: /cors-wildcard-origin}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-wildcard-methods-headers, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["*"]
        allowMethods: ["*"]
        allowHeaders: ["*"]
        allowCredentials: true
    matches: [{path: {type: PathPrefix, value: /cors-wildcard-methods-headers}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["*"]
        allowMethods: ["*"]
        allowHeaders: ["*"]
        allowCredentials: false
    matches: [{path: {type: PathPrefix, value: /cors-wildcard-methods-headers-unauth}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
`

// corsCase is one case of HTTPRouteCORS with what the suite's
// CompareRoundTrip checks for it.
type corsCase struct {
	name    string
	method  string
	path    string
	headers map[string]string
	// statuses the response may have (the suite's StatusCodes; 200 when
	// it gives none).
	statuses []int
	// answeredByGateway: the case expects ExpectedRequest path "" and
	// namespace "", i.e. a 200/204 that did not come from the echo
	// backend (whose JSON would carry the path and namespace).
	answeredByGateway bool
	oneOf             map[string][]string // ValidHeaderValues
	exact             map[string]string   // Headers
	absent            []string            // AbsentHeaders
	ignoreSpaces      bool                // IgnoreWhitespace
}

var (
	preflight1 = map[string]string{"Origin": "https://www.foo.com", "access-control-request-method": "GET", "access-control-request-headers": "x-header-1, x-header-2"}
	cors1Want  = func(origin string) map[string][]string {
		return map[string][]string{
			"access-control-allow-origin":      {origin},
			"access-control-allow-methods":     {"GET, OPTIONS", "OPTIONS, GET"},
			"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
			"access-control-expose-headers":    {"x-header-3, x-header-4", "x-header-4, x-header-3"},
			"access-control-max-age":           {"3600"},
			"access-control-allow-credentials": {"true"},
		}
	}
)

func withOrigin(h map[string]string, origin string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	out["Origin"] = origin
	return out
}

// corsCases are the 17 cases of HTTPRouteCORS in v1.7.0, in its order and
// with its names.
var corsCases = []corsCase{
	{name: "CORS preflight request from an exact matching origin should be allowed",
		method: "OPTIONS", path: "/cors-1", headers: preflight1, statuses: []int{200, 204}, answeredByGateway: true,
		oneOf: cors1Want("https://www.foo.com"), ignoreSpaces: true},
	{name: "CORS preflight request from a wildcard matching origin should be allowed",
		method: "OPTIONS", path: "/cors-1", headers: withOrigin(preflight1, "https://www.bar.com"), statuses: []int{200, 204}, answeredByGateway: true,
		oneOf: cors1Want("https://www.bar.com"), ignoreSpaces: true},
	{name: "CORS preflight request from a wildcard matching any number of periods left to '*' should be allowed",
		method: "OPTIONS", path: "/cors-1", headers: withOrigin(preflight1, "https://xpto.www.bar.com"), statuses: []int{200, 204}, answeredByGateway: true,
		oneOf: cors1Want("https://xpto.www.bar.com"), ignoreSpaces: true},
	{name: "CORS preflight request from a non-matching origin should not be allowed",
		method: "OPTIONS", path: "/cors-1", headers: map[string]string{"Origin": "https://foobar.com", "access-control-request-method": "GET"},
		statuses: []int{200, 204, 403}, answeredByGateway: true, absent: []string{"access-control-allow-origin"}},
	{name: "Simple request from an exact matching origin should be allowed",
		method: "GET", path: "/cors-1", headers: preflight1,
		exact: map[string]string{"access-control-allow-origin": "https://www.foo.com"}},
	{name: "Simple request from a wildcard matching origin should be allowed",
		method: "GET", path: "/cors-1", headers: withOrigin(preflight1, "https://www.bar.com"),
		exact: map[string]string{"access-control-allow-origin": "https://www.bar.com"}},
	{name: "Simple request from a non-matching origin should not be allowed",
		method: "GET", path: "/cors-1", headers: map[string]string{"Origin": "https://foobar.com", "access-control-request-method": "GET"},
		absent: []string{"access-control-allow-origin"}},
	{name: "CORS preflight request with POST method should be allowed by allowMethods with wildcard",
		method: "OPTIONS", path: "/cors-2", headers: map[string]string{"Origin": "https://www.foo.com", "access-control-request-method": "POST"},
		statuses: []int{200, 204}, answeredByGateway: true,
		oneOf:  map[string][]string{"access-control-allow-methods": {"POST", "*"}},
		exact:  map[string]string{"access-control-allow-origin": "https://www.foo.com"},
		absent: []string{"access-control-allow-credentials"}},
	{name: "CORS preflight request should not receive access-control-allow-credentials header without access-control-allow-credentials set to true",
		method: "OPTIONS", path: "/cors-2", headers: map[string]string{"Origin": "https://www.foo.com", "access-control-request-method": "POST"},
		statuses: []int{200, 204}, answeredByGateway: true, absent: []string{"Access-Control-Allow-Credentials"}},
	{name: "CORS preflight request from a wildcard origin should return header with '*' or with the requested Origin",
		method: "OPTIONS", path: "/cors-wildcard-origin", headers: map[string]string{"Origin": "https://foobar.com", "access-control-request-method": "PUT"},
		statuses: []int{200, 204}, answeredByGateway: true,
		oneOf:  map[string][]string{"access-control-allow-origin": {"https://foobar.com", "*"}, "access-control-allow-methods": {"PUT"}},
		absent: []string{"Access-Control-Allow-Credentials"}},
	{name: "CORS preflight request from a wildcard origin containing a port should return header with '*' or with the requested Origin",
		method: "OPTIONS", path: "/cors-wildcard-origin", headers: map[string]string{"Origin": "https://foobar.com:12345", "access-control-request-method": "PUT"},
		statuses: []int{200, 204}, answeredByGateway: true,
		oneOf:  map[string][]string{"access-control-allow-origin": {"https://foobar.com:12345", "*"}, "access-control-allow-methods": {"PUT"}},
		absent: []string{"Access-Control-Allow-Credentials"}},
	{name: "Request from a wildcard origin containing a port should return header with '*' or with the requested Origin",
		method: "PUT", path: "/cors-wildcard-origin", headers: map[string]string{"Origin": "https://foobar.com:12345"},
		oneOf: map[string][]string{"access-control-allow-origin": {"https://foobar.com:12345", "*"}}},
	{name: "Simple request from a wildcard origin should return header with '*' or with the requested Origin",
		method: "PUT", path: "/cors-wildcard-origin", headers: map[string]string{"Origin": "https://foobar.com"},
		oneOf:  map[string][]string{"access-control-allow-origin": {"https://foobar.com", "*"}},
		absent: []string{"Access-Control-Allow-Credentials"}},
	{name: "CORS preflight request requesting specific method and headers should be allowed and always echo the origin with allowCredentials set to true",
		method: "OPTIONS", path: "/cors-wildcard-methods-headers",
		headers:  map[string]string{"Origin": "https://other.foo.com", "access-control-request-method": "PUT", "access-control-request-headers": "x-header-1, x-header-2"},
		statuses: []int{200, 204}, answeredByGateway: true, ignoreSpaces: true,
		oneOf: map[string][]string{
			"access-control-allow-origin":      {"https://other.foo.com"},
			"access-control-allow-methods":     {"PUT"},
			"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
			"access-control-allow-credentials": {"true"},
		}},
	{name: "CORS preflight request requesting specific method and headers should hide access-control-allow-credentials headers with allowCredentials set to false",
		method: "OPTIONS", path: "/cors-wildcard-methods-headers-unauth",
		headers:  map[string]string{"Origin": "https://other.foo.com", "access-control-request-method": "PUT", "access-control-request-headers": "x-header-1, x-header-2"},
		statuses: []int{200, 204}, answeredByGateway: true, ignoreSpaces: true,
		oneOf: map[string][]string{
			"access-control-allow-origin":  {"https://other.foo.com", "*"},
			"access-control-allow-methods": {"PUT", "*"},
			"access-control-allow-headers": {"x-header-1, x-header-2", "x-header-2, x-header-1", "*"},
		},
		absent: []string{"access-control-allow-credentials"}},
	{name: "CORS request should receive access-control-allow-credentials header with allowCredentials set to true",
		method: "GET", path: "/cors-wildcard-methods-headers", headers: map[string]string{"Origin": "https://other.foo.com"},
		oneOf: map[string][]string{"access-control-allow-origin": {"https://other.foo.com"}, "access-control-allow-credentials": {"true"}}},
	{name: "CORS request should not receive access-control-allow-credentials header without allowCredentials set to true",
		method: "GET", path: "/cors-wildcard-methods-headers-unauth", headers: map[string]string{"Origin": "https://other.foo.com"},
		oneOf:  map[string][]string{"access-control-allow-origin": {"https://other.foo.com", "*"}},
		absent: []string{"access-control-allow-credentials"}},
}

// TestHTTPRouteCORS reproduces every case of the v1.7.0 conformance test
// HTTPRouteCORS on real Kong 3.9.3: the test's routes, translated by
// Drawbridge, with an echo backend, judged as the suite's CompareRoundTrip
// judges them.
func TestHTTPRouteCORS(t *testing.T) {
	echo := echoBackend(t, "infra-backend-v1-pod")
	k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
		return []string{gatewayOn(k), backendService("infra-backend-v1", echo.Listener.Addr().String()), corsRoutes}
	})
	if len(corsCases) != 17 {
		t.Fatalf("HTTPRouteCORS has 17 cases, the table %d", len(corsCases))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, c := range corsCases {
		t.Run(c.name, func(t *testing.T) {
			// The suite wants a few consistent answers in a row; three
			// are enough against one Kong worker with a live config.
			for range 3 {
				if err := c.check(client, k.HTTP); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// check sends the case's request and applies the suite's checks.
func (c corsCase) check(client *http.Client, addr string) error {
	req, err := http.NewRequest(c.method, "http://"+addr+c.path, nil)
	if err != nil {
		return err
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	statuses := c.statuses
	if len(statuses) == 0 {
		statuses = []int{200}
	}
	if !slices.Contains(statuses, resp.StatusCode) {
		return fmt.Errorf("status %d, want one of %v; headers %v body %q", resp.StatusCode, statuses, resp.Header, body)
	}
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		return nil // the suite checks nothing else for other statuses
	}
	// What reached the backend: the echo JSON, or (as the suite assumes
	// for any other content type) nothing but the request method.
	got := echoed{Method: c.method}
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(body, &got); err != nil {
			return fmt.Errorf("echo body: %v", err)
		}
	}
	wantPath, wantNS := c.path, conformanceNS
	if c.answeredByGateway {
		wantPath, wantNS = "", ""
	}
	if got.Path != wantPath || got.Method != c.method || got.Namespace != wantNS {
		return fmt.Errorf("request seen as path %q method %q namespace %q, want %q %q %q", got.Path, got.Method, got.Namespace, wantPath, c.method, wantNS)
	}
	if !c.answeredByGateway {
		// ExpectedRequest defaults to the request: its headers must have
		// reached the backend unchanged.
		for name, v := range c.headers {
			if strings.Join(http.Header(got.Headers).Values(name), ",") != v {
				return fmt.Errorf("backend saw %s %q, want %q", name, http.Header(got.Headers).Values(name), v)
			}
		}
	}
	norm := func(s string) string {
		if c.ignoreSpaces {
			return strings.ReplaceAll(s, " ", "")
		}
		return s
	}
	for name, want := range c.oneOf {
		vals, ok := resp.Header[http.CanonicalHeaderKey(name)]
		if !ok {
			return fmt.Errorf("%s missing; headers %v", name, resp.Header)
		}
		v := norm(strings.Join(vals, ","))
		if !slices.ContainsFunc(want, func(w string) bool { return norm(w) == v }) {
			return fmt.Errorf("%s = %q, want one of %q", name, v, want)
		}
	}
	for name, want := range c.exact {
		vals, ok := resp.Header[http.CanonicalHeaderKey(name)]
		if !ok {
			return fmt.Errorf("%s missing; headers %v", name, resp.Header)
		}
		if v := strings.Join(vals, ","); norm(v) != norm(want) {
			return fmt.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	for _, name := range c.absent {
		if v, ok := resp.Header[http.CanonicalHeaderKey(name)]; ok {
			return fmt.Errorf("%s = %q, want it absent", name, v)
		}
	}
	return nil
}

// TestCORSBeyondConformance covers what the conformance test does not:
// exposeHeaders "*" with credentials, an empty allowOrigins, allowHeaders
// "*" without a request header, and Vary.
func TestCORSBeyondConformance(t *testing.T) {
	echo := echoBackend(t, "infra-backend-v1-pod")
	routes := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors-extra, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - filters:
    - type: CORS
      cors: {allowOrigins: ["https://*.foo.com"], exposeHeaders: ["*"], allowCredentials: true, allowHeaders: ["*"]}
    matches: [{path: {type: PathPrefix, value: /expose-all}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - filters:
    - type: CORS
      cors: {allowMethods: [GET]}
    matches: [{path: {type: PathPrefix, value: /no-origin}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
`
	k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
		return []string{gatewayOn(k), backendService("infra-backend-v1", echo.Listener.Addr().String()), routes}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, path string, h map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+k.HTTP+path, nil)
		for n, v := range h {
			req.Header.Set(n, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	resp := do("GET", "/expose-all", map[string]string{"Origin": "https://a.b.foo.com"})
	expose := resp.Header.Get("Access-Control-Expose-Headers")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://a.b.foo.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(strings.ToLower(expose), "x-content-type-options") || strings.Contains(expose, "*") {
		t.Errorf("exposeHeaders * with credentials: %d %v", resp.StatusCode, resp.Header)
	}
	if v := resp.Header.Values("Vary"); !slices.Contains(v, "Origin") {
		t.Errorf("Vary %q, want Origin", v)
	}
	resp = do("OPTIONS", "/expose-all", map[string]string{"Origin": "https://a.foo.com", "Access-Control-Request-Method": "DELETE"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "" || resp.Header.Get("Access-Control-Allow-Methods") != "" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://a.foo.com" || resp.Header.Get("Access-Control-Max-Age") != "5" {
		t.Errorf("preflight without requested headers, no allowMethods: %d %v", resp.StatusCode, resp.Header)
	}
	resp = do("GET", "/expose-all", map[string]string{"Origin": "https://foo.com"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("https://foo.com is not under *.foo.com: %v", resp.Header)
	}

	// No allowOrigins: no origin is allowed, preflights are answered
	// without CORS headers.
	resp = do("OPTIONS", "/no-origin", map[string]string{"Origin": "https://a.foo.com", "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("empty allowOrigins preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// An OPTIONS request that is not a preflight reaches the backend.
	resp = do("OPTIONS", "/no-origin", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("plain OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	if log := k.ErrorLog(); strings.Contains(log, "drawbridge-cors") && strings.Contains(log, "[error]") {
		t.Errorf("Kong logged errors:\n%s", log)
	}
}
