package translate

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// grpcMatch is a compiled GRPCRouteMatch. gRPC requests are HTTP/2 POSTs to
// /<service>/<method>, so method matches become http.path predicates.
type grpcMatch struct {
	preds []string
	prec  precedence
}

func compileGRPCMatch(m gwv1.GRPCRouteMatch) (grpcMatch, error) {
	var out grpcMatch
	if mm := m.Method; mm != nil {
		svc, method := "", ""
		if mm.Service != nil {
			svc = *mm.Service
		}
		if mm.Method != nil {
			method = *mm.Method
		}
		regex := mm.Type != nil && *mm.Type == gwv1.GRPCMethodMatchRegularExpression
		switch {
		case regex:
			parts := []string{svc, method}
			for i, part := range parts {
				re, err := kong.KongRegex(part)
				if err != nil {
					return out, fmt.Errorf("method match regular expression %q cannot be used: %v", part, err)
				}
				parts[i] = re
			}
			s, m := parts[0], parts[1]
			if s == "" {
				s = "[^/]+"
			}
			if m == "" {
				m = "[^/]+"
			}
			out.preds = append(out.preds, "http.path ~ "+kong.Quote("^/(?:"+s+")/(?:"+m+")$"))
			out.prec.pathRegex, out.prec.pathLen = true, len(svc)+len(method)
		case svc != "" && method != "":
			out.preds = append(out.preds, "http.path == "+kong.Quote("/"+svc+"/"+method))
			out.prec.pathExact, out.prec.pathLen = true, len(svc)+len(method)+2
		case svc != "":
			out.preds = append(out.preds, "http.path ^= "+kong.Quote("/"+svc+"/"))
			out.prec.pathLen = len(svc) + 2
		case method != "":
			out.preds = append(out.preds, "http.path ~ "+kong.Quote("^/[^/]+/"+regexp.QuoteMeta(method)+"$"))
			out.prec.pathRegex, out.prec.pathLen = true, len(method)
		}
	}
	headers := make([]headerMatch, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = headerMatch{string(h.Name), h.Value, h.Type != nil && *h.Type == gwv1.GRPCHeaderMatchRegularExpression}
	}
	preds, err := headerPredicates(headers)
	if err != nil {
		return out, err
	}
	out.preds = append(out.preds, preds...)
	out.prec.headers += len(preds)
	return out, nil
}

// compileGRPCFilters maps GRPCRoute filters; only header modifiers have a
// Kong equivalent.
func compileGRPCFilters(rule gwv1.GRPCRouteRule, ri int) (ruleFilters, *unsupported) {
	var f ruleFilters
	apply := func(filter gwv1.GRPCRouteFilter, where string) *unsupported {
		switch filter.Type {
		case gwv1.GRPCRouteFilterRequestHeaderModifier:
			if filter.RequestHeaderModifier == nil {
				return unsupportedf("%s: type RequestHeaderModifier needs requestHeaderModifier", where)
			}
			f.request.merge(filter.RequestHeaderModifier)
		case gwv1.GRPCRouteFilterResponseHeaderModifier:
			if filter.ResponseHeaderModifier == nil {
				return unsupportedf("%s: type ResponseHeaderModifier needs responseHeaderModifier", where)
			}
			f.response.merge(filter.ResponseHeaderModifier)
		case gwv1.GRPCRouteFilterExtensionRef:
			if filter.ExtensionRef == nil {
				return unsupportedf("%s: type ExtensionRef needs extensionRef", where)
			}
			if strings.Contains(where, "backendRefs") {
				return unsupportedf("%s: ExtensionRef is not supported on a backendRef; Kong applies plugins per route", where)
			}
			f.extRefs = append(f.extRefs, extRef{ref: *filter.ExtensionRef, where: where})
		case gwv1.GRPCRouteFilterRequestMirror:
			// drawbridge-mirror sends its copies with lua-resty-http, which
			// speaks HTTP/1.1 only; a gRPC copy needs HTTP/2 and trailers.
			return unsupportedf("%s: RequestMirror is not supported on a GRPCRoute: Drawbridge's mirror sends copies over HTTP/1.1 and gRPC needs HTTP/2", where)
		default:
			return unsupportedf("%s: filter type %q is not supported on GRPCRoute by Drawbridge", where, filter.Type)
		}
		return nil
	}
	for i, filter := range rule.Filters {
		if u := apply(filter, fmt.Sprintf("rules[%d].filters[%d]", ri, i)); u != nil {
			return f, u
		}
	}
	var first []gwv1.GRPCRouteFilter
	for _, r := range rule.BackendRefs {
		if len(r.Filters) > 0 {
			first = r.Filters
			break
		}
	}
	if first != nil {
		for i, r := range rule.BackendRefs {
			// Filters hold pointers, so only a deep comparison tells
			// identical filters apart from different ones.
			if !reflect.DeepEqual(r.Filters, first) {
				return f, unsupportedf("rules[%d].backendRefs[%d]: backendRefs of one rule have different filters; Kong applies filters per route, so per-backend filters must be identical across the rule's backendRefs", ri, i)
			}
		}
		for i, filter := range first {
			if u := apply(filter, fmt.Sprintf("rules[%d].backendRefs[*].filters[%d]", ri, i)); u != nil {
				return f, u
			}
		}
	}
	for _, ops := range []headerOps{f.request, f.response} {
		for _, h := range append(append([]gwv1.HTTPHeader{}, ops.set...), ops.add...) {
			if !headerTokenRE.MatchString(string(h.Name)) {
				return f, unsupportedf("rules[%d]: header name %q is not a valid HTTP header name", ri, h.Name)
			}
		}
		for _, name := range ops.remove {
			if !headerTokenRE.MatchString(name) {
				return f, unsupportedf("rules[%d]: header name %q is not a valid HTTP header name", ri, name)
			}
		}
	}
	for _, h := range append(append([]gwv1.HTTPHeader{}, f.request.set...), f.request.add...) {
		if templateRE.MatchString(h.Value) {
			return f, unsupportedf("rules[%d]: request header %s value %q contains \"$(\", which Kong's request-transformer would evaluate as a template", ri, h.Name, h.Value)
		}
	}
	return f, nil
}

func (t *translator) translateGRPCRoutes() {
	routes := byNamespaceName(t.snap.GRPCRoutes, func(r *gwv1.GRPCRoute) metav1.ObjectMeta { return r.ObjectMeta })
	for _, r := range routes {
		meta := &routeMeta{
			key: RouteKey{Kind: "GRPCRoute", Namespace: r.Namespace, Name: r.Name}, uid: string(r.UID),
			generation: r.Generation, created: r.CreationTimestamp, parentRefs: r.Spec.ParentRefs,
			hostnames: hostnameStrings(r.Spec.Hostnames), hasHostnames: true,
		}
		atts, resIdx := t.attachRoute(meta, gatewayapi.KindGRPCRoute)
		if len(resIdx) == 0 {
			continue
		}
		type rulePlan struct {
			idx      int
			name     string
			matches  []grpcMatch
			filters  ruleFilters
			backends ruleBackends
			ext      []*kongPluginState
			broken   string // why an ExtensionRef filter makes the rule answer 500
		}
		var plans []rulePlan
		var problems []refProblem
		var u *unsupported
		for ri := range r.Spec.Rules {
			rule := &r.Spec.Rules[ri]
			refs := make([]gwv1.BackendRef, len(rule.BackendRefs))
			for i := range rule.BackendRefs {
				refs[i] = rule.BackendRefs[i].BackendRef
			}
			p := rulePlan{idx: ri, name: ruleName(rule.Name), backends: t.resolveBackends(meta, ri, refs, grpcBackends)}
			problems = append(problems, p.backends.problems...)
			if u != nil {
				continue
			}
			if p.backends.tlsMixed != "" {
				u = unsupportedf("rules[%d]: %s", ri, p.backends.tlsMixed)
				continue
			}
			matches := rule.Matches
			if len(matches) == 0 {
				matches = []gwv1.GRPCRouteMatch{{}}
			}
			for mi, m := range matches {
				cm, err := compileGRPCMatch(m)
				if err != nil {
					u = unsupportedf("rules[%d].matches[%d]: %v", ri, mi, err)
					break
				}
				p.matches = append(p.matches, cm)
			}
			if u == nil {
				p.filters, u = compileGRPCFilters(*rule, ri)
			}
			if u == nil {
				var probs []refProblem
				p.ext, probs, p.broken, u = t.resolveExtRefs(meta, p.filters.extRefs)
				problems = append(problems, probs...)
				if u == nil {
					terminates := p.broken != "" || p.backends.total == 0 || len(p.backends.resolved) == 0 || !p.backends.usable()
					u = checkExtClash(p.filters, p.ext, terminates, ri)
				}
			}
			if u == nil && rule.SessionPersistence != nil {
				u = unsupportedf("rules[%d]: sessionPersistence is not supported by Drawbridge", ri)
			}
			plans = append(plans, p)
		}
		t.finishRoute(meta, atts, resIdx, u, problems)
		if u != nil || len(atts) == 0 {
			continue
		}
		scopes := t.scopes(atts)
		for _, p := range plans {
			var extra []string
			if p.name != "" {
				extra = append(extra, "drawbridge-rule-name:"+safeTag(p.name))
			}
			sb := t.ruleService(meta, p.idx, p.backends, grpcBackends, extra)
			terminate := ""
			switch {
			case p.broken != "":
				terminate = p.broken
			case p.backends.total == 0:
				terminate = "The GRPCRoute rule has no backendRefs"
			case len(p.backends.resolved) == 0 && len(p.backends.tlsRefused) > 0:
				terminate = p.backends.refusedMessage()
			case len(p.backends.resolved) == 0:
				terminate = "No backendRef of the GRPCRoute rule could be resolved"
			case !p.backends.usable():
				terminate = "Every backendRef of the GRPCRoute rule has weight 0"
			}
			for mi, m := range p.matches {
				for _, s := range scopes {
					preds := append(scopePredicates(s, "http.host"), m.preds...)
					tags := routeTags(meta, extra...)
					proto := "grpc"
					if s.listener.scheme() == "https" {
						proto = "grpcs"
					}
					route := &kong.Route{
						Name:         entityName(meta.key.Kind, meta.key.Namespace, meta.key.Name, p.idx, mi, s.listener.index, s.hostIdx, 0),
						Protocols:    []string{proto},
						Expression:   joinPredicates(preds),
						PreserveHost: kong.Bool(true),
						StripPath:    kong.Bool(false),
						Tags:         tags,
					}
					// GRPCRoute filters are header modifiers only, which cannot
					// fail to build; redirects and rewrites were rejected above.
					plugins, _ := p.filters.plugins(pluginScope{scope: s, tags: tags})
					if terminate != "" {
						plugins = append(plugins, terminationPlugin(terminate, tags))
						sort.SliceStable(plugins, func(i, j int) bool { return plugins[i].Name < plugins[j].Name })
					}
					if p.broken != "" {
						// A broken rule answers 500 with nothing else.
						route.Plugins = []kong.Plugin{terminationPlugin(terminate, tags)}
					} else {
						var u *unsupported
						route.Plugins, u = t.withUserPlugins(plugins, t.policyPlugins(meta.key, p.name, s.listener, p.ext), nil, fmt.Sprintf("rules[%d]", p.idx))
						if u != nil {
							// ExtensionRef clashes were refused while planning.
							route.Plugins = plugins
						}
					}
					sb.routes = append(sb.routes, route)
					t.pending = append(t.pending, &pendingRoute{route: route, prec: m.prec.withHost(s.origin),
						tie: tieKey{kindOrder: 1, created: meta.created, namespace: meta.key.Namespace, name: meta.key.Name, rule: p.idx, match: mi}})
				}
			}
		}
	}
}
