package scalebench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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
	PeakRSS    uint64 // the largest of the runs (getrusage ru_maxrss)
}

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
				cmd := exec.Command(bin, "translate", "-f", in, "-o", format)
				var stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = nil, &stderr // output discarded: /dev/null
				start := time.Now()
				if err := cmd.Run(); err != nil {
					t.Fatalf("drawbridge translate %d routes: %v\n%s", n, err, stderr.String())
				}
				s.Seconds = append(s.Seconds, time.Since(start).Seconds())
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && uint64(ru.Maxrss)*1024 > s.PeakRSS {
					s.PeakRSS = uint64(ru.Maxrss) * 1024 // kilobytes on Linux
				}
			}
			logf("drawbridge translate: %d routes, -o %s: %v s, peak RSS %d MiB", n, format, s.Seconds, s.PeakRSS>>20)
			out = append(out, s)
		}
	}
	return out
}
