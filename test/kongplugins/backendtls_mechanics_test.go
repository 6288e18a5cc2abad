package kongplugins

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
