package kongstandin

import (
	"net/http"
	"strings"
	"testing"
)

// Regexes Go's RE2 accepts and Kong 3.9.3's Rust regex refuses: Kong
// rejects the route ("Router Expression failed validation ... regex parse
// error"), seen on Kong 3.9.3 by test/kongdiff's route-regex-* variants.
func TestRustRegexRefusals(t *testing.T) {
	s := startStandin(t, nil)
	for _, re := range []string{`^\\Qa.b\\E`, `^/(?<n>x)`, `^/\\0`, `^/a{x}`} {
		doc := svcConfig("127.0.0.1:1", map[string]any{"name": "r", "expression": `http.path ~ "` + re + `"`})
		code, body := s.postConfig(doc)
		entry, errs := flatErr(body, "route")
		if code != http.StatusBadRequest || entry == nil || len(errs) == 0 || !strings.Contains(errs[0]["message"].(string), "invalid regex") {
			t.Errorf("%s: %d %v, want the route rejected for its regex", re, code, body)
		}
	}
	ok := svcConfig("127.0.0.1:1", map[string]any{"name": "r", "expression": `http.path ~ "^/(?P<n>x)\\.y$"`})
	if code, body := s.postConfig(ok); code != http.StatusCreated {
		t.Errorf("a regex both accept: %d %v", code, body)
	}
}
