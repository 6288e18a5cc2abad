package translate

import (
	"strings"
	"testing"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestCORSOriginNormalized: origins reach drawbridge-cors lower-cased and
// without a default port; the plugin's own tests (policy_test.lua) check
// what each form matches.
func TestCORSOriginNormalized(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.foo.com":     "https://www.foo.com",
		"https://WWW.Foo.com:443": "https://www.foo.com",
		"http://a.example:80":     "http://a.example",
		"http://a.example:8080":   "http://a.example:8080",
		"https://*.Bar.com:443":   "https://*.bar.com",
		"https://*.bar.com:8443":  "https://*.bar.com:8443",
		"http://*":                "http://*",
		"*":                       "*",
	} {
		got, err := normalizeCORSOrigin(in)
		if err != nil || got != want {
			t.Errorf("normalizeCORSOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"www.foo.com", "ftp://a.example", "https://foo.*.com", "https://a.example:0", "https://a.example:70000", "https://a.example/path"} {
		if got, err := normalizeCORSOrigin(bad); err == nil {
			t.Errorf("normalizeCORSOrigin(%q) = %q, want an error", bad, got)
		}
	}
}

// TestCORSConfigRefusals: what the CRD forbids is refused with a message
// naming the field.
func TestCORSConfigRefusals(t *testing.T) {
	cases := map[string]gwv1.HTTPCORSFilter{
		"allowOrigins: '*' cannot be combined": {AllowOrigins: []gwv1.CORSOrigin{"*", "https://a.example"}},
		"allowMethods \"FETCH\"":               {AllowMethods: []gwv1.HTTPMethodWithWildcard{"FETCH"}},
		"allowMethods: '*' cannot be combined": {AllowMethods: []gwv1.HTTPMethodWithWildcard{"*", "GET"}},
		"allowHeaders: '*' cannot be combined": {AllowHeaders: []gwv1.HTTPHeaderName{"*", "x-a"}},
		"allowHeaders \"x a\"":                 {AllowHeaders: []gwv1.HTTPHeaderName{"x a"}},
		"exposeHeaders \"x:a\"":                {ExposeHeaders: []gwv1.HTTPHeaderName{"x:a"}},
		"allowOrigins \"https://a.example/p\"": {AllowOrigins: []gwv1.CORSOrigin{"https://a.example/p"}},
	}
	for want, f := range cases {
		_, u := corsConfig(&f, "rules[0]")
		if u == nil || u.reason != gwv1.RouteReasonUnsupportedValue || !strings.Contains(u.message, want) {
			t.Errorf("%+v: got %+v, want UnsupportedValue containing %q", f, u, want)
		}
	}
	// exposeHeaders '*' with credentials is fine: the plugin lists the
	// response's headers.
	creds := true
	if _, u := corsConfig(&gwv1.HTTPCORSFilter{AllowOrigins: []gwv1.CORSOrigin{"*"}, ExposeHeaders: []gwv1.HTTPHeaderName{"*"}, AllowCredentials: &creds}, "rules[0]"); u != nil {
		t.Errorf("exposeHeaders '*' with credentials: %v", u.message)
	}
}
