package translate

import (
	"fmt"
	"regexp"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// httpRulePlan is one HTTPRoute rule after validation.
type httpRulePlan struct {
	idx       int
	name      string
	matches   []httpMatch
	filters   ruleFilters
	backends  ruleBackends
	timeoutMs int // 0: Kong defaults
	retry     *retryPlan
	// h2c: the rule's backends speak HTTP/2 cleartext (h2c.go).
	h2c bool
	// ext are the KongPlugins of the rule's ExtensionRef filters; broken
	// says why one of them makes the rule answer 500.
	ext    []*kongPluginState
	broken string
}

func hostnameStrings(hs []gwv1.Hostname) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = string(h)
	}
	return out
}

func (t *translator) translateHTTPRoutes() {
	routes := byNamespaceName(t.snap.HTTPRoutes, func(r *gwv1.HTTPRoute) metav1.ObjectMeta { return r.ObjectMeta })
	for _, r := range routes {
		meta := &routeMeta{
			key: RouteKey{Kind: "HTTPRoute", Namespace: r.Namespace, Name: r.Name}, uid: string(r.UID),
			generation: r.Generation, created: r.CreationTimestamp, parentRefs: r.Spec.ParentRefs,
			hostnames: hostnameStrings(r.Spec.Hostnames), hasHostnames: true,
		}
		atts, resIdx := t.attachRoute(meta, gatewayapi.KindHTTPRoute)
		if len(resIdx) == 0 {
			continue
		}
		plans, problems, u := t.planHTTPRoute(meta, r)
		var built []*serviceBuild
		var pending []*pendingRoute
		if u == nil && len(atts) > 0 {
			built, pending, u = t.buildHTTPRoute(meta, plans, t.scopes(atts))
		}
		t.finishRoute(meta, atts, resIdx, u, problems)
		if u != nil || len(atts) == 0 {
			continue
		}
		t.commit(meta, plans, built, pending)
	}
}

// planHTTPRoute validates every rule and resolves backends. Backend problems
// only affect ResolvedRefs; anything Kong cannot express makes the route
// unsupported.
func (t *translator) planHTTPRoute(meta *routeMeta, r *gwv1.HTTPRoute) ([]httpRulePlan, []refProblem, *unsupported) {
	var plans []httpRulePlan
	var problems []refProblem
	var firstUnsupported *unsupported
	for ri := range r.Spec.Rules {
		rule := &r.Spec.Rules[ri]
		refs := make([]gwv1.BackendRef, len(rule.BackendRefs))
		for i := range rule.BackendRefs {
			refs[i] = rule.BackendRefs[i].BackendRef
		}
		p := httpRulePlan{idx: ri, name: ruleName(rule.Name), backends: t.resolveBackends(meta, ri, refs, httpBackends)}
		problems = append(problems, p.backends.problems...)
		var mixed []refProblem
		p.backends, p.h2c, mixed = splitH2C(p.backends, ri)
		problems = append(problems, mixed...)
		if firstUnsupported != nil {
			continue
		}
		if p.backends.tlsMixed != "" {
			firstUnsupported = unsupportedf("rules[%d]: %s", ri, p.backends.tlsMixed)
			continue
		}
		if u := t.checkHTTPRule(rule, ri, &p); u != nil {
			firstUnsupported = u
			continue
		}
		problems = append(problems, t.resolveMirrors(meta, &p.filters)...)
		if p.filters.redirect != nil {
			// A redirect answers without proxying: no need for h2c.
			p.h2c = false
		}
		if p.h2c && p.retry.usesPlugin() {
			firstUnsupported = h2cRetryUnsupported(ri)
			continue
		}
		var probs []refProblem
		var u *unsupported
		p.ext, probs, p.broken, u = t.resolveExtRefs(meta, p.filters.extRefs)
		problems = append(problems, probs...)
		if u == nil {
			terminates := p.filters.redirect == nil && (p.backends.total == 0 || len(p.backends.resolved) == 0 || !p.backends.usable()) || p.broken != ""
			u = checkExtClash(p.filters, p.ext, terminates, ri)
		}
		if u != nil {
			firstUnsupported = u
			continue
		}
		plans = append(plans, p)
	}
	return plans, problems, firstUnsupported
}

func (t *translator) checkHTTPRule(rule *gwv1.HTTPRouteRule, ri int, p *httpRulePlan) *unsupported {
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gwv1.HTTPRouteMatch{{}}
	}
	for mi, m := range matches {
		cm, err := compileHTTPMatch(m)
		if err != nil {
			return unsupportedf("rules[%d].matches[%d]: %v", ri, mi, err)
		}
		p.matches = append(p.matches, cm)
	}
	f, u := compileHTTPFilters(*rule, ri)
	if u != nil {
		return u
	}
	p.filters = f
	if f.rewrite != nil && f.rewrite.Path != nil && f.rewrite.Path.Type == gwv1.PrefixMatchHTTPPathModifier {
		for mi, m := range p.matches {
			if m.path.kind != gwv1.PathMatchPathPrefix {
				return unsupportedf("rules[%d].matches[%d]: URLRewrite ReplacePrefixMatch needs a PathPrefix match, not %s", ri, mi, m.path.kind)
			}
		}
	}
	if rule.SessionPersistence != nil {
		return unsupportedf("rules[%d]: sessionPersistence is not supported by Drawbridge", ri)
	}
	if to := rule.Timeouts; to != nil {
		ms := 0
		for _, d := range []struct {
			field string
			v     *gwv1.Duration
		}{{"timeouts.request", to.Request}, {"timeouts.backendRequest", to.BackendRequest}} {
			if d.v == nil {
				continue
			}
			v, u := parseTimeout(fmt.Sprintf("rules[%d].%s", ri, d.field), string(*d.v))
			if u != nil {
				return u
			}
			if ms == 0 || v < ms {
				ms = v
			}
		}
		p.timeoutMs = ms
	}
	retry, u := compileRetry(rule, ri)
	if u != nil {
		return u
	}
	p.retry = retry
	return nil
}

// pathVariant is one Kong route's path condition for a match. Prefix
// rewrites split a PathPrefix match in two: the prefix itself, and the
// prefix followed by "/" whose remainder is captured for the new URI.
type pathVariant struct {
	preds   []string
	capture bool
}

func pathVariants(m httpMatch, prefixRewrite bool) []pathVariant {
	if !prefixRewrite {
		preds, _, _ := pathPredicates(m.path)
		return []pathVariant{{preds: preds}}
	}
	p := m.path.value
	rest := pathVariant{capture: true}
	if p == "/" {
		rest.preds = []string{"http.path ~ " + kong.Quote("^/(.*)$")}
		return []pathVariant{rest}
	}
	rest.preds = []string{"http.path ~ " + kong.Quote("^"+regexp.QuoteMeta(p)+"/(.*)$")}
	return []pathVariant{{preds: []string{"http.path == " + kong.Quote(p)}}, rest}
}

// buildHTTPRoute emits services, upstreams and routes for a planned route.
// It fails without side effects when a plugin cannot be built for some
// scope (for example a redirect without a known host).
func (t *translator) buildHTTPRoute(meta *routeMeta, plans []httpRulePlan, scopes []scope) ([]*serviceBuild, []*pendingRoute, *unsupported) {
	var built []*serviceBuild
	var pending []*pendingRoute
	for _, p := range plans {
		var extra []string
		if p.name != "" {
			extra = append(extra, "drawbridge-rule-name:"+safeTag(p.name))
		}
		// One slice for every Kong route and plugin of the rule, clipped so
		// an append copies it.
		tags := slices.Clip(routeTags(meta, extra...))
		sb := &serviceBuild{}
		if p.timeoutMs > 0 {
			setTimeouts(&sb.svc, p.timeoutMs)
		}
		if p.retry != nil {
			sb.svc.Retries = kong.Int(p.retry.attempts)
		}
		terminate := ""
		switch {
		case p.broken != "":
			terminate = p.broken
		case p.filters.redirect != nil:
		case p.backends.total == 0:
			terminate = "The HTTPRoute rule has no backendRefs"
		case len(p.backends.resolved) == 0 && len(p.backends.tlsRefused) > 0:
			terminate = p.backends.refusedMessage()
		case len(p.backends.resolved) == 0:
			terminate = "No backendRef of the HTTPRoute rule could be resolved"
		case !p.backends.usable():
			terminate = "Every backendRef of the HTTPRoute rule has weight 0"
		}
		prefixRewrite := p.filters.rewrite != nil && p.filters.rewrite.Path != nil && p.filters.rewrite.Path.Type == gwv1.PrefixMatchHTTPPathModifier
		for mi, m := range p.matches {
			for _, s := range scopes {
				for vi, v := range pathVariants(m, prefixRewrite) {
					scopePreds := scopePredicates(s, "http.host")
					rest := append(append([]string{}, v.preds...), m.preds...)
					preds := append(append([]string{}, scopePreds...), rest...)
					fp := &footprint{port: int32(s.listener.spec.Port), host: s.host, path: m.path, method: m.method,
						scope: scopePreds, rest: rest}
					route := &kong.Route{
						Name:         entityName(meta.key.Kind, meta.key.Namespace, meta.key.Name, p.idx, mi, s.listener.index, s.hostIdx, vi),
						Protocols:    []string{s.listener.scheme()},
						Expression:   joinPredicates(preds),
						PreserveHost: kong.Bool(true),
						StripPath:    kong.Bool(false),
						Tags:         tags,
					}
					plugins, err := p.filters.plugins(pluginScope{scope: s, path: m.path, prefixCap: v.capture, tags: tags})
					if err != nil {
						return nil, nil, unsupportedf("rules[%d].matches[%d]: %v", p.idx, mi, err)
					}
					if p.broken != "" {
						// The rule's filters cannot all be applied, so it
						// runs none of them and answers 500.
						route.Plugins = []kong.Plugin{terminationPlugin(terminate, tags)}
						sb.routes = append(sb.routes, route)
						pending = append(pending, &pendingRoute{route: route, prec: m.prec.withHost(s.origin), fp: fp,
							tie: tieKey{kindOrder: 0, created: meta.created, namespace: meta.key.Namespace, name: meta.key.Name, rule: p.idx, match: mi}})
						continue
					}
					switch {
					case terminate != "":
						plugins = append(plugins, terminationPlugin(terminate, tags))
					default:
						if sel, ok := backendSelectPlugin(meta, p, tags); ok {
							plugins = append(plugins, sel)
						}
						if p.filters.redirect == nil && p.retry.usesPlugin() {
							plugins = append(plugins, p.retry.plugin(tags))
						}
						if p.h2c {
							plugins = append(plugins, h2cPlugin(tags))
						}
					}
					sort.SliceStable(plugins, func(i, j int) bool { return plugins[i].Name < plugins[j].Name })
					var u *unsupported
					route.Plugins, u = t.withUserPlugins(plugins, t.policyPlugins(meta.key, p.name, s.listener, p.ext), nil, fmt.Sprintf("rules[%d]", p.idx))
					if u != nil {
						return nil, nil, u
					}
					sb.routes = append(sb.routes, route)
					pending = append(pending, &pendingRoute{route: route, prec: m.prec.withHost(s.origin), fp: fp,
						tie: tieKey{kindOrder: 0, created: meta.created, namespace: meta.key.Namespace, name: meta.key.Name, rule: p.idx, match: mi}})
				}
			}
		}
		built = append(built, sb)
	}
	return built, pending, nil
}

// commit adds a built route's services, upstreams and pending routes to the
// output. Rules are committed in order, so service i belongs to plans[i].
func (t *translator) commit(meta *routeMeta, plans []httpRulePlan, built []*serviceBuild, pending []*pendingRoute) {
	for i, p := range plans {
		var extra []string
		if p.name != "" {
			extra = append(extra, "drawbridge-rule-name:"+safeTag(p.name))
		}
		proto := httpBackends
		if p.h2c {
			proto = h2cBackends
		}
		sb := t.ruleService(meta, p.idx, p.backends, proto, extra)
		t.backendUpstreams(meta, p, extra)
		sb.svc.ConnectTimeout, sb.svc.ReadTimeout, sb.svc.WriteTimeout = built[i].svc.ConnectTimeout, built[i].svc.ReadTimeout, built[i].svc.WriteTimeout
		sb.svc.Retries = built[i].svc.Retries
		sb.routes = built[i].routes
	}
	t.pending = append(t.pending, pending...)
}

// byNamespaceName returns pointers to items ordered by namespace, then name,
// which is the order translation visits routes in.
func byNamespaceName[T any](items []T, meta func(*T) metav1.ObjectMeta) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := meta(out[i]), meta(out[j])
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

// ruleName is a rule's optional name, or "".
func ruleName(name *gwv1.SectionName) string {
	if name == nil {
		return ""
	}
	return string(*name)
}
