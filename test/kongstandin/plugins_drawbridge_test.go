package kongstandin

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
)

var drawbridgePluginsEnv = map[string]string{"KONG_PLUGINS": "bundled,drawbridge-cors,drawbridge-backend-select"}

// Source: internal/kong/luaplugins/plugins/drawbridge-cors (policy.lua,
// handler.lua); real Kong runs the same cases in test/kongplugins.
func TestDrawbridgeCORS(t *testing.T) {
	s := startStandin(t, drawbridgePluginsEnv)
	_, a := startEcho(t, "a")
	s.mustConfig(svcConfig(a, pluginRoute(`http.path ^= "/"`, map[string]any{"name": "drawbridge-cors", "config": map[string]any{
		"allow_origins": []any{"https://www.foo.com", "https://*.bar.com"}, "allow_methods": []any{"*"}, "allow_headers": []any{"x-a", "x-b"},
		"expose_headers": []any{"x-e"}, "allow_credentials": true, "max_age": json.Number("600"),
	}})))
	resp, _ := s.do("OPTIONS", s.proxyURL()+"/x", nil, map[string]string{"Origin": "https://xpto.www.bar.com", "Access-Control-Request-Method": "PUT"})
	want := map[string]string{
		"Access-Control-Allow-Origin": "https://xpto.www.bar.com", "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "x-a, x-b",
		"Access-Control-Expose-Headers": "x-e", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600",
		"Vary": "Origin, Access-Control-Request-Method",
	}
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Backend") != "" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	resp, _ = s.do("OPTIONS", s.proxyURL()+"/x", nil, map[string]string{"Origin": "https://bar.com", "Access-Control-Request-Method": "PUT"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("preflight from a refused origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = s.do("GET", s.proxyURL()+"/x", nil, map[string]string{"Origin": "https://WWW.foo.com:443"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://WWW.foo.com:443" || resp.Header.Get("Access-Control-Expose-Headers") != "x-e" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("X-Backend") != "a" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("actual request: %v", resp.Header)
	}
	resp, _ = s.do("GET", s.proxyURL()+"/x", nil, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("request without Origin: %v", resp.Header)
	}
}

// Source: internal/kong/luaplugins/plugins/drawbridge-backend-select
// (picker.lua, handler.lua).
func TestDrawbridgeBackendSelect(t *testing.T) {
	s := startStandin(t, drawbridgePluginsEnv)
	_, a := startEcho(t, "a")
	_, b := startEcho(t, "b")
	target := func(hp string) map[string]any { return map[string]any{"target": hp} }
	_, ap, _ := net.SplitHostPort(a)
	s.mustConfig(map[string]any{
		"_format_version": "3.0",
		"upstreams": []any{
			map[string]any{"name": "rule", "targets": []any{target(a), target(b)}},
			map[string]any{"name": "rule.backend-0", "targets": []any{target(a)}},
			map[string]any{"name": "rule.backend-1", "targets": []any{target(b)}},
		},
		"services": []any{map[string]any{"name": "svc", "host": "rule", "port": json.Number(ap), "routes": []any{
			pluginRoute(`http.path ^= "/"`, map[string]any{"name": "drawbridge-backend-select", "config": map[string]any{"backends": []any{
				map[string]any{"upstream": "rule.backend-0", "weight": json.Number("1"),
					"request_headers":  map[string]any{"set": []any{map[string]any{"name": "Backend", "value": "a"}}, "remove": []any{"X-Drop"}},
					"response_headers": map[string]any{"add": []any{map[string]any{"name": "X-Served-By", "value": "a"}}}},
				map[string]any{"upstream": "rule.backend-1", "weight": json.Number("3"),
					"request_headers": map[string]any{"set": []any{map[string]any{"name": "Backend", "value": "b"}}}},
			}}}),
		}}},
	})
	count := map[string]int{}
	for range 40 {
		resp, e := s.getEcho("GET", "/", map[string]string{"X-Drop": "x", "Backend": "client"})
		got := http.Header(e.Headers)
		if got.Get("Backend") != e.Name || len(got.Values("Backend")) != 1 || got.Get("X-Drop") != "" && e.Name == "a" {
			t.Fatalf("backend %s saw %v", e.Name, e.Headers)
		}
		if (e.Name == "a") != (resp.Header.Get("X-Served-By") == "a") {
			t.Fatalf("backend %s answered X-Served-By %q", e.Name, resp.Header.Get("X-Served-By"))
		}
		count[e.Name]++
	}
	if count["a"] != 10 || count["b"] != 30 {
		t.Errorf("weights 1/3 over 40 requests: %v", count)
	}
}
