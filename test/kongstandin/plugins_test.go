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
	// get_path is the normalized path (Kong 3.9.3 kong/pdk/request.lua),
	// so the dot segment is gone.
	resp, _ := s.do("GET", s.proxyURL()+"/redirect/a/./b?x=1", nil, map[string]string{"Host": "Shop.Example.com:8000"})
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://shop.example.com/redirect/a/b?x=1" {
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

// corsCheck is one request against a cors-configured route and the
// Access-Control-* headers expected back ("" = absent).
type corsCheck struct {
	name     string
	method   string
	hdr      map[string]string
	status   int
	upstream bool // the echo backend answered
	want     map[string]string
}

func runCORSChecks(t *testing.T, s *standin, path string, checks []corsCheck) {
	t.Helper()
	for _, c := range checks {
		resp, _ := s.do(c.method, s.proxyURL()+path, nil, c.hdr)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if got := resp.Header.Get("X-Backend") != ""; got != c.upstream {
			t.Errorf("%s: reached upstream = %v, want %v", c.name, got, c.upstream)
		}
		for k, v := range c.want {
			if got := strings.Join(resp.Header.Values(k), ","); got != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, got, v)
			}
		}
	}
}

// The configs are the ones the translator emits for the HTTPRouteCORS
// conformance manifests. Source: Kong 3.9 cors handler behaviour as modelled
// in plugins.go (preflight answered in access without Expose-Headers;
// Expose-Headers only on other responses; "*" plus credentials echoes the
// Origin; unset headers echo Access-Control-Request-Headers; methods are
// the configured list, comma-joined).
func TestCORSPreflightAndActual(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	multi := map[string]any{"name": "cors", "config": map[string]any{
		"origins":         []any{"https://www.foo.com", `^https://(?:[a-z0-9-]+\.)+bar\.com$`},
		"methods":         []any{"GET", "OPTIONS"},
		"headers":         []any{"x-header-1", "x-header-2"},
		"exposed_headers": []any{"x-header-3", "x-header-4"},
		"credentials":     true, "max_age": 3600,
	}}
	star := map[string]any{"name": "cors", "config": map[string]any{
		"origins": []any{"*"}, "credentials": true, "max_age": 5,
		"methods": []any{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"},
	}}
	starNoCreds := map[string]any{"name": "cors", "config": map[string]any{"origins": []any{"*"}, "methods": []any{"PUT"}, "preflight_continue": false}}
	cont := map[string]any{"name": "cors", "config": map[string]any{"origins": []any{"https://www.foo.com", "https://b.example"}, "preflight_continue": true, "exposed_headers": []any{"x-e"}}}
	routes := []map[string]any{
		{"name": "multi", "expression": `http.path ^= "/multi"`, "plugins": []any{multi}},
		{"name": "star", "expression": `http.path ^= "/star"`, "plugins": []any{star}},
		{"name": "nocreds", "expression": `http.path ^= "/nocreds"`, "plugins": []any{starNoCreds}},
		{"name": "cont", "expression": `http.path ^= "/cont"`, "plugins": []any{cont}},
	}
	s.mustConfig(svcConfig(a, routes...))
	pre := func(origin, method, hdrs string) map[string]string {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if hdrs != "" {
			h["Access-Control-Request-Headers"] = hdrs
		}
		return h
	}
	runCORSChecks(t, s, "/multi", []corsCheck{
		{"exact origin preflight", "OPTIONS", pre("https://www.foo.com", "GET", "x-header-1"), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Allow-Methods": "GET,OPTIONS",
			"Access-Control-Allow-Headers": "x-header-1,x-header-2", "Access-Control-Max-Age": "3600",
			"Access-Control-Allow-Credentials": "true", "Vary": "Origin", "Access-Control-Expose-Headers": ""}},
		{"regex origin, two labels", "OPTIONS", pre("https://xpto.www.bar.com", "GET", ""), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "https://xpto.www.bar.com"}},
		{"default port is normalized away", "OPTIONS", pre("https://www.bar.com:443", "GET", ""), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "https://www.bar.com"}},
		{"regex must cover the whole origin", "OPTIONS", pre("https://www.bar.com.evil.example", "GET", ""), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "true"}},
		{"non-matching origin preflight", "OPTIONS", pre("https://foobar.com", "GET", ""), 200, false, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"actual request", "GET", map[string]string{"Origin": "https://www.bar.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": "https://www.bar.com", "Access-Control-Expose-Headers": "x-header-3,x-header-4",
			"Access-Control-Allow-Credentials": "true", "Vary": "Origin", "Access-Control-Allow-Methods": ""}},
		{"actual request, other origin", "GET", map[string]string{"Origin": "https://foobar.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"OPTIONS without Access-Control-Request-Method is not a preflight", "OPTIONS", map[string]string{"Origin": "https://www.foo.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Access-Control-Expose-Headers": "x-header-3,x-header-4"}},
	})
	runCORSChecks(t, s, "/star", []corsCheck{
		{"'*' with credentials echoes the origin", "OPTIONS", pre("https://other.foo.com", "PUT", "x-header-1, x-header-2"), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "true", "Vary": "Origin",
			"Access-Control-Allow-Headers": "x-header-1, x-header-2", "Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"}},
		{"no request headers, no Allow-Headers", "OPTIONS", pre("https://other.foo.com", "PUT", ""), 200, false, map[string]string{
			"Access-Control-Allow-Headers": ""}},
		{"actual request echoes the origin", "GET", map[string]string{"Origin": "https://other.foo.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": "https://other.foo.com", "Access-Control-Allow-Credentials": "true"}},
	})
	runCORSChecks(t, s, "/nocreds", []corsCheck{
		{"'*' without credentials", "OPTIONS", pre("https://foobar.com:12345", "PUT", ""), 200, false, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Credentials": "", "Vary": ""}},
		{"actual request", "PUT", map[string]string{"Origin": "https://foobar.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
		{"no Origin still gets '*'", "GET", nil, 200, true, map[string]string{"Access-Control-Allow-Origin": "*"}},
	})
	runCORSChecks(t, s, "/cont", []corsCheck{
		{"preflight_continue hands the preflight upstream untouched", "OPTIONS", pre("https://b.example", "GET", ""), 200, true, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Expose-Headers": ""}},
	})
}

// A single plain origin is sent whatever the request Origin is
// ([unverified] long-standing Kong behaviour, see plugins.go).
func TestCORSSinglePlainOrigin(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, pluginRoute(`http.path ^= "/"`, map[string]any{"name": "cors", "config": map[string]any{"origins": []any{"https://www.foo.com"}}})))
	runCORSChecks(t, s, "/x", []corsCheck{
		{"other origin", "GET", map[string]string{"Origin": "https://foobar.com"}, 200, true, map[string]string{
			"Access-Control-Allow-Origin": "https://www.foo.com", "Vary": "Origin"}},
	})
}
