package translate

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// unsupported is why a route cannot be programmed; it becomes the route's
// Accepted=False condition.
type unsupported struct {
	reason  gwv1.RouteConditionReason
	message string
}

func unsupportedf(format string, args ...any) *unsupported {
	return &unsupported{reason: gwv1.RouteReasonUnsupportedValue, message: fmt.Sprintf(format, args...)}
}

// headerOps is a header modifier after merging every filter that sets it.
type headerOps struct {
	set    []gwv1.HTTPHeader
	add    []gwv1.HTTPHeader
	remove []string
}

func (h *headerOps) merge(f *gwv1.HTTPHeaderFilter) {
	h.set = append(h.set, f.Set...)
	h.add = append(h.add, f.Add...)
	h.remove = append(h.remove, f.Remove...)
}

func (h headerOps) empty() bool { return len(h.set)+len(h.add)+len(h.remove) == 0 }

// ruleFilters are the filters of one rule that Kong can express.
type ruleFilters struct {
	request  headerOps
	response headerOps
	redirect *gwv1.HTTPRequestRedirectFilter
	rewrite  *gwv1.HTTPURLRewriteFilter
	cors     *gwv1.HTTPCORSFilter
	// corsConfig is the drawbridge-cors config, computed once per rule when
	// the filter is checked.
	corsConfig map[string]any
	// extRefs are the ExtensionRef filters, resolved by the translator.
	extRefs []extRef
	// perBackend, indexed like the rule's backendRefs, holds each
	// backendRef's header modifiers when they differ between backendRefs
	// (nil otherwise: identical ones are merged into request/response).
	perBackend []backendHeaders
	// mirrors are the RequestMirror filters in rule order; mirrorTargets
	// are those whose backendRef resolved (resolveMirrors), which become
	// the drawbridge-mirror plugin.
	mirrors       []mirrorFilter
	mirrorTargets []mirrorTarget
}

// templateRE finds request-transformer template syntax. Kong evaluates
// $(...) in request-transformer values as Lua, so a literal one cannot be
// passed through safely.
var templateRE = regexp.MustCompile(`\$\(`)

var (
	headerTokenRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	hostnameRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// compileHTTPFilters checks a rule's filters, including backendRef filters,
// and returns what the plugins need. Anything Kong cannot do is reported.
func compileHTTPFilters(rule gwv1.HTTPRouteRule, ruleIdx int) (ruleFilters, *unsupported) {
	var f ruleFilters
	for i, filter := range rule.Filters {
		where := fmt.Sprintf("rules[%d].filters[%d]", ruleIdx, i)
		if u := f.add(filter, where, false); u != nil {
			return f, u
		}
	}
	if u := f.addBackendFilters(rule.BackendRefs, ruleIdx); u != nil {
		return f, u
	}
	if f.redirect != nil && f.rewrite != nil {
		return f, &unsupported{reason: gwv1.RouteReasonIncompatibleFilters,
			message: fmt.Sprintf("rules[%d]: RequestRedirect and URLRewrite cannot be combined in one rule", ruleIdx)}
	}
	for _, ops := range []headerOps{f.request, f.response} {
		if u := checkHeaderNames(ops, fmt.Sprintf("rules[%d]", ruleIdx)); u != nil {
			return f, u
		}
	}
	for _, ops := range []headerOps{f.request} {
		for _, h := range append(append([]gwv1.HTTPHeader{}, ops.set...), ops.add...) {
			if templateRE.MatchString(h.Value) {
				return f, unsupportedf("rules[%d]: request header %s value %q contains \"$(\", which Kong's request-transformer would evaluate as a template", ruleIdx, h.Name, h.Value)
			}
		}
	}
	if f.rewrite != nil && f.rewrite.Path != nil {
		p := f.rewrite.Path
		for _, v := range []*string{p.ReplaceFullPath, p.ReplacePrefixMatch} {
			if v != nil && templateRE.MatchString(*v) {
				return f, unsupportedf("rules[%d]: URLRewrite path %q contains \"$(\", which Kong's request-transformer would evaluate as a template", ruleIdx, *v)
			}
			if v != nil && !strings.HasPrefix(*v, "/") {
				return f, unsupportedf("rules[%d]: URLRewrite path %q must start with /", ruleIdx, *v)
			}
		}
	}
	if f.redirect != nil {
		if s := f.redirect.Scheme; s != nil && *s != "http" && *s != "https" {
			return f, unsupportedf("rules[%d]: RequestRedirect scheme %q is not http or https", ruleIdx, *s)
		}
		if c := f.redirect.StatusCode; c != nil && (*c < 300 || *c > 399) {
			return f, unsupportedf("rules[%d]: RequestRedirect statusCode %d is not a redirect status", ruleIdx, *c)
		}
		if h := f.redirect.Hostname; h != nil && !hostnameRE.MatchString(string(*h)) {
			return f, unsupportedf("rules[%d]: RequestRedirect hostname %q is not a valid hostname", ruleIdx, *h)
		}
	}
	if f.rewrite != nil && f.rewrite.Hostname != nil && !hostnameRE.MatchString(string(*f.rewrite.Hostname)) {
		return f, unsupportedf("rules[%d]: URLRewrite hostname %q is not a valid hostname", ruleIdx, *f.rewrite.Hostname)
	}
	if f.cors != nil {
		cfg, u := corsConfig(f.cors, fmt.Sprintf("rules[%d]", ruleIdx))
		if u != nil {
			return f, u
		}
		f.corsConfig = cfg
	}
	return f, nil
}

func (f *ruleFilters) add(filter gwv1.HTTPRouteFilter, where string, backend bool) *unsupported {
	switch filter.Type {
	case gwv1.HTTPRouteFilterRequestHeaderModifier:
		if filter.RequestHeaderModifier == nil {
			return unsupportedf("%s: type RequestHeaderModifier needs requestHeaderModifier", where)
		}
		f.request.merge(filter.RequestHeaderModifier)
		return nil
	case gwv1.HTTPRouteFilterResponseHeaderModifier:
		if filter.ResponseHeaderModifier == nil {
			return unsupportedf("%s: type ResponseHeaderModifier needs responseHeaderModifier", where)
		}
		f.response.merge(filter.ResponseHeaderModifier)
		return nil
	}
	if backend && filter.Type != gwv1.HTTPRouteFilterURLRewrite {
		return unsupportedf("%s: %s is not supported on a backendRef; Kong applies filters per route, so only header modifiers and URLRewrite can be moved there", where, filter.Type)
	}
	switch filter.Type {
	case gwv1.HTTPRouteFilterRequestRedirect:
		if filter.RequestRedirect == nil {
			return unsupportedf("%s: type RequestRedirect needs requestRedirect", where)
		}
		f.redirect = filter.RequestRedirect
	case gwv1.HTTPRouteFilterURLRewrite:
		if filter.URLRewrite == nil {
			return unsupportedf("%s: type URLRewrite needs urlRewrite", where)
		}
		if f.rewrite != nil {
			// The CRD allows one URLRewrite per filter list; one on the rule
			// and one on its backendRefs would rewrite the same request
			// twice, and the second one's prefix has no defined meaning.
			return unsupportedf("%s: the rule already has a URLRewrite filter; a rule and its backendRefs cannot both rewrite the URL", where)
		}
		f.rewrite = filter.URLRewrite
	case gwv1.HTTPRouteFilterCORS:
		if filter.CORS == nil {
			return unsupportedf("%s: type CORS needs cors", where)
		}
		f.cors = filter.CORS
	case gwv1.HTTPRouteFilterRequestMirror:
		m, u := compileMirror(filter.RequestMirror, where)
		if u != nil {
			return u
		}
		f.mirrors = append(f.mirrors, m)
	case gwv1.HTTPRouteFilterExtensionRef:
		if filter.ExtensionRef == nil {
			return unsupportedf("%s: type ExtensionRef needs extensionRef", where)
		}
		f.extRefs = append(f.extRefs, extRef{ref: *filter.ExtensionRef, where: where})
	default:
		return unsupportedf("%s: filter type %q is not supported by Drawbridge", where, filter.Type)
	}
	return nil
}

// backendHeaders are the header modifiers of one backendRef when the
// rule's backendRefs differ (drawbridge-backend-select applies them).
type backendHeaders struct {
	request  headerOps
	response headerOps
}

// addBackendFilters handles backendRef filters. When every backendRef of
// the rule carries the same filters they are folded into the rule: Kong
// applies plugins per route, which is then faithful and costs nothing. A
// rule with a single backendRef always qualifies, which is how a backendRef
// URLRewrite (HTTPRouteBackendURLRewrite) becomes the rule's rewrite.
// Otherwise each backendRef keeps its own header modifiers in perBackend,
// for drawbridge-backend-select; other filter types cannot differ.
func (f *ruleFilters) addBackendFilters(refs []gwv1.HTTPBackendRef, ruleIdx int) *unsupported {
	var first []gwv1.HTTPRouteFilter
	any := false
	for _, r := range refs {
		if len(r.Filters) > 0 {
			any = true
			first = r.Filters
			break
		}
	}
	if !any {
		return nil
	}
	same := true
	for _, r := range refs {
		if !reflect.DeepEqual(r.Filters, first) {
			same = false
			break
		}
	}
	if same {
		for i, filter := range first {
			if u := f.add(filter, fmt.Sprintf("rules[%d].backendRefs[*].filters[%d]", ruleIdx, i), true); u != nil {
				return u
			}
		}
		return nil
	}
	f.perBackend = make([]backendHeaders, len(refs))
	for ri, r := range refs {
		for fi, filter := range r.Filters {
			where := fmt.Sprintf("rules[%d].backendRefs[%d].filters[%d]", ruleIdx, ri, fi)
			b := &f.perBackend[ri]
			switch filter.Type {
			case gwv1.HTTPRouteFilterRequestHeaderModifier:
				if filter.RequestHeaderModifier == nil {
					return unsupportedf("%s: type RequestHeaderModifier needs requestHeaderModifier", where)
				}
				b.request.merge(filter.RequestHeaderModifier)
			case gwv1.HTTPRouteFilterResponseHeaderModifier:
				if filter.ResponseHeaderModifier == nil {
					return unsupportedf("%s: type ResponseHeaderModifier needs responseHeaderModifier", where)
				}
				b.response.merge(filter.ResponseHeaderModifier)
			default:
				return unsupportedf("%s: %s is not supported on a backendRef when the rule's backendRefs have different filters; only RequestHeaderModifier and ResponseHeaderModifier can differ between backendRefs", where, filter.Type)
			}
		}
		for _, ops := range []headerOps{f.perBackend[ri].request, f.perBackend[ri].response} {
			if u := checkHeaderNames(ops, fmt.Sprintf("rules[%d].backendRefs[%d]", ruleIdx, ri)); u != nil {
				return u
			}
		}
	}
	return nil
}

// checkHeaderNames refuses header names that are not HTTP tokens.
func checkHeaderNames(ops headerOps, where string) *unsupported {
	for _, h := range append(append([]gwv1.HTTPHeader{}, ops.set...), ops.add...) {
		if !headerTokenRE.MatchString(string(h.Name)) {
			return unsupportedf("%s: header name %q is not a valid HTTP header name", where, h.Name)
		}
	}
	for _, name := range ops.remove {
		if !headerTokenRE.MatchString(name) {
			return unsupportedf("%s: header name %q is not a valid HTTP header name", where, name)
		}
	}
	return nil
}

// headerEntries renders headers as Kong transformer "Name:value" entries.
func headerEntries(hs []gwv1.HTTPHeader) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = string(h.Name) + ":" + h.Value
	}
	return out
}

// transformerConfig maps a header modifier onto Kong's transformer plugins.
// Kong applies remove, rename, replace (existing headers only), add
// (missing headers only), append, so Gateway API "set" is replace plus add,
// and "add" (append a value) is append.
func transformerConfig(ops headerOps) map[string]any {
	cfg := map[string]any{}
	var replace, add []string
	replace = append(replace, headerEntries(ops.set)...)
	add = append(add, headerEntries(ops.set)...)
	if len(replace) > 0 {
		cfg["replace"] = map[string]any{"headers": replace}
	}
	if len(add) > 0 {
		cfg["add"] = map[string]any{"headers": add}
	}
	if len(ops.add) > 0 {
		cfg["append"] = map[string]any{"headers": headerEntries(ops.add)}
	}
	if len(ops.remove) > 0 {
		cfg["remove"] = map[string]any{"headers": append([]string{}, ops.remove...)}
	}
	return cfg
}

func addToRecord(cfg map[string]any, record, key string, values ...string) {
	rec, ok := cfg[record].(map[string]any)
	if !ok {
		rec = map[string]any{}
		cfg[record] = rec
	}
	existing, _ := rec[key].([]string)
	rec[key] = append(existing, values...)
}

// pluginScope is what a plugin of one Kong route depends on.
type pluginScope struct {
	scope     scope
	path      pathMatch
	prefixCap bool // the route captures the rest of a prefix in uri_captures[1]
	tags      []string
}

// plugins builds the route plugins for one Kong route, sorted by name.
func (f ruleFilters) plugins(ps pluginScope) ([]kong.Plugin, error) {
	var out []kong.Plugin
	plugin := func(name string, cfg map[string]any) {
		out = append(out, kong.Plugin{Name: name, Config: cfg, Tags: ps.tags})
	}
	reqCfg := map[string]any{}
	if !f.request.empty() {
		reqCfg = transformerConfig(f.request)
	}
	if rw := f.rewrite; rw != nil {
		if rw.Hostname != nil {
			h := "host:" + string(*rw.Hostname)
			addToRecord(reqCfg, "replace", "headers", h)
			addToRecord(reqCfg, "add", "headers", h)
		}
		if rw.Path != nil {
			uri, err := rewriteURI(rw.Path, ps)
			if err != nil {
				return nil, err
			}
			rec, ok := reqCfg["replace"].(map[string]any)
			if !ok {
				rec = map[string]any{}
				reqCfg["replace"] = rec
			}
			rec["uri"] = uri
		}
	}
	if len(reqCfg) > 0 {
		plugin(kong.PluginRequestTransformer, reqCfg)
	}
	if !f.response.empty() {
		plugin(kong.PluginResponseTransformer, transformerConfig(f.response))
	}
	if f.redirect != nil {
		name, cfg, err := redirectPlugin(f.redirect, ps)
		if err != nil {
			return nil, err
		}
		plugin(name, cfg)
	}
	if f.corsConfig != nil {
		plugin(kong.PluginDrawbridgeCORS, maps.Clone(f.corsConfig))
	}
	if cfg := mirrorConfig(f.mirrorTargets); cfg != nil {
		plugin(kong.PluginMirror, cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// rewriteURI computes request-transformer replace.uri. A prefix rewrite
// relies on the Kong route capturing the rest of the path after the prefix
// (see prefixRewriteRoutes).
func rewriteURI(p *gwv1.HTTPPathModifier, ps pluginScope) (string, error) {
	switch p.Type {
	case gwv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return "", fmt.Errorf("URLRewrite ReplaceFullPath needs replaceFullPath")
		}
		return *p.ReplaceFullPath, nil
	case gwv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil {
			return "", fmt.Errorf("URLRewrite ReplacePrefixMatch needs replacePrefixMatch")
		}
		repl := *p.ReplacePrefixMatch
		if !ps.prefixCap {
			return repl, nil
		}
		return strings.TrimRight(repl, "/") + "/$(uri_captures[1])", nil
	}
	return "", fmt.Errorf("URLRewrite path type %q is not supported", p.Type)
}

func defaultPort(scheme string) int {
	switch strings.ToLower(scheme) {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// corsMethods are the values of the CRD's HTTPMethodWithWildcard enum.
var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"}

// corsDefaultMaxAge is the CRD default for maxAge; the field docs say the
// gateway sends it when maxAge is unspecified, which a pure input may be.
const corsDefaultMaxAge = 5

// corsConfig maps the CORS filter onto Drawbridge's drawbridge-cors plugin,
// whose fields are the filter's (see its policy.lua for the semantics), or
// says why the filter is invalid. where prefixes the messages (e.g.
// "rules[0]"). The API server enforces most of these rules; the translator
// is pure and may see input it never validated, so it checks again.
func corsConfig(c *gwv1.HTTPCORSFilter, where string) (map[string]any, *unsupported) {
	where += ": CORS"
	cfg := map[string]any{"allow_credentials": c.AllowCredentials != nil && *c.AllowCredentials}

	// An empty allowOrigins shares responses with no origin; the plugin
	// then answers preflights without CORS headers, as the spec asks.
	origins := make([]string, 0, len(c.AllowOrigins))
	for _, o := range c.AllowOrigins {
		n, err := normalizeCORSOrigin(string(o))
		if err != nil {
			return nil, unsupportedf("%s allowOrigins %q: %v", where, o, err)
		}
		origins = append(origins, n)
	}
	if len(origins) > 1 && slices.Contains(origins, "*") {
		return nil, unsupportedf("%s allowOrigins: '*' cannot be combined with other origins", where)
	}
	if len(origins) > 0 {
		cfg["allow_origins"] = origins
	}

	if len(c.AllowMethods) > 0 {
		methods := make([]string, 0, len(c.AllowMethods))
		for _, m := range c.AllowMethods {
			if !slices.Contains(corsMethods, string(m)) {
				return nil, unsupportedf("%s allowMethods %q is not an HTTP method the API allows (%s)", where, m, strings.Join(corsMethods, ", "))
			}
			methods = append(methods, string(m))
		}
		if len(methods) > 1 && slices.Contains(methods, "*") {
			return nil, unsupportedf("%s allowMethods: '*' cannot be combined with other methods", where)
		}
		cfg["allow_methods"] = methods
	}

	for _, field := range []struct {
		name, key string
		list      []gwv1.HTTPHeaderName
		soleStar  bool
	}{
		{"allowHeaders", "allow_headers", c.AllowHeaders, true},
		{"exposeHeaders", "expose_headers", c.ExposeHeaders, false},
	} {
		if len(field.list) == 0 {
			continue
		}
		names := make([]string, 0, len(field.list))
		for _, h := range field.list {
			if h != "*" && !headerTokenRE.MatchString(string(h)) {
				return nil, unsupportedf("%s %s %q is not a valid HTTP header name", where, field.name, h)
			}
			names = append(names, string(h))
		}
		if field.soleStar && len(names) > 1 && slices.Contains(names, "*") {
			return nil, unsupportedf("%s %s: '*' cannot be combined with other header names", where, field.name)
		}
		cfg[field.key] = names
	}

	maxAge := int(c.MaxAge)
	if maxAge <= 0 {
		maxAge = corsDefaultMaxAge
	}
	cfg["max_age"] = maxAge
	return cfg, nil
}

// corsOriginRE is the CORSOrigin pattern of the CRD, split into scheme, host
// and port. The translator is pure and may see input the API server never
// validated, so it checks again.
var corsOriginRE = regexp.MustCompile(`^(https?)://((?:\*\.)?(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(?::([0-9]{1,5}))?$`)

// normalizeCORSOrigin checks one allowOrigins entry and writes it the way
// the plugin compares origins: scheme and host lower-cased (browsers send
// them so, and hosts are case-insensitive), a default port dropped
// ("https://a.example:443" is "https://a.example"). Wildcard hosts are kept.
func normalizeCORSOrigin(o string) (string, error) {
	if o == "*" {
		return "*", nil
	}
	m := corsOriginRE.FindStringSubmatch(o)
	if m == nil {
		return "", fmt.Errorf("not an origin of the form <http|https>://<host>[:<port>]")
	}
	scheme, host, port := m[1], strings.ToLower(m[2]), m[3]
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %s is not in 1..65535", port)
		}
		if n == defaultPort(scheme) {
			port = ""
		}
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}
