package kongstandin

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// hostNormalisationConfig loads the translator's golden output for two
// HTTP listeners (80 and 8080) serving a.example, with its targets pointed
// at addr. withGlobal=false drops the global pre-function that normalises
// the Host, to show what Kong's router does on its own.
func hostNormalisationConfig(t *testing.T, addr string, withGlobal bool) map[string]any {
	t.Helper()
	return goldenConfig(t, "host-normalisation", addr, withGlobal)
}

// goldenConfig loads the Kong config of a translator golden case, with its
// targets pointed at addr and, unless withGlobal, without global plugins.
func goldenConfig(t *testing.T, name, addr string, withGlobal bool) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../internal/translate/testdata/" + name + ".out.yaml")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n---\n")
	var doc struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal([]byte(first), &doc); err != nil {
		t.Fatal(err)
	}
	cfg := doc.Config
	for _, u := range cfg["upstreams"].([]any) {
		targets, _ := u.(map[string]any)["targets"].([]any)
		for _, tg := range targets {
			tg.(map[string]any)["target"] = addr
		}
	}
	if !withGlobal {
		delete(cfg, "plugins")
	}
	return cfg
}

// Confirmed on Kong 3.9.3 (kong/router/atc.lua matching, fields.lua
// net.dst.port): the Host header's port becomes net.dst.port and http.host
// is compared case-sensitively, so without help "Host: a.example:8080" on
// the port-80 listener reaches the 8080 listener's route, a foreign port
// matches nothing, and "A.Example" misses a.example. With the translator's
// global pre-function (rewrite: ngx.ctx.cached_request_headers with the host
// lower-cased and without port; access: ngx.var.upstream_host restored)
// every request stays on its listener and the upstream sees the Host as
// sent. Kong answered exactly the statuses, routes and Host values below.
func TestHostPortAndCaseReachTheRouterAsInKong(t *testing.T) {
	port := freePort(t)
	s := startStandin(t, map[string]string{
		"KONG_PROXY_LISTEN": "127.0.0.1:" + strconv.Itoa(port),
		"KONG_PORT_MAPS":    "80:" + strconv.Itoa(port),
	})
	_, a := startEcho(t, "web")
	type want struct {
		status   int
		listener string // x-listener the 8080 route adds, "" for the 80 route
		host     string // Host the upstream saw
	}
	check := func(host, path string, w want) {
		t.Helper()
		resp, e := s.getEcho("GET", path, map[string]string{"Host": host})
		if resp.StatusCode != w.status {
			t.Errorf("Host %s %s: status %d, want %d", host, path, resp.StatusCode, w.status)
			return
		}
		if w.status != http.StatusOK {
			return
		}
		if got := http.Header(e.Headers).Get("X-Listener"); got != w.listener || e.Host != w.host {
			t.Errorf("Host %s: x-listener %q upstream Host %q, want %q %q", host, got, e.Host, w.listener, w.host)
		}
	}

	s.mustConfig(hostNormalisationConfig(t, a, false))
	check("a.example", "/x", want{200, "", "a.example"})
	check("a.example:8080", "/x", want{200, "alt", "a.example:8080"})
	check("a.example:1234", "/x", want{404, "", ""})
	check("A.Example", "/x", want{404, "", ""})

	s.mustConfig(hostNormalisationConfig(t, a, true))
	check("a.example", "/x", want{200, "", "a.example"})
	check("a.example:8080", "/x", want{200, "", "a.example:8080"})
	check("a.example:1234", "/x", want{200, "", "a.example:1234"})
	check("A.Example", "/x", want{200, "", "A.Example"})
	check("A.EXAMPLE:80", "/x", want{200, "", "A.EXAMPLE:80"})
	// The route's own pre-function (the redirect) replaces the global one
	// in access and answers itself.
	resp, _ := s.getEcho("GET", "/redir/z", map[string]string{"Host": "A.EXAMPLE:80"})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://a.example/new/z" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSplitHostPortLikeKong(t *testing.T) {
	for _, tc := range []struct {
		in, host string
		port     int
		ok       bool
	}{
		{"a.example", "a.example", 0, false},
		{"a.example:8080", "a.example", 8080, true},
		{"[::1]:80", "[::1]:80", 0, false},
		{"a.example:x", "a.example:x", 0, false},
	} {
		h, p, ok := splitHostPortKong(tc.in)
		if h != tc.host || p != tc.port || ok != tc.ok {
			t.Errorf("splitHostPortKong(%q) = %q %d %v", tc.in, h, p, ok)
		}
	}
}
