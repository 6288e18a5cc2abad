package convert

import (
	"fmt"
	"slices"
	"strings"

	netv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// behavior is what an Ingress's annotations (and, for KIC, its backend
// Service's) ask of every path it routes.
type behavior struct {
	methods []string
	headers []headerMatch
	grpc    bool
	// httpsOnly attaches the route to HTTPS listeners only; redirectCode
	// (when not 0) answers plain HTTP with a redirect to HTTPS.
	httpsOnly    bool
	redirectCode int
	// stripPath and upstreamPath rewrite the path (KIC).
	stripPath    bool
	upstreamPath string
	// fullRewrite replaces the whole path (KIC konghq.com/rewrite).
	fullRewrite string
	hostRewrite string
	// preserveHostFalse sends the Service's name upstream as Host (KIC).
	preserveHostFalse bool
	rewrite           *nginxRewrite
	plugins           []string
	cors              *gwv1.HTTPCORSFilter
	timeout           string
	retries           *int
	redirect          *gwv1.HTTPRequestRedirectFilter
}

type headerMatch struct {
	name   string
	values []string
	regex  bool
}

// pathMatch is one Ingress path as a Gateway API path match.
type pathMatch struct {
	match gwv1.HTTPPathMatch
	// prefix is the PathPrefix value when the match is a prefix.
	prefix string
	exact  string
	// literal is the path of a string-prefix match (a regular expression
	// that stands for "starts with literal").
	literal string
}

func prefixMatch(p string) pathMatch {
	t := gwv1.PathMatchPathPrefix
	return pathMatch{match: gwv1.HTTPPathMatch{Type: &t, Value: &p}, prefix: p}
}

func exactMatch(p string) pathMatch {
	t := gwv1.PathMatchExact
	return pathMatch{match: gwv1.HTTPPathMatch{Type: &t, Value: &p}, exact: p}
}

func regexMatch(re string) pathMatch {
	t := gwv1.PathMatchRegularExpression
	return pathMatch{match: gwv1.HTTPPathMatch{Type: &t, Value: &re}}
}

// stringPrefix matches what nginx's and Kong's plain path prefixes match:
// every path that starts with the string, not only whole segments.
func stringPrefix(p string) pathMatch {
	if p == "" || p == "/" {
		return prefixMatch("/")
	}
	pm := regexMatch(quoteRegex(p) + ".*")
	pm.literal = p
	return pm
}

// routeDraft is one HTTPRoute (or GRPCRoute) being built for one host of
// an Ingress.
type routeDraft struct {
	name, namespace string
	hostnames       []string
	rules           []gwv1.HTTPRouteRule
	grpcRules       []gwv1.GRPCRouteRule
	parents         []gwv1.ParentReference
	// redirect is the redirect to HTTPS for plain HTTP, by status code.
	redirectCode int
	sectionless  bool
}

func (c *converter) convertIngress(ing *netv1.Ingress) {
	f := c.flavorOf(ing)
	gw := c.gatewayFor(ing)
	obj := objName("Ingress", ing.Namespace, ing.Name)
	var base behavior
	if f == flavorNginx {
		base = c.nginxBehavior(ing, obj)
	} else {
		base = c.kongIngressBehavior(ing, obj)
	}
	// Hosts in the order of the rules.
	var hosts []string
	byHost := map[string][]netv1.HTTPIngressPath{}
	for _, r := range ing.Spec.Rules {
		if r.Host != "" && !validHost(r.Host) {
			c.rep.add(obj, "spec.rules.host "+r.Host, "not a hostname an HTTPRoute can hold", "fix the host")
			continue
		}
		if strings.HasPrefix(r.Host, "*.") {
			c.rep.add(obj, "spec.rules.host "+r.Host, "an Ingress wildcard matches exactly one DNS label, a Gateway API wildcard one or more (a.b.example.com now matches too)", "list the deeper hosts on their own Ingress rules if they must not match, or accept the wider match")
		}
		if _, ok := byHost[r.Host]; !ok {
			hosts = append(hosts, r.Host)
		}
		if r.HTTP == nil {
			byHost[r.Host] = append(byHost[r.Host], netv1.HTTPIngressPath{})
			continue
		}
		byHost[r.Host] = append(byHost[r.Host], r.HTTP.Paths...)
	}
	usedNames := map[string]bool{}
	for _, host := range hosts {
		name := ing.Name
		if len(hosts) > 1 {
			slug := "any-host"
			if host != "" {
				slug = dnsLabel(host)
			}
			name = objectName(ing.Name, slug)
			// Hosts such as a.b and a-b make the same slug.
			base := name
			for i := 2; usedNames[name]; i++ {
				name = objectName(base, fmt.Sprint(i))
			}
			usedNames[name] = true
		}
		d := &routeDraft{name: name, namespace: ing.Namespace}
		if host != "" {
			d.hostnames = []string{host}
		}
		b := base
		if f == flavorKong {
			d.hostnames = append(d.hostnames, c.kongHostAliases(ing, obj)...)
		}
		for _, p := range byHost[host] {
			if p.Backend.Service == nil {
				if p.Backend.Resource != nil {
					c.rep.add(obj, "spec.rules.http.paths "+p.Path+" backend.resource", "a resource backend has no Gateway API equivalent", "serve it from a Service")
				}
				continue
			}
			c.addPath(d, ing, f, gw, host, p, b, obj)
		}
		c.finishDraft(d, ing, f, gw, host, b, obj)
	}
	if db := ing.Spec.DefaultBackend; db != nil {
		if db.Service == nil {
			c.rep.add(obj, "spec.defaultBackend.resource", "a resource backend has no Gateway API equivalent", "serve it from a Service")
			return
		}
		d := &routeDraft{name: objectName(ing.Name, "default-backend"), namespace: ing.Namespace}
		root := netv1.PathTypePrefix
		c.addPath(d, ing, f, gw, "", netv1.HTTPIngressPath{Path: "/", PathType: &root, Backend: *db}, base, obj+" spec.defaultBackend")
		c.finishDraft(d, ing, f, gw, "", base, obj)
	}
}

// addPath adds the rule(s) of one Ingress path.
func (c *converter) addPath(d *routeDraft, ing *netv1.Ingress, f flavor, gw *gatewayBuilder, host string, p netv1.HTTPIngressPath, b behavior, obj string) {
	svcName, port, svc, ok := c.backend(obj, ing.Namespace, p.Backend.Service)
	if !ok {
		return
	}
	pt := netv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	var pm pathMatch
	var filters []gwv1.HTTPRouteFilter
	if f == flavorKong {
		b = c.kongServiceBehavior(b, svc, obj)
		pm = c.kongPath(ing, pt, p.Path, obj)
	} else {
		pm, filters = c.nginxPath(ing, gw, host, pt, p.Path, b, obj)
	}
	if f == flavorKong && !b.grpc {
		if fl, ok := c.kongRewrite(&pm, b, p.Path, obj); ok {
			filters = append(filters, fl...)
		}
	}
	ref := backendRef(svcName, port)
	if b.grpc {
		c.addGRPCRule(d, pm, b, ref, p.Path, obj)
		return
	}
	if b.hostRewrite != "" {
		filters = mergeHostRewrite(filters, b.hostRewrite)
	}
	if b.cors != nil {
		filters = append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterCORS, CORS: b.cors.DeepCopy()})
	}
	filters = append(filters, c.pluginFilters(b.plugins, filters, ing.Namespace, obj)...)
	rule := gwv1.HTTPRouteRule{Matches: httpMatches(pm, b)}
	if b.redirect != nil {
		// A redirect annotation answers every path of the Ingress.
		rule.Filters = append(rule.Filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterRequestRedirect, RequestRedirect: b.redirect.DeepCopy()})
		d.rules = append(d.rules, rule)
		return
	}
	rule.Filters = filters
	rule.BackendRefs = []gwv1.HTTPBackendRef{{BackendRef: ref}}
	if b.timeout != "" {
		t := gwv1.Duration(b.timeout)
		rule.Timeouts = &gwv1.HTTPRouteTimeouts{BackendRequest: &t}
	}
	if b.retries != nil {
		n := *b.retries
		rule.Retry = &gwv1.HTTPRouteRetry{Attempts: &n}
	}
	if f == flavorNginx {
		d.rules = append(d.rules, c.withCanary(gw, host, ing, p.Path, rule, obj)...)
		return
	}
	d.rules = append(d.rules, splitPrefixRewrite(rule)...)
}

// splitPrefixRewrite gives each match of a rule with a ReplacePrefixMatch
// rewrite its own rule: the HTTPRoute CRD allows that rewrite only on a
// rule with exactly one (PathPrefix) match.
func splitPrefixRewrite(rule gwv1.HTTPRouteRule) []gwv1.HTTPRouteRule {
	if len(rule.Matches) < 2 {
		return []gwv1.HTTPRouteRule{rule}
	}
	prefix := false
	for _, f := range rule.Filters {
		if f.URLRewrite != nil && f.URLRewrite.Path != nil && f.URLRewrite.Path.Type == gwv1.PrefixMatchHTTPPathModifier {
			prefix = true
		}
	}
	if !prefix {
		return []gwv1.HTTPRouteRule{rule}
	}
	out := make([]gwv1.HTTPRouteRule, 0, len(rule.Matches))
	for _, m := range rule.Matches {
		r := *rule.DeepCopy()
		r.Matches = []gwv1.HTTPRouteMatch{*m.DeepCopy()}
		out = append(out, r)
	}
	return out
}

func backendRef(name string, port int32) gwv1.BackendRef {
	p := gwv1.PortNumber(port)
	return gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(name), Port: &p}}
}

// httpMatches is the path match crossed with the methods; headers apply to
// each.
func httpMatches(pm pathMatch, b behavior) []gwv1.HTTPRouteMatch {
	var headers []gwv1.HTTPHeaderMatch
	for _, h := range b.headers {
		headers = append(headers, headerMatchOf(h))
	}
	base := gwv1.HTTPRouteMatch{Path: pm.match.DeepCopy(), Headers: headers}
	if len(b.methods) == 0 {
		return []gwv1.HTTPRouteMatch{base}
	}
	var out []gwv1.HTTPRouteMatch
	for _, m := range b.methods {
		mm := *base.DeepCopy()
		method := gwv1.HTTPMethod(m)
		mm.Method = &method
		out = append(out, mm)
	}
	return out
}

func headerMatchOf(h headerMatch) gwv1.HTTPHeaderMatch {
	if len(h.values) == 1 && !h.regex {
		return gwv1.HTTPHeaderMatch{Name: gwv1.HTTPHeaderName(h.name), Value: h.values[0]}
	}
	t := gwv1.HeaderMatchRegularExpression
	v := h.values[0]
	if !h.regex {
		var alts []string
		for _, x := range h.values {
			alts = append(alts, quoteRegex(x))
		}
		v = strings.Join(alts, "|")
	}
	return gwv1.HTTPHeaderMatch{Type: &t, Name: gwv1.HTTPHeaderName(h.name), Value: v}
}

func mergeHostRewrite(filters []gwv1.HTTPRouteFilter, host string) []gwv1.HTTPRouteFilter {
	h := gwv1.PreciseHostname(host)
	for i := range filters {
		if filters[i].Type == gwv1.HTTPRouteFilterURLRewrite {
			filters[i].URLRewrite.Hostname = &h
			return filters
		}
	}
	return append(filters, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Hostname: &h}})
}

// pluginsDrawbridgeOwns are the Kong plugins Drawbridge itself puts on a
// rule for Gateway API filters; a KongPlugin of the same name through an
// ExtensionRef on such a rule makes Drawbridge refuse the route.
var pluginsDrawbridgeOwns = map[string]gwv1.HTTPRouteFilterType{
	"request-transformer":  gwv1.HTTPRouteFilterURLRewrite,
	"response-transformer": gwv1.HTTPRouteFilterResponseHeaderModifier,
	"cors":                 gwv1.HTTPRouteFilterCORS,
	"redirect":             gwv1.HTTPRouteFilterRequestRedirect,
}

// pluginFilters turns KongPlugin names into ExtensionRef filters, leaving
// out (and reporting) the ones Drawbridge would refuse next to filters.
func (c *converter) pluginFilters(names []string, filters []gwv1.HTTPRouteFilter, ns, obj string) []gwv1.HTTPRouteFilter {
	var out []gwv1.HTTPRouteFilter
	// Kong runs one instance of a plugin per route: the first of a
	// plugin name wins, which puts an Ingress's plugins before its
	// Service's, as KIC's precedence does.
	seen := map[string]string{}
	for _, n := range names {
		kp := c.usePlugin(ns, n, obj)
		if kp == nil {
			continue
		}
		if first, dup := seen[kp.Spec.Plugin]; dup {
			if first != kp.Name {
				c.rep.add(obj, "plugin "+n, fmt.Sprintf("KongPlugin %s already runs %s on this route, and a route runs one instance of a plugin; the Ingress's plugin wins over the Service's, as in KIC", first, kp.Spec.Plugin), "keep one plugin of each kind per route")
			}
			continue
		}
		seen[kp.Spec.Plugin] = kp.Name
		if _, off := offDefaultAllowList[kp.Spec.Plugin]; off {
			// An ExtensionRef to a plugin off the allow-list refuses the
			// whole route; the KongPlugin is written, unattached.
			c.rep.add(obj, "plugin "+n, fmt.Sprintf("%s is off Drawbridge's default plugin allow-list, and a route that names such a plugin is refused whole; the KongPlugin was written but not attached", kp.Spec.Plugin), "see the KongPlugin's own report line; attach it by hand once the platform allows it")
			continue
		}
		if ft, ok := pluginsDrawbridgeOwns[kp.Spec.Plugin]; ok {
			clash := false
			for _, f := range filters {
				if f.Type == ft || (ft == gwv1.HTTPRouteFilterURLRewrite && f.Type == gwv1.HTTPRouteFilterRequestHeaderModifier) {
					clash = true
				}
			}
			if clash {
				c.rep.add(obj, "plugin "+n, fmt.Sprintf("Drawbridge implements the converted %s filter with Kong's %s plugin, and Kong runs one instance of a plugin per route", ft, kp.Spec.Plugin), "fold the plugin's settings into the route's filters, or move the path rewrite into the plugin")
				continue
			}
		}
		out = append(out, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterExtensionRef, ExtensionRef: &gwv1.LocalObjectReference{Group: "gateway.drawbridge.dev", Kind: "KongPlugin", Name: gwv1.ObjectName(kp.Name)}})
	}
	return out
}

// addGRPCRule adds a GRPCRoute rule for a path of a gRPC Ingress: gRPC
// paths are /package.Service/Method.
func (c *converter) addGRPCRule(d *routeDraft, pm pathMatch, b behavior, ref gwv1.BackendRef, path, obj string) {
	rule := gwv1.GRPCRouteRule{BackendRefs: []gwv1.GRPCBackendRef{{BackendRef: ref}}}
	var match *gwv1.GRPCRouteMatch
	switch {
	case pm.prefix == "/":
	case pm.prefix != "" && !strings.Contains(strings.Trim(pm.prefix, "/"), "/"):
		svc := strings.Trim(pm.prefix, "/")
		match = &gwv1.GRPCRouteMatch{Method: &gwv1.GRPCMethodMatch{Service: &svc}}
	case pm.exact != "" && strings.Count(pm.exact, "/") == 2 && !strings.HasSuffix(pm.exact, "/"):
		parts := strings.Split(pm.exact, "/")
		match = &gwv1.GRPCRouteMatch{Method: &gwv1.GRPCMethodMatch{Service: &parts[1], Method: &parts[2]}}
	default:
		c.rep.add(obj, "path "+path, "a GRPCRoute matches /package.Service/ prefixes and /package.Service/Method exactly, not other paths", "use a Prefix path /package.Service or an Exact path /package.Service/Method")
		return
	}
	for _, h := range b.headers {
		hm := headerMatchOf(h)
		if match == nil {
			match = &gwv1.GRPCRouteMatch{}
		}
		t := gwv1.GRPCHeaderMatchType(gwv1.HeaderMatchExact)
		if hm.Type != nil {
			t = gwv1.GRPCHeaderMatchType(*hm.Type)
		}
		match.Headers = append(match.Headers, gwv1.GRPCHeaderMatch{Type: &t, Name: gwv1.GRPCHeaderName(hm.Name), Value: hm.Value})
	}
	if match != nil {
		rule.Matches = []gwv1.GRPCRouteMatch{*match}
	}
	for _, f := range c.pluginFilters(b.plugins, nil, d.namespace, obj) {
		rule.Filters = append(rule.Filters, gwv1.GRPCRouteFilter{Type: gwv1.GRPCRouteFilterExtensionRef, ExtensionRef: f.ExtensionRef})
	}
	if b.cors != nil || b.rewrite != nil || b.stripPath || b.upstreamPath != "" || b.hostRewrite != "" || b.timeout != "" || b.retries != nil {
		c.rep.add(obj, "gRPC path "+path, "a GRPCRoute has no CORS, URL rewrite, timeout or retry settings", "drop those annotations for gRPC, or serve the backend over HTTP")
	}
	d.grpcRules = append(d.grpcRules, rule)
}

// finishDraft attaches a route to its Gateway's listeners, adds the
// redirect to HTTPS, and writes the route out.
func (c *converter) finishDraft(d *routeDraft, ing *netv1.Ingress, f flavor, gw *gatewayBuilder, host string, b behavior, obj string) {
	if len(d.rules) == 0 && len(d.grpcRules) == 0 {
		return
	}
	gw.attachHTTP(d.namespace)
	// The HTTPS listeners of every hostname of the route (host aliases
	// included), and the hostnames none serves.
	var https, noTLS []string
	hosts := d.hostnames
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	for _, h := range hosts {
		ls := gw.httpsFor(h)
		if len(ls) == 0 {
			noTLS = append(noTLS, h)
		}
		for _, l := range ls {
			if !slices.Contains(https, l) {
				https = append(https, l)
			}
		}
	}
	redirect, httpsOnly := 0, b.httpsOnly
	if f == flavorNginx {
		redirect = c.nginxSSLRedirect(ing, len(https) > 0, obj)
		httpsOnly = redirect != 0
	} else if httpsOnly {
		redirect = b.redirectCode
		if redirect == 0 {
			c.rep.add(obj, "konghq.com/protocols", "Kong answered plain HTTP on an HTTPS-only route with 426 Upgrade Required; the route is now on the HTTPS listener only, so plain HTTP gets 404", "set konghq.com/https-redirect-status-code (converted to a redirect) if clients should be sent to HTTPS")
		}
	}
	if httpsOnly && len(https) == 0 {
		c.rep.add(obj, "HTTPS-only host "+host, "the route is HTTPS-only but no Ingress TLS section gives the host a certificate, so the Gateway has no HTTPS listener for it; the route is served on plain HTTP too", "add a spec.tls entry for the host")
		httpsOnly, redirect = false, 0
	}
	if httpsOnly && len(https) > 0 && len(noTLS) > 0 {
		c.rep.add(obj, "HTTPS-only hosts "+strings.Join(noTLS, ", "), "the route is HTTPS-only, and no Ingress TLS section gives these hosts a certificate, so no HTTPS listener serves them and they get no answer", "add them to a spec.tls entry")
	}
	var parents []gwv1.ParentReference
	if httpsOnly {
		for _, l := range https {
			parents = append(parents, gw.ref(l))
		}
	} else {
		parents = []gwv1.ParentReference{gw.ref("")}
	}
	meta := metav1.ObjectMeta{Name: d.name, Namespace: d.namespace, Labels: map[string]string{"gateway.drawbridge.dev/converted-from": dnsLabel("ingress-" + ing.Name)}}
	var hostnames []gwv1.Hostname
	for _, h := range d.hostnames {
		hostnames = append(hostnames, gwv1.Hostname(h))
	}
	if len(d.rules) > 0 {
		c.out.HTTPRoutes = append(c.out.HTTPRoutes, gwv1.HTTPRoute{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "HTTPRoute"},
			ObjectMeta: *meta.DeepCopy(),
			Spec:       gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: parents}, Hostnames: hostnames, Rules: capRules(d.rules, obj, &c.rep)},
		})
	}
	if len(d.grpcRules) > 0 {
		gm := *meta.DeepCopy()
		if len(d.rules) > 0 {
			gm.Name = objectName(d.name, "grpc")
		}
		c.out.GRPCRoutes = append(c.out.GRPCRoutes, gwv1.GRPCRoute{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "GRPCRoute"},
			ObjectMeta: gm,
			Spec:       gwv1.GRPCRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: parents}, Hostnames: hostnames, Rules: d.grpcRules},
		})
	}
	if redirect == 0 || len(d.rules) == 0 {
		return
	}
	code := redirect
	scheme := "https"
	var rules []gwv1.HTTPRouteRule
	for _, r := range d.rules {
		rules = append(rules, gwv1.HTTPRouteRule{Matches: r.Matches, Filters: []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gwv1.HTTPRequestRedirectFilter{Scheme: &scheme, StatusCode: &code}}}})
	}
	rm := *meta.DeepCopy()
	rm.Name = objectName(d.name, "to-https")
	c.out.HTTPRoutes = append(c.out.HTTPRoutes, gwv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: rm,
		Spec:       gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{gw.ref(httpListener)}}, Hostnames: hostnames, Rules: capRules(rules, obj, &c.rep)},
	})
}

// maxRules and maxMatches are the HTTPRoute CRD's limits.
const (
	maxRules   = 16
	maxMatches = 64
)

func capRules(rules []gwv1.HTTPRouteRule, obj string, rep *report) []gwv1.HTTPRouteRule {
	for i := range rules {
		if len(rules[i].Matches) > maxMatches {
			rep.add(obj, "konghq.com/methods and headers", fmt.Sprintf("a rule can hold %d matches and the annotations need %d", maxMatches, len(rules[i].Matches)), "split the Ingress")
			rules[i].Matches = rules[i].Matches[:maxMatches]
		}
	}
	if len(rules) > maxRules {
		rep.add(obj, "spec.rules", fmt.Sprintf("an HTTPRoute holds at most %d rules and this host needs %d; the rest are left out", maxRules, len(rules)), "split the Ingress into several Ingresses of at most 16 paths per host")
		return rules[:maxRules]
	}
	return rules
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
