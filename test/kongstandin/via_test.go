package kongstandin

import (
	"net/http"
	"testing"
)

// Source: Kong 3.9.3 kong/runloop/handler.lua (upstream_via in access;
// Via and Server in header_filter) and templates/nginx_kong.lua
// (proxy_set_header Via $upstream_via); seen on real Kong by test/kongdiff.
func TestViaAndServerHeaders(t *testing.T) {
	s := startStandin(t, nil)
	_, backend := startEcho(t, "a")
	s.mustConfig(svcConfig(backend, map[string]any{"name": "r", "expression": `http.path ^= "/"`}))

	resp, e := s.getEcho("GET", "/x", nil)
	if got := http.Header(e.Headers).Get("Via"); got != "1.1 kong/"+KongVersion {
		t.Errorf("upstream Via = %q, want %q", got, "1.1 kong/"+KongVersion)
	}
	if got := resp.Header.Get("Via"); got != "1.1 kong/"+KongVersion {
		t.Errorf("response Via = %q", got)
	}
	if got := resp.Header.Get("Server"); got != "kong/"+KongVersion {
		t.Errorf("response Server = %q, want kong's when the upstream sends none", got)
	}

	_, e = s.getEcho("GET", "/x", map[string]string{"Via": "1.0 edge"})
	if got := http.Header(e.Headers).Get("Via"); got != "1.0 edge, 1.1 kong/"+KongVersion {
		t.Errorf("upstream Via after a client Via = %q", got)
	}
}
