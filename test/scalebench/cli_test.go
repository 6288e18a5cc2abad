package scalebench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

// cliSample is `drawbridge translate` on generated input of one size.
type cliSample struct {
	Routes     int
	Format     string
	InputBytes int
	Seconds    []float64
	PeakRSS    uint64 // the largest of the runs, as GNU time reports it
}

// gnuTime runs a command in a fork()ed child and reports that child's own
// peak RSS. The rusage of a child that Go starts itself cannot: Go starts
// children with vfork, and exec records the parent's memory high-water mark
// (this test's, some 190 MiB) as the child's ru_maxrss floor.
const gnuTime = "/usr/bin/time"

// measureCLI runs the drawbridge binary reps times per size and format.
func measureCLI(t testing.TB, bin string, sizes []int, reps int, logf func(string, ...any)) []cliSample {
	dir := t.TempDir()
	var out []cliSample
	for _, n := range sizes {
		in := filepath.Join(dir, fmt.Sprintf("in-%d.yaml", n))
		var buf bytes.Buffer
		if err := scalegen.Generate(scalegen.Options{Routes: n}).WriteYAML(&buf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"yaml", "json"} {
			s := cliSample{Routes: n, Format: format, InputBytes: buf.Len()}
			for i := 0; i < reps; i++ {
				rssFile := filepath.Join(dir, "maxrss")
				cmd := exec.Command(gnuTime, "-f", "%M", "-o", rssFile, bin, "translate", "-f", in, "-o", format)
				var stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = nil, &stderr // output discarded: /dev/null
				start := time.Now()
				if err := cmd.Run(); err != nil {
					t.Fatalf("drawbridge translate %d routes: %v\n%s", n, err, stderr.String())
				}
				s.Seconds = append(s.Seconds, time.Since(start).Seconds())
				raw, err := os.ReadFile(rssFile)
				if err != nil {
					t.Fatalf("read the peak RSS GNU time wrote: %v", err)
				}
				kib, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
				if err != nil {
					t.Fatalf("GNU time wrote %q, not a size in KiB: %v", raw, err)
				}
				s.PeakRSS = max(s.PeakRSS, kib*1024)
			}
			logf("drawbridge translate: %d routes, -o %s: %v s, peak RSS %d MiB", n, format, s.Seconds, s.PeakRSS>>20)
			out = append(out, s)
		}
	}
	return out
}
