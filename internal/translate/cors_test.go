package translate

import (
	"regexp"
	"testing"
)

// TestCORSOriginRegex checks what the Kong origins entries built from
// Gateway API wildcard origins match. Kong matches a regex entry against the
// request Origin with a default port removed, and only a match of the whole
// string counts, which an anchored Go regexp reproduces for these patterns.
func TestCORSOriginRegex(t *testing.T) {
	cases := []struct {
		origin     string
		match, not []string
	}{
		{"https://*.bar.com",
			[]string{"https://www.bar.com", "https://xpto.www.bar.com", "https://a-1.b.bar.com"},
			[]string{"https://bar.com", "https://foobar.com", "https://www.bar.com.evil.com", "http://www.bar.com",
				"https://www.bar.com:8443", "https://wwwxbar.com", "https://.bar.com", "https://a/b.bar.com"}},
		{"https://*.bar.com:8443",
			[]string{"https://www.bar.com:8443"},
			[]string{"https://www.bar.com", "https://www.bar.com:443"}},
		{"https://*.bar.com:443", // default port: Kong drops it from the Origin before matching
			[]string{"https://www.bar.com"},
			[]string{"https://www.bar.com:8443"}},
		{"http://*",
			[]string{"http://a", "http://a.b.c"},
			[]string{"https://a", "http://a:8080"}},
	}
	for _, c := range cases {
		pat, err := kongCORSOrigin(c.origin)
		if err != nil {
			t.Fatalf("%s: %v", c.origin, err)
		}
		re := regexp.MustCompile(pat)
		for _, o := range c.match {
			if !re.MatchString(o) {
				t.Errorf("%s (%s) should match %s", c.origin, pat, o)
			}
		}
		for _, o := range c.not {
			if re.MatchString(o) {
				t.Errorf("%s (%s) should not match %s", c.origin, pat, o)
			}
		}
	}
}

func TestCORSOriginExact(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.foo.com":     "https://www.foo.com",
		"https://WWW.Foo.com:443": "https://www.foo.com",
		"http://a.example:80":     "http://a.example",
		"http://a.example:8080":   "http://a.example:8080",
		"*":                       "*",
	} {
		got, err := kongCORSOrigin(in)
		if err != nil || got != want {
			t.Errorf("kongCORSOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"www.foo.com", "ftp://a.example", "https://foo.*.com", "https://a.example:0", "https://a.example:70000", "https://a.example/path"} {
		if got, err := kongCORSOrigin(bad); err == nil {
			t.Errorf("kongCORSOrigin(%q) = %q, want an error", bad, got)
		}
	}
}
