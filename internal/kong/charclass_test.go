package kong

import (
	"regexp"
	"testing"
)

// The character-class functions replaced these expressions; they must
// accept exactly the same strings.
var (
	nameOracle     = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	upstreamOracle = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	labelOracle    = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$`)
)

func checkClasses(t *testing.T, s string) {
	t.Helper()
	if got, want := validName(s), nameOracle.MatchString(s); got != want {
		t.Errorf("validName(%q) = %v, want %v", s, got, want)
	}
	if got, want := validUpstreamName(s), upstreamOracle.MatchString(s); got != want {
		t.Errorf("validUpstreamName(%q) = %v, want %v", s, got, want)
	}
	if got, want := validHostLabel(s), labelOracle.MatchString(s); got != want {
		t.Errorf("validHostLabel(%q) = %v, want %v", s, got, want)
	}
}

var classSeeds = []string{"", "a", "-", "_", "~", ".", "a-b", "-a", "a-", "_a_", "a.b", "a~b", "A9", "é", "a b", "a\n", "a\x00", "httproute.team-0.route-0.0", "a/b", "*"}

func TestCharacterClassesMatchExpressions(t *testing.T) {
	for _, s := range classSeeds {
		checkClasses(t, s)
	}
	for c := 0; c < 256; c++ {
		for _, s := range []string{string(rune(c)), string([]byte{byte(c)}), "a" + string([]byte{byte(c)}) + "b", string([]byte{byte(c)}) + "a", "a" + string([]byte{byte(c)})} {
			checkClasses(t, s)
		}
	}
}

func FuzzCharacterClasses(f *testing.F) {
	for _, s := range classSeeds {
		f.Add(s)
	}
	f.Fuzz(checkClasses)
}
