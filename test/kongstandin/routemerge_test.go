package kongstandin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// TestMergedRoutesRouteAlike checks the translator's route merging
// (internal/translate/routemerge.go) against this router: for random
// HTTPRoutes whose hostnames, paths, methods and headers overlap in many
// ways, every probe request must reach the same service (or the same route,
// for routes with plugins, which are never merged) whether the Kong routes
// are merged or kept one per match. The router is the stand-in's, which
// test/kongdiff holds to real Kong's on every golden configuration,
// merged ones included.
func TestMergedRoutesRouteAlike(t *testing.T) {
	const seeds = 200
	before, after := 0, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		snap := randomMergeSnapshot(rand.New(rand.NewPCG(seed, 7)))
		separate := routerOf(t, snap, true)
		merged := routerOf(t, snap, false)
		before += len(separate.httpRoutes)
		after += len(merged.httpRoutes)
		for _, p := range mergeProbes() {
			want, got := routedTo(separate, p), routedTo(merged, p)
			if want != got {
				t.Errorf("seed %d: %s went to %q with one Kong route per match, to %q with merged routes", seed, p, want, got)
			}
		}
		if t.Failed() {
			dumpRoutes(t, merged)
			return
		}
	}
	// The property holds trivially when nothing merges: make sure the
	// generator gives the merge something to do.
	if after >= before*3/4 {
		t.Fatalf("merging left %d of %d Kong routes over %d seeds; the generator no longer exercises it", after, before, seeds)
	}
	t.Logf("%d seeds: %d Kong routes one per match, %d merged", seeds, before, after)
}

// mergeProbe is one request as Kong's router sees it.
type mergeProbe struct {
	port               int
	method, host, path string
	header             string // value of x-h, "" for none
}

func (p mergeProbe) String() string {
	return fmt.Sprintf("%s %s:%d%s (x-h %q)", p.method, p.host, p.port, p.path, p.header)
}

var (
	mergeHosts = []string{"a.example.com", "b.example.com", "x.a.example.com", "c.test"}
	mergePaths = []string{"/", "/a", "/a/b", "/a/b/c", "/ab", "/b", "/b/c"}
)

func mergeProbes() []mergeProbe {
	var out []mergeProbe
	for _, port := range []int{80, 8080} {
		for _, h := range mergeHosts {
			for _, path := range append(mergePaths, "/a/", "/zz") {
				for _, m := range []string{"GET", "POST"} {
					for _, hv := range []string{"", "1", "2"} {
						out = append(out, mergeProbe{port, m, h, path, hv})
					}
				}
			}
		}
	}
	return out
}

// randomMergeSnapshot is a Gateway with an HTTP listener on 80 and one for
// *.example.com on 8080, four Services, and random HTTPRoutes: rules of
// one to three matches over a small set of hostnames, paths (Exact,
// PathPrefix, now and then a RegularExpression), methods and a header,
// sending to one or two Services with few weights, so that many rules share
// a service and many matches overlap; some rules carry a filter, so their
// routes have plugins.
func randomMergeSnapshot(r *rand.Rand) *translate.Snapshot {
	set := scalegen.Generate(scalegen.Options{Routes: 20, Namespaces: 1})
	gw := set.Gateway.DeepCopy()
	gw.Spec.Listeners = append(gw.Spec.Listeners, gwv1.Listener{Name: "wild", Port: 8080, Protocol: gwv1.HTTPProtocolType,
		Hostname: ptr.To(gwv1.Hostname("*.example.com")), AllowedRoutes: gw.Spec.Listeners[0].AllowedRoutes})
	snap := set.Snapshot()
	snap.Gateway = gw
	hostnames := []gwv1.Hostname{"a.example.com", "b.example.com", "*.example.com", "*.a.example.com", "c.test"}
	pick := func(n int) int { return r.IntN(n) }
	n := 10 + pick(30)
	snap.HTTPRoutes = nil
	for i := 0; i < n; i++ {
		route := gwv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r%d", i), Namespace: set.Services[0].Namespace,
				CreationTimestamp: metav1.Unix(int64(1700000000+pick(5)), 0)},
		}
		route.Spec.ParentRefs = []gwv1.ParentReference{{Name: gwv1.ObjectName(gw.Name), Namespace: ptr.To(gwv1.Namespace(gw.Namespace))}}
		for h := pick(3); h > 0; h-- {
			route.Spec.Hostnames = append(route.Spec.Hostnames, hostnames[pick(len(hostnames))])
		}
		for rule := 1 + pick(2); rule > 0; rule-- {
			var rr gwv1.HTTPRouteRule
			for m := 1 + pick(3); m > 0; m-- {
				var match gwv1.HTTPRouteMatch
				switch pick(10) {
				case 0:
					match.Path = &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchRegularExpression), Value: ptr.To("/a.*")}
				case 1, 2, 3:
					match.Path = &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchExact), Value: ptr.To(mergePaths[pick(len(mergePaths))])}
				default:
					match.Path = &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchPathPrefix), Value: ptr.To(mergePaths[pick(len(mergePaths))])}
				}
				if pick(4) == 0 {
					match.Method = ptr.To([]gwv1.HTTPMethod{"GET", "POST"}[pick(2)])
				}
				if pick(4) == 0 {
					match.Headers = []gwv1.HTTPHeaderMatch{{Name: "x-h", Value: fmt.Sprint(1 + pick(2))}}
				}
				rr.Matches = append(rr.Matches, match)
			}
			for b := 1 + pick(2); b > 0; b-- {
				rr.BackendRefs = append(rr.BackendRefs, gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{
					BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(set.Services[pick(2)].Name), Port: ptr.To(gwv1.PortNumber(80))},
					Weight:                 ptr.To(int32(1))}})
			}
			if pick(5) == 0 {
				rr.Filters = []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestHeaderModifier,
					RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Set: []gwv1.HTTPHeader{{Name: "x-rule", Value: fmt.Sprint(i)}}}}}
			}
			route.Spec.Rules = append(route.Spec.Rules, rr)
		}
		snap.HTTPRoutes = append(snap.HTTPRoutes, route)
	}
	return snap
}

// routerOf translates the snapshot and loads the configuration as the
// stand-in does on POST /config.
func routerOf(t *testing.T, snap *translate.Snapshot, separate bool) *runtime {
	t.Helper()
	s := *snap
	s.SeparateRoutes = separate
	res, err := translate.Translate(&s)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(res.JSON))
	dec.UseNumber() // as the admin API reads a body
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	enabled := enabledPlugins([]string{"bundled"})
	for _, p := range res.Config.Plugins {
		enabled[p.Name] = true
	}
	d := loadDeclarative(doc, enabled)
	if d.hasErrors() {
		body, _ := json.Marshal(d.errorBody(true))
		t.Fatalf("the stand-in refuses the translation (separate routes: %v): %.2000s", separate, body)
	}
	rt, err := buildRuntime(d)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// routedTo is where the router sends a probe: the service, and the route
// too when it has plugins of its own; "" when no route matches.
func routedTo(rt *runtime, p mergeProbe) string {
	ctx := newMatchContext()
	ctx.setString("net.protocol", "http")
	ctx.setString("http.method", p.method)
	ctx.setString("http.host", p.host)
	ctx.setString("http.path", p.path)
	ctx.setInt("net.dst.port", p.port)
	header := http.Header{}
	if p.header != "" {
		header.Set("x-h", p.header)
	}
	ctx.lookup = func(field string) []fieldValue {
		name, ok := strings.CutPrefix(field, "http.headers.")
		if !ok {
			return nil
		}
		var out []fieldValue
		for _, v := range header.Values(strings.ReplaceAll(name, "_", "-")) {
			out = append(out, fieldValue{str: v})
		}
		return out
	}
	for _, route := range rt.httpRoutes {
		ctx.reset()
		if !evalExpr(route.expr, ctx) {
			continue
		}
		out := route.service.name
		for _, pl := range rt.plugins {
			if pl.routeID == route.id {
				return out + " via " + route.name
			}
		}
		return out
	}
	return ""
}

func dumpRoutes(t *testing.T, rt *runtime) {
	for _, r := range rt.httpRoutes {
		t.Logf("%d %s -> %s: %s", r.priority, r.name, r.service.name, r.rec["expression"])
	}
}
