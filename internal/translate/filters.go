package translate

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
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
		for _, h := range append(append([]gwv1.HTTPHeader{}, ops.set...), ops.add...) {
			if !headerTokenRE.MatchString(string(h.Name)) {
				return f, unsupportedf("rules[%d]: header name %q is not a valid HTTP header name", ruleIdx, h.Name)
			}
		}
		for _, name := range ops.remove {
			if !headerTokenRE.MatchString(name) {
				return f, unsupportedf("rules[%d]: header name %q is not a valid HTTP header name", ruleIdx, name)
			}
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
		for _, o := range corsOrigins(f.cors) {
			if _, err := regexp.Compile(o); err != nil && o != "*" {
				return f, unsupportedf("rules[%d]: CORS origin %q cannot be expressed for Kong's cors plugin", ruleIdx, o)
			}
		}
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
	if backend {
		return unsupportedf("%s: %s is not supported on a backendRef; Kong applies filters per route, so only header modifiers can be moved there", where, filter.Type)
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
		f.rewrite = filter.URLRewrite
	case gwv1.HTTPRouteFilterCORS:
		if filter.CORS == nil {
			return unsupportedf("%s: type CORS needs cors", where)
		}
		f.cors = filter.CORS
	case gwv1.HTTPRouteFilterRequestMirror:
		return unsupportedf("%s: RequestMirror is not supported: Kong open source cannot mirror requests", where)
	case gwv1.HTTPRouteFilterExtensionRef:
		return unsupportedf("%s: ExtensionRef filters are not supported by Drawbridge", where)
	default:
		return unsupportedf("%s: filter type %q is not supported by Drawbridge", where, filter.Type)
	}
	return nil
}

// addBackendFilters folds backendRef filters into the rule. Kong applies
// plugins per route, not per upstream target, so this is only faithful when
// every backendRef of the rule carries the same filters.
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
	for i, r := range refs {
		if !reflect.DeepEqual(r.Filters, first) {
			return unsupportedf("rules[%d].backendRefs[%d]: backendRefs of one rule have different filters; Kong applies filters per route, so per-backend filters must be identical across the rule's backendRefs", ruleIdx, i)
		}
	}
	for i, filter := range first {
		if u := f.add(filter, fmt.Sprintf("rules[%d].backendRefs[*].filters[%d]", ruleIdx, i), true); u != nil {
			return u
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
	if f.cors != nil {
		plugin(kong.PluginCORS, corsConfig(f.cors))
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

var allCORSMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// corsConfig maps the CORS filter onto Kong's cors plugin.
func corsConfig(c *gwv1.HTTPCORSFilter) map[string]any {
	cfg := map[string]any{}
	if origins := corsOrigins(c); len(origins) > 0 {
		cfg["origins"] = origins
	}
	var methods []string
	for _, m := range c.AllowMethods {
		if m == "*" {
			methods = append([]string{}, allCORSMethods...)
			break
		}
		methods = append(methods, string(m))
	}
	if len(methods) > 0 {
		cfg["methods"] = methods
	}
	var headers []string
	for _, h := range c.AllowHeaders {
		if h == "*" {
			// Without a list Kong reflects Access-Control-Request-Headers,
			// which allows every header.
			headers = nil
			break
		}
		headers = append(headers, string(h))
	}
	if len(headers) > 0 {
		cfg["headers"] = headers
	}
	var exposed []string
	for _, h := range c.ExposeHeaders {
		exposed = append(exposed, string(h))
	}
	if len(exposed) > 0 {
		cfg["exposed_headers"] = exposed
	}
	if c.AllowCredentials != nil {
		cfg["credentials"] = *c.AllowCredentials
	}
	if c.MaxAge > 0 {
		cfg["max_age"] = int(c.MaxAge)
	}
	return cfg
}

// corsOrigins converts allowOrigins for Kong, which treats an origin other
// than "*" as a regular expression: wildcard origins become anchored
// expressions, literal ones are passed as they are.
func corsOrigins(c *gwv1.HTTPCORSFilter) []string {
	var origins []string
	for _, o := range c.AllowOrigins {
		s := string(o)
		switch {
		case s == "*":
			origins = append(origins, "*")
		case strings.Contains(s, "*"):
			origins = append(origins, "^"+strings.ReplaceAll(regexp.QuoteMeta(s), `\*`, `[^/]+`)+"$")
		default:
			origins = append(origins, s)
		}
	}
	return origins
}

// invalidCORSMethods reports methods Kong's cors plugin rejects.
func invalidCORSMethods(c *gwv1.HTTPCORSFilter) []string {
	var bad []string
	for _, m := range c.AllowMethods {
		if m == "*" {
			continue
		}
		ok := false
		for _, k := range allCORSMethods {
			if string(m) == k {
				ok = true
			}
		}
		if !ok {
			bad = append(bad, string(m))
		}
	}
	return bad
}
