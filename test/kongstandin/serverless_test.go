package kongstandin

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkPreFunctionRedirect measures one request through a generated
// redirect chunk: a fresh sandboxed Lua state, the PDK table and the exit.
func BenchmarkPreFunctionRedirect(b *testing.B) {
	code := `local path = kong.request.get_path()
local query = kong.request.get_raw_query()
local location = "https://" .. kong.request.get_host() .. "" .. path
if query ~= "" then location = location .. "?" .. query end
kong.response.exit(302, "redirecting", { ["Location"] = location })`
	p, err := newPreFunction(map[string]any{"access": []any{code}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://shop.example.com/a/b?x=1", nil)
	st := &proxyState{req: req, host: "shop.example.com", scheme: "http", origHeader: req.Header, origPath: normalizePath(req.URL.EscapedPath())}
	b.ReportAllocs()
	for b.Loop() {
		if resp := p.access(st); resp == nil || resp.status != 302 || resp.header.Get("Location") != "https://shop.example.com/a/b?x=1" {
			b.Fatalf("unexpected answer %+v", resp)
		}
	}
}
