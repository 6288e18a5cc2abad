package convert

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	netv1 "k8s.io/api/networking/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ingress-nginx annotation names (nginx.ingress.kubernetes.io/<suffix>),
// as its docs/user-guide/nginx-configuration/annotations.md lists them.
const (
	ngRewriteTarget   = nginxPrefix + "rewrite-target"
	ngUseRegex        = nginxPrefix + "use-regex"
	ngSSLRedirect     = nginxPrefix + "ssl-redirect"
	ngForceSSL        = nginxPrefix + "force-ssl-redirect"
	ngBackendProtocol = nginxPrefix + "backend-protocol"
	ngPermRedirect    = nginxPrefix + "permanent-redirect"
	ngPermCode        = nginxPrefix + "permanent-redirect-code"
	ngTempRedirect    = nginxPrefix + "temporal-redirect"
	ngTempCode        = nginxPrefix + "temporal-redirect-code"
	ngCanary          = nginxPrefix + "canary"
	ngCanaryHeader    = nginxPrefix + "canary-by-header"
	ngCanaryValue     = nginxPrefix + "canary-by-header-value"
	ngCanaryPattern   = nginxPrefix + "canary-by-header-pattern"
	ngCanaryCookie    = nginxPrefix + "canary-by-cookie"
	ngCanaryWeight    = nginxPrefix + "canary-weight"
	ngCanaryTotal     = nginxPrefix + "canary-weight-total"
	ngEnableCORS      = nginxPrefix + "enable-cors"
	ngCORSOrigin      = nginxPrefix + "cors-allow-origin"
	ngCORSMethods     = nginxPrefix + "cors-allow-methods"
	ngCORSHeaders     = nginxPrefix + "cors-allow-headers"
	ngCORSExpose      = nginxPrefix + "cors-expose-headers"
	ngCORSCreds       = nginxPrefix + "cors-allow-credentials"
	ngCORSMaxAge      = nginxPrefix + "cors-max-age"
	ngWhitelist       = nginxPrefix + "whitelist-source-range"
	ngAllowlist       = nginxPrefix + "allowlist-source-range"
	ngDenylist        = nginxPrefix + "denylist-source-range"
	ngLimitRPS        = nginxPrefix + "limit-rps"
	ngLimitRPM        = nginxPrefix + "limit-rpm"
	ngBodySize        = nginxPrefix + "proxy-body-size"
	ngUpstreamVhost   = nginxPrefix + "upstream-vhost"
	ngConnectTimeout  = nginxPrefix + "proxy-connect-timeout"
	ngReadTimeout     = nginxPrefix + "proxy-read-timeout"
	ngSendTimeout     = nginxPrefix + "proxy-send-timeout"
	ngAuthType        = nginxPrefix + "auth-type"
)

var nginxHandled = map[string]bool{
	ngRewriteTarget: true, ngUseRegex: true, ngSSLRedirect: true, ngForceSSL: true, ngBackendProtocol: true,
	ngPermRedirect: true, ngPermCode: true, ngTempRedirect: true, ngTempCode: true, ngCanary: true,
	ngCanaryHeader: true, ngCanaryValue: true, ngCanaryPattern: true, ngCanaryCookie: true, ngCanaryWeight: true,
	ngCanaryTotal: true, ngEnableCORS: true, ngCORSOrigin: true, ngCORSMethods: true, ngCORSHeaders: true,
	ngCORSExpose: true, ngCORSCreds: true, ngCORSMaxAge: true, ngWhitelist: true, ngAllowlist: true,
	ngDenylist: true, ngLimitRPS: true, ngLimitRPM: true, ngBodySize: true, ngUpstreamVhost: true,
	ngConnectTimeout: true, ngReadTimeout: true, ngSendTimeout: true,
}

// nginxUnsupported says why some well-known annotations are not converted.
var nginxUnsupported = map[string][2]string{
	ngAuthType:                                   {"htpasswd files hold password hashes, and Kong's basic-auth needs each password itself to store its own hash, so the users cannot be converted", "create a KongConsumer with a basic-auth credential Secret (username, password) per user and a basic-auth KongPlugin on the route"},
	nginxPrefix + "auth-secret":                  {"see auth-type: htpasswd users cannot become Kong credentials", "create KongConsumers with basic-auth credentials"},
	nginxPrefix + "auth-secret-type":             {"see auth-type", "create KongConsumers with basic-auth credentials"},
	nginxPrefix + "auth-realm":                   {"see auth-type", "set the basic-auth KongPlugin's config.realm"},
	nginxPrefix + "auth-url":                     {"external authentication has no open-source Kong plugin Drawbridge ships", "authenticate with a Kong plugin (key-auth, jwt, basic-auth, ...) or a custom plugin"},
	nginxPrefix + "auth-signin":                  {"external authentication has no open-source Kong plugin Drawbridge ships", "authenticate with a Kong plugin or a custom plugin"},
	nginxPrefix + "configuration-snippet":        {"raw nginx configuration cannot be carried to Kong", "express it with filters or KongPlugins (request-transformer, response-transformer, ...)"},
	nginxPrefix + "server-snippet":               {"raw nginx configuration cannot be carried to Kong", "express it with filters, KongPlugins or the GatewayConfiguration"},
	nginxPrefix + "stream-snippet":               {"raw nginx configuration cannot be carried to Kong", "use TCPRoutes or UDPRoutes"},
	nginxPrefix + "affinity":                     {"Drawbridge balances round-robin over ready endpoints; cookie affinity is not offered", "make the backend stateless or share its sessions"},
	nginxPrefix + "session-cookie-name":          {"see affinity", "make the backend stateless"},
	nginxPrefix + "app-root":                     {"not converted", "add an HTTPRoute rule with an Exact / match and a RequestRedirect filter to the app root"},
	nginxPrefix + "from-to-www-redirect":         {"not converted", "add an HTTPRoute for the other host with a RequestRedirect filter"},
	nginxPrefix + "limit-connections":            {"Kong has no per-client connection limit plugin", "use rate-limiting"},
	nginxPrefix + "x-forwarded-prefix":           {"not converted", "add a RequestHeaderModifier filter that sets X-Forwarded-Prefix"},
	nginxPrefix + "proxy-ssl-secret":             {"backend TLS is a BackendTLSPolicy and a Gateway setting in Gateway API", "write a BackendTLSPolicy, and spec.tls.backend on the Gateway for a client certificate"},
	nginxPrefix + "proxy-ssl-verify":             {"backend TLS verification is a BackendTLSPolicy", "write a BackendTLSPolicy"},
	nginxPrefix + "auth-tls-secret":              {"client certificate verification is a Gateway listener setting (spec.tls.frontend)", "set the Gateway's spec.tls.frontend.default.validation.caCertificateRefs"},
	nginxPrefix + "auth-tls-verify-client":       {"client certificate verification is a Gateway listener setting", "set the Gateway's spec.tls.frontend"},
	nginxPrefix + "custom-http-errors":           {"not converted", "use Kong's error templates or a KongPlugin"},
	nginxPrefix + "default-backend":              {"not converted: Gateway API has no per-route fallback on error", "add a catch-all rule"},
	nginxPrefix + "service-upstream":             {"Drawbridge always balances over the endpoints itself", "nothing to do"},
	nginxPrefix + "proxy-buffering":              {"Drawbridge keeps Kong's default buffering", "remove it"},
	nginxPrefix + "proxy-buffer-size":            {"Drawbridge keeps Kong's default buffers", "remove it"},
	nginxPrefix + "proxy-next-upstream-tries":    {"not converted", "set the rule's retry.attempts"},
	nginxPrefix + "ssl-passthrough":              {"TLS passthrough is a TLSRoute on a TLS listener in Passthrough mode", "write a TLSRoute and a Passthrough listener"},
	nginxPrefix + "enable-opentelemetry":         {"not converted", "enable Kong's opentelemetry plugin with a KongPlugin"},
	nginxPrefix + "modsecurity-snippet":          {"Kong has no ModSecurity", "use a WAF in front of the Gateway"},
	nginxPrefix + "enable-modsecurity":           {"Kong has no ModSecurity", "use a WAF in front of the Gateway"},
	nginxPrefix + "mirror-target":                {"not converted", "add a RequestMirror filter (it mirrors to a Service)"},
	nginxPrefix + "preserve-trailing-slash":      {"not converted", "check the redirect behaviour"},
	nginxPrefix + "http2-push-preload":           {"HTTP/2 server push is gone from browsers", "remove it"},
	nginxPrefix + "client-body-buffer-size":      {"Drawbridge keeps Kong's defaults", "remove it"},
	nginxPrefix + "proxy-request-buffering":      {"Drawbridge keeps Kong's defaults", "remove it"},
	nginxPrefix + "proxy-http-version":           {"Kong talks HTTP/1.1 to backends, or HTTP/2 with appProtocol kubernetes.io/h2c", "set the Service port's appProtocol"},
	nginxPrefix + "upstream-hash-by":             {"Drawbridge balances round-robin", "make the backend stateless"},
	nginxPrefix + "load-balance":                 {"Drawbridge balances round-robin", "remove it"},
	nginxPrefix + "canary-by-header-pattern-not": {"not converted", "write header matches by hand"},
}

func isCanary(ing *netv1.Ingress) bool { return ing.Annotations[ngCanary] == "true" }

// canary is one ingress-nginx canary path.
type canary struct {
	ing  *netv1.Ingress
	path string
}

func canaryKey(gw, host, path string) string { return gw + "|" + host + "|" + path }

// collectNginx records canaries and the hosts that nginx switches to
// regular-expression locations.
func (c *converter) collectNginx(ing *netv1.Ingress, gw *gatewayBuilder) {
	a := ing.Annotations
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if isCanary(ing) {
				k := canaryKey(gw.name, r.Host, p.Path)
				c.canaries[k] = append(c.canaries[k], canary{ing: ing, path: p.Path})
				continue
			}
			if a[ngUseRegex] == "true" || (a[ngRewriteTarget] != "" && a[ngRewriteTarget] != p.Path) {
				c.regexHosts[gw.name+"|"+r.Host] = true
			}
		}
	}
}

func (c *converter) nginxBehavior(ing *netv1.Ingress, obj string) behavior {
	a := ing.Annotations
	var b behavior
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !strings.HasPrefix(k, nginxPrefix) || nginxHandled[k] {
			continue
		}
		if u, ok := nginxUnsupported[k]; ok {
			c.rep.add(obj, k, u[0], u[1])
		} else {
			c.rep.add(obj, k, "not an annotation convert knows", "check ingress-nginx's documentation and write the Gateway API equivalent by hand")
		}
	}
	switch p := strings.ToUpper(a[ngBackendProtocol]); p {
	case "", "HTTP", "AUTO_HTTP":
	case "GRPC":
		b.grpc = true
	case "GRPCS", "HTTPS":
		b.grpc = p == "GRPCS"
		c.rep.add(obj, ngBackendProtocol+" "+p, "TLS to the backend is a BackendTLSPolicy in Gateway API, and convert cannot know the backend's CA or name; the route sends plain "+map[bool]string{true: "gRPC", false: "HTTP"}[b.grpc]+" until one exists", "write a BackendTLSPolicy for the Service with its CA and hostname")
	default:
		c.rep.add(obj, ngBackendProtocol+" "+p, "Kong cannot speak that protocol to a backend", "serve the backend over HTTP or gRPC")
	}
	if u := a[ngPermRedirect]; u != "" {
		b.redirect = c.nginxRedirect(obj, ngPermRedirect, u, a[ngPermCode], 301)
		if a[ngTempRedirect] != "" {
			c.rep.add(obj, ngTempRedirect, "permanent-redirect is set too and wins", "remove one of them")
		}
	} else if u := a[ngTempRedirect]; u != "" {
		b.redirect = c.nginxRedirect(obj, ngTempRedirect, u, a[ngTempCode], 302)
	}
	if a[ngEnableCORS] == "true" {
		b.cors = c.nginxCORS(a, obj)
	}
	ranges := a[ngAllowlist]
	if ranges == "" {
		ranges = a[ngWhitelist]
	}
	if ranges != "" || a[ngDenylist] != "" {
		conf := map[string]any{}
		if l := splitList(ranges); len(l) > 0 {
			conf["allow"] = l
		}
		if l := splitList(a[ngDenylist]); len(l) > 0 {
			conf["deny"] = l
		}
		c.generatedPlugin(&b, ing.Namespace, ing.Name, "ip-restriction", conf)
	}
	rl := map[string]any{}
	for _, lim := range []struct{ ann, field string }{{ngLimitRPS, "second"}, {ngLimitRPM, "minute"}} {
		if v := a[lim.ann]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				c.rep.add(obj, lim.ann, fmt.Sprintf("%q is not a positive number", v), "fix the value")
				continue
			}
			rl[lim.field] = n
			c.rep.add(obj, lim.ann, "converted to Kong's rate-limiting per client IP (limit_by ip, policy local); nginx also let bursts of 5 times the rate through (limit-burst-multiplier), Kong counts fixed windows without a burst, and policy local counts per Kong replica", "raise the limit if clients relied on bursts; use policy redis for one count across replicas")
		}
	}
	if len(rl) > 0 {
		rl["limit_by"], rl["policy"] = "ip", "local"
		c.generatedPlugin(&b, ing.Namespace, ing.Name, "rate-limiting", rl)
	}
	if v := a[ngBodySize]; v != "" {
		if conf, ok := bodySize(v); ok {
			if conf != nil {
				c.generatedPlugin(&b, ing.Namespace, ing.Name, "request-size-limiting", conf)
			}
		} else {
			c.rep.add(obj, ngBodySize, fmt.Sprintf("%q is not a size (a number with k, m or g)", v), "fix the value")
		}
	}
	if v := a[ngUpstreamVhost]; v != "" {
		if strings.ContainsAny(v, "$ ") || len(v) > 253 {
			c.rep.add(obj, ngUpstreamVhost, "nginx variables in the host have no Gateway API equivalent", "set a fixed hostname")
		} else {
			b.hostRewrite = v
		}
	}
	c.nginxTimeouts(&b, a, obj)
	return b
}

// generatedPlugin writes a KongPlugin named after the Ingress and the
// plugin, and uses it on every rule.
func (c *converter) generatedPlugin(b *behavior, ns, ingName, plugin string, conf map[string]any) {
	kp := newKongPlugin(ns, objectName(ingName, plugin), plugin)
	kp.Spec.Config = jsonConfig(conf)
	c.addPlugin(kp)
	b.plugins = append(b.plugins, kp.Name)
}

var sizeRE = regexp.MustCompile(`^([0-9]+)([kKmMgG]?)$`)

// bodySize converts nginx's client_max_body_size to request-size-limiting;
// nil config means no limit (0).
func bodySize(v string) (map[string]any, bool) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return nil, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return nil, false
	}
	if n == 0 {
		return nil, true
	}
	switch strings.ToLower(m[2]) {
	case "":
		return map[string]any{"allowed_payload_size": n, "size_unit": "bytes"}, true
	case "k":
		return map[string]any{"allowed_payload_size": n, "size_unit": "kilobytes"}, true
	case "m":
		return map[string]any{"allowed_payload_size": n, "size_unit": "megabytes"}, true
	default:
		return map[string]any{"allowed_payload_size": n * 1024, "size_unit": "megabytes"}, true
	}
}

func (c *converter) nginxTimeouts(b *behavior, a map[string]string, obj string) {
	secs := func(k string) (int, bool) {
		v := a[k]
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "s"))
		if err != nil || n < 0 {
			c.rep.add(obj, k, fmt.Sprintf("%q is not a number of seconds", v), "fix the value")
			return 0, false
		}
		return n, true
	}
	r, okR := secs(ngReadTimeout)
	s, okS := secs(ngSendTimeout)
	cn, okC := secs(ngConnectTimeout)
	main, ok := r, okR
	if !ok {
		main, ok = s, okS
	}
	if !ok {
		main, ok = cn, okC
	}
	if !ok {
		return
	}
	b.timeout = msDuration(main * 1000)
	for _, o := range []struct {
		k  string
		v  int
		ok bool
	}{{ngSendTimeout, s, okS}, {ngConnectTimeout, cn, okC}} {
		if o.ok && o.v != main {
			c.rep.add(obj, o.k, fmt.Sprintf("Drawbridge sets Kong's connect, read and write timeouts to one value (the rule's timeouts.backendRequest, here %ds); %ds is not kept", main, o.v), "accept one timeout for all three")
		}
	}
}

func (c *converter) nginxRedirect(obj, ann, target, codeStr string, code int) *gwv1.HTTPRequestRedirectFilter {
	if codeStr != "" {
		n, err := strconv.Atoi(codeStr)
		if err != nil || !validRedirectCode(n) {
			c.rep.add(obj, ann+"-code", fmt.Sprintf("%q is not a redirect code Gateway API has (301, 302, 303, 307, 308); %d is used", codeStr, code), "use one of those codes")
		} else {
			code = n
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		c.rep.add(obj, ann, fmt.Sprintf("%q is not an absolute http(s) URL; the redirect is not converted", target), "use an absolute URL")
		return nil
	}
	f := &gwv1.HTTPRequestRedirectFilter{StatusCode: &code}
	scheme := u.Scheme
	f.Scheme = &scheme
	h := gwv1.PreciseHostname(u.Hostname())
	f.Hostname = &h
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		pn := gwv1.PortNumber(n)
		f.Port = &pn
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	f.Path = &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: &path}
	if u.RawQuery != "" || strings.Contains(target, "$") {
		c.rep.add(obj, ann, "a query string or nginx variable in the redirect target has no Gateway API equivalent; the redirect keeps the request's query instead", "redirect to a URL without query or variables")
	}
	return f
}

// nginx's CORS defaults (annotations.md).
const (
	nginxCORSMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	nginxCORSHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	nginxCORSMaxAge  = 1728000
)

var corsOriginRE = regexp.MustCompile(`^(\*|https?://(\*\.)?[a-zA-Z0-9.-]+(:[0-9]+)?)$`)

func (c *converter) nginxCORS(a map[string]string, obj string) *gwv1.HTTPCORSFilter {
	f := &gwv1.HTTPCORSFilter{}
	origins := a[ngCORSOrigin]
	if origins == "" {
		origins = "*"
	}
	for _, o := range splitList(origins) {
		if !corsOriginRE.MatchString(o) {
			c.rep.add(obj, ngCORSOrigin+" "+o, "not an origin a CORS filter accepts (scheme://host[:port], *. wildcards)", "fix the origin")
			continue
		}
		f.AllowOrigins = append(f.AllowOrigins, gwv1.CORSOrigin(o))
	}
	methods := a[ngCORSMethods]
	if methods == "" {
		methods = nginxCORSMethods
	}
	for _, m := range splitList(methods) {
		f.AllowMethods = append(f.AllowMethods, gwv1.HTTPMethodWithWildcard(strings.ToUpper(m)))
	}
	headers := a[ngCORSHeaders]
	if headers == "" {
		headers = nginxCORSHeaders
	}
	for _, h := range splitList(headers) {
		f.AllowHeaders = append(f.AllowHeaders, gwv1.HTTPHeaderName(h))
	}
	for _, h := range splitList(a[ngCORSExpose]) {
		f.ExposeHeaders = append(f.ExposeHeaders, gwv1.HTTPHeaderName(h))
	}
	creds := a[ngCORSCreds] != "false"
	f.AllowCredentials = &creds
	f.MaxAge = nginxCORSMaxAge
	if v := a[ngCORSMaxAge]; v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 1<<31-1 {
			f.MaxAge = int32(n)
		} else {
			c.rep.add(obj, ngCORSMaxAge, fmt.Sprintf("%q is not a number of seconds", v), "fix the value")
		}
	}
	return f
}

// nginxRewrite is a rewrite-target that could not be expressed.
type nginxRewrite struct{}

var (
	// P(/|$)(.*) with target T/$2: the documented prefix-strip idiom.
	rewriteSegmentRE = regexp.MustCompile(`^(.*)\(/\|\$\)\(\.\*\)$`)
	// P/(.*) with target T/$1.
	rewriteSlashRE = regexp.MustCompile(`^(.*)/\(\.\*\)$`)
)

// nginxPath converts one ingress-nginx path and its rewrite-target.
func (c *converter) nginxPath(ing *netv1.Ingress, gw *gatewayBuilder, host string, pt netv1.PathType, path string, b behavior, obj string) (pathMatch, []gwv1.HTTPRouteFilter) {
	regexMode := c.regexHosts[gw.name+"|"+host]
	target := ing.Annotations[ngRewriteTarget]
	plain := func() pathMatch {
		if regexMode {
			// nginx matches ~* "^<path>": case-insensitive, from the start.
			re := path
			if strings.Contains(re, "|") {
				re = "(?:" + re + ")"
			}
			return regexMatch("(?i)" + re + ".*")
		}
		switch pt {
		case netv1.PathTypeExact:
			return exactMatch(path)
		case netv1.PathTypePrefix:
			if path == "" {
				return prefixMatch("/")
			}
			return prefixMatch(path)
		}
		return stringPrefix(path)
	}
	if target == "" || target == path || b.grpc {
		return plain(), nil
	}
	prefixRewrite := func(p, t string) (pathMatch, []gwv1.HTTPRouteFilter) {
		if p == "" {
			p = "/"
		}
		t = strings.TrimSuffix(t, "/")
		if t == "" {
			t = "/"
		}
		return prefixMatch(p), []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: &t}}}}
	}
	if m := rewriteSegmentRE.FindStringSubmatch(path); m != nil && isLiteralPath(m[1]) {
		if t, ok := strings.CutSuffix(target, "$2"); ok && isLiteralPath(t) {
			return prefixRewrite(m[1], t)
		}
	}
	if m := rewriteSlashRE.FindStringSubmatch(path); m != nil && isLiteralPath(m[1]) {
		if t, ok := strings.CutSuffix(target, "$1"); ok && isLiteralPath(t) {
			return prefixRewrite(m[1], t)
		}
	}
	if !strings.Contains(target, "$") && strings.HasPrefix(target, "/") {
		// nginx replaces the whole URI when the location matches.
		t := target
		return plain(), []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: &t}}}}
	}
	c.rep.add(obj, fmt.Sprintf("%s %s (path %s)", ngRewriteTarget, target, path), "Gateway API rewrites a matched prefix or the whole path; this capture-group rewrite is neither, so the route forwards the path unchanged", "use the idiom path /prefix(/|$)(.*) with rewrite-target /$2, or change the backend to accept the original path")
	return plain(), nil
}

// isLiteralPath reports whether s is a path without regular-expression
// syntax.
func isLiteralPath(s string) bool {
	return (s == "" || strings.HasPrefix(s, "/")) && !regexMeta.MatchString(s) && !strings.Contains(s, "$")
}

// nginxSSLRedirect returns the redirect code for plain HTTP, or 0: nginx
// redirects a host that has TLS unless ssl-redirect is "false", and any
// host with force-ssl-redirect; its http-redirect-code defaults to 308.
func (c *converter) nginxSSLRedirect(ing *netv1.Ingress, hasTLS bool, obj string) int {
	a := ing.Annotations
	if a[ngForceSSL] == "true" {
		if !hasTLS {
			c.rep.add(obj, ngForceSSL, "the redirect sends clients to HTTPS, but no Ingress TLS section gives the host a certificate, so the Gateway has no HTTPS listener for it; the redirect is not converted", "add a spec.tls entry for the host (or terminate TLS in front of the Gateway and redirect there)")
			return 0
		}
		return 308
	}
	if hasTLS && a[ngSSLRedirect] != "false" {
		return 308
	}
	return 0
}

// withCanary returns a main rule and the rules its canaries add: header
// (and cookie) matches that go to the canary, and the weighted split.
func (c *converter) withCanary(gw *gatewayBuilder, host string, ing *netv1.Ingress, path string, rule gwv1.HTTPRouteRule, obj string) []gwv1.HTTPRouteRule {
	cs := c.canaries[canaryKey(gw.name, host, path)]
	if len(cs) == 0 || rule.BackendRefs == nil {
		return []gwv1.HTTPRouteRule{rule}
	}
	sort.SliceStable(cs, func(a, b int) bool {
		return key(cs[a].ing.Namespace, cs[a].ing.Name) < key(cs[b].ing.Namespace, cs[b].ing.Name)
	})
	cn := cs[0].ing
	cobj := objName("Ingress", cn.Namespace, cn.Name)
	for _, extra := range cs[1:] {
		c.rep.add(objName("Ingress", extra.ing.Namespace, extra.ing.Name), "canary "+host+path, "ingress-nginx takes one canary per host and path; "+cobj+" was taken", "keep one canary Ingress per path")
	}
	delete(c.canaries, canaryKey(gw.name, host, path))
	if cn.Namespace != ing.Namespace {
		c.rep.add(cobj, ngCanary, "the canary is in another namespace than the main Ingress "+obj, "move it to the main Ingress's namespace")
		return []gwv1.HTTPRouteRule{rule}
	}
	var cref gwv1.BackendRef
	found := false
	for _, r := range cn.Spec.Rules {
		if r.Host != host || r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Path == path && p.Backend.Service != nil {
				if name, port, _, ok := c.backend(cobj, cn.Namespace, p.Backend.Service); ok {
					cref, found = backendRef(name, port), true
				}
			}
		}
	}
	if !found {
		return []gwv1.HTTPRouteRule{rule}
	}
	a := cn.Annotations
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if strings.HasPrefix(k, nginxPrefix) && !strings.HasPrefix(k, ngCanary) {
			c.rep.add(cobj, k, "ingress-nginx ignores most annotations of a canary Ingress (the main Ingress's apply), and so does the conversion", "set it on the main Ingress")
		}
	}
	main := rule.BackendRefs[0].BackendRef
	withHeader := func(h gwv1.HTTPHeaderMatch, to gwv1.BackendRef) gwv1.HTTPRouteRule {
		r := *rule.DeepCopy()
		for i := range r.Matches {
			r.Matches[i].Headers = append(r.Matches[i].Headers, h)
		}
		r.BackendRefs = []gwv1.HTTPBackendRef{{BackendRef: to}}
		return r
	}
	var out []gwv1.HTTPRouteRule
	weight, total := 0, 100
	if v := a[ngCanaryTotal]; v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			total = n
		}
	}
	if v := a[ngCanaryWeight]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > total {
			c.rep.add(cobj, ngCanaryWeight, fmt.Sprintf("%q is not a weight between 0 and %d", v, total), "fix the weight")
		} else {
			weight = n
		}
	}
	regex := gwv1.HeaderMatchRegularExpression
	if h := a[ngCanaryHeader]; h != "" {
		switch {
		case a[ngCanaryValue] != "":
			out = append(out, withHeader(gwv1.HTTPHeaderMatch{Name: gwv1.HTTPHeaderName(h), Value: a[ngCanaryValue]}, cref))
		case a[ngCanaryPattern] != "":
			// nginx searches the header for the pattern; Gateway API
			// regular expressions match the whole value.
			out = append(out, withHeader(gwv1.HTTPHeaderMatch{Type: &regex, Name: gwv1.HTTPHeaderName(h), Value: ".*(?:" + a[ngCanaryPattern] + ").*"}, cref))
		default:
			out = append(out, withHeader(gwv1.HTTPHeaderMatch{Name: gwv1.HTTPHeaderName(h), Value: "always"}, cref))
			if weight > 0 {
				out = append(out, withHeader(gwv1.HTTPHeaderMatch{Name: gwv1.HTTPHeaderName(h), Value: "never"}, main))
			}
		}
	}
	if ck := a[ngCanaryCookie]; ck != "" {
		// The cookie is one of the Cookie header's name=value pairs.
		cookie := func(v string) gwv1.HTTPHeaderMatch {
			return gwv1.HTTPHeaderMatch{Type: &regex, Name: "Cookie", Value: `(?:.*;\s*)?` + quoteRegex(ck) + "=" + v + `(?:;.*)?`}
		}
		out = append(out, withHeader(cookie("always"), cref))
		if weight > 0 {
			out = append(out, withHeader(cookie("never"), main))
		}
	}
	if weight > 0 {
		mw, cw := int32(total-weight), int32(weight)
		rule.BackendRefs = []gwv1.HTTPBackendRef{{BackendRef: main}, {BackendRef: cref}}
		rule.BackendRefs[0].Weight = &mw
		rule.BackendRefs[1].Weight = &cw
	}
	return append(out, rule)
}

func (c *converter) reportOrphanCanaries() {
	keys := make([]string, 0, len(c.canaries))
	for k := range c.canaries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, cn := range c.canaries[k] {
			c.rep.add(objName("Ingress", cn.ing.Namespace, cn.ing.Name), "canary path "+cn.path, "no main Ingress in the input serves the same host and path, so there is nothing to split", "add the main Ingress with -f, or drop the canary annotation")
		}
	}
}
