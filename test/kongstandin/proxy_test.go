package kongstandin

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Source: reference 4.3 table (get_upstream_uri_v0), pure function cases.
func TestUpstreamURIv0(t *testing.T) {
	cases := []struct {
		req, matched string
		strip        bool
		base, want   string
	}{
		{"/foo/bar", "/foo", true, "/", "/bar"},
		{"/foo", "/foo", true, "/", "/"},
		{"/foo/", "/foo", true, "/svc/", "/svc/"},
		{"/foo", "/foo", true, "/svc/", "/svc"},
		{"/foobar", "/foo", true, "/svc/", "/svc/bar"},
		{"/foo/bar", "/foo", false, "/svc/", "/svc/foo/bar"},
		{"/foo/bar", "/foo", true, "/svc", "/svc/bar"},
		{"/foo/", "/foo", true, "/svc", "/svc/"},
		{"/foobar", "/foo", true, "/svc", "/svc/bar"},
		{"/", "", false, "/svc", "/svc"},
		{"/foo", "", false, "/svc", "/svc/foo"},
		{"/foo/bar", "/foo", false, "/", "/foo/bar"},
	}
	for _, tc := range cases {
		if got := upstreamURI(tc.req, tc.matched, tc.strip, tc.base); got != tc.want {
			t.Errorf("upstreamURI(%q, %q, strip=%v, %q) = %q, want %q", tc.req, tc.matched, tc.strip, tc.base, got, tc.want)
		}
	}
}

// Source: reference 4.3 (strip_path, service path, preserve_host, Host header)
// and Kong's X-Forwarded-* headers (developer.konghq.com/gateway/entities/service/).
func TestProxyRequestShaping(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	h, p := splitHostPortInt(t, a)
	doc := map[string]any{"_format_version": "3.0", "services": []any{
		map[string]any{"name": "s", "host": h, "port": p, "path": "/base", "routes": []any{
			map[string]any{"name": "strip", "expression": `http.path ^= "/strip"`, "strip_path": true},
			map[string]any{"name": "keep", "expression": `http.path ^= "/keep"`, "strip_path": false, "preserve_host": true},
		}},
	}}
	s.mustConfig(doc)
	resp, e := s.getEcho("GET", "/strip/x?q=1", map[string]string{"Host": "client.example.com", "X-Forwarded-For": "10.1.1.1"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	hdr := func(k string) string { return http.Header(e.Headers).Get(k) }
	check("path (strip, base without slash)", e.Path, "/base/x")
	check("query", e.Query, "q=1")
	check("Host (target host:port)", e.Host, a)
	check("X-Forwarded-For", hdr("X-Forwarded-For"), "10.1.1.1, 127.0.0.1")
	check("X-Forwarded-Proto", hdr("X-Forwarded-Proto"), "http")
	check("X-Forwarded-Host", hdr("X-Forwarded-Host"), "client.example.com")
	check("X-Forwarded-Path", hdr("X-Forwarded-Path"), "/strip/x")
	check("X-Forwarded-Prefix", hdr("X-Forwarded-Prefix"), "/strip")
	check("X-Real-IP", hdr("X-Real-IP"), "127.0.0.1")
	if hdr("X-Forwarded-Port") != strings.Split(s.proxyURL(), ":")[2] {
		t.Errorf("X-Forwarded-Port = %q", hdr("X-Forwarded-Port"))
	}
	if !strings.Contains(resp.Header.Get("Via"), "kong/") || resp.Header.Get("X-Kong-Upstream-Latency") == "" {
		t.Errorf("response headers Via=%q", resp.Header.Get("Via"))
	}
	_, e = s.getEcho("GET", "/keep/y", map[string]string{"Host": "client.example.com:9999"})
	check("path (no strip)", e.Path, "/base/keep/y")
	check("Host (preserve_host keeps port)", e.Host, "client.example.com:9999")
}

// Source: reference 2 (Target weight 0..65535, weight 0 excluded; all zero or
// no targets -> 503 "failure to get a peer from the ring-balancer").
func TestUpstreamBalancing(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	_, b := startEcho(t, "b")
	_, c := startEcho(t, "c")
	up := func(targets ...any) map[string]any {
		return map[string]any{"_format_version": "3.0",
			"services":  []any{map[string]any{"name": "s", "host": "up.internal", "port": 80, "routes": []any{map[string]any{"name": "r", "expression": `http.path ^= "/"`}}}},
			"upstreams": []any{map[string]any{"name": "up.internal", "targets": targets}},
		}
	}
	s.mustConfig(up(map[string]any{"target": a, "weight": 1}, map[string]any{"target": b, "weight": 3}, map[string]any{"target": c, "weight": 0}))
	counts := map[string]int{}
	for i := 0; i < 40; i++ {
		_, e := s.getEcho("GET", "/", nil)
		counts[e.Name]++
	}
	if counts["a"] != 10 || counts["b"] != 30 || counts["c"] != 0 {
		t.Errorf("distribution %v, want a=10 b=30 c=0", counts)
	}
	s.mustConfig(up(map[string]any{"target": a, "weight": 0}))
	resp, body := s.do("GET", s.proxyURL()+"/", nil, nil)
	if resp.StatusCode != 503 || body["message"] != "failure to get a peer from the ring-balancer" {
		t.Errorf("all-zero weights = %d %v", resp.StatusCode, body)
	}
	s.mustConfig(up())
	if resp, _ := s.do("GET", s.proxyURL()+"/", nil, nil); resp.StatusCode != 503 {
		t.Errorf("no targets = %d", resp.StatusCode)
	}
	// A dead target is skipped by the balancer's retries (service.retries).
	dead := freePort(t)
	s.mustConfig(up(map[string]any{"target": net.JoinHostPort("127.0.0.1", jsonItoa(dead))}, map[string]any{"target": a}))
	for i := 0; i < 4; i++ {
		if resp, e := s.getEcho("GET", "/", nil); resp.StatusCode != 200 || e.Name != "a" {
			t.Fatalf("retry past dead target: %d %q", resp.StatusCode, e.Name)
		}
	}
}

func jsonItoa(n int) string { return json.Number(itoa(n)).String() }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Source: reference 2 (service read_timeout) and Kong's 504 message; 502 for
// a refused connection without retries left.
func TestUpstreamErrors(t *testing.T) {
	s := startStandin(t, nil)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(testTimeout):
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	h, p := splitHostPortInt(t, strings.TrimPrefix(slow.URL, "http://"))
	dead := freePort(t)
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{
		map[string]any{"name": "slow", "host": h, "port": p, "read_timeout": 200, "routes": []any{map[string]any{"name": "r1", "expression": `http.path == "/slow"`}}},
		map[string]any{"name": "dead", "host": "127.0.0.1", "port": dead, "retries": 0, "routes": []any{map[string]any{"name": "r2", "expression": `http.path == "/dead"`}}},
	}})
	resp, body := s.do("GET", s.proxyURL()+"/slow", nil, nil)
	if resp.StatusCode != 504 || body["message"] != "The upstream server is timing out" {
		t.Errorf("timeout = %d %v", resp.StatusCode, body)
	}
	resp, body = s.do("GET", s.proxyURL()+"/dead", nil, nil)
	if resp.StatusCode != 502 || body["message"] != "An invalid response was received from the upstream server" {
		t.Errorf("refused = %d %v", resp.StatusCode, body)
	}
}

// Source: nginx detects the HTTP/2 connection preface on a plain listener
// with the http2 flag and serves HTTP/1.x there too, so one Kong port takes
// both h2c (gRPC) and HTTP/1.1 clients; without the flag h2c is not spoken.
func TestPlainHTTP2ListenerServesH2CAndHTTP1(t *testing.T) {
	for _, tc := range []struct {
		listen  string
		wantH2C bool
	}{{"127.0.0.1:0 http2", true}, {"127.0.0.1:0", false}} {
		s := startStandin(t, map[string]string{"KONG_PROXY_LISTEN": tc.listen})
		_, backend := startEcho(t, "b")
		s.mustConfig(svcConfig(backend, map[string]any{"name": "r", "expression": `http.path ^= "/"`}))

		if resp, e := s.getEcho("GET", "/one", nil); resp.StatusCode != 200 || e.Path != "/one" || resp.ProtoMajor != 1 {
			t.Fatalf("%s: HTTP/1.1 = %d %+v proto %s", tc.listen, resp.StatusCode, e, resp.Proto)
		}
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		h2c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: &protos}}
		resp, err := h2c.Get(s.proxyURL() + "/two")
		if tc.wantH2C {
			if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("%s: h2c = %v %v", tc.listen, resp, err)
			}
			resp.Body.Close()
		} else if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: h2c prior knowledge was answered (%s) without the http2 flag", tc.listen, resp.Proto)
		}
	}
}

// Source: kong/tools/uri.lua normalize (routing) and escape (upstream_uri,
// kong/runloop/handler.lua access): every escape of a non-reserved octet is
// decoded before routing, space and UTF-8 included, while reserved escapes
// stay encoded; the upstream gets the path re-escaped. Confirmed on Kong
// 3.9.3: /a%20b matches http.path == "/a b".
func TestPercentDecodingBeforeRouting(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/a%20b", "/a b"},
		{"/caf%c3%a9", "/caf\xc3\xa9"},
		{"/%7euser/%2fx", "/~user/%2Fx"},
		{"/a%3fb%2a", "/a%3Fb%2A"},
		{"/t%09ab", "/t\tab"},
	}
	for _, tc := range cases {
		if got := normalizePath(tc.in); got != tc.want {
			t.Errorf("normalizePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	h, p := splitHostPortInt(t, a)
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{
		map[string]any{"name": "s", "host": h, "port": p, "routes": []any{
			map[string]any{"name": "space", "expression": `http.path == "/a b"`, "strip_path": false},
			map[string]any{"name": "slash", "expression": `http.path == "/x%2Fy"`, "strip_path": false},
		}},
	}})
	for _, tc := range []struct{ path, upstream string }{
		{"/a%20b", "/a%20b"},
		{"/x%2fy", "/x%2Fy"},
	} {
		resp, e := s.getEcho("GET", tc.path, nil)
		if resp.StatusCode != 200 || e.Path != tc.upstream {
			t.Errorf("GET %s: status %d, upstream path %q, want 200 and %q", tc.path, resp.StatusCode, e.Path, tc.upstream)
		}
	}
}
