package kongstandin

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func pluginRoute(expr string, plugins ...map[string]any) map[string]any {
	ps := []any{}
	for _, p := range plugins {
		ps = append(ps, p)
	}
	return map[string]any{"name": "r", "expression": expr, "plugins": ps}
}

// Source: https://developer.konghq.com/plugins/request-transformer/ (order
// remove, rename, replace, add, append; replace.uri with uri_captures) and
// reference 3.1 (KIC's header modifier mapping).
func TestRequestTransformer(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, pluginRoute(`http.path ~ r#"^/old(/.*)"#`, map[string]any{"name": "request-transformer", "config": map[string]any{
		"remove":  map[string]any{"headers": []any{"X-Drop"}, "querystring": []any{"drop"}},
		"rename":  map[string]any{"headers": []any{"X-Old:X-New"}},
		"replace": map[string]any{"headers": []any{"X-Set:replaced", "X-Absent:never"}, "uri": "/new$(uri_captures[1])"},
		"add":     map[string]any{"headers": []any{"X-Set:not-added", "X-Added:yes", "X-From:$(headers.x_src)"}, "querystring": []any{"added:1"}},
		"append":  map[string]any{"headers": []any{"X-Multi:two"}},
	}})))
	resp, e := s.getEcho("GET", "/old/rest?drop=1&keep=2", map[string]string{
		"X-Drop": "1", "X-Old": "o", "X-Set": "orig", "X-Multi": "one", "X-Src": "source",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	h := http.Header(e.Headers)
	for _, c := range []struct{ what, got, want string }{
		{"path from replace.uri + capture", e.Path, "/new/rest"},
		{"query", e.Query, "added=1&keep=2"},
		{"removed header", h.Get("X-Drop"), ""},
		{"renamed header", h.Get("X-New"), "o"},
		{"replaced header (existing)", h.Get("X-Set"), "replaced"},
		{"replace skips absent", h.Get("X-Absent"), ""},
		{"added header", h.Get("X-Added"), "yes"},
		{"template from header", h.Get("X-From"), "source"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if v := h.Values("X-Multi"); len(v) != 2 {
		t.Errorf("appended header values = %v", v)
	}
}

// Source: https://developer.konghq.com/plugins/response-transformer/ and
// reference 3.1 (KIC < 3.9 redirect: request-termination + response-transformer Location).
func TestResponseTransformerAndTermination(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	h, p := splitHostPortInt(t, a)
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "s", "host": h, "port": p, "routes": []any{
		pluginRoute(`http.path == "/rt"`, map[string]any{"name": "response-transformer", "config": map[string]any{
			"remove": map[string]any{"headers": []any{"X-Backend"}}, "add": map[string]any{"headers": []any{"X-Added:1"}},
			"replace": map[string]any{"headers": []any{"Content-Type:text/x-replaced"}}}}),
		map[string]any{"name": "term", "expression": `http.path == "/term"`, "plugins": []any{
			map[string]any{"name": "request-termination", "config": map[string]any{"status_code": 302}},
			map[string]any{"name": "response-transformer", "config": map[string]any{"add": map[string]any{"headers": []any{"Location:http://x.example/"}}}}}},
		map[string]any{"name": "body", "expression": `http.path == "/body"`, "plugins": []any{
			map[string]any{"name": "request-termination", "config": map[string]any{"status_code": 200, "body": "hi", "content_type": "text/plain"}}}},
		map[string]any{"name": "dflt", "expression": `http.path == "/dflt"`, "plugins": []any{map[string]any{"name": "request-termination"}}},
		map[string]any{"name": "msg", "expression": `http.path == "/msg"`, "plugins": []any{
			map[string]any{"name": "request-termination", "config": map[string]any{"status_code": 500, "message": "no existing backendRef provided"}}}},
	}}}})
	resp, _ := s.do("GET", s.proxyURL()+"/rt", nil, nil)
	if resp.Header.Get("X-Backend") != "" || resp.Header.Get("X-Added") != "1" || resp.Header.Get("Content-Type") != "text/x-replaced" {
		t.Errorf("response-transformer headers: %v", resp.Header)
	}
	resp, _ = s.do("GET", s.proxyURL()+"/term", nil, nil)
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "http://x.example/" {
		t.Errorf("termination+location = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := s.do("GET", s.proxyURL()+"/body", nil, nil)
	if resp.StatusCode != 200 || body["_raw"] != "hi" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("body termination = %d %v %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	resp, body = s.do("GET", s.proxyURL()+"/dflt", nil, nil)
	if resp.StatusCode != 503 || body["message"] != "Service unavailable" {
		t.Errorf("default termination = %d %v", resp.StatusCode, body)
	}
	resp, body = s.do("GET", s.proxyURL()+"/msg", nil, nil)
	if resp.StatusCode != 500 || body["message"] != "no existing backendRef provided" {
		t.Errorf("message termination = %d %v", resp.StatusCode, body)
	}
}

// Source: https://developer.konghq.com/plugins/redirect/ (keep_incoming_path
// uses the request path and query string).
func TestRedirectPlugin(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	h, p := splitHostPortInt(t, a)
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "s", "host": h, "port": p, "routes": []any{
		map[string]any{"name": "keep", "expression": `http.path ^= "/keep"`, "plugins": []any{map[string]any{"name": "redirect", "config": map[string]any{"location": "https://new.example.com/some-path", "keep_incoming_path": true, "status_code": 308}}}},
		map[string]any{"name": "fixed", "expression": `http.path ^= "/fixed"`, "plugins": []any{map[string]any{"name": "redirect", "config": map[string]any{"location": "https://new.example.com/x"}}}},
	}}}})
	resp, _ := s.do("GET", s.proxyURL()+"/keep/demo?foo=bar", nil, nil)
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://new.example.com/keep/demo?foo=bar" {
		t.Errorf("keep_incoming_path = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = s.do("GET", s.proxyURL()+"/fixed/a", nil, nil)
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://new.example.com/x" {
		t.Errorf("default redirect = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Source: https://developer.konghq.com/plugins/cors/ (preflight answered with
// 200 and Access-Control-* headers; actual requests get ACAO).
func TestCORS(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, pluginRoute(`http.path ^= "/"`, map[string]any{"name": "cors", "config": map[string]any{
		"origins": []any{"http://a.example", `http://.*\.b\.example`}, "methods": []any{"GET", "POST"},
		"headers": []any{"X-H"}, "exposed_headers": []any{"X-E"}, "credentials": true, "max_age": 60,
	}})))
	resp, _ := s.do("OPTIONS", s.proxyURL()+"/x", nil, map[string]string{"Origin": "http://sub.b.example", "Access-Control-Request-Method": "POST"})
	want := map[string]string{
		"Access-Control-Allow-Origin": "http://sub.b.example", "Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "X-H", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "60", "Vary": "Origin",
	}
	if resp.StatusCode != 200 {
		t.Errorf("preflight status %d", resp.StatusCode)
	}
	for k, v := range want {
		if resp.Header.Get(k) != v {
			t.Errorf("preflight %s = %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	resp, _ = s.do("GET", s.proxyURL()+"/x", nil, map[string]string{"Origin": "http://a.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://a.example" || resp.Header.Get("Access-Control-Expose-Headers") != "X-E" {
		t.Errorf("actual request headers: %v", resp.Header)
	}
	resp, _ = s.do("GET", s.proxyURL()+"/x", nil, map[string]string{"Origin": "http://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got ACAO %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// Source: https://developer.konghq.com/plugins/pre-function/ (access-phase
// Lua before every other plugin, sandboxed by untrusted_lua=sandbox; code
// that does not compile is refused when configured; a Lua error is a 500).
func TestPreFunction(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	h, p := splitHostPortInt(t, a)
	preFn := func(code string) map[string]any {
		return map[string]any{"name": "pre-function", "config": map[string]any{"access": []any{code}}}
	}
	redirect := `local q = kong.request.get_raw_query()
local loc = "https://" .. kong.request.get_host() .. kong.request.get_path()
if q ~= "" then loc = loc .. "?" .. q end
kong.response.exit(301, "moved", { ["Location"] = loc })`
	s.mustConfig(map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "s", "host": h, "port": p, "routes": []any{
		pluginRoute(`http.path ^= "/redirect"`, preFn(redirect)),
		pluginRoute2("sandbox", `http.path ^= "/sandbox"`, preFn(`os.exit(1)`)),
		pluginRoute2("pass", `http.path ^= "/pass"`, preFn(`local x = kong.request.get_header("x-a")`)),
	}}}})
	resp, _ := s.do("GET", s.proxyURL()+"/redirect/a%20b?x=1", nil, map[string]string{"Host": "Shop.Example.com:8000"})
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://shop.example.com/redirect/a%20b?x=1" {
		t.Errorf("redirect = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := s.do("GET", s.proxyURL()+"/sandbox", nil, nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("os outside the sandbox = %d, want 500", resp.StatusCode)
	}
	if resp, e := s.getEcho("GET", "/pass", nil); resp.StatusCode != 200 || e.Name != "a" {
		t.Errorf("code without exit = %d %+v, want the request proxied", resp.StatusCode, e)
	}
	status, body := s.postConfig(map[string]any{"_format_version": "3.0", "services": []any{map[string]any{"name": "s", "host": h, "port": p, "routes": []any{
		pluginRoute(`http.path ^= "/"`, preFn(`if then`)),
	}}}})
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "Error parsing pre-function") {
		t.Errorf("uncompilable code: %d %v, want 400 naming the parse error", status, body)
	}
}

func pluginRoute2(name, expr string, plugins ...map[string]any) map[string]any {
	r := pluginRoute(expr, plugins...)
	r["name"] = name
	return r
}
