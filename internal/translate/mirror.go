package translate

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The RequestMirror filter becomes Drawbridge's drawbridge-mirror plugin
// (internal/kong/luaplugins/plugins/drawbridge-mirror): one plugin per Kong
// route carrying every mirror of the rule, each with the ready endpoints of
// its backendRef and its share of requests. The plugin sends each copy to
// one endpoint, as the spec asks ("a single destination endpoint within
// this BackendRef"), from a timer so the client never waits for it.
//
// The plugin runs after Kong's request-transformer, so a copy carries every
// request filter of the rule (header modifiers, URLRewrite), whatever their
// position relative to the RequestMirror filter: the Gateway API asks for
// filter order only "wherever possible", and Kong orders plugins by
// priority. The conformance tests list the header modifier first.

// mirrorFilter is one RequestMirror filter after validation.
type mirrorFilter struct {
	ref                    gwv1.BackendObjectReference
	numerator, denominator int32
	where                  string // rules[i].filters[j]
}

// mirrorTarget is a mirror whose backendRef resolved.
type mirrorTarget struct {
	name                   string // namespace/name:port, for the plugin's logs
	endpoints              []string
	numerator, denominator int32
}

// compileMirror checks a RequestMirror filter. The CRD enforces the same
// bounds; the translator sees input the API server may not have validated.
func compileMirror(m *gwv1.HTTPRequestMirrorFilter, where string) (mirrorFilter, *unsupported) {
	if m == nil {
		return mirrorFilter{}, unsupportedf("%s: type RequestMirror needs requestMirror", where)
	}
	out := mirrorFilter{ref: m.BackendRef, numerator: 100, denominator: 100, where: where}
	switch {
	case m.Percent != nil && m.Fraction != nil:
		return out, unsupportedf("%s: RequestMirror sets both percent and fraction; only one may be specified", where)
	case m.Percent != nil:
		if *m.Percent < 0 || *m.Percent > 100 {
			return out, unsupportedf("%s: RequestMirror percent %d is not in 0..100", where, *m.Percent)
		}
		out.numerator = *m.Percent
	case m.Fraction != nil:
		den := int32(100)
		if m.Fraction.Denominator != nil {
			den = *m.Fraction.Denominator
		}
		num := m.Fraction.Numerator
		if num < 0 || den < 1 || num > den {
			return out, unsupportedf("%s: RequestMirror fraction %d/%d must have 0 <= numerator <= denominator and denominator >= 1", where, num, den)
		}
		out.numerator, out.denominator = num, den
	}
	return out, nil
}

// resolveMirrors resolves the backendRef of every mirror of a rule as a
// backendRef of the rule would be (same kinds, ReferenceGrants, ports and
// protocols). A mirror that does not resolve is left out of the
// configuration and reported through ResolvedRefs, as the spec asks; the
// rule itself still serves traffic. A mirror with a zero share resolves
// (its status is reported) but sends nothing, so it is left out too.
func (t *translator) resolveMirrors(meta *routeMeta, f *ruleFilters) []refProblem {
	var problems []refProblem
	f.mirrorTargets = nil
	for _, m := range f.mirrors {
		b, problem := t.resolveBackend(meta, gwv1.BackendRef{BackendObjectReference: m.ref}, httpBackends)
		if problem != nil {
			problem.message = m.where + ".requestMirror.backendRef: " + problem.message
			problems = append(problems, *problem)
			continue
		}
		if m.numerator == 0 {
			continue
		}
		key := types.NamespacedName{Namespace: b.service.Namespace, Name: b.service.Name}
		f.mirrorTargets = append(f.mirrorTargets, mirrorTarget{
			name:      fmt.Sprintf("%s:%d", key, b.port),
			endpoints: slices.Clone(b.endpoints),
			numerator: m.numerator, denominator: m.denominator,
		})
	}
	return problems
}

// mirrorConfig is the drawbridge-mirror config for a rule, nil without a
// mirror. The plugin's other settings (body limit, copies in flight,
// timeout) keep their schema defaults.
func mirrorConfig(targets []mirrorTarget) map[string]any {
	if len(targets) == 0 {
		return nil
	}
	mirrors := make([]any, len(targets))
	for i, m := range targets {
		endpoints := m.endpoints
		if endpoints == nil {
			endpoints = []string{}
		}
		mirrors[i] = map[string]any{
			"name":        m.name,
			"endpoints":   endpoints,
			"numerator":   int(m.numerator),
			"denominator": int(m.denominator),
		}
	}
	return map[string]any{"mirrors": mirrors}
}
