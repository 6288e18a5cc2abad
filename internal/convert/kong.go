package convert

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// KIC annotation names (konghq.com/<suffix>), as KIC's internal/annotations
// reads them.
const (
	kongPlugins       = kongPrefix + "plugins"
	kongStripPath     = kongPrefix + "strip-path"
	kongMethods       = kongPrefix + "methods"
	kongHeadersPrefix = kongPrefix + "headers."
	kongHeadersSep    = kongPrefix + "headers-separator"
	kongProtocols     = kongPrefix + "protocols"
	kongProtocol      = kongPrefix + "protocol"
	kongRedirectCode  = kongPrefix + "https-redirect-status-code"
	kongPreserveHost  = kongPrefix + "preserve-host"
	kongRegexPriority = kongPrefix + "regex-priority"
	kongHostAliases   = kongPrefix + "host-aliases"
	kongPath          = kongPrefix + "path"
	kongReadTimeout   = kongPrefix + "read-timeout"
	kongWriteTimeout  = kongPrefix + "write-timeout"
	kongConnTimeout   = kongPrefix + "connect-timeout"
	kongRetries       = kongPrefix + "retries"
	kongOverride      = kongPrefix + "override"
	kongRegexPrefix   = kongPrefix + "regex-prefix"
	kongHostHeader    = kongPrefix + "host-header"
	kongRewriteURI    = kongPrefix + "rewrite"
)

// kongUnsupported are KIC annotations with no Drawbridge equivalent, and
// what to do instead.
var kongUnsupported = map[string][2]string{
	kongPrefix + "snis":                       {"Drawbridge routes by Host header and listener hostname, not by a separate SNI list", "give the host its own HTTPS listener"},
	kongPrefix + "request-buffering":          {"Drawbridge keeps Kong's default request buffering", "remove the annotation"},
	kongPrefix + "response-buffering":         {"Drawbridge keeps Kong's default response buffering", "remove the annotation"},
	kongPrefix + "path-handling":              {"Drawbridge computes upstream paths itself (Gateway API URLRewrite)", "express the path with a URLRewrite filter"},
	kongPrefix + "tags":                       {"Drawbridge tags Kong entities with the Kubernetes object they came from", "nothing to do"},
	kongPrefix + "client-cert":                {"a client certificate to the backend is a Gateway setting in Gateway API", "set the Gateway's spec.tls.backend.clientCertificateRef"},
	kongPrefix + "tls-verify":                 {"backend TLS verification is a BackendTLSPolicy in Gateway API", "write a BackendTLSPolicy for the Service"},
	kongPrefix + "tls-verify-depth":           {"backend TLS verification is a BackendTLSPolicy in Gateway API", "write a BackendTLSPolicy for the Service"},
	kongPrefix + "ca-certificates-secrets":    {"backend CA certificates are a BackendTLSPolicy in Gateway API", "write a BackendTLSPolicy with caCertificateRefs"},
	kongPrefix + "ca-certificates-configmaps": {"backend CA certificates are a BackendTLSPolicy in Gateway API", "write a BackendTLSPolicy with caCertificateRefs"},
	kongRegexPriority:                         {"Gateway API orders matches itself (exact, then regular expression, then longest prefix); there is no priority number", "make the paths distinct enough for that order"},
}

// kongHandled are the KIC annotations conversion reads.
var kongHandled = map[string]bool{
	kongPlugins: true, kongStripPath: true, kongMethods: true, kongHeadersSep: true, kongProtocols: true,
	kongRedirectCode: true, kongPreserveHost: true, kongHostAliases: true, kongOverride: true, kongRegexPrefix: true,
	kongRewriteURI: true,
}

// kongServiceHandled are the KIC Service annotations conversion reads.
var kongServiceHandled = map[string]bool{
	kongPlugins: true, kongPath: true, kongReadTimeout: true, kongWriteTimeout: true, kongConnTimeout: true,
	kongRetries: true, kongProtocol: true, kongOverride: true, kongHostHeader: true,
}

func (c *converter) kongIngressBehavior(ing *netv1.Ingress, obj string) behavior {
	a := ing.Annotations
	var b behavior
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !strings.HasPrefix(k, kongPrefix) || kongHandled[k] || strings.HasPrefix(k, kongHeadersPrefix) {
			continue
		}
		if u, ok := kongUnsupported[k]; ok {
			c.rep.add(obj, k, u[0], u[1])
		} else {
			c.rep.add(obj, k, "not an Ingress annotation convert knows", "check KIC's documentation and write the Gateway API equivalent by hand")
		}
	}
	if a["ingress.kubernetes.io/force-ssl-redirect"] == "true" {
		// KIC reads it as "HTTPS only, redirect with 302".
		b.httpsOnly, b.redirectCode = true, 302
	}
	b.plugins = splitList(a[kongPlugins])
	b.stripPath = a[kongStripPath] == "true"
	for _, m := range splitList(a[kongMethods]) {
		b.methods = append(b.methods, strings.ToUpper(m))
	}
	sep := ","
	if s, ok := a[kongHeadersSep]; ok && s != "" {
		sep = s
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		name, ok := strings.CutPrefix(k, kongHeadersPrefix)
		if !ok || name == "" || a[k] == "" {
			continue
		}
		var vals []string
		for _, v := range strings.Split(a[k], sep) {
			vals = append(vals, strings.TrimSpace(v))
		}
		b.headers = append(b.headers, headerMatch{name: name, values: vals})
	}
	if v, ok := a[kongProtocols]; ok {
		c.kongProtocols(&b, splitList(v), obj, kongProtocols)
	}
	if v := a[kongRedirectCode]; v != "" {
		code, err := strconv.Atoi(v)
		switch {
		case err != nil || !validRedirectCode(code):
			c.rep.add(obj, kongRedirectCode, fmt.Sprintf("%q is not a redirect code Gateway API has (301, 302, 303, 307, 308)", v), "use one of those codes")
		default:
			b.redirectCode = code
		}
	}
	if a[kongPreserveHost] == "false" {
		b.preserveHostFalse = true
		c.rep.add(obj, kongPreserveHost, "with preserve-host false Kong sent the Service's host name upstream; Drawbridge sends the client's Host unless a URLRewrite sets one", "convert sets URLRewrite hostname to <service>.<namespace>.svc where the backend is known; check that is the name the backend expects")
	}
	if v := a[kongRewriteURI]; v != "" {
		switch {
		case strings.Contains(v, "$"):
			c.rep.add(obj, kongRewriteURI, "a rewrite with capture groups ($1...) has no Gateway API equivalent; paths are forwarded unchanged", "use a Prefix path with konghq.com/strip-path, or a URLRewrite filter by hand")
		case !strings.HasPrefix(v, "/"):
			c.rep.add(obj, kongRewriteURI, fmt.Sprintf("%q is not a path", v), "start it with /")
		default:
			// Kong sends the fixed path upstream whatever matched.
			b.fullRewrite = v
		}
	}
	if name := a[kongOverride]; name != "" {
		c.applyKongIngress(&b, ing.Namespace, name, obj)
	}
	return b
}

func validRedirectCode(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

func (c *converter) kongProtocols(b *behavior, protos []string, obj, field string) {
	has := map[string]bool{}
	for _, p := range protos {
		has[strings.ToLower(p)] = true
	}
	switch {
	case has["grpc"] || has["grpcs"]:
		b.grpc = true
		b.httpsOnly = !has["grpc"]
	case has["https"] && !has["http"]:
		b.httpsOnly = true
	case has["http"] || has["https"]:
	default:
		c.rep.add(obj, field, fmt.Sprintf("protocols %v are not HTTP or gRPC", protos), "use a TCPIngress or UDPIngress for streams")
	}
}

// kongHostAliases are extra hostnames of every route of an Ingress.
func (c *converter) kongHostAliases(ing *netv1.Ingress, obj string) []string {
	var out []string
	for _, h := range splitList(ing.Annotations[kongHostAliases]) {
		if !validHost(h) {
			c.rep.add(obj, kongHostAliases+" "+h, "not a hostname an HTTPRoute can hold", "fix the host")
			continue
		}
		out = append(out, h)
	}
	return out
}

// kongServiceBehavior adds what the backend Service's KIC annotations ask:
// those apply to every route to that Service.
func (c *converter) kongServiceBehavior(b behavior, svc *corev1.Service, obj string) behavior {
	if svc == nil {
		return b
	}
	a := svc.Annotations
	sobj := objName("Service", svc.Namespace, svc.Name)
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !strings.HasPrefix(k, kongPrefix) || kongServiceHandled[k] {
			continue
		}
		if u, ok := kongUnsupported[k]; ok {
			c.rep.add(sobj, k, u[0], u[1])
		} else {
			c.rep.add(sobj, k, "not a Service annotation convert knows", "check KIC's documentation and write the Gateway API equivalent by hand")
		}
	}
	// Route plugins win over Service plugins of the same name; the
	// duplicate is dropped in usePlugin's caller by name.
	b.plugins = append(append([]string(nil), b.plugins...), splitList(a[kongPlugins])...)
	b.upstreamPath = a[kongPath]
	if p := a[kongProtocol]; p != "" && p != "http" {
		switch p {
		case "grpc":
			b.grpc = true
		default:
			c.rep.add(sobj, kongProtocol, fmt.Sprintf("protocol %q to the backend needs TLS settings Gateway API keeps in a BackendTLSPolicy (or is not HTTP)", p), "write a BackendTLSPolicy for the Service (and for gRPC over TLS use appProtocol on the Service port)")
		}
	}
	if h := a[kongHostHeader]; h != "" {
		b.hostRewrite = h
	} else if b.preserveHostFalse {
		b.hostRewrite = svc.Name + "." + svc.Namespace + ".svc"
	}
	c.kongTimeouts(&b, a[kongReadTimeout], a[kongWriteTimeout], a[kongConnTimeout], sobj, kongPrefix)
	if v := a[kongRetries]; v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			b.retries = &n
		} else {
			c.rep.add(sobj, kongRetries, fmt.Sprintf("%q is not a number of retries", v), "use a whole number")
		}
	}
	if name := a[kongOverride]; name != "" {
		c.applyKongIngress(&b, svc.Namespace, name, sobj)
	}
	return b
}

// kongTimeouts maps Kong's read/write/connect timeouts (milliseconds) to
// the rule's backendRequest timeout. Drawbridge gives Kong's three
// timeouts one value, the read timeout here; others that differ are
// reported.
func (c *converter) kongTimeouts(b *behavior, read, write, connect, obj, prefix string) {
	ms := func(field, v string) (int, bool) {
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			c.rep.add(obj, field, fmt.Sprintf("%q is not a number of milliseconds", v), "use a whole number")
			return 0, false
		}
		return n, true
	}
	r, okR := ms(prefix+"read-timeout", read)
	w, okW := ms(prefix+"write-timeout", write)
	cn, okC := ms(prefix+"connect-timeout", connect)
	main, okMain := r, okR
	if !okMain {
		main, okMain = w, okW
	}
	if !okMain {
		main, okMain = cn, okC
	}
	if !okMain {
		return
	}
	b.timeout = msDuration(main)
	for _, o := range []struct {
		field string
		v     int
		ok    bool
	}{{prefix + "write-timeout", w, okW}, {prefix + "connect-timeout", cn, okC}} {
		if o.ok && o.v != main {
			c.rep.add(obj, o.field, fmt.Sprintf("Drawbridge sets Kong's connect, read and write timeouts to one value (the rule's timeouts.backendRequest, here %s); %s is not kept", msDuration(main), msDuration(o.v)), "accept one timeout for all three, or set it per rule by hand")
		}
	}
}

// kongPath converts an Ingress path as KIC matches it.
func (c *converter) kongPath(ing *netv1.Ingress, pt netv1.PathType, path, obj string) pathMatch {
	switch pt {
	case netv1.PathTypeExact:
		return exactMatch("/" + strings.TrimLeft(path, "/"))
	case netv1.PathTypePrefix:
		base := strings.Trim(path, "/")
		if base == "" {
			return prefixMatch("/")
		}
		return prefixMatch("/" + base)
	}
	// ImplementationSpecific: a regular expression after the regex
	// prefix (/~ unless the Ingress names another), matched from the
	// start of the path; else a plain string prefix.
	rp := "/~"
	if v := ing.Annotations[kongRegexPrefix]; v != "" {
		rp = v
	}
	if path == "" {
		return prefixMatch("/")
	}
	if re, ok := strings.CutPrefix(path, rp); ok {
		re = strings.TrimPrefix(re, "^")
		if re == "" {
			return prefixMatch("/")
		}
		if strings.Contains(re, "|") {
			re = "(?:" + re + ")"
		}
		return regexMatch(re + ".*")
	}
	return stringPrefix(path)
}

// kongRewrite turns strip-path and the Service's konghq.com/path into a
// URLRewrite: Kong sends <service path><path less the matched prefix when
// stripping>.
func (c *converter) kongRewrite(pm *pathMatch, b behavior, path, obj string) ([]gwv1.HTTPRouteFilter, bool) {
	if b.fullRewrite != "" {
		np := b.fullRewrite
		return []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: &np}}}}, true
	}
	if !b.stripPath && b.upstreamPath == "" {
		return nil, false
	}
	join := func(keep string) string {
		up := strings.TrimRight(b.upstreamPath, "/")
		out := up + keep
		if keep == "/" && up != "" {
			out = up + "/"
		}
		if out == "" {
			return "/"
		}
		return out
	}
	if pm.literal != "" {
		// Kong strips a plain prefix as a string; a PathPrefix match is
		// the only one Gateway API can strip. They agree on every path
		// when the prefix ends with "/", except the prefix without it.
		if !strings.HasSuffix(pm.literal, "/") {
			c.rep.add(obj, "path "+path, fmt.Sprintf("Kong matched %s as a string prefix (%sx too); to strip or prefix it, the route matches whole segments (PathPrefix %s)", pm.literal, pm.literal, pm.literal), "use pathType Prefix, which means the same to both")
		}
		lit := strings.TrimRight(pm.literal, "/")
		if lit == "" {
			lit = "/"
		}
		*pm = prefixMatch(lit)
	}
	switch {
	case pm.prefix != "":
		keep := pm.prefix
		if b.stripPath {
			keep = ""
		}
		if keep == "/" {
			keep = ""
		}
		np := join(keep)
		if np == pm.prefix {
			return nil, false
		}
		return []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: &np}}}}, true
	case pm.exact != "":
		keep := pm.exact
		if b.stripPath {
			keep = ""
		}
		np := join(keep)
		if np == pm.exact {
			return nil, false
		}
		return []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: &np}}}}, true
	}
	c.rep.add(obj, "path "+path, "strip-path or the Service's konghq.com/path on a regular-expression or string-prefix path: Gateway API rewrites only a PathPrefix match's prefix or the full path", "use pathType Prefix for paths that Kong should strip or prefix")
	return nil, false
}

// applyKongIngress maps the fields of a KongIngress that have a Gateway API
// equivalent and reports the rest.
func (c *converter) applyKongIngress(b *behavior, ns, name, obj string) {
	ki := c.kongIngresses[key(ns, name)]
	kobj := objName("KongIngress", ns, name)
	if ki == nil {
		c.rep.add(obj, kongOverride+" "+name, "the KongIngress is not in the input", "add its manifest with -f")
		return
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	for _, f := range sortedRawKeys(ki.Route) {
		raw := ki.Route[f]
		switch f {
		case "methods":
			var ms []string
			_ = json.Unmarshal(raw, &ms)
			b.methods = nil
			for _, m := range ms {
				b.methods = append(b.methods, strings.ToUpper(m))
			}
		case "strip_path":
			var v bool
			_ = json.Unmarshal(raw, &v)
			b.stripPath = v
		case "protocols":
			var ps []string
			_ = json.Unmarshal(raw, &ps)
			c.kongProtocols(b, ps, kobj, "route.protocols")
		case "https_redirect_status_code":
			var v int
			if json.Unmarshal(raw, &v) == nil && validRedirectCode(v) {
				b.redirectCode = v
			} else if v != 426 {
				c.rep.add(kobj, "route.https_redirect_status_code", fmt.Sprintf("%s is not a redirect code Gateway API has", raw), "use 301, 302, 303, 307 or 308")
			}
		case "headers":
			var hs map[string][]string
			_ = json.Unmarshal(raw, &hs)
			for _, h := range sortedListKeys(hs) {
				b.headers = append(b.headers, headerMatch{name: h, values: hs[h]})
			}
		case "preserve_host":
			var v bool
			if json.Unmarshal(raw, &v) == nil && !v {
				c.rep.add(kobj, "route.preserve_host", "Drawbridge sends the client's Host upstream", "add a URLRewrite filter with the hostname the backend expects")
			}
		default:
			c.rep.add(kobj, "route."+f, "no Gateway API or Drawbridge equivalent", "remove it, or express it with a KongPlugin")
		}
	}
	var read, write, connect string
	for _, f := range sortedRawKeys(ki.Proxy) {
		raw := ki.Proxy[f]
		switch f {
		case "path":
			b.upstreamPath = str(raw)
		case "read_timeout":
			read = string(raw)
		case "write_timeout":
			write = string(raw)
		case "connect_timeout":
			connect = string(raw)
		case "retries":
			var n int
			if json.Unmarshal(raw, &n) == nil && n >= 0 {
				b.retries = &n
			}
		case "protocol":
			if p := str(raw); p != "http" {
				c.rep.add(kobj, "proxy.protocol", fmt.Sprintf("protocol %q to the backend needs a BackendTLSPolicy or appProtocol in Gateway API", p), "write a BackendTLSPolicy, or set the Service port's appProtocol")
			}
		default:
			c.rep.add(kobj, "proxy."+f, "no Gateway API or Drawbridge equivalent", "remove it")
		}
	}
	c.kongTimeouts(b, read, write, connect, kobj, "proxy.")
	for _, f := range sortedRawKeys(ki.Upstream) {
		c.rep.add(kobj, "upstream."+f, "Drawbridge builds Kong upstreams itself (round-robin over ready endpoints); load-balancing, health-check and upstream settings are not taken", "remove it; Kubernetes readiness probes decide which endpoints get traffic")
	}
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return slices.Sorted(maps.Keys(out))
}

func sortedListKeys(m map[string][]string) []string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return slices.Sorted(maps.Keys(out))
}

// maxKongTimeoutMs is the largest timeout Kong takes (its schema's
// timeout type: 2^31-2 milliseconds).
const maxKongTimeoutMs = 1<<31 - 2

// msDuration writes milliseconds as a Gateway API duration (GEP-2257:
// at most four parts of at most five digits each, e.g. 2m30s, 1500ms).
func msDuration(ms int) string {
	if ms <= 0 {
		return "0s"
	}
	if ms > maxKongTimeoutMs {
		ms = maxKongTimeoutMs
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		ms   int
	}{{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}} {
		if n := ms / u.ms; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			ms -= n * u.ms
		}
	}
	return b.String()
}
