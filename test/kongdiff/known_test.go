package kongdiff

// known-differences.yaml: every difference that remains between real Kong
// and the stand-in, with its reason. Entries match with globs ("*" is any
// run of characters, "/" included) so
// one reason can cover a family (e.g. every upper-case Host); every
// observed difference must match an entry and every entry must match at
// least one observed difference.

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const knownFile = "known-differences.yaml"

// knownDiff is one listed difference. Case, Request, Kong and Standin are
// globs (empty matches anything) against the case id, the request key and
// each side's answer; Reason says why the two differ.
type knownDiff struct {
	Case    string `json:"case"`
	Request string `json:"request,omitempty"`
	Kong    string `json:"kong,omitempty"`
	Standin string `json:"standin,omitempty"`
	Reason  string `json:"reason"`
	hits    int
	example difference // the first difference the entry covered
}

type knownList struct {
	Verdicts []*knownDiff `json:"verdicts"`
	Requests []*knownDiff `json:"requests"`
}

func loadKnown() (*knownList, error) {
	b, err := os.ReadFile(knownFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", knownFile, err)
	}
	var k knownList
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		return nil, fmt.Errorf("parse %s: %w", knownFile, err)
	}
	for _, d := range append(append([]*knownDiff{}, k.Verdicts...), k.Requests...) {
		if d.Case == "" || strings.TrimSpace(d.Reason) == "" {
			return nil, fmt.Errorf("%s: every entry needs a case and a reason (entry %+v)", knownFile, *d)
		}
	}
	return &k, nil
}

// globMatch matches s against pattern, where "*" stands for any run of
// characters; an empty pattern matches anything.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// difference is one observed disagreement.
type difference struct {
	Case, Request, Kong, Standin string
}

// match finds the first entry covering d and counts the hit.
func match(entries []*knownDiff, d difference) *knownDiff {
	for _, e := range entries {
		if globMatch(e.Case, d.Case) && globMatch(e.Request, d.Request) && globMatch(e.Kong, d.Kong) && globMatch(e.Standin, d.Standin) {
			if e.hits == 0 {
				e.example = d
			}
			e.hits++
			return e
		}
	}
	return nil
}

// unused lists entries that matched nothing, as text.
func unused(entries []*knownDiff) []string {
	var out []string
	for _, e := range entries {
		if e.hits == 0 {
			out = append(out, fmt.Sprintf("case=%q request=%q kong=%q standin=%q (%s)", e.Case, e.Request, e.Kong, e.Standin, e.Reason))
		}
	}
	return out
}

// renderUnlisted writes unlisted differences in the file's own format, for
// a human to give them reasons. The reason is left empty: loadKnown refuses
// an entry without one, so a difference cannot be listed unexplained.
func renderUnlisted(ds []difference) string {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Case != ds[j].Case {
			return ds[i].Case < ds[j].Case
		}
		return ds[i].Request < ds[j].Request
	})
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "- case: %q\n  request: %q\n  kong: %q\n  standin: %q\n  reason: \"\"\n", d.Case, d.Request, d.Kong, d.Standin)
	}
	return b.String()
}

// hitReport says how often each entry matched, with its first example.
func hitReport(entries []*knownDiff) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "  %4d x case=%q request=%q", e.hits, e.Case, e.Request)
		if e.hits > 0 {
			fmt.Fprintf(&b, "\n         e.g. %s | %s\n         kong:     %s\n         stand-in: %s", e.example.Case, e.example.Request, e.example.Kong, e.example.Standin)
		}
		b.WriteString("\n")
	}
	return b.String()
}
