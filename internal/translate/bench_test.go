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
				routes := 0
				for _, s := range res.Config.Services {
					routes += len(s.Routes)
				}
				if routes != n {
					b.Fatalf("got %d Kong routes, want %d", routes, n)
				}
			}
		})
	}
}

// TestSharedBackendsShape pins what sharing does to the generated shape:
// every route keeps its own Kong route, and rules that send to the same
// endpoints with the same weights share one service and one upstream.
func TestSharedBackendsShape(t *testing.T) {
	res, err := translate.Translate(scalegen.Generate(scalegen.Options{Routes: 1000}).Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for _, s := range res.Config.Services {
		routes += len(s.Routes)
	}
	// 1,000 routes over 200 Services: each route sends 90/10 to the pair
	// (i mod 200, i+20 mod 200), so 200 distinct pairs.
	if routes != 1000 || len(res.Config.Services) != 200 || len(res.Config.Upstreams) != 200 {
		t.Fatalf("got %d routes, %d services, %d upstreams; want 1000, 200, 200", routes, len(res.Config.Services), len(res.Config.Upstreams))
	}
}
