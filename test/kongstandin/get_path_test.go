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
