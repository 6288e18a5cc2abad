package kongstandin

import (
	"net/http/httptest"
	"testing"
)

// Source: Kong 3.9.3 kong/pdk/request.lua: get_path() is
// normalize(get_raw_path(), true): dot segments removed, slashes merged,
// unreserved escapes decoded; seen on real Kong by test/kongdiff.
func TestPreFunctionGetPathIsNormalized(t *testing.T) {
	p, err := newPreFunction(map[string]any{"access": []any{
		`kong.response.exit(302, "redirecting", { ["Location"] = "https://x.test" .. kong.request.get_path() })`}})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"/a/./b":     "https://x.test/a/b",
		"/a/x/../b":  "https://x.test/a/b",
		"//a//b/":    "https://x.test/a/b/",
		"/%61pi%2Fx": "https://x.test/api%2Fx",
	} {
		req := httptest.NewRequest("GET", "http://x.test"+raw, nil)
		st := &proxyState{req: req, host: "x.test", scheme: "http", origHeader: req.Header, origPath: normalizePath(req.URL.EscapedPath())}
		resp := p.access(st)
		if resp == nil || resp.header.Get("Location") != want {
			t.Errorf("%s: Location %v, want %s", raw, resp, want)
		}
	}
}

// Source: Kong 3.9.3 kong/pdk/request.lua get_host is $host (no trailing
// dot); kong/plugins/redirect/handler.lua sets the normalized path with
// ada's set_pathname, which keeps its escapes; seen on real Kong by
// test/kongdiff.
func TestRedirectKeepsEscapesAndHostDropsDot(t *testing.T) {
	p, err := newPreFunction(map[string]any{"access": []any{
		`kong.response.exit(302, "redirecting", { ["Location"] = "https://" .. kong.request.get_host() .. "/" })`}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://x.test./", nil)
	st := &proxyState{req: req, host: "x.test.", scheme: "http", origHeader: req.Header, origPath: "/"}
	if resp := p.access(st); resp == nil || resp.header.Get("Location") != "https://x.test/" {
		t.Errorf("get_host with a trailing dot: %v", resp)
	}

	r := &redirectPlugin{status: 302, location: "https://new.example.com/p", keep: true}
	req = httptest.NewRequest("GET", "http://x.test/a%2Fb?q=1", nil)
	st = &proxyState{req: req, origPath: normalizePath(req.URL.EscapedPath()), origRawQuery: req.URL.RawQuery}
	if resp := r.access(st); resp.header.Get("Location") != "https://new.example.com/a%2Fb?q=1" {
		t.Errorf("redirect keep_incoming_path: Location %q", resp.header.Get("Location"))
	}
}
