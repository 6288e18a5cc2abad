package kongdiff

// Real Kong as a local process: `kong start` with a prefix in a temporary
// directory, `kong stop` at the end.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const kongStartTimeout = 60 * time.Second

// kongInstall is the KONG_DIR install: its env file and run directory.
type kongInstall struct {
	dir string
	env map[string]string // the env file's KEY=VALUE lines
}

// findKong reads KONG_DIR; ok is false (with a reason) when the suite
// cannot run.
func findKong() (*kongInstall, string) {
	dir := os.Getenv("KONG_DIR")
	if dir == "" {
		return nil, "KONG_DIR is not set (make test sets it to bin/kong/3.9.3, built by hack/build-kong.sh); the differential suite needs real Kong"
	}
	if _, err := os.Stat(filepath.Join(dir, ".stamp")); err != nil {
		return nil, fmt.Sprintf("KONG_DIR=%s has no .stamp: the Kong build is missing or unfinished", dir)
	}
	env, err := readEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		return nil, fmt.Sprintf("KONG_DIR=%s: %v", dir, err)
	}
	return &kongInstall{dir: dir, env: env}, ""
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read Kong env file: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: line %q is not KEY=VALUE", path, line)
		}
		env[k] = strings.Trim(v, `"'`)
	}
	return env, sc.Err()
}

// lookPath finds a program on the install's PATH.
func (k *kongInstall) lookPath(name string) (string, error) {
	for _, d := range filepath.SplitList(k.env["PATH"]) {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on the PATH of %s/env", name, k.dir)
}

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
	bin, err := k.lookPath("kong")
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	// The process environment minus any KONG_* setting of the caller, then
	// the install's paths, then the shared settings.
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KONG_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "LUA_") {
			environ = append(environ, kv)
		}
	}
	for key, v := range k.env {
		environ = append(environ, key+"="+v)
	}
	for key, v := range shared {
		environ = append(environ, key+"="+v)
	}
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
	cmd.Dir = filepath.Join(rk.install.dir, "run")
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
func waitHTTP(url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v", url, timeout, last)
}
