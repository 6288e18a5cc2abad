package kongplugins

import (
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

// TestPluginLatency measures, on real Kong, the client-side latency of
// requests through drawbridge-cors and drawbridge-backend-select next to a
// rule without plugins and one with a rule-level header filter (Kong's
// request-transformer). Requests are interleaved so machine noise hits
// every variant alike. It reports figures and asserts nothing; it runs only
// with KONGPLUGINS_MEASURE=1 (the figures mean little on a loaded machine).
func TestPluginLatency(t *testing.T) {
	if os.Getenv("KONGPLUGINS_MEASURE") == "" {
		t.Skip("set KONGPLUGINS_MEASURE=1 to measure")
	}
	echo := echoBackend(t, "infra-backend-v1-pod")
	routes := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: latency, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /rule-filter}}]
    filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: v1}]}}
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /backend-select}}]
    backendRefs:
    - {name: infra-backend-v1, port: 8080, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: v1}]}}]}
    - {name: infra-backend-v1-copy, port: 8080, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: copy}]}}]}
  - matches: [{path: {type: PathPrefix, value: /cors}}]
    filters:
    - {type: CORS, cors: {allowOrigins: ["https://*.foo.com"], allowCredentials: true, exposeHeaders: [x-a]}}
    backendRefs: [{name: infra-backend-v1, port: 8080}]
`
	k := startKongWith(t, realkong.Options{}, func(k *realkong.Kong) []string {
		return []string{gatewayOn(k), backendService("infra-backend-v1", echo.Listener.Addr().String()),
			backendService("infra-backend-v1-copy", echo.Listener.Addr().String()), routes}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/plain", "/rule-filter", "/backend-select", "/cors"}
	const rounds = 2000
	lat := map[string][]time.Duration{}
	for i := range rounds + 100 {
		for _, p := range paths {
			req, _ := http.NewRequest(http.MethodGet, "http://"+k.HTTP+p, nil)
			req.Header.Set("Origin", "https://app.foo.com")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", p, resp.StatusCode)
			}
			if i >= 100 { // warm-up
				lat[p] = append(lat[p], time.Since(start))
			}
		}
	}
	pct := func(d []time.Duration, q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	for _, p := range paths {
		d := lat[p]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		t.Logf("%-16s n=%d p50=%v p90=%v p99=%v", p, len(d), pct(d, 0.50), pct(d, 0.90), pct(d, 0.99))
	}
}
