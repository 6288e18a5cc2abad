package translate_test

import (
	"strings"
	"testing"
)

// TestOriginalHostnamePrecedence checks the goldens of the three
// ...SameHostnameIntersection conformance tests: on every Gateway both
// routes serve the same intersection, and the newer route, whose own
// hostname is more specific, must get the higher priority on every Kong
// route.
func TestOriginalHostnamePrecedence(t *testing.T) {
	for _, kind := range []string{"http", "grpc", "tls"} {
		_, results := translateFile(t, "testdata/hostname-intersection-precedence-"+kind+".in.yaml")
		if len(results) == 0 {
			t.Fatalf("%s: no Gateway translated", kind)
		}
		for _, res := range results {
			var older, newer []uint64
			for _, s := range res.Config.Services {
				for _, r := range s.Routes {
					switch {
					case strings.Contains(r.Name, "-older."):
						older = append(older, r.Priority)
					case strings.Contains(r.Name, "-newer."):
						newer = append(newer, r.Priority)
					}
				}
			}
			if len(older) == 0 || len(newer) == 0 {
				t.Fatalf("%s: want routes of both, got older %v newer %v", kind, older, newer)
			}
			for _, o := range older {
				for _, n := range newer {
					if n <= o {
						t.Errorf("%s: a newer route with the more specific hostname has priority %d, not above the older route's %d", kind, n, o)
					}
				}
			}
		}
	}
}
