package kongplugins

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/testutil/realkong"
)

// TestBackendTLSMechanics checks, on a hand-written configuration, the
// data-plane facts the translation relies on.
func TestBackendTLSMechanics(t *testing.T) {
	k := realkong.Start(t, realkong.Options{})
	ca := newTestCA(t, "good-ca")
	other := newTestCA(t, "other-ca")
	srv := ca.issue(t, "default", []string{"abc.example.com", "spiffe://abc.example.com/test-identity", "other.example.com"}, false)
	addr, conns := startCountingTLSEcho(t, "tls-backend", srv.TLS, nil)

	svc := func(name, path string, plugin map[string]any) kong.Service {
		return kong.Service{Name: name, Protocol: "https", Host: name, Port: 443,
			Routes: []kong.Route{{Name: name, Protocols: []string{"http"}, Expression: fmt.Sprintf("http.path == %q", path),
				PreserveHost: kong.Bool(true), StripPath: kong.Bool(false)}},
			Plugins: []kong.Plugin{{Name: "drawbridge-backend-tls", Config: plugin}}}
	}
	cfg := kong.Config{FormatVersion: kong.FormatVersion}
	cases := []struct {
		path   string
		plugin map[string]any
	}{
		{"/good", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}}},
		{"/other-sni", map[string]any{"sni": "other.example.com", "ca_certificates": []string{ca.PEM}}},
		{"/host-mismatch", map[string]any{"sni": "mismatch.example.com", "ca_certificates": []string{ca.PEM}}},
		{"/cert-mismatch", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{other.PEM}}},
		{"/san-dns", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}, "subject_alt_names": map[string]any{"hostnames": []string{"abc.example.com"}}}},
		{"/san-dns-mismatch", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}, "subject_alt_names": map[string]any{"hostnames": []string{"dce.example.com"}}}},
		{"/san-uri", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}, "subject_alt_names": map[string]any{"uris": []string{"spiffe://abc.example.com/test-identity"}}}},
		{"/san-uri-mismatch", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}, "subject_alt_names": map[string]any{"uris": []string{"spiffe://def.example.com/test-identity"}}}},
		// The SANs authenticate, the server name does not.
		{"/san-not-sni", map[string]any{"sni": "nothere.example.com", "ca_certificates": []string{ca.PEM}, "subject_alt_names": map[string]any{"uris": []string{"spiffe://abc.example.com/test-identity"}}}},
		{"/san-bad-chain", map[string]any{"sni": "abc.example.com", "ca_certificates": []string{other.PEM}, "subject_alt_names": map[string]any{"hostnames": []string{"abc.example.com"}}}},
	}
	for i, c := range cases {
		name := fmt.Sprintf("s%d", i)
		cfg.Services = append(cfg.Services, svc(name, c.path, c.plugin))
		cfg.Upstreams = append(cfg.Upstreams, kong.Upstream{Name: name, Targets: []kong.Target{{Target: addr, Weight: 100}}})
	}
	body, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PostConfig(body); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, tlsEchoReport) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+k.HTTP+path, nil)
		req.Host = "client.example.org"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var rep tlsEchoReport
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatalf("GET %s: %v: %s", path, err, b)
			}
		}
		return resp.StatusCode, rep
	}
	// Alternate so keepalive connections from one service are available
	// when the next asks.
	for round := 0; round < 3; round++ {
		for _, c := range cases {
			code, rep := get(c.path)
			t.Logf("%s: %d sni=%q host=%q", c.path, code, rep.SNI, rep.Host)
			want := 200
			if strings.Contains(c.path, "mismatch") || strings.Contains(c.path, "bad-chain") {
				want = 502
			}
			if code != want {
				t.Errorf("%s: got %d, want %d", c.path, code, want)
			}
		}
	}
	t.Logf("backend connections: %d for %d requests", conns.Load(), 3*len(cases))
	if t.Failed() {
		t.Log(k.ErrorLogTail())
	}
}

// TestBackendTLSLatency measures, on real Kong, the client-side latency of
// requests to a TLS backend through drawbridge-backend-tls (without and
// with subjectAltNames) next to Kong's own upstream TLS verification
// (service tls_verify and ca_certificates) and a plain HTTP backend.
// Upstream keepalive is on, as in a data plane, so the figures show the
// per-request cost; requests are interleaved so machine noise hits every
// variant alike. It asserts nothing and runs only with
// KONGPLUGINS_MEASURE=1.
func TestBackendTLSLatency(t *testing.T) {
	if os.Getenv("KONGPLUGINS_MEASURE") == "" {
		t.Skip("set KONGPLUGINS_MEASURE=1 to measure")
	}
	k := realkong.Start(t, realkong.Options{})
	ca := newTestCA(t, "good-ca")
	srv := ca.issue(t, "default", []string{"abc.example.com", "spiffe://abc.example.com/test-identity"}, false)
	tlsAddr := startTLSEcho(t, "tls-backend", srv.TLS, nil)
	plain := echoBackend(t, "plain")
	const caID = "5b1c8f1e-8c53-4d8e-9d4a-2f3c3e1b0a11"
	route := func(name, path string) []kong.Route {
		return []kong.Route{{Name: name, Protocols: []string{"http"}, Expression: fmt.Sprintf("http.path == %q", path),
			PreserveHost: kong.Bool(true), StripPath: kong.Bool(false)}}
	}
	plugin := func(cfg map[string]any) []kong.Plugin {
		return []kong.Plugin{{Name: kong.PluginDrawbridgeBackendTLS, Config: cfg}}
	}
	cfg := map[string]any{
		"_format_version": kong.FormatVersion,
		"ca_certificates": []map[string]any{{"id": caID, "cert": ca.PEM}},
		"services": []any{
			kong.Service{Name: "plain", Protocol: "http", Host: "plain", Port: 80, Routes: route("plain", "/plain")},
			map[string]any{"name": "kong-native", "protocol": "https", "host": "tls", "port": 443, "tls_verify": true,
				"ca_certificates": []string{caID}, "routes": route("kong-native", "/kong-native")},
			kong.Service{Name: "plugin", Protocol: "https", Host: "tls", Port: 443, Routes: route("plugin", "/plugin"),
				Plugins: plugin(map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM}})},
			kong.Service{Name: "plugin-san", Protocol: "https", Host: "tls", Port: 443, Routes: route("plugin-san", "/plugin-san"),
				Plugins: plugin(map[string]any{"sni": "abc.example.com", "ca_certificates": []string{ca.PEM},
					"subject_alt_names": map[string]any{"uris": []string{"spiffe://abc.example.com/test-identity"}}})},
		},
		"upstreams": []kong.Upstream{
			{Name: "plain", Targets: []kong.Target{{Target: plain.Listener.Addr().String(), Weight: 100}}},
			{Name: "tls", Targets: []kong.Target{{Target: tlsAddr, Weight: 100}}},
		},
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PostConfig(body); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/plain", "/kong-native", "/plugin", "/plugin-san"}
	const rounds = 2000
	lat := map[string][]time.Duration{}
	for i := range rounds + 100 {
		for _, p := range paths {
			req, _ := http.NewRequest(http.MethodGet, "http://"+k.HTTP+p, nil)
			req.Host = "abc.example.com"
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d\n%s", p, resp.StatusCode, k.ErrorLogTail())
			}
			if i >= 100 { // warm-up
				lat[p] = append(lat[p], time.Since(start))
			}
		}
	}
	pct := func(d []time.Duration, q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	for _, p := range paths {
		d := lat[p]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		t.Logf("%-12s n=%d p50=%v p90=%v p99=%v", p, len(d), pct(d, 0.50), pct(d, 0.90), pct(d, 0.99))
	}
}
