package kongplugins

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
	"github.com/drawbridge-dev/drawbridge/internal/translatecli"
)

// conformanceNS is the namespace of the upstream conformance suite's
// infrastructure; the echo backends report it as the conformance echo
// server does.
const conformanceNS = "gateway-conformance-infra"

// echoed is what an echo backend answers: the request as it arrived, in the
// JSON shape of the conformance suite's echo-basic server (the fields its
// checks read).
type echoed struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Method    string              `json:"method"`
	Headers   map[string][]string `json:"headers"`
	Namespace string              `json:"namespace"`
	Pod       string              `json:"pod"`
}

// echoBackend serves the echo JSON on 127.0.0.1 as pod <pod>.
func echoBackend(t testing.TB, pod string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_ = json.NewEncoder(w).Encode(echoed{Path: r.URL.Path, Host: r.Host, Method: r.Method, Headers: r.Header, Namespace: conformanceNS, Pod: pod})
	}))
	t.Cleanup(s.Close)
	return s
}

// backendService renders a Service with port 8080 and an EndpointSlice
// whose endpoints are the given 127.0.0.1 listeners (host:port), which
// must share one port number unless each gets its own slice.
func backendService(name string, addrs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec:
  ports: [{name: http, port: 8080, targetPort: http}]
`, name, conformanceNS)
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		fmt.Fprintf(&b, `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-%d
  namespace: %s
  labels: {kubernetes.io/service-name: %s}
addressType: IPv4
ports: [{name: http, port: %s}]
endpoints: [{addresses: [%s]}]
`, name, i, conformanceNS, name, port, host)
	}
	return b.String()
}

// gatewayOn renders the conformance suite's "same-namespace" Gateway with
// one HTTP listener on the port real Kong listens on, so the translated
// routes match Kong's own port without port_maps.
func gatewayOn(k *realkong.Kong) string {
	_, port, _ := net.SplitHostPort(k.HTTP)
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: drawbridge}
spec: {controllerName: drawbridge.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same-namespace, namespace: %s}
spec:
  gatewayClassName: drawbridge
  listeners:
  - {name: http, port: %s, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}
`, conformanceNS, port)
}

// translateManifests runs Drawbridge's translator on the manifests (one
// Gateway), checks that every route was accepted and its references
// resolved, and returns the Kong configuration.
func translateManifests(t testing.TB, manifests ...string) []byte {
	t.Helper()
	res := translateResult(t, manifests...)
	if len(res.Routes) == 0 {
		t.Fatal("no route attached to the Gateway")
	}
	for _, r := range res.Routes {
		for _, c := range []gatewayapi.Condition{r.Accepted, r.ResolvedRefs} {
			if c.Status != "True" {
				t.Fatalf("%s %s/%s: %s=%s %s: %s", r.Route.Kind, r.Route.Namespace, r.Route.Name, c.Type, c.Status, c.Reason, c.Message)
			}
		}
	}
	return res.JSON
}

// translateResult runs the real translator on manifests that hold exactly
// one Gateway.
func translateResult(t testing.TB, manifests ...string) *translate.Result {
	t.Helper()
	objs := &translatecli.Objects{}
	if err := objs.Decode("fixture.yaml", strings.NewReader(strings.Join(manifests, "\n---\n"))); err != nil {
		t.Fatal(err)
	}
	snaps, skipped := objs.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("want one Gateway snapshot, got %d (skipped %v)", len(snaps), skipped)
	}
	res, err := translate.Translate(snaps[0].Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// startKongWith starts real Kong and posts the configuration that
// manifests (built for that Kong's port) translate to.
func startKongWith(t testing.TB, opts realkong.Options, manifests func(k *realkong.Kong) []string) *realkong.Kong {
	t.Helper()
	k := realkong.Start(t, opts)
	cfg := translateManifests(t, manifests(k)...)
	if err := k.PostConfig(cfg); err != nil {
		t.Fatalf("%v\n%s", err, cfg)
	}
	return k
}

// routePluginNames lists the plugins Kong has configured, by name.
func routePluginNames(t testing.TB, k *realkong.Kong) []string {
	t.Helper()
	resp, err := http.Get(k.Admin + "/plugins?size=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatalf("GET /plugins: %v", err)
	}
	var out []string
	for _, p := range page.Data {
		out = append(out, p.Name)
	}
	return out
}
