package kongstandin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEnvironment(t *testing.T) {
	cases := []struct {
		name, source string
		env          map[string]string
		wantErr      string
	}{
		{"operator environment accepted", "reference 5 (KGO DataPlane environment)", map[string]string{
			"KONG_PORT_MAPS": "80:8000, 443:8443", "KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH": "3",
		}, ""},
		{"unknown setting named", "issue 4: a setting it does not understand is a startup error naming it", map[string]string{"KONG_FOO_BAR": "1"}, "KONG_FOO_BAR"},
		{"database must be off", "reference 5: database = postgres by default; DB-less needs KONG_DATABASE=off", map[string]string{"KONG_DATABASE": "postgres"}, "KONG_DATABASE"},
		{"router flavor", "reference 2: expression/priority exist only with router_flavor=expressions", map[string]string{"KONG_ROUTER_FLAVOR": "traditional_compatible"}, "KONG_ROUTER_FLAVOR"},
		{"bad listener flag", "reference 5: listener flags", map[string]string{"KONG_PROXY_LISTEN": "127.0.0.1:0 bogus"}, "bogus"},
		{"bad port map", "reference 3.3: port_maps", map[string]string{"KONG_PORT_MAPS": "80"}, "KONG_PORT_MAPS"},
		{"ssl admin without cert", "reference 5: KONG_ADMIN_SSL_CERT", map[string]string{"KONG_ADMIN_LISTEN": "127.0.0.1:0 ssl"}, "KONG_ADMIN_SSL_CERT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := ConfigFromEnv(envList(env))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want mention of %q (source: %s)", err, tc.wantErr, tc.source)
			}
		})
	}
	cfg, err := ConfigFromEnv(envList(map[string]string{"KONG_DATABASE": "off", "KONG_ROUTER_FLAVOR": "expressions",
		"KONG_ADMIN_LISTEN": "off", "KONG_PROXY_LISTEN": "0.0.0.0:8000, 0.0.0.0:8443 http2 ssl", "KONG_STREAM_LISTEN": "0.0.0.0:9000, 0.0.0.0:9001 udp, 0.0.0.0:9002 ssl"}))
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.ProxyListeners[1]; !l.SSL || !l.HTTP2 || l.Port != 8443 {
		t.Errorf("proxy listener parsed as %+v", l)
	}
	if !cfg.StreamListeners[1].UDP || !cfg.StreamListeners[2].SSL {
		t.Errorf("stream listeners parsed as %+v", cfg.StreamListeners)
	}
}

// Source: reference 5 (GET /, GET /status, GET /status/ready) and 1.2 (empty config hash).
func TestAdminStatusAndReadiness(t *testing.T) {
	s := startStandin(t, nil)
	resp, root := s.do("GET", s.admin+"/", nil, nil)
	if resp.StatusCode != 200 || root["version"] != KongVersion {
		t.Fatalf("GET / = %d %v", resp.StatusCode, root["version"])
	}
	conf := root["configuration"].(map[string]any)
	if conf["database"] != "off" || conf["router_flavor"] != "expressions" {
		t.Errorf("configuration = %v / %v", conf["database"], conf["router_flavor"])
	}
	if _, ok := conf["stream_listeners"]; !ok {
		t.Error("configuration.stream_listeners missing")
	}
	for _, base := range []string{s.admin, s.status} {
		_, st := s.do("GET", base+"/status", nil, nil)
		if st["configuration_hash"] != zeroHash {
			t.Errorf("%s/status hash = %v, want zeros before config", base, st["configuration_hash"])
		}
	}
	if resp, _ := s.do("GET", s.status+"/status/ready", nil, nil); resp.StatusCode != 503 {
		t.Errorf("ready before config = %d, want 503", resp.StatusCode)
	}
	// An empty configuration keeps the zero hash and readiness at 503 (reference 1.2, 1.4).
	s.mustConfig(map[string]any{"_format_version": "3.0"})
	if resp, _ := s.do("GET", s.status+"/status/ready", nil, nil); resp.StatusCode != 503 {
		t.Errorf("ready after empty config = %d, want 503", resp.StatusCode)
	}
	// KIC's stub upstream makes the config non-empty (reference 1.4).
	code, body := s.postConfig(map[string]any{"_format_version": "3.0", "upstreams": []any{map[string]any{"name": "kong"}}})
	if code != 201 {
		t.Fatalf("POST /config = %d %v", code, body)
	}
	if ups, _ := body["upstreams"].(map[string]any); len(ups) != 1 {
		t.Errorf("201 body upstreams = %v", body["upstreams"])
	}
	resp, ready := s.do("GET", s.status+"/status/ready", nil, nil)
	if resp.StatusCode != 200 || ready["message"] != "ready" {
		t.Errorf("ready after config = %d %v", resp.StatusCode, ready)
	}
	_, st := s.do("GET", s.admin+"/status", nil, nil)
	hash, _ := st["configuration_hash"].(string)
	if len(hash) != 32 || hash == zeroHash {
		t.Errorf("hash after config = %q", hash)
	}
	if resp, _ := s.do("GET", s.admin+"/status/ready", nil, nil); resp.StatusCode != 404 {
		t.Errorf("/status/ready on admin listener = %d, want 404 (status listener only)", resp.StatusCode)
	}
	_, gc := s.do("GET", s.admin+"/config", nil, nil)
	if cfgText, _ := gc["config"].(string); !strings.Contains(cfgText, `"kong"`) {
		t.Errorf("GET /config = %v", gc)
	}
}

// flatErr finds the error entry for an entity type in flattened_errors.
func flatErr(body map[string]any, entityType string) (map[string]any, []map[string]any) {
	list, _ := body["flattened_errors"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		if m["entity_type"] == entityType {
			var errs []map[string]any
			for _, x := range m["errors"].([]any) {
				errs = append(errs, x.(map[string]any))
			}
			return m, errs
		}
	}
	return nil, nil
}

func TestConfigValidation(t *testing.T) {
	s := startStandin(t, nil)
	svc := func(extra map[string]any, routes ...any) map[string]any {
		m := map[string]any{"name": "s1", "host": "example.com", "routes": routes}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cfg := func(kv ...any) map[string]any {
		m := map[string]any{"_format_version": "3.0"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	route := func(kv ...any) map[string]any {
		m := map[string]any{"name": "r1", "expression": `http.path ^= "/"`}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name, source string
		cfg          map[string]any
		entity       string // entity_type in flattened_errors ("" = top-level "fields")
		field        string // "" = entity-level error
		msg          string // substring of the message
	}{
		{"missing format version", "reference 1.4: _format_version is required", map[string]any{"services": []any{}}, "", "_format_version", "required field missing"},
		{"unknown top-level key", "reference 1.4: any other key, including _info, is an unknown field", cfg("_info", map[string]any{}), "", "_info", "unknown field"},
		{"unknown route field", "reference 1.3: unknown field", cfg("services", []any{svc(nil, route("bogus", true))}), "route", "bogus", "unknown field"},
		{"service host required", "reference 2: service host required", cfg("services", []any{map[string]any{"name": "s"}}), "service", "host", "required field missing"},
		{"service port range", "reference 2: port 0..65535", cfg("services", []any{svc(map[string]any{"port": 70000})}), "service", "port", "between 0 and 65535"},
		{"service path for grpc", "reference 2: path must be null for grpc", cfg("services", []any{svc(map[string]any{"protocol": "grpc", "path": "/x"})}), "service", "path", "value must be null"},
		{"invalid name", "reference 2: name ASCII limited to [A-Za-z0-9._~-]", cfg("services", []any{svc(map[string]any{"name": "bad name"})}), "service", "name", "the only accepted ascii characters"},
		{"invalid tag", "reference 2: tags exclude ',' and '/'", cfg("services", []any{svc(map[string]any{"tags": []any{"a/b"}})}), "service", "tags.1", "invalid tag"},
		{"invalid expression syntax", "expressions language reference; reference 2 (Router Expression failed validation)", cfg("services", []any{svc(nil, route("expression", `http.path ==`))}), "route", "", "Router Expression failed validation"},
		{"unknown expression field", "expressions language reference: available fields", cfg("services", []any{svc(nil, route("expression", `http.nope == "x"`))}), "route", "", "Unknown LHS field"},
		{"type mismatch", "expressions language reference: predicate types", cfg("services", []any{svc(nil, route("expression", `net.dst.port == "80"`))}), "route", "", "Type mismatch"},
		{"http field in stream route", "expressions language reference: stream routes have no http.* fields", cfg("services", []any{svc(map[string]any{"protocol": "tcp"}, route("protocols", []any{"tcp"}, "expression", `http.path == "/"`))}), "route", "", "Unknown LHS field"},
		{"bad regex", "reference 2: regexes are checked", cfg("services", []any{svc(nil, route("expression", `http.path ~ "("`))}), "route", "", "invalid regex"},
		{"priority range", "reference 2: priority 0..2^46-1", cfg("services", []any{svc(nil, route("priority", json.Number("70368744177664")))}), "route", "priority", "between 0 and 70368744177663"},
		{"protocol groups", "reference 2: protocol groups cannot mix", cfg("services", []any{svc(nil, route("protocols", []any{"http", "tcp"}))}), "route", "", "mutually exclusive"},
		{"grpc strip_path", "reference 2: strip_path must be false for grpc", cfg("services", []any{svc(nil, route("protocols", []any{"grpc"}, "strip_path", true))}), "route", "strip_path", "value must be false"},
		{"redirect code", "reference 2: https_redirect_status_code 426, 301, 302, 307 or 308", cfg("services", []any{svc(nil, route("https_redirect_status_code", 303))}), "route", "https_redirect_status_code", "expected one of"},
		// Kong 3.9.3 files it as errs.routes[<position in the service's
		// routes>] (declarative_config.lua populate_references), which
		// flatten_errors cannot attach to nested routes: it stays in
		// "fields" and flattened_errors is empty (verified by test/kongdiff).
		{"duplicate route name", "Kong 3.9.3: fields.routes[2], no flattened entry", cfg("services", []any{svc(nil, route(), route())}), "", "routes", "uniqueness violation: 'routes' entity with name set to 'r1' already declared"},
		{"invalid reference", "reference 1.3: invalid reference", cfg("routes", []any{route("service", "nope")}), "route", "service", "invalid reference 'service: nope' (no such entry in 'services')"},
		{"plugin not enabled", "reference 1.3: plugin 'x' not enabled (no such plugin in KONG_PLUGINS=bundled)", cfg("plugins", []any{map[string]any{"name": "no-such-plugin"}}), "plugin", "name", "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"},
		{"two plugins same route", "reference 1.4: two plugins with the same name on one route collide", cfg("services", []any{svc(nil, route("plugins", []any{map[string]any{"name": "cors"}, map[string]any{"name": "cors"}}))}), "plugin", "", "uniqueness violation"},
		{"target weight range", "reference 2: weight 0..65535", cfg("upstreams", []any{map[string]any{"name": "u", "targets": []any{map[string]any{"target": "10.0.0.1:80", "weight": 70000}}}}), "target", "weight", "between 0 and 65535"},
		{"duplicate target", "reference 1.4: duplicate host:port targets in one upstream collide", cfg("upstreams", []any{map[string]any{"name": "u", "targets": []any{map[string]any{"target": "10.0.0.1:80"}, map[string]any{"target": "10.0.0.1:80"}}}}), "target", "", "uniqueness violation: 'targets' entity with primary key"},
		{"upstream name is hostname", "reference 2: upstream name must be a hostname, no IP", cfg("upstreams", []any{map[string]any{"name": "10.0.0.1"}}), "upstream", "name", "no ip addresses allowed"},
		{"request-termination config", "request-termination schema: message cannot be used with body", cfg("plugins", []any{map[string]any{"name": "request-termination", "config": map[string]any{"message": "a", "body": "b"}}}), "plugin", "config", "message cannot be used with content_type or body"},
		{"redirect needs location", "redirect plugin schema: location required", cfg("plugins", []any{map[string]any{"name": "redirect", "config": map[string]any{}}}), "plugin", "config.location", "required field missing"},
		{"transformer pair format", "request-transformer schema: headers are name:value", cfg("plugins", []any{map[string]any{"name": "request-transformer", "config": map[string]any{"add": map[string]any{"headers": []any{"novalue"}}}}}), "plugin", "config.add.headers.1", "invalid value"},
		{"cors methods one_of", "cors plugin schema: methods elements one_of GET..CONNECT, so no \"*\"", cfg("plugins", []any{map[string]any{"name": "cors", "config": map[string]any{"methods": []any{"GET", "*"}}}}), "plugin", "config.methods.2", "expected one of"},
		{"cors origin regex", "cors plugin schema: origins are \"*\" or a valid regex", cfg("plugins", []any{map[string]any{"name": "cors", "config": map[string]any{"origins": []any{"https://(a"}}}}), "plugin", "config.origins.1", "is not a valid regex"},
		{"cors credentials type", "cors plugin schema: credentials is a boolean", cfg("plugins", []any{map[string]any{"name": "cors", "config": map[string]any{"credentials": "yes"}}}), "plugin", "config.credentials", "expected a boolean"},
		{"cors unknown field", "cors plugin schema: fields are origins, headers, exposed_headers, methods, max_age, credentials, private_network, preflight_continue", cfg("plugins", []any{map[string]any{"name": "cors", "config": map[string]any{"allow_methods": []any{"GET"}}}}), "plugin", "config.allow_methods", "unknown field"},
		// Likewise errs.snis[<position in the certificate's snis>], verified
		// on Kong 3.9.3: {"fields":{"snis":[null,"uniqueness ..."]}}.
		{"duplicate sni", "Kong 3.9.3: fields.snis[2], no flattened entry", nil, "", "snis", "uniqueness violation: 'snis' entity with name set to 'a.example.com'"},
	}
	ca := newCA(t, "ca")
	c1, k1 := ca.issue(t, "a", []string{"a.example.com"}, false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.cfg
			if doc == nil {
				doc = cfg("certificates", []any{
					map[string]any{"cert": c1, "key": k1, "snis": []any{map[string]any{"name": "a.example.com"}}},
					map[string]any{"id": "6bf9a2b4-7a3e-4d7f-9e4c-1a2b3c4d5e6f", "cert": c1, "key": k1, "snis": []any{map[string]any{"name": "b.example.com"}, map[string]any{"name": "a.example.com"}}},
				})
			}
			code, body := s.postConfig(doc)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (source: %s): %v", code, tc.source, body)
			}
			if body["code"] != json.Number("14") && body["code"] != float64(14) {
				t.Errorf("code = %v, want 14", body["code"])
			}
			if body["name"] != "invalid declarative configuration" {
				t.Errorf("name = %v", body["name"])
			}
			if tc.entity == "" {
				fields, _ := body["fields"].(map[string]any)
				msg, _ := fields[tc.field].(string)
				if list, ok := fields[tc.field].([]any); ok {
					// errs[<plural>][i] keeps its position: [null, "..."].
					if len(list) != 2 || list[0] != nil {
						t.Errorf("fields[%s] = %v, want the message at the second position", tc.field, list)
					}
					msg, _ = list[len(list)-1].(string)
				}
				if !strings.Contains(msg, tc.msg) {
					t.Errorf("fields[%s] = %v, want %q", tc.field, fields[tc.field], tc.msg)
				}
				if flat, ok := body["flattened_errors"].(map[string]any); !ok || len(flat) != 0 {
					t.Errorf("flattened_errors = %v, want {} (Lua's empty table)", body["flattened_errors"])
				}
				return
			}
			entry, errs := flatErr(body, tc.entity)
			if entry == nil {
				t.Fatalf("no flattened error for %s: %v", tc.entity, body["flattened_errors"])
			}
			for _, e := range errs {
				if tc.field == "" && e["type"] == "entity" && strings.Contains(e["message"].(string), tc.msg) {
					return
				}
				if tc.field != "" && e["type"] == "field" && e["field"] == tc.field && strings.Contains(e["message"].(string), tc.msg) {
					return
				}
			}
			t.Errorf("errors %v do not contain field=%q msg~%q (source: %s)", errs, tc.field, tc.msg, tc.source)
		})
	}
}

// Source: reference 1.2 (broken JSON, 415, expected a declarative configuration)
// and 1.3 (fields without flatten_errors); failed loads keep the old config.
func TestConfigBodyErrorsAndAtomicity(t *testing.T) {
	s := startStandin(t, nil)
	s.mustConfig(map[string]any{"_format_version": "3.0", "upstreams": []any{map[string]any{"name": "kong"}}})
	_, st := s.do("GET", s.admin+"/status", nil, nil)
	before := st["configuration_hash"]
	resp, body := s.do("POST", s.admin+"/config", []byte("{not json"), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 400 || body["message"] != "Cannot parse JSON body" {
		t.Errorf("broken JSON = %d %v", resp.StatusCode, body)
	}
	resp, body = s.do("POST", s.admin+"/config", nil, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 400 || body["message"] != "expected a declarative configuration" {
		t.Errorf("no config = %d %v", resp.StatusCode, body)
	}
	resp, _ = s.do("POST", s.admin+"/config", []byte(`x`), map[string]string{"Content-Type": "application/octet-stream"})
	if resp.StatusCode != 415 {
		t.Errorf("octet-stream = %d, want 415", resp.StatusCode)
	}
	// Without flatten_errors, errors mirror the input tree in "fields".
	bad := `{"_format_version":"3.0","services":[{"name":"s","host":"h","routes":[{"name":"r","expression":"http.path ^= \"/\""},{"name":"r2","bogus":1,"expression":"http.path ^= \"/\""}]}]}`
	resp, body = s.do("POST", s.admin+"/config", []byte(bad), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 400 {
		t.Fatalf("invalid config = %d", resp.StatusCode)
	}
	if _, ok := body["flattened_errors"]; ok {
		t.Error("flattened_errors present without flatten_errors=1")
	}
	routes := body["fields"].(map[string]any)["services"].([]any)[0].(map[string]any)["routes"].([]any)
	if routes[0] != nil || routes[1].(map[string]any)["bogus"] != "unknown field" {
		t.Errorf("fields tree = %v", routes)
	}
	_, st = s.do("GET", s.admin+"/status", nil, nil)
	if st["configuration_hash"] != before {
		t.Errorf("hash changed after failed loads: %v -> %v", before, st["configuration_hash"])
	}
	// The YAML "config" form is accepted as well (reference 1.2).
	resp, _ = s.do("POST", s.admin+"/config", []byte(`{"config":"_format_version: \"3.0\"\nupstreams:\n- name: other\n"}`), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 201 {
		t.Errorf("config string form = %d", resp.StatusCode)
	}
}

// Source: reference 5 (admin API only over TLS with client certificate
// verification: KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT=on).
func TestAdminMutualTLS(t *testing.T) {
	ca := newCA(t, "operator-ca")
	other := newCA(t, "other-ca")
	_, addr, pool := startMutualTLSAdmin(t, ca, "3")
	mk := func(c, k string) []tls.Certificate {
		if c == "" {
			return nil
		}
		pair, err := tls.X509KeyPair([]byte(c), []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	goodC, goodK := ca.issue(t, "operator", nil, true)
	badC, badK := other.issue(t, "intruder", nil, true)
	// nginx completes the handshake and answers its own HTML 400 page
	// (confirmed on Kong 3.9.3; src/http/ngx_http_special_response.c).
	cases := []struct {
		name   string
		certs  []tls.Certificate
		ok     bool
		reason string
	}{
		{"no client certificate", nil, false, "400 No required SSL certificate was sent"},
		{"certificate from another CA", mk(badC, badK), false, "400 The SSL certificate error"},
		{"certificate from the configured CA", mk(goodC, goodK), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := &http.Client{Timeout: testTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost",
				GetClientCertificate: offerAnyway(tc.certs)}}}
			resp, err := cl.Get("https://" + addr + "/status")
			if tc.ok {
				if err != nil {
					t.Fatalf("GET /status: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET /status: %v (nginx completes the handshake)", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" || !strings.Contains(string(b), "<title>"+tc.reason+"</title>") {
				t.Fatalf("HTTP %d %s %q, want nginx's 400 page %q", resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.reason)
			}
		})
	}
}

// Source: kong/templates/kong_defaults.lua:114-115 (both limits 10m),
// kong/api/arguments.lua:528-531 (a JSON body nginx buffered to a file is
// not read: 400 "Cannot parse JSON body"), nginx's 413 past
// client_max_body_size. Provisioned data planes raise both to 64m.
func TestAdminBodyLimits(t *testing.T) {
	config := func(size int) []byte {
		// A valid configuration padded with one long tag to the size asked for.
		head := `{"_format_version":"3.0","services":[{"name":"s","host":"h","tags":["`
		tail := `"]}]}`
		return []byte(head + strings.Repeat("a", size-len(head)-len(tail)) + tail)
	}
	asJSON := map[string]string{"Content-Type": "application/json"}

	s := startStandin(t, map[string]string{
		"KONG_NGINX_ADMIN_CLIENT_BODY_BUFFER_SIZE": "64k",
		"KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE":    "128k",
	})
	if resp, body := s.do("POST", s.admin+"/config", config(60<<10), asJSON); resp.StatusCode != 201 {
		t.Errorf("60 KiB under a 64k buffer = %d %v, want 201", resp.StatusCode, body)
	}
	if resp, body := s.do("POST", s.admin+"/config", config(100<<10), asJSON); resp.StatusCode != 400 || body["message"] != "Cannot parse JSON body" {
		t.Errorf("100 KiB past a 64k buffer = %d %v, want 400 Cannot parse JSON body", resp.StatusCode, body)
	}
	if resp, _ := s.do("POST", s.admin+"/config", config(200<<10), asJSON); resp.StatusCode != 413 {
		t.Errorf("200 KiB past a 128k limit = %d, want 413", resp.StatusCode)
	}

	raised := startStandin(t, map[string]string{
		"KONG_NGINX_ADMIN_CLIENT_BODY_BUFFER_SIZE": "64m",
		"KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE":    "64m",
	})
	if resp, body := raised.do("POST", raised.admin+"/config", config(12<<20), asJSON); resp.StatusCode != 201 {
		t.Errorf("12 MiB with 64m limits = %d %v, want 201 (past Kong's 10m defaults)", resp.StatusCode, body)
	}
	if _, err := ConfigFromEnv([]string{"KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE=ten"}); err == nil || !strings.Contains(err.Error(), "nginx size") {
		t.Errorf("a size that is not one: %v", err)
	}
}

// offerAnyway presents the first of certs (or none) whatever CAs the server
// names in its certificate request, as the operator does when no
// certificate it has chains to them; Go's client would otherwise withhold
// a certificate from another CA and the server would see none.
func offerAnyway(certs []tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if len(certs) == 0 {
			return &tls.Certificate{}, nil
		}
		return &certs[0], nil
	}
}

// startMutualTLSAdmin starts a stand-in whose admin listener is TLS only,
// with a server certificate from ca for localhost, and verifies client
// certificates against ca to the given depth, as provisioned data planes
// do. It returns the admin address and a pool that trusts ca.
func startMutualTLSAdmin(t *testing.T, ca *testCA, depth string) (*standin, string, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	srvCert, srvKey := ca.issue(t, "admin", []string{"localhost"}, false)
	s := startStandin(t, map[string]string{
		"KONG_ADMIN_LISTEN":                       "127.0.0.1:0 ssl",
		"KONG_ADMIN_SSL_CERT":                     writeFile(t, dir, "tls.crt", srvCert),
		"KONG_ADMIN_SSL_CERT_KEY":                 writeFile(t, dir, "tls.key", srvKey),
		"KONG_NGINX_ADMIN_SSL_CLIENT_CERTIFICATE": writeFile(t, dir, "ca.crt", string(ca.pem)),
		"KONG_NGINX_ADMIN_SSL_VERIFY_CLIENT":      "on",
		"KONG_NGINX_ADMIN_SSL_VERIFY_DEPTH":       depth,
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	return s, s.srv.AdminAddrs()[0].String(), pool
}
