package kongstandin

import (
	"encoding/json"
	"net/http"
	"testing"
)

const exprDoc = "https://developer.konghq.com/gateway/routing/expressions/"

// Each case loads one route and checks whether a request matches it.
func TestExpressionMatching(t *testing.T) {
	s := startStandin(t, nil)
	_, backend := startEcho(t, "b")
	cases := []struct {
		source, expr string
		method, path string
		hdr          map[string]string
		match        bool
	}{
		{exprDoc + " (== exact)", `http.path == "/exact"`, "GET", "/exact", nil, true},
		{exprDoc + " (== exact)", `http.path == "/exact"`, "GET", "/exact/x", nil, false},
		{exprDoc + " (^= prefix)", `http.path ^= "/pre"`, "GET", "/prefix", nil, true},
		{exprDoc + " (=^ suffix)", `http.path =^ ".json"`, "GET", "/a/b.json", nil, true},
		{exprDoc + " (~ regex, unanchored)", `http.path ~ r#"/v[0-9]+/"#`, "GET", "/api/v2/x", nil, true},
		{exprDoc + " (contains)", `http.path contains "mid"`, "GET", "/a/middle/b", nil, true},
		{exprDoc + " (lower())", `lower(http.path) == "/caps"`, "GET", "/CaPs", nil, true},
		{exprDoc + " (headers, '-' as '_')", `http.headers.x_team == "a"`, "GET", "/", map[string]string{"X-Team": "a"}, true},
		{exprDoc + " (missing header never matches, even with !=)", `http.headers.x_team != "a"`, "GET", "/", nil, false},
		{exprDoc + " (queries)", `http.queries.v == "1"`, "GET", "/?v=1", nil, true},
		{exprDoc + " (method)", `http.method == "POST"`, "GET", "/", nil, false},
		{exprDoc + " (host without port)", `http.host == "foo.example.com"`, "GET", "/", map[string]string{"Host": "foo.example.com:8000"}, true},
		{exprDoc + " (&& binds tighter than ||)", `http.path == "/x" || http.path == "/y" && http.method == "POST"`, "GET", "/y", nil, false},
		{exprDoc + " (! negation)", `!(http.path ^= "/admin")`, "GET", "/public", nil, true},
		{exprDoc + " (net.src.ip in CIDR)", `net.src.ip in 127.0.0.0/8`, "GET", "/", nil, true},
		{exprDoc + " (net.src.ip not in CIDR)", `net.src.ip not in 127.0.0.0/8`, "GET", "/", nil, false},
		{exprDoc + " (net.protocol)", `net.protocol == "http" && http.path == "/p"`, "GET", "/p", nil, true},
		{exprDoc + " (path is normalized before matching)", `http.path == "/a/c"`, "GET", "/a/b/../c", nil, true},
		{exprDoc + " (path segments)", `http.path.segments.1 == "v1"`, "GET", "/api/v1/x", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.expr+" "+tc.path, func(t *testing.T) {
			s.mustConfig(svcConfig(backend, map[string]any{"name": "r", "expression": tc.expr}))
			req, _ := http.NewRequest(tc.method, s.proxyURL()+tc.path, nil)
			for k, v := range tc.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			// Send the literal path (no client-side cleaning of dot segments).
			req.URL.Opaque = tc.path
			if i := indexByte(tc.path, '?'); i >= 0 {
				req.URL.Opaque, req.URL.RawQuery = tc.path[:i], tc.path[i+1:]
			}
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == 200; got != tc.match {
				t.Errorf("status %d, match=%v want %v (source: %s)", resp.StatusCode, got, tc.match, tc.source)
			}
		})
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Source: reference 4.2 (evaluation order descending (priority, route UUID),
// first match wins) and 4.4 (404 body with request_id).
func TestRoutePriorityAndNoMatch(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	_, b := startEcho(t, "b")
	ah, ap := splitHostPortInt(t, a)
	bh, bp := splitHostPortInt(t, b)
	route := func(name, id, expr string, prio int64) map[string]any {
		return map[string]any{"name": name, "id": id, "expression": expr, "priority": prio}
	}
	doc := map[string]any{"_format_version": "3.0", "services": []any{
		map[string]any{"name": "a", "host": ah, "port": ap, "routes": []any{
			route("low", "00000000-0000-4000-8000-000000000001", `http.path ^= "/"`, 1),
			route("tie-low-uuid", "00000000-0000-4000-8000-000000000002", `http.path ^= "/tie"`, 50),
		}},
		map[string]any{"name": "b", "host": bh, "port": bp, "routes": []any{
			route("high", "00000000-0000-4000-8000-000000000003", `http.path ^= "/api"`, 100),
			route("tie-high-uuid", "ffffffff-0000-4000-8000-000000000004", `http.path ^= "/tie"`, 50),
		}},
	}}
	s.mustConfig(doc)
	for _, tc := range []struct{ path, want, source string }{
		{"/api/x", "b", "reference 4.2: higher priority first"},
		{"/other", "a", "reference 4.2: lower priority still matches when alone"},
		{"/tie", "b", "reference 4.2: equal priority -> descending route UUID"},
	} {
		_, e := s.getEcho("GET", tc.path, nil)
		if e.Name != tc.want {
			t.Errorf("%s routed to %q, want %q (source: %s)", tc.path, e.Name, tc.want, tc.source)
		}
	}
	s.mustConfig(svcConfig(a, map[string]any{"name": "only", "expression": `http.path == "/only"`}))
	resp, body := s.do("GET", s.proxyURL()+"/nothing", nil, nil)
	if resp.StatusCode != 404 || body["message"] != "no Route matched with those values" {
		t.Fatalf("no match = %d %v", resp.StatusCode, body)
	}
	if id, _ := body["request_id"].(string); len(id) != 32 || resp.Header.Get("X-Kong-Request-Id") != id {
		t.Errorf("request_id = %v, header %q", body["request_id"], resp.Header.Get("X-Kong-Request-Id"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("content-type %q", ct)
	}
}

// Source: reference 4.1 (https-only route over http -> 426 or redirect per
// https_redirect_status_code).
func TestHTTPSRedirect(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a,
		map[string]any{"name": "r426", "protocols": []any{"https"}, "expression": `http.path == "/u"`},
		map[string]any{"name": "r301", "protocols": []any{"https"}, "https_redirect_status_code": json.Number("301"), "expression": `http.path == "/m"`},
	))
	resp, body := s.do("GET", s.proxyURL()+"/u", nil, map[string]string{"Host": "h.example.com"})
	if resp.StatusCode != 426 || body["message"] != "Please use HTTPS protocol" {
		t.Errorf("426 case = %d %v", resp.StatusCode, body)
	}
	resp, _ = s.do("GET", s.proxyURL()+"/m?q=1", nil, map[string]string{"Host": "h.example.com"})
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://h.example.com/m?q=1" {
		t.Errorf("301 case = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
