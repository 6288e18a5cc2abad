package translate

import (
	"fmt"
	"regexp"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Field names in Kong's expressions language are identifiers, so only
// header and query names made of these characters can be matched. Kong's
// router schema resolves http.headers.* and http.queries.* for exactly one
// more label: a '.' in the name ("http.queries.a.b") is an unknown field and
// makes Kong refuse the whole configuration, so '.' is not allowed either.
var (
	headerFieldRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	queryFieldRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// pathMatch is a normalised HTTP path match.
type pathMatch struct {
	kind  gwv1.PathMatchType
	value string
}

func normalisePath(p *gwv1.HTTPPathMatch) pathMatch {
	m := pathMatch{kind: gwv1.PathMatchPathPrefix, value: "/"}
	if p != nil {
		if p.Type != nil {
			m.kind = *p.Type
		}
		if p.Value != nil {
			m.value = *p.Value
		}
	}
	if m.kind == gwv1.PathMatchPathPrefix && len(m.value) > 1 {
		// "/foo/" and "/foo" match the same requests: element-wise prefix.
		m.value = strings.TrimRight(m.value, "/")
		if m.value == "" {
			m.value = "/"
		}
	}
	return m
}

// anchored makes a Gateway API regular expression match the whole value,
// which is how the conformance suite and most implementations read it.
func anchored(re string) string { return "^(?:" + re + ")$" }

// pathPredicates returns the predicates for a path match.
func pathPredicates(m pathMatch) ([]string, precedence, error) {
	var prec precedence
	switch m.kind {
	case gwv1.PathMatchExact:
		prec.pathExact, prec.pathLen = true, len(m.value)
		return []string{"http.path == " + kong.Quote(m.value)}, prec, nil
	case gwv1.PathMatchRegularExpression:
		re, err := kong.KongRegex(m.value)
		if err != nil {
			return nil, prec, fmt.Errorf("path regular expression %q cannot be used: %v", m.value, err)
		}
		prec.pathRegex, prec.pathLen = true, len(m.value)
		return []string{"http.path ~ " + kong.Quote(anchored(re))}, prec, nil
	case gwv1.PathMatchPathPrefix:
		prec.pathLen = len(m.value)
		if m.value == "/" {
			return nil, prec, nil
		}
		return []string{fmt.Sprintf("(http.path == %s || http.path ^= %s)", kong.Quote(m.value), kong.Quote(m.value+"/"))}, prec, nil
	}
	return nil, prec, fmt.Errorf("path match type %q is not supported", m.kind)
}

// headerPredicate matches one request header. Kong exposes headers as
// http.headers.<lower-case name with - as _>; Host is http.host.
func headerPredicate(name, value string, regex bool) (string, error) {
	if !headerFieldRE.MatchString(name) {
		return "", fmt.Errorf("header name %q cannot be matched: Kong's router only addresses names made of letters, digits, '-' and '_'", name)
	}
	field := "http.headers." + strings.ReplaceAll(strings.ToLower(name), "-", "_")
	if strings.EqualFold(name, "host") {
		field = "http.host"
	}
	if regex {
		re, err := kong.KongRegex(value)
		if err != nil {
			return "", fmt.Errorf("header %s regular expression %q cannot be used: %v", name, value, err)
		}
		return field + " ~ " + kong.Quote(anchored(re)), nil
	}
	return field + " == " + kong.Quote(value), nil
}

func queryPredicate(name, value string, regex bool) (string, error) {
	if !queryFieldRE.MatchString(name) {
		return "", fmt.Errorf("query parameter name %q cannot be matched: Kong's router only addresses names made of letters, digits and '_' (no '-' or '.'); match the parameter with a name like that or drop this match", name)
	}
	field := "http.queries." + name
	if regex {
		re, err := kong.KongRegex(value)
		if err != nil {
			return "", fmt.Errorf("query parameter %s regular expression %q cannot be used: %v", name, value, err)
		}
		return field + " ~ " + kong.Quote(anchored(re)), nil
	}
	return field + " == " + kong.Quote(value), nil
}

// httpMatch is a compiled HTTPRouteMatch.
type httpMatch struct {
	path   pathMatch
	method string   // "" when the match takes any method
	preds  []string // without the path predicate, which rewrites may replace
	prec   precedence
}

// compileHTTPMatch translates the non-path parts of a match and the path's
// precedence. The first of several header (or query) matches with the same
// name wins, as the spec says.
func compileHTTPMatch(m gwv1.HTTPRouteMatch) (httpMatch, error) {
	out := httpMatch{path: normalisePath(m.Path)}
	_, prec, err := pathPredicates(out.path)
	if err != nil {
		return out, err
	}
	out.prec = prec
	if m.Method != nil {
		out.prec.method = true
		out.method = string(*m.Method)
		out.preds = append(out.preds, "http.method == "+kong.Quote(string(*m.Method)))
	}
	headers := make([]headerMatch, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = headerMatch{string(h.Name), h.Value, h.Type != nil && *h.Type == gwv1.HeaderMatchRegularExpression}
	}
	preds, err := headerPredicates(headers)
	if err != nil {
		return out, err
	}
	out.preds = append(out.preds, preds...)
	out.prec.headers += len(preds)
	seenQ := map[string]bool{}
	for _, q := range m.QueryParams {
		if seenQ[string(q.Name)] {
			continue
		}
		seenQ[string(q.Name)] = true
		regex := q.Type != nil && *q.Type == gwv1.QueryParamMatchRegularExpression
		p, err := queryPredicate(string(q.Name), q.Value, regex)
		if err != nil {
			return out, err
		}
		out.preds = append(out.preds, p)
		out.prec.queries++
	}
	return out, nil
}

// joinPredicates ANDs predicates; an empty list matches every request on
// the HTTP router through a trivially true path test.
func joinPredicates(preds []string) string {
	if len(preds) == 0 {
		return `http.path ^= "/"`
	}
	return strings.Join(preds, " && ")
}

// headerMatch is one header match of an HTTPRoute or a GRPCRoute.
type headerMatch struct {
	name, value string
	regex       bool
}

// headerPredicates turns header matches into expression predicates. Header
// names are case-insensitive and the spec says the first match of a name
// wins, so later duplicates are ignored.
func headerPredicates(matches []headerMatch) ([]string, error) {
	seen := map[string]bool{}
	var preds []string
	for _, h := range matches {
		key := strings.ToLower(h.name)
		if seen[key] {
			continue
		}
		seen[key] = true
		p, err := headerPredicate(h.name, h.value, h.regex)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return preds, nil
}
