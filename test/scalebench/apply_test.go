package scalebench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// applySample is one POST /config to real Kong.
type applySample struct {
	Shape  string // "merged" (what Drawbridge generates), "shared" or "per-rule"
	Routes int
	Bytes  int
	// KongRoutes, Services, Upstreams and Targets count the config's
	// entities.
	KongRoutes, Services, Upstreams, Targets int
	Seconds                                  []float64 // one per repetition, POST to the worker serving it
	KongRSS                                  uint64    // Kong's processes after the last repetition
}

// The shapes measureApply compares. "merged" is what Drawbridge generates;
// the others rebuild what it generated before, from the same objects.
const (
	// shapeMerged: rules that send to the same endpoints with the same
	// weights share a service and an upstream, and routes that behave the
	// same share a Kong route (internal/translate routemerge.go).
	shapeMerged = "merged"
	// shapeShared: shared services and upstreams, one Kong route per match
	// (translate.Snapshot.SeparateRoutes).
	shapeShared = "shared"
	// shapePerRule: a service and an upstream with its own copy of the
	// targets for every rule, one Kong route per match.
	shapePerRule = "per-rule"
)

// scaleConfig is Drawbridge's configuration for n generated routes, with
// one Kong route per match when separate is set.
func scaleConfig(n int, separate bool) (*kong.Config, error) {
	snap := scalegen.Generate(scalegen.Options{Routes: n}).Snapshot()
	snap.SeparateRoutes = separate
	res, err := translate.Translate(snap)
	if err != nil {
		return nil, err
	}
	return res.Config, nil
}

// perRule rebuilds the shape Drawbridge generated before rules shared
// upstreams: every route's rule gets its own service and a copy of the
// upstream with its targets.
func perRule(cfg *kong.Config) *kong.Config {
	out := *cfg
	ups := map[string]kong.Upstream{}
	for _, u := range cfg.Upstreams {
		ups[u.Name] = u
	}
	out.Services, out.Upstreams = nil, nil
	for _, s := range cfg.Services {
		u, shared := ups[s.Host]
		for _, r := range s.Routes {
			// httproute.<ns>.<name>.<rule>.<match>...: the rule's name is
			// the first four labels.
			name := strings.Join(strings.SplitN(r.Name, ".", 5)[:4], ".")
			svc := s
			svc.Name, svc.Routes = name, []kong.Route{r}
			if shared {
				svc.Host = name
				cp := u
				cp.Name = name
				out.Upstreams = append(out.Upstreams, cp)
			}
			out.Services = append(out.Services, svc)
		}
	}
	return &out
}

func countEntities(cfg *kong.Config) (routes, services, upstreams, targets int) {
	for _, u := range cfg.Upstreams {
		targets += len(u.Targets)
	}
	for _, s := range cfg.Services {
		routes += len(s.Routes)
	}
	return routes, len(cfg.Services), len(cfg.Upstreams), targets
}

// measureApply posts each configuration reps times to real Kong, with a
// small different configuration in between so every post is a change. Each
// shape gets a Kong of its own, stopped when the shape is done, so its
// memory figures are its own and no Kong outlives the stage.
func measureApply(t testing.TB, sizes map[string][]int, reps int, logf func(string, ...any)) []applySample {
	var out []applySample
	shapes := make([]string, 0, len(sizes))
	for s := range sizes {
		shapes = append(shapes, s)
	}
	sort.Strings(shapes)
	for _, shape := range shapes {
		k := realkong.Start(t, realkong.Options{})
		kongUsage := func() procUsage {
			raw, err := os.ReadFile(filepath.Join(k.Prefix, "pids", "nginx.pid"))
			if err != nil {
				return procUsage{}
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
			return treeUsage(pid)
		}
		for _, n := range sizes[shape] {
			cfg, err := scaleConfig(n, shape != shapeMerged)
			if err != nil {
				t.Fatalf("translate %d routes: %v", n, err)
			}
			if shape == shapePerRule {
				cfg = perRule(cfg)
			}
			s := applySample{Shape: shape, Routes: n}
			s.KongRoutes, s.Services, s.Upstreams, s.Targets = countEntities(cfg)
			for i := 0; i < reps; i++ {
				reset := fmt.Sprintf(`{"_format_version":"3.0","services":[{"name":"reset-%d","host":"127.0.0.1"}]}`, time.Now().UnixNano())
				if err := k.PostConfig([]byte(reset)); err != nil {
					t.Fatalf("reset: %v", err)
				}
				// Kong answers POST /config once the configuration is in
				// its LMDB; the worker rebuilds its router afterwards. A
				// probe route that answers itself (request-termination,
				// no upstream) tells when the new router serves.
				token := fmt.Sprintf("probe-%d-%d", n, time.Now().UnixNano())
				data, err := json.Marshal(withProbe(cfg, token))
				if err != nil {
					t.Fatal(err)
				}
				s.Bytes = len(data)
				data = dataplane.ConfigBody(data) // as the operator posts it
				start := time.Now()
				if err := k.PostConfig(data); err != nil {
					t.Fatalf("%s config of %d routes (%d bytes): %v", shape, n, len(data), err)
				}
				if err := waitProbe(k.HTTP, token, 60*time.Second); err != nil {
					t.Fatalf("%s config of %d routes: %v", shape, n, err)
				}
				s.Seconds = append(s.Seconds, time.Since(start).Seconds())
			}
			s.KongRSS = kongUsage().PSSBytes
			logf("kong apply: %s, %d routes, %d bytes, %d Kong routes, %d services, %d upstreams, %d targets: %v s, Kong PSS %d MiB",
				shape, n, s.Bytes, s.KongRoutes, s.Services, s.Upstreams, s.Targets, s.Seconds, s.KongRSS>>20)
			out = append(out, s)
		}
		if err := k.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// BenchmarkKongApply reports real Kong's time to apply Drawbridge's
// configuration for 1,000 and 5,000 generated routes (KONG_DIR must name a
// Kong build, as `make test` and `make bench` set it).
func BenchmarkKongApply(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run("routes="+strconv.Itoa(n), func(b *testing.B) {
			var secs []float64
			for i := 0; i < b.N; i++ {
				s := measureApply(b, map[string][]int{shapeMerged: {n}}, 1, b.Logf)
				secs = append(secs, s[0].Seconds...)
			}
			sort.Float64s(secs)
			b.ReportMetric(secs[len(secs)/2], "s/apply")
		})
	}
}

// withProbe adds a route on /<token> that Kong answers itself with 200.
func withProbe(cfg *kong.Config, token string) *kong.Config {
	out := *cfg
	out.Services = append(append([]kong.Service(nil), cfg.Services...), kong.Service{
		Name: token, Protocol: "http", Host: "127.0.0.1", Port: 9,
		Routes: []kong.Route{{
			Name: token, Protocols: []string{"http"}, Expression: fmt.Sprintf(`http.path == "/%s"`, token), Priority: 1,
			Plugins: []kong.Plugin{{Name: kong.PluginRequestTermination, Config: map[string]any{"status_code": 200, "message": token}}},
		}},
	})
	return &out
}

// waitProbe polls Kong's proxy (on 127.0.0.1) until the probe route
// answers, every 5 ms.
func waitProbe(proxy, token string, timeout time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + proxy + "/" + token)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("the probe route /%s was not served within %s", token, timeout)
}
