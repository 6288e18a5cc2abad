package kongstandin

// Drawbridge's own Kong plugins (internal/kong/luaplugins), modelled on
// their Lua: drawbridge-cors (the HTTPRoute CORS filter) and
// drawbridge-backend-select (a backendRef picked by weight, its own
// upstream and header modifiers). Kong loads them only when KONG_PLUGINS
// names them; their configs are accepted as given, like every custom
// plugin's (the stand-in does not read schema.lua).

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// drawbridgePriorities are the PRIORITY values of the plugins' handler.lua.
var drawbridgePriorities = map[string]int{
	"drawbridge-cors":           2000,
	"drawbridge-backend-select": 799,
	"drawbridge-mirror":         mirrorPriority,
	"drawbridge-h2c":            -100000,
	clientCertPluginName:        1000010,
}

func newDrawbridgePlugin(name string, cfg map[string]any) plugin {
	switch name {
	case "drawbridge-cors":
		return newDrawbridgeCORS(cfg)
	case "drawbridge-backend-select":
		return newBackendSelect(cfg)
	case "drawbridge-mirror":
		return newMirror(cfg)
	case "drawbridge-h2c":
		return h2cPlugin{}
	case clientCertPluginName:
		return clientCertPlugin{}
	}
	return nil
}

// ---- drawbridge-cors (policy.lua, handler.lua) ----

var (
	dbTokenRE      = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	dbHeaderListRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z, \t-]*$")
	dbOriginRE     = regexp.MustCompile(`^(https?)://(\[[0-9a-f:.]+\]|[^:/?#@\[\]]+)(?::([0-9]{1,5}))?$`)
	dbDNSNameRE    = regexp.MustCompile(`^[0-9a-z-]+(\.[0-9a-z-]+)*$`)
)

type dbOrigin struct {
	any, anyHost bool
	scheme, host string
	suffix       string // ".example.com" for "*.example.com"
	port         int
}

func dbSplitOrigin(s string) (scheme, host string, port int, ok bool) {
	m := dbOriginRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return "", "", 0, false
	}
	scheme, host = m[1], m[2]
	port = map[string]int{"http": 80, "https": 443}[scheme]
	if m[3] != "" {
		n, err := strconv.Atoi(m[3])
		if err != nil || n < 1 || n > 65535 {
			return "", "", 0, false
		}
		port = n
	}
	return scheme, host, port, true
}

type drawbridgeCORS struct {
	origins                 []dbOrigin
	credentials             bool
	maxAge                  string
	methods, headers        string
	echoMethod, echoHeaders bool
	expose                  string
	exposeAll               bool
	exposeNamed             []string
}

func newDrawbridgeCORS(cfg map[string]any) *drawbridgeCORS {
	p := &drawbridgeCORS{credentials: getBool(cfg, "allow_credentials"), maxAge: "5"}
	if n := getInt(cfg, "max_age"); n > 0 {
		p.maxAge = strconv.Itoa(n)
	}
	for _, o := range getStrings(cfg, "allow_origins") {
		if o == "*" {
			p.origins = append(p.origins, dbOrigin{any: true})
			continue
		}
		scheme, host, port, ok := dbSplitOrigin(o)
		if !ok {
			continue // Kong's schema refuses it
		}
		switch {
		case host == "*":
			p.origins = append(p.origins, dbOrigin{scheme: scheme, port: port, anyHost: true})
		case strings.HasPrefix(host, "*."):
			p.origins = append(p.origins, dbOrigin{scheme: scheme, port: port, suffix: host[1:]})
		default:
			p.origins = append(p.origins, dbOrigin{scheme: scheme, port: port, host: host})
		}
	}
	methods, headers, expose := getStrings(cfg, "allow_methods"), getStrings(cfg, "allow_headers"), getStrings(cfg, "expose_headers")
	switch {
	case contains(methods, "*"):
		p.echoMethod = true
	case len(methods) > 0:
		p.methods = strings.Join(methods, ", ")
	}
	switch {
	case contains(headers, "*"):
		p.echoHeaders = true
	case len(headers) > 0:
		p.headers = strings.Join(headers, ", ")
	}
	if len(expose) > 0 {
		if contains(expose, "*") && p.credentials {
			p.exposeAll = true
			for _, h := range expose {
				if h != "*" {
					p.exposeNamed = append(p.exposeNamed, h)
				}
			}
			p.expose = strings.Join(p.exposeNamed, ", ")
		} else {
			p.expose = strings.Join(expose, ", ")
		}
	}
	return p
}

func (p *drawbridgeCORS) allowed(origin string) bool {
	if origin == "" {
		return false
	}
	scheme, host, port, ok := dbSplitOrigin(origin)
	for _, m := range p.origins {
		switch {
		case m.any:
			return true
		case !ok || scheme != m.scheme || port != m.port:
		case m.anyHost:
			return true
		case m.host != "":
			if host == m.host {
				return true
			}
		default:
			if n := len(host) - len(m.suffix); n > 0 && host[n:] == m.suffix && dbDNSNameRE.MatchString(host[:n]) {
				return true
			}
		}
	}
	return false
}

func (p *drawbridgeCORS) access(st *proxyState) *exitResponse {
	origin := st.origHeader.Get("Origin")
	method := st.origHeader.Get("Access-Control-Request-Method")
	if st.req.Method != http.MethodOptions || origin == "" || method == "" {
		return nil
	}
	st.drawbridgePreflight = true
	h := http.Header{"Vary": {"Origin"}}
	if !p.allowed(origin) {
		return &exitResponse{status: http.StatusNoContent, header: h}
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Max-Age", p.maxAge)
	vary := []string{"Origin"}
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.echoMethod {
		vary = append(vary, "Access-Control-Request-Method")
		if dbTokenRE.MatchString(method) {
			h.Set("Access-Control-Allow-Methods", method)
		}
	} else if p.methods != "" {
		h.Set("Access-Control-Allow-Methods", p.methods)
	}
	if p.echoHeaders {
		vary = append(vary, "Access-Control-Request-Headers")
		if acrh := st.origHeader.Get("Access-Control-Request-Headers"); dbValidList(acrh) {
			h.Set("Access-Control-Allow-Headers", acrh)
		}
	} else if p.headers != "" {
		h.Set("Access-Control-Allow-Headers", p.headers)
	}
	if p.expose != "" {
		h.Set("Access-Control-Expose-Headers", p.expose)
	}
	h.Set("Vary", strings.Join(vary, ", "))
	return &exitResponse{status: http.StatusNoContent, header: h}
}

// dbValidList is valid_header_list: a comma-separated list of at least
// one token.
func dbValidList(v string) bool {
	if !dbHeaderListRE.MatchString(v) {
		return false
	}
	any := false
	for _, item := range strings.Split(v, ",") {
		item = strings.Trim(item, " \t")
		if item == "" {
			continue
		}
		if !dbTokenRE.MatchString(item) {
			return false
		}
		any = true
	}
	return any
}

// dbNotExposed mirrors NOT_EXPOSED in policy.lua.
var dbNotExposed = map[string]bool{"set-cookie": true, "set-cookie2": true, "connection": true, "keep-alive": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "trailer": true, "proxy-authenticate": true}

func (p *drawbridgeCORS) headerFilter(st *proxyState, _ int, h http.Header) {
	if st.drawbridgePreflight {
		return
	}
	if !hasVaryToken(h.Values("Vary"), "Origin") {
		h.Add("Vary", "Origin")
	}
	origin := st.origHeader.Get("Origin")
	if !p.allowed(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	expose := p.expose
	if p.exposeAll {
		// Kong's PDK lists response header names in lower case.
		out, seen := append([]string(nil), p.exposeNamed...), map[string]bool{}
		for _, n := range p.exposeNamed {
			seen[strings.ToLower(n)] = true
		}
		var names []string
		for k := range h {
			names = append(names, strings.ToLower(k))
		}
		sort.Strings(names)
		for _, n := range names {
			if !seen[n] && !dbNotExposed[n] && !strings.HasPrefix(n, "access-control-") {
				seen[n] = true
				out = append(out, n)
			}
		}
		expose = strings.Join(out, ", ")
	}
	if expose != "" {
		h.Set("Access-Control-Expose-Headers", expose)
	}
}

func hasVaryToken(values []string, token string) bool {
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if strings.EqualFold(item, token) || item == "*" {
				return true
			}
		}
	}
	return false
}

// ---- drawbridge-backend-select (picker.lua, handler.lua) ----

type dbBackend struct {
	upstream          string
	weight            int
	request, response map[string]any // header modifiers: set, add, remove
}

type backendSelect struct {
	backends []dbBackend
	mu       sync.Mutex
	score    []int
	total    int
}

func newBackendSelect(cfg map[string]any) *backendSelect {
	p := &backendSelect{}
	arr, _ := cfg["backends"].([]any)
	for _, e := range arr {
		rec, _ := e.(map[string]any)
		b := dbBackend{upstream: getString(rec, "upstream"), weight: getInt(rec, "weight"),
			request: getRecord(rec, "request_headers"), response: getRecord(rec, "response_headers")}
		p.backends = append(p.backends, b)
		p.total += b.weight
	}
	p.score = make([]int, len(p.backends))
	return p
}

// pick is smooth weighted round robin, as picker.lua.
func (p *backendSelect) pick() *dbBackend {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, b := range p.backends {
		p.score[i] += b.weight
		if best < 0 || p.score[i] > p.score[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	p.score[best] -= p.total
	return &p.backends[best]
}

// applyHeaderModifier runs remove, set, add, as handler.lua does.
func applyHeaderModifier(h http.Header, ops map[string]any) {
	for _, name := range getStrings(ops, "remove") {
		h.Del(name)
	}
	pairs := func(k string) [][2]string {
		arr, _ := ops[k].([]any)
		var out [][2]string
		for _, e := range arr {
			rec, _ := e.(map[string]any)
			out = append(out, [2]string{getString(rec, "name"), getString(rec, "value")})
		}
		return out
	}
	for _, p := range pairs("set") {
		h.Set(p[0], p[1])
	}
	for _, p := range pairs("add") {
		h.Add(p[0], p[1])
	}
}

func (p *backendSelect) access(st *proxyState) *exitResponse {
	b := p.pick()
	if b == nil {
		return nil
	}
	if _, ok := st.rt.upstreams[b.upstream]; !ok {
		st.s.errLog.Printf("request %s: drawbridge-backend-select: could not find an Upstream named '%s'", st.reqID, b.upstream)
		return st.kongError(http.StatusInternalServerError, "An unexpected error occurred")
	}
	st.upstreamName = b.upstream
	applyHeaderModifier(st.upHeader, b.request)
	st.drawbridgeBackend = b
	return nil
}

func (p *backendSelect) headerFilter(st *proxyState, _ int, h http.Header) {
	if st.drawbridgeBackend != nil {
		applyHeaderModifier(h, st.drawbridgeBackend.response)
	}
}
