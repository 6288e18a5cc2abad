package kongstandin

import (
	"net/http"
	"testing"
)

// Source: Kong 3.9.3 kong/runloop/handler.lua sets X-Forwarded-Host from
// nginx's $host, which drops the port and a trailing dot
// (ngx_http_validate_host); seen on real Kong by test/kongdiff.
func TestForwardedHostDropsTrailingDot(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, map[string]any{"name": "r", "expression": `http.path ^= "/"`}))
	_, e := s.getEcho("GET", "/", map[string]string{"Host": "Example.COM.:8000"})
	if got := http.Header(e.Headers).Get("X-Forwarded-Host"); got != "example.com" {
		t.Errorf("X-Forwarded-Host = %q, want example.com", got)
	}
}

// Source: Kong 3.9.3 kong/runloop/handler.lua sets X-Forwarded-Path from
// ctx.request_uri without the query: the raw path, escapes kept; seen on
// real Kong by test/kongdiff (/%2Fy, /%7E).
func TestForwardedPathIsRaw(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, map[string]any{"name": "r", "expression": `http.path ^= "/"`}))
	for _, p := range []string{"/a%2Fb", "/%7E", "/x/./y"} {
		_, e := s.getEcho("GET", p+"?q=1", nil)
		if got := http.Header(e.Headers).Get("X-Forwarded-Path"); got != p {
			t.Errorf("X-Forwarded-Path for %s = %q", p, got)
		}
	}
}
