package kongstandin

// Access-control plugins (key-auth, acl, ip-restriction, rate-limiting,
// request-size-limiting), modelled on Kong 3.9.3's
// kong/plugins/<name>/handler.lua, and the bundled plugins the stand-in
// accepts but does not run.

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// consumerRec is a consumer as the runtime needs it.
type consumerRec struct {
	id, username, customID string
	hasUsername, hasCustom bool
}

// credentialRec is a key-auth credential.
type credentialRec struct{ id, consumerID string }

// rlCounters are rate-limiting's local counters (the
// kong_rate_limiting_counters shm): they outlive configuration reloads.
type rlCounters struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *rlCounters) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *rlCounters) incr(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k]++
}

// newAccessPlugin returns the runtime of the access-control plugins, or
// nil for a name it does not know.
func newAccessPlugin(name string, cfg map[string]any) plugin {
	switch name {
	case "key-auth":
		return &keyAuth{cfg: cfg}
	case "acl":
		return &aclPlugin{cfg: cfg}
	case "ip-restriction":
		return newIPRestriction(cfg)
	case "rate-limiting":
		return &rateLimiting{cfg: cfg}
	case "request-size-limiting":
		return &requestSizeLimiting{cfg: cfg}
	case "prometheus":
		// Only records metrics (log phase) and serves them on the status
		// listener's /metrics; nothing in a proxied answer changes.
		return noopPlugin{}
	case "response-ratelimiting":
		if getString(cfg, "policy") != "local" {
			// The stand-in never reaches a Redis: get_usage fails, and
			// with fault_tolerant (the default) access and header_filter
			// return early, leaving the answer as it is.
			if b, ok := cfg["fault_tolerant"].(bool); !ok || b {
				return noopPlugin{}
			}
		}
	}
	return nil
}

type noopPlugin struct {
	noAccess
	noHeaderFilter
}

// notRunPlugin is a plugin the stand-in accepts in a configuration but
// does not run: a request that reaches it fails loudly.
type notRunPlugin struct {
	noHeaderFilter
	name string
}

func (p notRunPlugin) access(st *proxyState) *exitResponse {
	r := st.kongError(http.StatusInternalServerError, fmt.Sprintf("stand-in: plugin '%s' is accepted in configurations but not run by the stand-in", p.name))
	return r
}

func withHeader(r *exitResponse, k, v string) *exitResponse {
	r.header.Set(k, v)
	return r
}

// ---- key-auth ----

type keyAuth struct {
	noHeaderFilter
	cfg map[string]any
}

func boolOr(cfg map[string]any, k string, def bool) bool {
	if b, ok := cfg[k].(bool); ok {
		return b
	}
	return def
}

func (p *keyAuth) access(st *proxyState) *exitResponse {
	c := p.cfg
	if !boolOr(c, "run_on_preflight", true) && st.req.Method == http.MethodOptions {
		return nil
	}
	if getString(c, "anonymous") != "" || boolOr(c, "key_in_body", false) {
		return notRunPlugin{name: "key-auth (anonymous, key_in_body)"}.access(st)
	}
	www := "Key"
	if realm, ok := c["realm"].(string); ok {
		www = fmt.Sprintf("Key realm=%q", realm)
	}
	names := []string{"apikey"}
	if _, ok := c["key_names"]; ok {
		names = getStrings(c, "key_names")
	}
	key := ""
	for _, name := range names {
		var vals []string
		if boolOr(c, "key_in_header", true) {
			vals = st.origHeader.Values(name)
		}
		if len(vals) == 0 && boolOr(c, "key_in_query", true) {
			vals = st.origQuery[name]
		}
		if len(vals) > 1 {
			return withHeader(st.kongError(http.StatusUnauthorized, "Duplicate API key found"), "WWW-Authenticate", www)
		}
		if len(vals) == 1 {
			key = vals[0]
			if boolOr(c, "hide_credentials", false) {
				st.upQuery.Del(name)
				st.queryChanged = true
				st.upHeader.Del(name)
			}
			break
		}
	}
	if key == "" {
		return withHeader(st.kongError(http.StatusUnauthorized, "No API key found in request"), "WWW-Authenticate", www)
	}
	cred, ok := st.rt.keyauth[key]
	if !ok {
		return withHeader(st.kongError(http.StatusUnauthorized, "Unauthorized"), "WWW-Authenticate", www)
	}
	st.setConsumer(st.rt.consumers[cred.consumerID], cred.id)
	return nil
}

// setConsumer is key-auth's set_consumer: kong.client.authenticate and the
// X-Consumer-* headers to the upstream.
func (st *proxyState) setConsumer(c *consumerRec, credID string) {
	st.consumer, st.credentialID = c, credID
	h := st.upHeader
	set := func(k, v string, ok bool) {
		if ok {
			h.Set(k, v)
		} else {
			h.Del(k)
		}
	}
	set("X-Consumer-ID", c.id, true)
	set("X-Consumer-Custom-ID", c.customID, c.hasCustom)
	set("X-Consumer-Username", c.username, c.hasUsername)
	set("X-Credential-Identifier", credID, credID != "")
	h.Del("X-Anonymous-Consumer")
}

// ---- acl ----

type aclPlugin struct {
	noHeaderFilter
	cfg map[string]any
}

func (p *aclPlugin) access(st *proxyState) *exitResponse {
	deny := getStrings(p.cfg, "deny")
	isDeny := len(deny) > 0
	groups := getStrings(p.cfg, "allow")
	if isDeny {
		groups = deny
	}
	if boolOr(p.cfg, "always_use_authenticated_groups", false) {
		return notRunPlugin{name: "acl (always_use_authenticated_groups)"}.access(st)
	}
	if st.consumer == nil {
		// No consumer and no authenticated groups (no plugin of the
		// stand-in sets them).
		if st.credentialID != "" {
			return st.kongError(http.StatusForbidden, "You cannot consume this service")
		}
		return st.kongError(http.StatusUnauthorized, "Unauthorized")
	}
	mine := st.rt.aclGroups[st.consumer.id]
	if len(mine) == 0 && !isDeny {
		if st.credentialID != "" {
			return st.kongError(http.StatusForbidden, "You cannot consume this service")
		}
		return st.kongError(http.StatusUnauthorized, "Unauthorized")
	}
	in := false
	for _, g := range groups {
		if contains(mine, g) {
			in = true
		}
	}
	if in == isDeny {
		return st.kongError(http.StatusForbidden, "You cannot consume this service")
	}
	if !boolOr(p.cfg, "hide_groups_header", false) && len(mine) > 0 {
		st.upHeader.Set("X-Consumer-Groups", strings.Join(mine, ", "))
	}
	return nil
}

// ---- ip-restriction ----

type ipRestriction struct {
	noHeaderFilter
	cfg         map[string]any
	allow, deny []netip.Prefix
}

func parsePrefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

func newIPRestriction(cfg map[string]any) plugin {
	return &ipRestriction{cfg: cfg, allow: parsePrefixes(getStrings(cfg, "allow")), deny: parsePrefixes(getStrings(cfg, "deny"))}
}

func matchAny(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// denied reports whether the client address is refused: deny first, then
// allow, as do_restrict does.
func (p *ipRestriction) denied(a netip.Addr) bool {
	if len(p.deny) > 0 && matchAny(p.deny, a) {
		return true
	}
	return len(p.allow) > 0 && !matchAny(p.allow, a)
}

func (p *ipRestriction) access(st *proxyState) *exitResponse {
	host, _, err := net.SplitHostPort(st.req.RemoteAddr)
	if err != nil {
		host = st.req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !p.denied(a) {
		return nil
	}
	status := http.StatusForbidden
	if n, ok := p.cfg["status"]; ok && n != nil {
		status = getInt(p.cfg, "status")
	}
	msg := "IP address not allowed: " + a.Unmap().String()
	if m, ok := p.cfg["message"].(string); ok {
		msg = m
	}
	return st.kongError(status, msg)
}

// ---- rate-limiting (policy local) ----

type rateLimiting struct {
	noHeaderFilter
	cfg map[string]any
}

var rlPeriods = []struct {
	name   string
	header string
	window int64 // seconds (EXPIRATION)
}{
	{"second", "Second", 1}, {"minute", "Minute", 60}, {"hour", "Hour", 3600},
	{"day", "Day", 86400}, {"month", "Month", 2592000}, {"year", "Year", 31536000},
}

// periodStart is kong.tools.timestamp.get_timestamps: the start of the
// current second, minute, hour, day, month and year in UTC.
func periodStart(now time.Time, period string) time.Time {
	u := now.UTC()
	switch period {
	case "second":
		return u.Truncate(time.Second)
	case "minute":
		return u.Truncate(time.Minute)
	case "hour":
		return u.Truncate(time.Hour)
	case "day":
		return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	case "month":
		return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(u.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
}

func (p *rateLimiting) access(st *proxyState) *exitResponse {
	c := p.cfg
	if pol := getString(c, "policy"); pol != "" && pol != "local" {
		return notRunPlugin{name: "rate-limiting (policy " + pol + ")"}.access(st)
	}
	ident := ""
	switch lb := getString(c, "limit_by"); lb {
	case "", "consumer":
		if st.consumer != nil {
			ident = st.consumer.id
		} else {
			ident = st.credentialID
		}
	case "credential":
		ident = st.credentialID
	case "service":
		if st.route.service != nil {
			ident = st.route.service.id
		}
	case "ip":
	default:
		return notRunPlugin{name: "rate-limiting (limit_by " + lb + ")"}.access(st)
	}
	if ident == "" {
		ident, _, _ = net.SplitHostPort(st.req.RemoteAddr)
	}
	now := time.Now()
	sid := ""
	if st.route.service != nil {
		sid = st.route.service.id
	}
	type use struct {
		name, header  string
		window        int64
		limit, remain int
		counterKey    string
	}
	var uses []use
	stop := ""
	for _, per := range rlPeriods {
		if _, ok := c[per.name]; !ok || c[per.name] == nil {
			continue
		}
		limit := getInt(c, per.name)
		start := periodStart(now, per.name)
		key := fmt.Sprintf("ratelimit:%s:%s:%s:%d:%s", st.route.id, sid, ident, start.UnixMilli(), per.name)
		remain := limit - st.s.rl.get(key)
		if remain <= 0 {
			stop = per.name
		}
		uses = append(uses, use{per.name, per.header, per.window, limit, remain, key})
	}
	hide := boolOr(c, "hide_client_headers", false)
	hdr := http.Header{}
	if !hide && len(uses) > 0 {
		var limit, remaining int
		var window, reset int64
		first := true
		for _, u := range uses {
			rem := u.remain
			if stop == "" || stop == u.name {
				rem--
			}
			rem = max(0, rem)
			if first || rem < remaining || (rem == remaining && u.window > window) {
				first = false
				limit, window, remaining = u.limit, u.window, rem
				elapsed := now.UnixMilli() - periodStart(now, u.name).UnixMilli()
				reset = max(1, u.window-elapsed/1000)
			}
			hdr.Set("X-RateLimit-Limit-"+u.header, strconv.Itoa(u.limit))
			hdr.Set("X-RateLimit-Remaining-"+u.header, strconv.Itoa(rem))
		}
		hdr.Set("RateLimit-Limit", strconv.Itoa(limit))
		hdr.Set("RateLimit-Remaining", strconv.Itoa(remaining))
		hdr.Set("RateLimit-Reset", strconv.FormatInt(reset, 10))
		if stop != "" {
			hdr.Set("Retry-After", strconv.FormatInt(reset, 10))
		}
	}
	if stop != "" {
		status := http.StatusTooManyRequests
		if _, ok := c["error_code"]; ok {
			status = getInt(c, "error_code")
		}
		msg := "API rate limit exceeded"
		if m, ok := c["error_message"].(string); ok {
			msg = m
		}
		r := st.kongError(status, msg)
		for k, v := range hdr {
			r.header[k] = v
		}
		return r
	}
	st.respHeaders = hdr
	for _, u := range uses {
		st.s.rl.incr(u.counterKey)
	}
	return nil
}

// ---- request-size-limiting ----

type requestSizeLimiting struct {
	noHeaderFilter
	cfg map[string]any
}

var sizeUnits = map[string]int64{"bytes": 1, "kilobytes": 1024, "megabytes": 1048576}

func (p *requestSizeLimiting) access(st *proxyState) *exitResponse {
	allowed := int64(128)
	if _, ok := p.cfg["allowed_payload_size"]; ok {
		allowed = int64(getInt(p.cfg, "allowed_payload_size"))
	}
	unit := getString(p.cfg, "size_unit")
	if unit == "" {
		unit = "megabytes"
	}
	limit := allowed * sizeUnits[unit]
	cl := st.origHeader.Get("Content-Length")
	n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
	if cl == "" || err != nil {
		if boolOr(p.cfg, "require_content_length", false) && st.origHeader.Get("Transfer-Encoding") != "chunked" {
			return st.kongError(http.StatusLengthRequired, "A valid Content-Length header is required")
		}
		n = st.req.ContentLength
		if n < 0 {
			return notRunPlugin{name: "request-size-limiting (body without Content-Length)"}.access(st)
		}
	}
	if n > limit {
		if strings.EqualFold(strings.TrimSpace(st.origHeader.Get("Expect")), "100-continue") {
			return st.kongError(http.StatusExpectationFailed, "Request size limit exceeded")
		}
		return st.kongError(http.StatusRequestEntityTooLarge, "Request size limit exceeded")
	}
	return nil
}
