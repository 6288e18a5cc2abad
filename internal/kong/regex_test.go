package kong

import (
	"strings"
	"testing"
)

// Each refused construct was POSTed to Kong 3.9.3 (regex 1.7.1) in a route
// expression and refused there with the error quoted in regex.go.
func TestKongRegex(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{`/api/v[0-9]+`, `/api/v[0-9]+`, ""},
		{`(?P<v>a)\.b\-c\#\~\&`, `(?P<v>a)\.b\-c\#\~\&`, ""},
		{`[[:alpha:]]{2,3}\pL\p{Greek}\x{2F}`, `[[:alpha:]]{2,3}\pL\p{Greek}\x{2F}`, ""},
		{`[]a]|[^]a]|(?i:a)|(?s).|a{2,}?`, `[]a]|[^]a]|(?i:a)|(?s).|a{2,}?`, ""},
		{`^\/api\/v1\@x\:y\_z`, `^\x{2F}api\x{2F}v1\x{40}x\x{3A}y\x{5F}z`, ""},
		{`[\/]`, `[\x{2F}]`, ""},
		{`\Qa.b\E`, "", `\Q...\E`},
		{`a\0`, "", "backreference"},
		{`\12`, "", "backreference"},
		{`(?<name>a)`, "", "(?P<name>"},
		{`\<a`, "", "word boundary"},
		{`\b{start}`, "", `\b{...}`},
		{`a{,3}`, "", "counted repetition"},
		{`a{x}`, "", "counted repetition"},
		{`[a&&b]`, "", "set operation"},
		{`[a--b]`, "", "invalid character class range"}, // Go refuses it too
		{`[a~~b]`, "", "set operation"},
		{`[a[b]]`, "", "nested class"},
		{`(`, "", "missing closing )"},
	} {
		got, err := KongRegex(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("KongRegex(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("KongRegex(%q) error %v, want mention of %q", tc.in, err, tc.err)
		}
	}
	// Unrewritten, escaped punctuation is what old Kong builds refuse.
	if err := CheckKongRegex(`\/`); err == nil || !strings.Contains(err.Error(), `\x{2F}`) {
		t.Errorf(`CheckKongRegex(\/) = %v`, err)
	}
	if err := CheckExpression(`http.path ~ "\\Qa\\E"`, HTTPRouter); err == nil {
		t.Error(`CheckExpression accepted \Q...\E`)
	}
}
