package kongstandin

// Runtime behaviour of the bundled plugins, per their Kong 3.9 handlers as
// documented at https://developer.konghq.com/plugins/<name>/.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// plugin is the subset of Kong's plugin phases the stand-in runs.
type plugin interface {
	// access may end the request by returning a response (kong.response.exit).
	access(st *proxyState) *exitResponse
	// headerFilter edits response headers, also for exit responses.
	headerFilter(st *proxyState, status int, h http.Header)
}

// exitResponse is a response produced by Kong itself or by a plugin, as
// given to kong.response.exit: a status, headers and a body that is either
// raw bytes (nil for none) or a table. send (proxy_http.go) turns it into
// what goes on the wire, as Kong's send() does.
type exitResponse struct {
	status int
	header http.Header
	body   []byte
	table  map[string]any // a table body, encoded by send
	sent   bool           // send has run
}

// exitJSON mirrors kong.response.exit(status, table): JSON with Kong's
// content type, or a gRPC answer for a gRPC request (see send).
func exitJSON(status int, v map[string]any, h http.Header) *exitResponse {
	if h == nil {
		h = http.Header{}
	}
	return &exitResponse{status: status, header: h, table: v}
}

func newPlugin(name string, cfg map[string]any) (plugin, error) {
	switch name {
	case "request-transformer":
		return newRequestTransformer(cfg)
	case "response-transformer":
		return &responseTransformer{cfg: cfg}, nil
	case "redirect":
		return &redirectPlugin{status: getInt(cfg, "status_code"), location: getString(cfg, "location"), keep: getBool(cfg, "keep_incoming_path")}, nil
	case "request-termination":
		return &requestTermination{cfg: cfg}, nil
	case "cors":
		return newCORS(cfg)
	case "pre-function":
		return newPreFunction(cfg)
	case "drawbridge-retry":
		return newRetryPlugin(cfg), nil
	}
	if p := newAccessPlugin(name, cfg); p != nil {
		return p, nil
	}
	if p := newDrawbridgePlugin(name, cfg); p != nil {
		return p, nil
	}
	return notRunPlugin{name: name}, nil
}

type noHeaderFilter struct{}

func (noHeaderFilter) headerFilter(*proxyState, int, http.Header) {}

type noAccess struct{}

func (noAccess) access(*proxyState) *exitResponse { return nil }

// ---- templates ($(uri_captures[1]), $(headers.x), $(query_params["y"])) ----

type tmplPart struct {
	lit, src, key string
}

var tmplRefRE = regexp.MustCompile(`^\s*(uri_captures|headers|query_params)\s*(?:\[\s*(\d+)\s*\]|\[\s*["']([^"']+)["']\s*\]|\.([A-Za-z_][A-Za-z0-9_]*))\s*$`)

// parseTemplate splits a value into literal text and lookups. Kong evaluates
// $(...) as Lua; the stand-in supports plain table lookups and rejects the rest.
func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			if s != "" {
				parts = append(parts, tmplPart{lit: s})
			}
			return parts, nil
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			return nil, fmt.Errorf("unterminated template in %q", s)
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		inner := s[i+2 : i+j]
		m := tmplRefRE.FindStringSubmatch(inner)
		if m == nil {
			return nil, fmt.Errorf("template $(%s) is not supported (only uri_captures, headers and query_params lookups)", inner)
		}
		key := m[2] + m[3] + m[4]
		parts = append(parts, tmplPart{src: m[1], key: key})
		s = s[i+j+1:]
	}
}

func renderTemplate(s string, st *proxyState) string {
	parts, err := parseTemplate(s)
	if err != nil {
		return s // validated at POST /config; unreachable in practice
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.src {
		case "":
			b.WriteString(p.lit)
		case "uri_captures":
			b.WriteString(st.captures[p.key])
		case "headers":
			b.WriteString(st.origHeader.Get(strings.ReplaceAll(p.key, "_", "-")))
		case "query_params":
			b.WriteString(st.origQuery.Get(p.key))
		}
	}
	return b.String()
}

// ---- request-transformer ----

type requestTransformer struct {
	noHeaderFilter
	cfg map[string]any
}

func newRequestTransformer(cfg map[string]any) (plugin, error) {
	return &requestTransformer{cfg: cfg}, nil
}

func splitPair(s string) (string, string) {
	k, v, _ := strings.Cut(s, ":")
	return strings.TrimSpace(k), v
}

// access applies remove, rename, replace, add, append in that order, to
// headers then querystring (Kong's request-transformer access.lua).
func (p *requestTransformer) access(st *proxyState) *exitResponse {
	c := p.cfg
	if m := getString(c, "http_method"); m != "" {
		st.upMethod = m
	}
	h := st.upHeader
	rm, rn, rp, ad, ap := getRecord(c, "remove"), getRecord(c, "rename"), getRecord(c, "replace"), getRecord(c, "add"), getRecord(c, "append")
	for _, name := range getStrings(rm, "headers") {
		h.Del(name)
	}
	for _, e := range getStrings(rn, "headers") {
		from, to := splitPair(e)
		if vals := h.Values(from); len(vals) > 0 {
			vals = append([]string(nil), vals...)
			h.Del(from)
			h[http.CanonicalHeaderKey(strings.TrimSpace(to))] = vals
		}
	}
	for _, e := range getStrings(rp, "headers") {
		k, v := splitPair(e)
		if h.Get(k) != "" || len(h.Values(k)) > 0 {
			h.Set(k, renderTemplate(v, st))
		}
	}
	for _, e := range getStrings(ad, "headers") {
		k, v := splitPair(e)
		if len(h.Values(k)) == 0 {
			h.Set(k, renderTemplate(v, st))
		}
	}
	for _, e := range getStrings(ap, "headers") {
		k, v := splitPair(e)
		h.Add(k, renderTemplate(v, st))
	}
	q := st.upQuery
	for _, name := range getStrings(rm, "querystring") {
		q.Del(name)
	}
	for _, e := range getStrings(rn, "querystring") {
		from, to := splitPair(e)
		if vals, ok := q[from]; ok {
			delete(q, from)
			q[strings.TrimSpace(to)] = vals
		}
	}
	for _, e := range getStrings(rp, "querystring") {
		k, v := splitPair(e)
		if _, ok := q[k]; ok {
			q.Set(k, renderTemplate(v, st))
		}
	}
	for _, e := range getStrings(ad, "querystring") {
		k, v := splitPair(e)
		if _, ok := q[k]; !ok {
			q.Set(k, renderTemplate(v, st))
		}
	}
	for _, e := range getStrings(ap, "querystring") {
		k, v := splitPair(e)
		q.Add(k, renderTemplate(v, st))
	}
	st.queryChanged = true
	if uri, ok := rp["uri"].(string); ok && uri != "" {
		st.upPath = renderTemplate(uri, st)
	}
	return nil
}

// ---- response-transformer ----

type responseTransformer struct {
	noAccess
	cfg map[string]any
}

// headerFilter applies remove, rename, replace (existing only), add (missing
// only), append, as the response-transformer documentation describes.
func (p *responseTransformer) headerFilter(_ *proxyState, _ int, h http.Header) {
	c := p.cfg
	for _, name := range getStrings(getRecord(c, "remove"), "headers") {
		h.Del(name)
	}
	for _, e := range getStrings(getRecord(c, "rename"), "headers") {
		from, to := splitPair(e)
		if vals := h.Values(from); len(vals) > 0 {
			vals = append([]string(nil), vals...)
			h.Del(from)
			h[http.CanonicalHeaderKey(strings.TrimSpace(to))] = vals
		}
	}
	for _, e := range getStrings(getRecord(c, "replace"), "headers") {
		k, v := splitPair(e)
		if len(h.Values(k)) > 0 {
			h.Set(k, v)
		}
	}
	for _, e := range getStrings(getRecord(c, "add"), "headers") {
		k, v := splitPair(e)
		if len(h.Values(k)) == 0 {
			h.Set(k, v)
		}
	}
	for _, e := range getStrings(getRecord(c, "append"), "headers") {
		k, v := splitPair(e)
		h.Add(k, v)
	}
}

// ---- redirect (Kong >= 3.9) ----

type redirectPlugin struct {
	noHeaderFilter
	status   int
	location string
	keep     bool
}

// access answers with the configured status and Location; with
// keep_incoming_path the location's path and query are replaced by the
// request's (https://developer.konghq.com/plugins/redirect/).
func (p *redirectPlugin) access(st *proxyState) *exitResponse {
	loc := p.location
	if p.keep {
		if u, err := url.Parse(loc); err == nil {
			// Kong's ada set_pathname keeps the escapes of the normalized
			// path (kong.request.get_path) as they are: "/%2Fy" stays.
			u.Path, u.RawPath = st.origPath, ""
			if p, err := url.PathUnescape(st.origPath); err == nil {
				u.Path, u.RawPath = p, st.origPath
			}
			u.RawQuery = st.origRawQuery
			u.ForceQuery = false
			loc = u.String()
		}
	}
	h := http.Header{"Location": {loc}}
	return &exitResponse{status: p.status, header: h, body: []byte("redirecting")}
}

// ---- request-termination ----

type requestTermination struct {
	noHeaderFilter
	cfg map[string]any
}

var defaultTerminationMessages = map[int]string{
	401: "Unauthorized", 404: "Not found", 405: "Method not allowed",
	500: "An unexpected error occurred", 502: "Bad Gateway", 503: "Service unavailable",
}

func (p *requestTermination) access(st *proxyState) *exitResponse {
	c := p.cfg
	if trig := getString(c, "trigger"); trig != "" {
		if len(st.origHeader.Values(trig)) == 0 && !st.origQuery.Has(trig) {
			return nil
		}
	}
	status := getInt(c, "status_code")
	msg, hasMsg := c["message"].(string)
	if !hasMsg {
		msg, hasMsg = defaultTerminationMessages[status]
	}
	if getBool(c, "echo") {
		headers := map[string]any{}
		for k, v := range st.origHeader {
			if len(v) == 1 {
				headers[strings.ToLower(k)] = v[0]
			} else {
				headers[strings.ToLower(k)] = v
			}
		}
		query := map[string]any{}
		for k, v := range st.origQuery {
			if len(v) == 1 {
				query[k] = v[0]
			} else {
				query[k] = v
			}
		}
		body := map[string]any{
			"request": map[string]any{
				"scheme": st.scheme, "host": st.host, "port": st.dstPort, "headers": headers,
				"query": query, "method": st.req.Method, "path": st.origPath,
			},
			"matched_route": st.route.rec,
		}
		if hasMsg {
			body["message"] = msg
		}
		if st.route.service != nil {
			body["matched_service"] = map[string]any{"id": st.route.service.id, "name": st.route.service.name}
		}
		r := exitJSON(status, body, nil)
		r.header.Set("Content-Type", "application/json")
		return r
	}
	if b, ok := c["body"].(string); ok {
		h := http.Header{}
		if ct := getString(c, "content_type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		return &exitResponse{status: status, header: h, body: []byte(b)}
	}
	if !hasMsg {
		return &exitResponse{status: status, header: http.Header{}}
	}
	return exitJSON(status, map[string]any{"message": msg}, nil)
}

// ---- cors ----
//
// Modelled on Kong 3.9's kong/plugins/cors/handler.lua as we know it (no
// source at hand here; see the assumptions marked [unverified]):
//   - an origins entry made only of [A-Za-z0-9.:/-] is compared as a string
//     with the request Origin, both normalized (default port dropped);
//     anything else is a regex, run with PCRE's anchored flag against the
//     normalized Origin (or its bare host when the entry has no ':'), and it
//     counts only if the match ends at the end of the subject;
//   - a single plain entry is sent as Access-Control-Allow-Origin whatever the
//     request Origin is [unverified: long-standing Kong behaviour, assumed
//     still present in 3.9]; a matching Origin is answered with its
//     normalized form;
//   - no origins or exactly ["*"] answers "*"; with credentials Kong then
//     echoes the request Origin instead and adds Vary: Origin;
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     is answered in access with 200 and no body unless preflight_continue;
//     the header_filter headers (Expose-Headers) are then skipped, also when
//     the preflight is passed upstream.

type corsOrigin struct {
	domain string         // normalized scheme://host[:port]
	re     *regexp.Regexp // set when the entry looks like a regex
	byHost bool           // regex entries without ':' match the bare host
}

type corsPlugin struct {
	cfg     map[string]any
	origins []corsOrigin
}

var plainOriginRE = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

func newCORS(cfg map[string]any) (plugin, error) {
	p := &corsPlugin{cfg: cfg}
	for _, o := range getStrings(cfg, "origins") {
		if o == "*" {
			// [unverified] "*" next to other entries: Kong's schema accepts
			// it; the stand-in reads it as allow-all. Drawbridge never
			// emits that combination.
			p.origins = append(p.origins, corsOrigin{domain: "*"})
			continue
		}
		co := corsOrigin{byHost: !strings.Contains(o, ":")}
		if !plainOriginRE.MatchString(o) {
			// PCRE's anchored flag pins the match to the start; Go's
			// leftmost-first matching then finds the match PCRE would, and
			// the end check happens in matches.
			re, err := regexp.Compile(`^(?:` + o + `)`)
			if err != nil {
				return nil, fmt.Errorf("origin %q: %w", o, err)
			}
			co.re = re
		} else {
			co.domain, _ = normalizeOrigin(o)
		}
		p.origins = append(p.origins, co)
	}
	return p, nil
}

// matches reports whether a regex entry accepts the normalized origin.
func (o corsOrigin) matches(domain, host string) bool {
	subject := domain
	if o.byHost {
		subject = host
	}
	loc := o.re.FindStringIndex(subject)
	return loc != nil && loc[1] == len(subject)
}

// normalizeOrigin returns scheme://host[:port] without default ports, and the host.
func normalizeOrigin(o string) (string, string) {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return o, o
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	d := u.Hostname()
	if port != "" {
		d += ":" + port
	}
	if u.Scheme != "" {
		d = u.Scheme + "://" + d
	}
	return d, u.Hostname()
}

// configureOrigin sets Access-Control-Allow-Origin and reports whether all
// origins are allowed ("*").
func (p *corsPlugin) configureOrigin(h http.Header, reqOrigin string, headerFilter bool) bool {
	if len(p.origins) == 0 || (len(p.origins) == 1 && p.origins[0].domain == "*") {
		h.Set("Access-Control-Allow-Origin", "*")
		return true
	}
	addVary(h, headerFilter)
	if len(p.origins) == 1 && p.origins[0].re == nil {
		h.Set("Access-Control-Allow-Origin", getStrings(p.cfg, "origins")[0])
		return false
	}
	if reqOrigin != "" {
		dom, host := normalizeOrigin(reqOrigin)
		for _, o := range p.origins {
			if o.domain == "*" {
				h.Set("Access-Control-Allow-Origin", "*")
				return true
			}
			found := dom == o.domain
			if o.re != nil {
				found = o.matches(dom, host)
			}
			if found {
				h.Set("Access-Control-Allow-Origin", dom)
				return false
			}
		}
	}
	h.Del("Access-Control-Allow-Origin")
	return false
}

func addVary(h http.Header, headerFilter bool) {
	if headerFilter {
		h.Add("Vary", "Origin")
	} else {
		h.Set("Vary", "Origin")
	}
}

func (p *corsPlugin) configureCredentials(h http.Header, allowAll bool, reqOrigin string, headerFilter bool) {
	if !getBool(p.cfg, "credentials") {
		return
	}
	if !allowAll {
		h.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	if reqOrigin != "" {
		addVary(h, headerFilter)
		h.Set("Access-Control-Allow-Origin", reqOrigin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// access answers preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) with 200 unless preflight_continue is set.
func (p *corsPlugin) access(st *proxyState) *exitResponse {
	origin := st.origHeader.Get("Origin")
	if st.req.Method != http.MethodOptions || origin == "" || st.origHeader.Get("Access-Control-Request-Method") == "" {
		return nil
	}
	st.corsSkipHeaders = true
	if getBool(p.cfg, "preflight_continue") {
		return nil
	}
	h := http.Header{}
	allowAll := p.configureOrigin(h, origin, false)
	p.configureCredentials(h, allowAll, origin, false)
	if hs := getStrings(p.cfg, "headers"); len(hs) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(hs, ","))
	} else if acrh := st.origHeader.Get("Access-Control-Request-Headers"); acrh != "" {
		h.Set("Access-Control-Allow-Headers", acrh)
	}
	// The schema default fills methods with all nine; the handler falls
	// back to the same list if it is null.
	methods := "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
	if _, ok := p.cfg["methods"].([]any); ok {
		methods = strings.Join(getStrings(p.cfg, "methods"), ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if ma, ok := p.cfg["max_age"].(json.Number); ok {
		f, _ := ma.Float64()
		h.Set("Access-Control-Max-Age", strconv.FormatFloat(f, 'f', -1, 64))
	}
	if getBool(p.cfg, "private_network") && st.origHeader.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	return &exitResponse{status: http.StatusOK, header: h}
}

func (p *corsPlugin) headerFilter(st *proxyState, _ int, h http.Header) {
	if st.corsSkipHeaders {
		return
	}
	origin := st.origHeader.Get("Origin")
	allowAll := p.configureOrigin(h, origin, true)
	p.configureCredentials(h, allowAll, origin, true)
	if eh := getStrings(p.cfg, "exposed_headers"); len(eh) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(eh, ","))
	}
}
