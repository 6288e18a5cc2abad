package translate_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

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
			b.StopTimer()
			b.ReportMetric(float64(peakLiveDuring(func() { _, _ = translate.Translate(snap) })), "peak-live-B")
		})
	}
}

// peakLiveDuring runs f with the GC collecting at every 2% of heap growth
// and returns the largest live heap any collection found, less the live
// heap before: about the most f holds at once. The operator's resident set
// follows this figure (the GC lets the heap grow to twice what the last
// collection found live), not the bytes f allocates in all.
func peakLiveDuring(f func()) uint64 {
	runtime.GC()
	base := liveHeap()
	defer debug.SetGCPercent(debug.SetGCPercent(2))
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		for {
			peak = max(peak, liveHeap())
			select {
			case <-stop:
				done <- peak
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	f()
	close(stop)
	peak := <-done
	if peak < base {
		return 0
	}
	return peak - base
}

func liveHeap() uint64 {
	m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
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
