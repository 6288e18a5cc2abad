package translate_test

import (
	"fmt"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// BenchmarkTranslate reports the cost of a full translation, JSON encoding
// included, at 100, 1,000 and 10,000 HTTPRoutes (scalegen's shape: one
// Service for every five routes, two weighted backends per route).
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		snap := scalegen.Generate(scalegen.Options{Routes: n}).Snapshot()
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				res, err := translate.Translate(snap)
				if err != nil {
					b.Fatal(err)
				}
				// Five routes share each service and merge into one
				// Kong route (TestSharedBackendsShape).
				if routes := kongRoutes(res); routes != n/5 {
					b.Fatalf("got %d Kong routes, want %d", routes, n/5)
				}
			}
		})
	}
}

// TestSharedBackendsShape pins what sharing and merging do to the
// generated shape: rules that send to the same endpoints with the same
// weights share one service and one upstream, and the routes of a service
// merge into one Kong route (none of them has plugins, and their paths
// never overlap); with SeparateRoutes every route keeps its own.
func TestSharedBackendsShape(t *testing.T) {
	snap := scalegen.Generate(scalegen.Options{Routes: 1000}).Snapshot()
	for _, tc := range []struct {
		separate bool
		routes   int
	}{{false, 200}, {true, 1000}} {
		snap.SeparateRoutes = tc.separate
		res, err := translate.Translate(snap)
		if err != nil {
			t.Fatal(err)
		}
		// 1,000 routes over 200 Services: each route sends 90/10 to the
		// pair (i mod 200, i+20 mod 200), so 200 distinct pairs.
		if routes := kongRoutes(res); routes != tc.routes || len(res.Config.Services) != 200 || len(res.Config.Upstreams) != 200 {
			t.Fatalf("SeparateRoutes=%v: got %d routes, %d services, %d upstreams; want %d, 200, 200",
				tc.separate, routes, len(res.Config.Services), len(res.Config.Upstreams), tc.routes)
		}
	}
}

func kongRoutes(res *translate.Result) int {
	n := 0
	for _, s := range res.Config.Services {
		n += len(s.Routes)
	}
	return n
}
