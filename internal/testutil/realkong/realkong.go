// Package realkong starts the lab's real Kong (the KONG_DIR install that
// `make kong` builds) as a local process on 127.0.0.1 for tests: DB-less,
// expressions router, one worker, with Drawbridge's own Lua plugins on its
// path and in KONG_PLUGINS, as a provisioned data plane has them.
package realkong

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/kong/luaplugins"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

const startTimeout = 60 * time.Second

// Install is a KONG_DIR install: its directory and env file.
type Install struct {
	Dir string
	Env map[string]string // the env file's KEY=VALUE lines
}

// FindInstall reads KONG_DIR; the reason says why real Kong cannot run.
func FindInstall() (*Install, string) {
	dir := os.Getenv("KONG_DIR")
	if dir == "" {
		return nil, "KONG_DIR is not set (make test sets it to bin/kong/3.9.3, built by `make kong`)"
	}
	if _, err := os.Stat(filepath.Join(dir, ".stamp")); err != nil {
		return nil, fmt.Sprintf("KONG_DIR=%s has no .stamp: the Kong build is missing or unfinished", dir)
	}
	env, err := ReadEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		return nil, fmt.Sprintf("KONG_DIR=%s: %v", dir, err)
	}
	return &Install{Dir: dir, Env: env}, ""
}

// ReadEnvFile parses KEY=VALUE lines (an optional "export " prefix, quotes
// trimmed, # comments).
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read Kong env file: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
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

// LookPath finds a program on the install's PATH.
func (in *Install) LookPath(name string) (string, error) {
	for _, d := range filepath.SplitList(in.Env["PATH"]) {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on the PATH of %s/env", name, in.Dir)
}

// Environ is the process environment for a program of the install: the
// caller's minus its KONG_*, PATH and LUA_* settings, then the install's,
// then extra.
func (in *Install) Environ(extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KONG_") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "LUA_") {
			out = append(out, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		out = append(out, k+"="+in.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		out = append(out, k+"="+extra[k])
	}
	return out
}

// Options shape one Kong.
type Options struct {
	// Env adds or overrides KONG_* settings (proxy listeners included).
	Env map[string]string
	// Stream adds a TCP and a UDP stream listener.
	Stream bool
}

// Kong is one running Kong.
type Kong struct {
	Install *Install
	Prefix  string
	// Admin is the plain-HTTP admin API base URL (tests only: provisioned
	// data planes serve it over mutual TLS).
	Admin string
	// HTTP and HTTPS are the proxy listeners' host:port (HTTPS carries
	// http2); StreamTCP and StreamUDP are set with Options.Stream.
	HTTP, HTTPS, StreamTCP, StreamUDP string

	environ []string
	kongBin string

	stopOnce sync.Once
	stopErr  error
}

// Stop runs `kong stop` now rather than at the end of the test, so a test
// that measures memory can free one Kong before the next starts. The
// cleanup Start registered then has nothing left to do.
func (k *Kong) Stop() error {
	k.stopOnce.Do(func() {
		if out, err := k.run(startTimeout, "stop"); err != nil {
			k.stopErr = fmt.Errorf("kong stop: %v\n%s", err, out)
		}
	})
	return k.stopErr
}

// Start runs `kong start` and registers `kong stop` as cleanup. It skips
// the test when KONG_DIR is unset.
func Start(t testing.TB, opts Options) *Kong {
	t.Helper()
	in, why := FindInstall()
	if in == nil {
		t.Skip(why)
	}
	bin, err := in.LookPath("kong")
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	luaRoot := filepath.Join(prefix, "drawbridge-lua")
	if err := luaplugins.WriteTree(luaRoot); err != nil {
		t.Fatal(err)
	}
	k := &Kong{Install: in, Prefix: prefix, kongBin: bin}
	ports := FreePorts(t, 5)
	k.Admin = "http://127.0.0.1:" + ports[0]
	k.HTTP = "127.0.0.1:" + ports[1]
	k.HTTPS = "127.0.0.1:" + ports[2]
	env := map[string]string{
		"KONG_PREFIX":                 prefix,
		"KONG_DATABASE":               "off",
		"KONG_ROUTER_FLAVOR":          "expressions",
		"KONG_NGINX_WORKER_PROCESSES": "1",
		"KONG_ADMIN_LISTEN":           "127.0.0.1:" + ports[0],
		"KONG_PROXY_LISTEN":           fmt.Sprintf("%s, %s ssl http2", k.HTTP, k.HTTPS),
		"KONG_STATUS_LISTEN":          "off",
		"KONG_ADMIN_GUI_LISTEN":       "off",
		"KONG_CLUSTER_LISTEN":         "off",
		"KONG_STREAM_LISTEN":          "off",
		"KONG_PLUGINS":                strings.Join(append([]string{"bundled"}, luaplugins.Names()...), ","),
		"KONG_LUA_PACKAGE_PATH":       luaRoot + "/?.lua;" + luaRoot + "/?/init.lua;" + in.Env["KONG_LUA_PACKAGE_PATH"],
		"KONG_ANONYMOUS_REPORTS":      "off",
		"KONG_LOG_LEVEL":              "info",
		"KONG_NGINX_MAIN_DAEMON":      "on",
		"KONG_DNS_RESOLVER":           "127.0.0.1:1", // nothing in tests resolves names
		"KONG_PROXY_ACCESS_LOG":       "off",
		"KONG_ADMIN_ACCESS_LOG":       "off",
		// As provisioned data planes: large configs must fit in memory.
		"KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE":    provision.AdminBodyLimit,
		"KONG_NGINX_ADMIN_CLIENT_BODY_BUFFER_SIZE": provision.AdminBodyLimit,
	}
	if opts.Stream {
		k.StreamTCP = "127.0.0.1:" + ports[3]
		k.StreamUDP = "127.0.0.1:" + ports[4]
		env["KONG_STREAM_LISTEN"] = fmt.Sprintf("%s, %s udp", k.StreamTCP, k.StreamUDP)
	}
	if os.Geteuid() == 0 {
		// Workers would otherwise drop to nobody and lose access to the
		// LMDB in the private temporary prefix.
		env["KONG_NGINX_USER"] = "root root"
	}
	for key, v := range opts.Env {
		env[key] = v
	}
	k.environ = in.Environ(env)
	if out, err := k.run(startTimeout, "start"); err != nil {
		t.Fatalf("kong start: %v\n%s\n%s", err, out, k.ErrorLogTail())
	}
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := WaitHTTP(k.Admin+"/status", startTimeout); err != nil {
		t.Fatalf("kong admin API: %v\n%s", err, k.ErrorLogTail())
	}
	return k
}

func (k *Kong) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.kongBin, append(args, "-p", k.Prefix)...)
	cmd.Dir = filepath.Join(k.Install.Dir, "run")
	cmd.Env = k.environ
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// PostConfig replaces Kong's configuration with a declarative config (JSON
// or YAML) and waits until the worker serves it: Kong answers 201 before
// its workers have rebuilt the router. A rejection is returned with Kong's
// answer; an identical config (304) is already live.
func (k *Kong) PostConfig(config []byte) error {
	before, err := k.ConfigurationHash()
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, k.Admin+"/config?check_hash=1", bytes.NewReader(config))
	if err != nil {
		return err
	}
	ct := "application/json"
	if trimmed := bytes.TrimSpace(config); len(trimmed) > 0 && trimmed[0] != '{' {
		ct = "text/yaml"
	}
	req.Header.Set("Content-Type", ct)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("POST /config: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusCreated:
	default:
		return fmt.Errorf("POST /config: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h, err := k.ConfigurationHash()
		if err != nil {
			return err
		}
		if h != before {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("POST /config: accepted, but /status still shows configuration hash %s after 30s", before)
}

// ConfigurationHash is the hash of the configuration Kong's worker serves
// (GET /status).
func (k *Kong) ConfigurationHash() (string, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(k.Admin + "/status")
	if err != nil {
		return "", fmt.Errorf("GET /status: %w", err)
	}
	defer resp.Body.Close()
	var st struct {
		Hash string `json:"configuration_hash"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", fmt.Errorf("GET /status: %w", err)
	}
	return st.Hash, nil
}

// ErrorLog is Kong's whole error log.
func (k *Kong) ErrorLog() string {
	b, err := os.ReadFile(filepath.Join(k.Prefix, "logs", "error.log"))
	if err != nil {
		return ""
	}
	return string(b)
}

// ErrorLogTail is the end of Kong's error log, for failure messages.
func (k *Kong) ErrorLogTail() string {
	b, err := os.ReadFile(filepath.Join(k.Prefix, "logs", "error.log"))
	if err != nil {
		return "(no error.log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "error.log tail:\n" + string(b)
}

// WaitHTTP polls url until it answers 200 or the deadline passes.
func WaitHTTP(url string, timeout time.Duration) error {
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

// handedOut are the ports FreePorts has returned in this process. A port
// is released as soon as it is found free, so without this list a later
// call could return it again: a caller's proxy port chosen first and
// Start's admin port chosen next could then be one port, which nginx
// accepts (two server blocks on one address) and which answers the admin
// API's requests with the proxy's 404.
var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// FreePorts returns n TCP ports on 127.0.0.1 that were free a moment ago
// and that no earlier call in this process returned.
func FreePorts(t testing.TB, n int) []string {
	t.Helper()
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 100*n {
			t.Fatalf("find %d free ports: only %d found", n, len(out))
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		ls = append(ls, l) // held until all are found, so none repeats
		_, port, _ := net.SplitHostPort(l.Addr().String())
		if handedOut[port] {
			continue
		}
		handedOut[port] = true
		out = append(out, port)
	}
	return out
}
