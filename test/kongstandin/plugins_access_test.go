package kongstandin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// withConsumers adds consumers to a config built by svcConfig.
func withConsumers(cfg map[string]any, consumers ...map[string]any) map[string]any {
	cs := []any{}
	for _, c := range consumers {
		cs = append(cs, c)
	}
	cfg["consumers"] = cs
	return cfg
}

func multiRoute(backend string, routes ...map[string]any) map[string]any {
	for i, r := range routes {
		r["name"] = "r" + string(rune('0'+i))
	}
	return svcConfig(backend, routes...)
}

// Source: kong/plugins/key-auth/handler.lua (ERR_NO_API_KEY,
// ERR_INVALID_AUTH_CRED, ERR_DUPLICATE_API_KEY, WWW-Authenticate "Key" or
// Key realm="..."; set_consumer's X-Consumer-* headers) and acl/handler.lua
// ("You cannot consume this service"; 401 without a consumer).
func TestKeyAuthAndACL(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(withConsumers(multiRoute(a,
		pluginRoute(`http.path == "/k"`, map[string]any{"name": "key-auth"}),
		pluginRoute(`http.path == "/realm"`, map[string]any{"name": "key-auth", "config": map[string]any{"realm": "api"}}),
		pluginRoute(`http.path == "/admins"`, map[string]any{"name": "key-auth"}, map[string]any{"name": "acl", "config": map[string]any{"allow": []any{"admins"}}}),
		pluginRoute(`http.path == "/no-readers"`, map[string]any{"name": "key-auth"}, map[string]any{"name": "acl", "config": map[string]any{"deny": []any{"readers"}}}),
		pluginRoute(`http.path == "/acl-only"`, map[string]any{"name": "acl", "config": map[string]any{"allow": []any{"admins"}}}),
	),
		map[string]any{"username": "alice", "custom_id": "1001",
			"keyauth_credentials": []any{map[string]any{"key": "alice-key"}},
			"acls":                []any{map[string]any{"group": "admins"}, map[string]any{"group": "readers"}}},
		map[string]any{"username": "bob", "keyauth_credentials": []any{map[string]any{"key": "bob-key"}}},
	))
	type want struct {
		status       int
		msg, wwwAuth string
	}
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
		want       want
	}{
		{"no key", "/k", nil, want{401, "No API key found in request", "Key"}},
		{"unknown key", "/k", map[string]string{"apikey": "nope"}, want{401, "Unauthorized", "Key"}},
		{"realm", "/realm", nil, want{401, "No API key found in request", `Key realm="api"`}},
		{"key in header", "/k", map[string]string{"apikey": "alice-key"}, want{200, "", ""}},
		{"key in query", "/k?apikey=bob-key", nil, want{200, "", ""}},
		{"duplicate key", "/k?apikey=a&apikey=b", nil, want{401, "Duplicate API key found", "Key"}},
		{"acl allow: in group", "/admins", map[string]string{"apikey": "alice-key"}, want{200, "", ""}},
		{"acl allow: no groups", "/admins", map[string]string{"apikey": "bob-key"}, want{403, "You cannot consume this service", ""}},
		{"acl deny: in group", "/no-readers", map[string]string{"apikey": "alice-key"}, want{403, "You cannot consume this service", ""}},
		{"acl deny: no groups", "/no-readers", map[string]string{"apikey": "bob-key"}, want{200, "", ""}},
		{"acl without consumer", "/acl-only", nil, want{401, "Unauthorized", ""}},
	} {
		resp, body := s.do("GET", s.proxyURL()+c.path, nil, c.hdr)
		if resp.StatusCode != c.want.status {
			t.Errorf("%s: status %d, want %d (%v)", c.name, resp.StatusCode, c.want.status, body)
			continue
		}
		if c.want.msg != "" && body["message"] != c.want.msg {
			t.Errorf("%s: message %v, want %q", c.name, body["message"], c.want.msg)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != c.want.wwwAuth {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.want.wwwAuth)
		}
	}
	_, e := s.getEcho("GET", "/admins", map[string]string{"apikey": "alice-key"})
	h := http.Header(e.Headers)
	if h.Get("X-Consumer-Username") != "alice" || h.Get("X-Consumer-Custom-Id") != "1001" || h.Get("X-Consumer-Id") == "" || h.Get("X-Credential-Identifier") == "" {
		t.Errorf("consumer headers to upstream: %v", h)
	}
	if h.Get("X-Consumer-Groups") != "admins, readers" {
		t.Errorf("X-Consumer-Groups = %q", h.Get("X-Consumer-Groups"))
	}
}

// Source: kong/plugins/ip-restriction/handler.lua (deny before allow;
// 403 "IP address not allowed: <remote_addr>"; status and message from
// the config).
func TestIPRestriction(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(multiRoute(a,
		pluginRoute(`http.path == "/allow-other"`, map[string]any{"name": "ip-restriction", "config": map[string]any{"allow": []any{"10.0.0.0/8"}}}),
		pluginRoute(`http.path == "/allow-local"`, map[string]any{"name": "ip-restriction", "config": map[string]any{"allow": []any{"127.0.0.0/8"}}}),
		pluginRoute(`http.path == "/deny-local"`, map[string]any{"name": "ip-restriction", "config": map[string]any{"allow": []any{"127.0.0.1"}, "deny": []any{"127.0.0.1/32"}, "status": 401, "message": "go away"}}),
	))
	for _, c := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/allow-other", 403, "IP address not allowed: 127.0.0.1"},
		{"/allow-local", 200, ""},
		{"/deny-local", 401, "go away"},
	} {
		resp, body := s.do("GET", s.proxyURL()+c.path, nil, nil)
		if resp.StatusCode != c.status || (c.msg != "" && body["message"] != c.msg) {
			t.Errorf("%s: %d %v, want %d %q", c.path, resp.StatusCode, body["message"], c.status, c.msg)
		}
	}
}

// Source: kong/plugins/rate-limiting/handler.lua (X-RateLimit-*-<Period>,
// RateLimit-Limit/Remaining/Reset, Retry-After and 429 "API rate limit
// exceeded" once remaining reaches 0; counters per route and identifier).
func TestRateLimitingLocal(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(multiRoute(a,
		pluginRoute(`http.path == "/rl"`, map[string]any{"name": "rate-limiting", "config": map[string]any{"hour": 2, "policy": "local"}}),
	))
	for i, wantRemaining := range []string{"1", "0"} {
		resp, _ := s.do("GET", s.proxyURL()+"/rl", nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit-Hour") != "2" ||
			resp.Header.Get("X-RateLimit-Remaining-Hour") != wantRemaining || resp.Header.Get("RateLimit-Limit") != "2" ||
			resp.Header.Get("RateLimit-Remaining") != wantRemaining || resp.Header.Get("RateLimit-Reset") == "" {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, resp.Header)
		}
	}
	resp, body := s.do("GET", s.proxyURL()+"/rl", nil, nil)
	if resp.StatusCode != 429 || body["message"] != "API rate limit exceeded" || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("X-RateLimit-Remaining-Hour") != "0" {
		t.Fatalf("third request: %d %v %v", resp.StatusCode, body, resp.Header)
	}
}

// Source: kong/plugins/request-size-limiting/handler.lua (413 "Request
// size limit exceeded", 417 with Expect: 100-continue).
func TestRequestSizeLimiting(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	s.mustConfig(multiRoute(a,
		pluginRoute(`http.path == "/small"`, map[string]any{"name": "request-size-limiting", "config": map[string]any{"allowed_payload_size": 10, "size_unit": "bytes"}}),
	))
	resp, _ := s.do("POST", s.proxyURL()+"/small", []byte("0123456789"), nil)
	if resp.StatusCode != 200 {
		t.Errorf("10 bytes: %d", resp.StatusCode)
	}
	resp, body := s.do("POST", s.proxyURL()+"/small", []byte(strings.Repeat("x", 11)), nil)
	if resp.StatusCode != 413 || body["message"] != "Request size limit exceeded" {
		t.Errorf("11 bytes: %d %v", resp.StatusCode, body)
	}
}

// Bundled plugin names are accepted as Kong accepts them (KONG_PLUGINS=
// bundled), HTTP-only plugins are refused on stream protocols, credential
// entities need their plugin, and key-auth keys are unique.
func TestBundledPluginsAndCredentials(t *testing.T) {
	s := startStandin(t, nil)
	_, a := startEcho(t, "a")
	ok := withConsumers(multiRoute(a, pluginRoute(`http.path == "/p"`, map[string]any{"name": "prometheus"}, map[string]any{"name": "zipkin", "config": map[string]any{}})),
		map[string]any{"username": "u", "basicauth_credentials": []any{map[string]any{"username": "u", "password": "p"}},
			"jwt_secrets": []any{map[string]any{"key": "iss"}}, "hmacauth_credentials": []any{map[string]any{"username": "h"}}})
	s.mustConfig(ok)
	resp, body := s.do("GET", s.proxyURL()+"/p", nil, nil)
	if resp.StatusCode != 500 || !strings.Contains(body["message"].(string), "zipkin") {
		t.Errorf("a plugin the stand-in does not run must fail loudly: %d %v", resp.StatusCode, body)
	}
	for name, cfg := range map[string]map[string]any{
		"key-auth on tcp": {"_format_version": "3.0", "plugins": []any{map[string]any{"name": "key-auth", "protocols": []any{"tcp"}}}},
		"duplicate key": withConsumers(map[string]any{"_format_version": "3.0"},
			map[string]any{"username": "x", "keyauth_credentials": []any{map[string]any{"key": "k"}}},
			map[string]any{"username": "y", "keyauth_credentials": []any{map[string]any{"key": "k"}}}),
		"duplicate username": withConsumers(map[string]any{"_format_version": "3.0"}, map[string]any{"username": "x"}, map[string]any{"username": "x"}),
	} {
		code, body := s.postConfig(cfg)
		b, _ := json.Marshal(body)
		if code != 400 {
			t.Errorf("%s: %d %s", name, code, b)
		}
		if name == "duplicate key" && !strings.Contains(string(b), "uniqueness violation: 'keyauth_credentials' entity with key set to 'k' already declared") {
			t.Errorf("%s: %s", name, b)
		}
	}
	off := startStandin(t, map[string]string{"KONG_PLUGINS": "acl,my-custom"})
	off.mustConfig(map[string]any{"_format_version": "3.0", "plugins": []any{map[string]any{"name": "my-custom"}}})
	if code, body := off.postConfig(withConsumers(map[string]any{"_format_version": "3.0"}, map[string]any{"username": "x", "keyauth_credentials": []any{map[string]any{"key": "k"}}})); code != 400 {
		t.Errorf("keyauth_credentials without key-auth loaded: %d %v", code, body)
	}
	if code, _ := off.postConfig(map[string]any{"_format_version": "3.0", "plugins": []any{map[string]any{"name": "key-auth"}}}); code != 400 {
		t.Errorf("key-auth not in KONG_PLUGINS: %d", code)
	}
}
