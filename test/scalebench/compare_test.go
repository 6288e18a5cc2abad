package scalebench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/scalegen"
)

// TestWriteScaleInput writes the generated objects for SCALEGEN_ROUTES
// routes as a manifest to SCALEGEN_OUT, the input `drawbridge translate`
// turns into the configurations TestKongApplyCompare compares (a build of
// another commit translates the same file). It runs only when both are set.
func TestWriteScaleInput(t *testing.T) {
	out, n := os.Getenv("SCALEGEN_OUT"), os.Getenv("SCALEGEN_ROUTES")
	if out == "" || n == "" {
		t.Skip("SCALEGEN_OUT and SCALEGEN_ROUTES name the manifest to write and its number of routes")
	}
	routes, err := strconv.Atoi(n)
	if err != nil || routes <= 0 {
		t.Fatalf("SCALEGEN_ROUTES=%q is not a positive number", n)
	}
	var buf bytes.Buffer
	if err := scalegen.Generate(scalegen.Options{Routes: routes}).WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKongApplyCompare posts each configuration of SCALEBENCH_COMPARE (JSON
// files, comma-separated: Kong declarative configurations or `drawbridge
// translate -o json` output) as the operator does (dataplane.ConfigBody),
// or, for a file named with the prefix "raw:", as the body itself (what
// the operator sent before), to one real Kong (one worker), in turn,
// SCALEBENCH_COMPARE_REPS times (default 6), each post after a small
// different configuration, the starting one rotating every round. Shapes
// are compared on the same Kong at the same time, so a machine shared with
// other work slows all of them alike. It logs, per configuration, the time
// from POST /config until a probe route in it answers, the time until Kong
// answered the POST, the CPU time Kong's processes spent on the whole apply
// (balancers included), and the router build Kong logs itself. Nothing is
// asserted beyond Kong accepting and serving each configuration.
func TestKongApplyCompare(t *testing.T) {
	list := os.Getenv("SCALEBENCH_COMPARE")
	if list == "" {
		t.Skip("SCALEBENCH_COMPARE names the configurations to compare")
	}
	reps := 6
	if v := os.Getenv("SCALEBENCH_COMPARE_REPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100 {
			t.Fatalf("SCALEBENCH_COMPARE_REPS=%q: want 1 to 100", v)
		}
		reps = n
	}
	files := strings.Split(list, ",")
	configs := make([]map[string]any, len(files))
	raw := make([]bool, len(files))
	for i, f := range files {
		f, raw[i] = strings.CutPrefix(f, "raw:")
		cfg, err := readKongConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		configs[i] = cfg
	}
	k := realkong.Start(t, realkong.Options{})
	type figures struct {
		bytes                    int
		served, answered, worker []float64
		router                   []float64
	}
	got := make([]figures, len(files))
	for r := 0; r < reps; r++ {
		for j := range files {
			i := (j + r) % len(files)
			reset := fmt.Sprintf(`{"_format_version":"3.0","services":[{"name":"reset-%d","host":"127.0.0.1"}]}`, time.Now().UnixNano())
			logFrom := len(k.ErrorLog())
			if err := k.PostConfig([]byte(reset)); err != nil {
				t.Fatalf("reset: %v", err)
			}
			// The worker logs the end of the reset's reconfigure after
			// /status shows its hash; the next apply starts after it.
			if _, err := waitReconfigured(k, logFrom, time.Minute); err != nil {
				t.Fatalf("reset: %v", err)
			}
			logFrom = len(k.ErrorLog())
			token := fmt.Sprintf("probe-%d", time.Now().UnixNano())
			data, err := json.Marshal(withProbeRaw(configs[i], token))
			if err != nil {
				t.Fatal(err)
			}
			got[i].bytes = len(data) // the configuration's JSON, as the bench reports it
			if !raw[i] {
				data = dataplane.ConfigBody(data)
			}
			cpu0, err := kongWorkerCPU(k.Prefix)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := (&http.Client{Timeout: 2 * time.Minute}).Post(k.Admin+"/config", "application/json", bytes.NewReader(data))
			if err != nil {
				t.Fatalf("POST /config of %s: %v", files[i], err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answered := time.Since(start).Seconds()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /config of %s: %d %.1000s", files[i], resp.StatusCode, body)
			}
			if err := waitProbe(k.HTTP, token, 2*time.Minute); err != nil {
				t.Fatalf("%s: %v", files[i], err)
			}
			served := time.Since(start).Seconds()
			// The worker goes on building balancers after the new router
			// serves; its CPU is read once Kong logs the end of the apply.
			router, err := waitReconfigured(k, logFrom, time.Minute)
			if err != nil {
				t.Fatalf("%s: %v", files[i], err)
			}
			cpu1, err := kongWorkerCPU(k.Prefix)
			if err != nil {
				t.Fatal(err)
			}
			g := &got[i]
			g.served, g.answered = append(g.served, served), append(g.answered, answered)
			g.worker, g.router = append(g.worker, cpu1-cpu0), append(g.router, router)
			t.Logf("round %d %s: served after %.3f s, POST answered after %.3f s, worker CPU %.2f s, router built in %.0f ms",
				r+1, shapeLabel(files[i]), served, answered, cpu1-cpu0, router)
		}
	}
	for i, f := range files {
		g := got[i]
		t.Logf("%s (%d bytes, %d applies): served after %s s; POST answered after %s s; worker CPU %s s; router build %s ms",
			f, g.bytes, len(g.served), spread(g.served, "%.2f"), spread(g.answered, "%.2f"), spread(g.worker, "%.2f"), spread(g.router, "%.0f"))
	}
}

// shapeLabel names a configuration in the log: its file's base name, with the
// "raw:" prefix when it is posted as the body itself.
func shapeLabel(entry string) string {
	if f, raw := strings.CutPrefix(entry, "raw:"); raw {
		return "raw:" + filepath.Base(f)
	}
	return filepath.Base(entry)
}

// readKongConfig reads a Kong declarative configuration, or the
// configuration of the one Gateway in `drawbridge translate -o json`
// output.
func readKongConfig(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '[' {
		var gateways []map[string]any
		if err := json.Unmarshal(raw, &gateways); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(gateways) != 1 {
			return nil, fmt.Errorf("%s: translation of %d Gateways; compare one (drawbridge translate --gateway)", path, len(gateways))
		}
		doc = gateways[0]
	} else if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	if cfg, ok := doc["config"].(map[string]any); ok {
		doc = cfg
	}
	if _, ok := doc["_format_version"]; !ok {
		return nil, fmt.Errorf("%s: no _format_version: not a Kong declarative configuration", path)
	}
	return doc, nil
}

// withProbeRaw is withProbe for a configuration read from a file.
func withProbeRaw(cfg map[string]any, token string) map[string]any {
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[k] = v
	}
	services, _ := cfg["services"].([]any)
	out["services"] = append(append([]any(nil), services...), map[string]any{
		"name": token, "protocol": "http", "host": "127.0.0.1", "port": 9,
		"routes": []any{map[string]any{
			"name": token, "protocols": []any{"http"}, "expression": fmt.Sprintf(`http.path == "/%s"`, token), "priority": 1,
			"plugins": []any{map[string]any{"name": "request-termination", "config": map[string]any{"status_code": 200, "message": token}}},
		}},
	})
	return out
}

var (
	reconfigureDone = regexp.MustCompile(`declarative reconfigure (took|failed after) ([0-9]+) ms`)
	routerBuilt     = regexp.MustCompile(`building a new router took ([0-9]+) ms`)
)

// waitReconfigured waits until Kong's error log (from offset on) says the
// worker finished applying a configuration, and returns the router build
// time it logged.
func waitReconfigured(k *realkong.Kong, offset int, timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	for {
		log := k.ErrorLog()
		if offset > len(log) {
			offset = 0
		}
		if m := reconfigureDone.FindStringSubmatch(log[offset:]); m != nil {
			if m[1] == "failed after" {
				return 0, fmt.Errorf("Kong's reconfigure failed: %s", m[0])
			}
			var router float64
			if b := routerBuilt.FindStringSubmatch(log[offset:]); b != nil {
				router, _ = strconv.ParseFloat(b[1], 64)
			}
			return router, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("Kong did not log the end of the reconfigure within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kongWorkerCPU is the user and system CPU time, in seconds, of Kong's
// nginx master and its workers (the master's share is idle).
func kongWorkerCPU(prefix string) (float64, error) {
	raw, err := os.ReadFile(filepath.Join(prefix, "pids", "nginx.pid"))
	if err != nil {
		return 0, fmt.Errorf("Kong's master pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0, fmt.Errorf("Kong's master pid: %w", err)
	}
	return treeUsage(pid).CPUSeconds(), nil
}

// spread renders "median [min-max]".
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "-"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf(format+" ["+format+"-"+format+"]", s[len(s)/2], s[0], s[len(s)-1])
}
