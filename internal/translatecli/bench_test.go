package translatecli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

// writeScaleInput writes the scalegen set of n routes as a manifest file,
// the input a user would hand to `drawbridge translate -f`.
func writeScaleInput(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), fmt.Sprintf("in-%d.yaml", n))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := scalegen.Generate(scalegen.Options{Routes: n}).WriteYAML(w); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkTranslateCLI runs `drawbridge translate` end to end through Run:
// reading and decoding the manifest file, translating, validating against
// Kong's schema rules and rendering, for one Gateway and n HTTPRoutes.
func BenchmarkTranslateCLI(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		path := writeScaleInput(b, n)
		for _, format := range []string{"yaml", "json"} {
			b.Run(fmt.Sprintf("routes=%d/o=%s", n, format), func(b *testing.B) {
				b.ReportAllocs()
				var out outputCounter
				for b.Loop() {
					out.n = 0
					if code := Run(context.Background(), []string{"-f", path, "-o", format}, &out, io.Discard); code != 0 {
						b.Fatalf("exit %d", code)
					}
				}
				b.ReportMetric(float64(out.n), "out-bytes")
			})
		}
	}
}

// outputCounter counts what the CLI prints, so the benchmark can report the
// output size next to the time.
type outputCounter struct{ n int64 }

func (c *outputCounter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
