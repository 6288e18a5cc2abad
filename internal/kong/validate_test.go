package kong

import (
	"strings"
	"testing"
)

func validConfig() *Config {
	return &Config{
		FormatVersion: FormatVersion,
		Services: []Service{{
			Name: "svc.default.web.0", Protocol: "http", Host: "svc.default.web.0", Port: 80,
			Routes: []Route{{
				Name: "r1", Protocols: []string{"http"}, Expression: `net.dst.port == 80 && http.path ^= "/"`, Priority: 10,
				PreserveHost: Bool(true), StripPath: Bool(false), Tags: []string{"k8s-kind:HTTPRoute"},
				Plugins: []Plugin{
					{Name: PluginRequestTransformer, Config: map[string]any{"add": map[string]any{"headers": []string{"x-a:b"}}, "replace": map[string]any{"uri": "/x"}}},
					{Name: PluginRequestTermination, Config: map[string]any{"status_code": 500, "message": "no backend"}},
					{Name: PluginMirror, Config: map[string]any{"mirrors": []any{map[string]any{
						"name": "default/m:80", "endpoints": []string{"10.0.0.2:80", "[fd00::2]:80", "m.example.com:80"}, "numerator": 25, "denominator": 50}}}},
				},
			}},
		}},
		Upstreams: []Upstream{{Name: "svc.default.web.0", Targets: []Target{{Target: "10.0.0.1:80", Weight: 100}, {Target: "[fd00::1]:80", Weight: 0}}}},
	}
}

func TestValidateAcceptsValidConfig(t *testing.T) {
	if err := Validate(validConfig()); err != nil {
		t.Fatal(err)
	}
}

// An http route on a grpc service is how Drawbridge reaches h2c backends
// of HTTPRoutes: Kong 3.9.3 accepts it and proxies through nginx's grpc
// module (test/kongplugins TestH2C* run it on real Kong).
func TestValidateAcceptsHTTPRouteOnGRPCService(t *testing.T) {
	c := validConfig()
	c.Services[0].Protocol = "grpc"
	if err := Validate(c); err != nil {
		t.Fatal(err)
	}
}

// TestValidateAcceptsLongLabels: Kubernetes names may be a single label of
// up to 253 characters, and the entity names built from them keep it whole.
// Kong accepts such hosts and upstream names (real Kong:
// test/kongplugins TestGatewayNameMaximumLength).
func TestValidateAcceptsLongLabels(t *testing.T) {
	c := validConfig()
	long := "svc.gateway-conformance-infra." + strings.Repeat("a", 150) + ".0"
	c.Services[0].Host, c.Upstreams[0].Name = long, long
	if err := Validate(c); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"format version", func(c *Config) { c.FormatVersion = "2.1" }, "_format_version"},
		{"service name chars", func(c *Config) { c.Services[0].Name = "a/b" }, "may only contain"},
		{"duplicate route name", func(c *Config) { c.Services[0].Routes = append(c.Services[0].Routes, c.Services[0].Routes[0]) }, "duplicate route name"},
		{"service host with port", func(c *Config) { c.Services[0].Host = "a.b:80" }, "must not contain a port"},
		{"service port", func(c *Config) { c.Services[0].Port = 70000 }, "outside 0..65535"},
		{"service protocol", func(c *Config) { c.Services[0].Protocol = "ftp" }, "unknown protocol"},
		{"grpc service path", func(c *Config) { c.Services[0].Protocol = "grpc"; c.Services[0].Path = String("/x") }, "path must be null"},
		{"timeout", func(c *Config) { c.Services[0].ReadTimeout = Int(0) }, "read_timeout"},
		{"retries", func(c *Config) { c.Services[0].Retries = Int(40000) }, "retries"},
		{"no protocols", func(c *Config) { c.Services[0].Routes[0].Protocols = nil }, "at least one protocol"},
		{"mixed protocols", func(c *Config) { c.Services[0].Routes[0].Protocols = []string{"http", "tcp"} }, "mix groups"},
		{"empty expression", func(c *Config) { c.Services[0].Routes[0].Expression = "" }, "empty"},
		{"unknown field", func(c *Config) { c.Services[0].Routes[0].Expression = `http.nope == "x"` }, "unknown field"},
		{"stream field on http", func(c *Config) { c.Services[0].Routes[0].Expression = `http.path == 1` }, "not an integer"},
		{"bad regex", func(c *Config) { c.Services[0].Routes[0].Expression = `http.path ~ "(("` }, "invalid regex"},
		{"unbalanced", func(c *Config) { c.Services[0].Routes[0].Expression = `(http.path == "/"` }, "missing )"},
		{"bad escape", func(c *Config) { c.Services[0].Routes[0].Expression = `http.path == "\q"` }, "invalid escape"},
		{"upper-case header field", func(c *Config) { c.Services[0].Routes[0].Expression = `http.headers.X_A == "b"` }, "unknown field"},
		{"priority", func(c *Config) { c.Services[0].Routes[0].Priority = MaxPriority + 1 }, "priority"},
		{"grpc strip_path", func(c *Config) {
			c.Services[0].Protocol = "grpc"
			c.Services[0].Routes[0].Protocols = []string{"grpc"}
			c.Services[0].Routes[0].Plugins = nil
			c.Services[0].Routes[0].StripPath = nil
		}, "strip_path must be false"},
		{"http route on tcp service", func(c *Config) { c.Services[0].Protocol = "tcp" }, "http route on a tcp service"},
		{"tag with slash", func(c *Config) { c.Services[0].Routes[0].Tags = []string{"a/b"} }, "tag"},
		{"upstream IP name", func(c *Config) { c.Upstreams[0].Name = "10.0.0.1" }, "must be a hostname"},
		{"target weight", func(c *Config) { c.Upstreams[0].Targets[0].Weight = 70000 }, "weight"},
		{"target without port", func(c *Config) { c.Upstreams[0].Targets[0].Target = "10.0.0.1" }, "host:port"},
		{"duplicate target", func(c *Config) { c.Upstreams[0].Targets[1].Target = "10.0.0.1:80" }, "duplicate target"},
		{"invalid plugin name", func(c *Config) { c.Services[0].Routes[0].Plugins[0].Name = "Mirror!" }, "not a valid plugin name"},
		{"http plugin on a stream route", func(c *Config) {
			c.Services[0].Routes[0].Protocols = []string{"tcp"}
			c.Services[0].Routes[0].Plugins = []Plugin{{Name: "key-auth", Protocols: []string{"tcp"}}}
		}, "does not support route protocol tcp"},
		{"stream plugin without protocols", func(c *Config) {
			c.Services[0].Routes[0].Protocols = []string{"tcp"}
			c.Services[0].Routes[0].Plugins = []Plugin{{Name: "ip-restriction"}}
		}, "needs explicit protocols"},
		{"consumer without identity", func(c *Config) { c.Consumers = []Consumer{{}} }, "at least one of username or custom_id"},
		{"duplicate key-auth key", func(c *Config) {
			c.Consumers = []Consumer{{Username: "a", KeyAuth: []KeyAuthCredential{{Key: "k"}}}, {Username: "b", KeyAuth: []KeyAuthCredential{{Key: "k"}}}}
		}, "key-auth key must be unique"},
		{"jwt RS256 without key", func(c *Config) {
			c.Consumers = []Consumer{{Username: "a", JWTSecrets: []JWTSecret{{Key: "iss", Algorithm: "RS256"}}}}
		}, "needs rsa_public_key"},
		{"duplicate plugin", func(c *Config) {
			c.Services[0].Routes[0].Plugins[1] = c.Services[0].Routes[0].Plugins[0]
		}, "appears twice"},
		{"transformer pair", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0].Config = map[string]any{"add": map[string]any{"headers": []string{"novalue"}}}
		}, "name:value"},
		{"transformer uri", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0].Config = map[string]any{"replace": map[string]any{"uri": "x"}}
		}, "replace.uri"},
		{"termination status", func(c *Config) { c.Services[0].Routes[0].Plugins[1].Config["status_code"] = 700 }, "status_code"},
		{"termination message and body", func(c *Config) { c.Services[0].Routes[0].Plugins[1].Config["body"] = "x" }, "message cannot"},
		{"redirect relative", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0] = Plugin{Name: PluginRedirect, Config: map[string]any{"status_code": 301, "location": "/x"}}
		}, "absolute URL"},
		{"cors method", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0] = Plugin{Name: PluginCORS, Config: map[string]any{"methods": []string{"FETCH"}}}
		}, "methods"},
		{"cors on grpc", func(c *Config) {
			c.Services[0].Protocol = "grpc"
			c.Services[0].Routes[0].Protocols = []string{"grpc"}
			c.Services[0].Routes[0].Plugins = []Plugin{{Name: PluginCORS, Config: map[string]any{}}}
		}, "does not support route protocol grpc"},
		{"mirror without mirrors", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0] = Plugin{Name: PluginMirror, Config: map[string]any{"mirrors": []any{}}}
		}, "mirrors must be a non-empty array"},
		{"mirror endpoint", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0] = Plugin{Name: PluginMirror, Config: map[string]any{"mirrors": []any{
				map[string]any{"name": "a/b:80", "endpoints": []string{"10.0.0.1"}, "numerator": 1, "denominator": 2}}}}
		}, "is not host:port"},
		{"mirror share", func(c *Config) {
			c.Services[0].Routes[0].Plugins[0] = Plugin{Name: PluginMirror, Config: map[string]any{"mirrors": []any{
				map[string]any{"name": "a/b:80", "endpoints": []string{}, "numerator": 3, "denominator": 2}}}}
		}, "numerator must be less than or equal to denominator"},
		{"bad certificate", func(c *Config) {
			c.Certificates = []Certificate{{ID: "x", Cert: "nope", Key: "nope", SNIs: []SNI{{Name: "*.a.com"}}}}
		}, "PEM"},
		{"bad sni", func(c *Config) {
			c.Certificates = []Certificate{{ID: "x", SNIs: []SNI{{Name: "a.*.com"}}}}
		}, "invalid hostname"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			err := Validate(c)
			if err == nil {
				t.Fatalf("expected an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestCheckExpressionStream(t *testing.T) {
	for _, ok := range []string{
		`net.dst.port == 9000`,
		`(net.dst.port == 443 || net.dst.port == 8443) && tls.sni =^ ".example.com"`,
		`net.dst.port == 53 && !(tls.sni == "a")`,
	} {
		if err := CheckExpression(ok, StreamRouter); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := CheckExpression(`http.path == "/"`, StreamRouter); err == nil {
		t.Error("http.path must be unknown to the stream router")
	}
}

// Kong's router schema resolves http.queries.* and http.headers.* for one
// label only: a dotted name is an unknown field that fails POST /config.
func TestCheckExpressionDottedFieldNames(t *testing.T) {
	if err := CheckExpression(`http.queries.user_id == "1"`, HTTPRouter); err != nil {
		t.Errorf("single-label query field: %v", err)
	}
	for _, expr := range []string{`http.queries.user.id == "1"`, `http.headers.x.y == "1"`} {
		if err := CheckExpression(expr, HTTPRouter); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%s: got %v, want an unknown field error", expr, err)
		}
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{`plain`, `with "quotes"`, `back\slash`, "tab\tnew\nline\r"} {
		expr := "http.path == " + Quote(s)
		if err := CheckExpression(expr, HTTPRouter); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestMarshalIsStable(t *testing.T) {
	a, err := validConfig().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := validConfig().Marshal()
	if string(a) != string(b) {
		t.Fatal("marshal is not deterministic")
	}
	if !strings.HasPrefix(string(a), `{"_format_version":"3.0"`) {
		t.Fatalf("unexpected start: %.40s", a)
	}
}
