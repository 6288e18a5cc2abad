package kongdiff

// Real Kong as a local process: `kong start` with a prefix in a temporary
// directory, `kong stop` at the end.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

const kongStartTimeout = 60 * time.Second

// kongInstall is the KONG_DIR install (internal/testutil/realkong).
type kongInstall = realkong.Install

// findKong reads KONG_DIR; the reason says why the suite cannot run.
func findKong() (*kongInstall, string) { return realkong.FindInstall() }

// realKong is one running Kong.
type realKong struct {
	install *kongInstall
	prefix  string
	environ []string
	kongBin string
}

// startRealKong runs `kong start` with the shared KONG_* environment and
// registers `kong stop` as cleanup.
func startRealKong(t *testing.T, k *kongInstall, shared map[string]string) *realKong {
	t.Helper()
	bin, err := k.LookPath("kong")
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	environ := k.Environ(shared)
	environ = append(environ, "KONG_PREFIX="+prefix)
	if os.Geteuid() == 0 {
		// nginx workers would otherwise drop to nobody and lose access to
		// the LMDB in the private temporary prefix. Process identity only:
		// the stand-in has no such setting and needs none.
		environ = append(environ, "KONG_NGINX_USER=root root")
	}
	rk := &realKong{install: k, prefix: prefix, environ: environ, kongBin: bin}
	if out, err := rk.run(kongStartTimeout, "start"); err != nil {
		t.Fatalf("kong start: %v\n%s\n%s", err, out, rk.errorLogTail())
	}
	t.Cleanup(func() {
		if out, err := rk.run(kongStartTimeout, "stop"); err != nil {
			t.Errorf("kong stop: %v\n%s", err, out)
		}
	})
	return rk
}

func (rk *realKong) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rk.kongBin, append(args, "-p", rk.prefix)...)
	cmd.Dir = filepath.Join(rk.install.Dir, "run")
	cmd.Env = rk.environ
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// errorLines is every [error], [crit] or [alert] line of Kong's error log
// (at most the last 40), for the log of a failed run.
func (rk *realKong) errorLines() string {
	b, err := os.ReadFile(filepath.Join(rk.prefix, "logs", "error.log"))
	if err != nil {
		return ""
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "[error]") || strings.Contains(l, "[crit]") || strings.Contains(l, "[alert]") {
			out = append(out, l)
		}
	}
	if len(out) > 40 {
		out = out[len(out)-40:]
	}
	return strings.Join(out, "\n")
}

// errorLogTail is the end of Kong's error log, for failure messages.
func (rk *realKong) errorLogTail() string {
	b, err := os.ReadFile(filepath.Join(rk.prefix, "logs", "error.log"))
	if err != nil {
		return "(no error.log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "error.log tail:\n" + string(b)
}

// waitHTTP polls url until it answers 200 or the deadline passes.
var waitHTTP = realkong.WaitHTTP
