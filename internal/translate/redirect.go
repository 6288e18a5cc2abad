package translate

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// redirectPathMode is what a RequestRedirect does with the request path.
type redirectPathMode int

const (
	keepPath      redirectPathMode = iota // path and query as requested
	replaceFull                           // a new path; the query is dropped
	replacePrefix                         // the matched prefix replaced; the rest and the query kept
)

// redirectTarget is a RequestRedirect resolved against the Kong route it
// is attached to. An empty host means the request's own host.
type redirectTarget struct {
	status     int
	scheme     string
	host       string
	portSuffix string // ":port", or "" for the scheme's well-known port
	mode       redirectPathMode
	path       string // replaceFull: the path; replacePrefix: the replacement
	prefix     string // replacePrefix: the matched prefix, without a trailing slash
}

// redirectPlugin chooses how Kong answers a RequestRedirect. Kong's
// redirect plugin needs an absolute location and can only keep or replace
// the whole path, so it serves redirects to a known host. Redirects that
// keep the request's host (no hostname on the filter or the route, or a
// wildcard) or replace a path prefix are answered by generated Lua in the
// bundled pre-function plugin, which builds the Location per request.
func redirectPlugin(rr *gwv1.HTTPRequestRedirectFilter, ps pluginScope) (string, map[string]any, error) {
	t, err := resolveRedirect(rr, ps)
	if err != nil {
		return "", nil, err
	}
	if t.host != "" && t.mode != replacePrefix {
		path, keep := "/", t.mode == keepPath
		if t.mode == replaceFull {
			path = t.path
		}
		u := url.URL{Scheme: t.scheme, Host: t.host + t.portSuffix, Path: path}
		return kong.PluginRedirect, map[string]any{"status_code": t.status, "location": u.String(), "keep_incoming_path": keep}, nil
	}
	return kong.PluginPreFunction, map[string]any{"access": []string{t.lua()}}, nil
}

func resolveRedirect(rr *gwv1.HTTPRequestRedirectFilter, ps pluginScope) (redirectTarget, error) {
	l := ps.scope.listener
	t := redirectTarget{status: 302, scheme: l.scheme(), mode: keepPath}
	if rr.StatusCode != nil {
		t.status = *rr.StatusCode
	}
	if rr.Scheme != nil {
		t.scheme = *rr.Scheme
	}
	switch {
	case rr.Hostname != nil:
		t.host = string(*rr.Hostname)
	case !strings.HasPrefix(ps.scope.host, "*"):
		t.host = ps.scope.host
	}
	// The spec's port rules: an explicit port; else the new scheme's
	// well-known port; else the listener's port. A well-known port for the
	// scheme is left out of the Location.
	port := int(l.spec.Port)
	switch {
	case rr.Port != nil:
		port = int(*rr.Port)
	case rr.Scheme != nil:
		if p := defaultPort(t.scheme); p != 0 {
			port = p
		}
	}
	if port != defaultPort(t.scheme) {
		t.portSuffix = ":" + strconv.Itoa(port)
	}
	if rr.Path == nil {
		return t, nil
	}
	switch rr.Path.Type {
	case gwv1.FullPathHTTPPathModifier:
		if rr.Path.ReplaceFullPath == nil {
			return t, fmt.Errorf("RequestRedirect ReplaceFullPath needs replaceFullPath")
		}
		t.mode, t.path = replaceFull, *rr.Path.ReplaceFullPath
	case gwv1.PrefixMatchHTTPPathModifier:
		if rr.Path.ReplacePrefixMatch == nil {
			return t, fmt.Errorf("RequestRedirect ReplacePrefixMatch needs replacePrefixMatch")
		}
		switch ps.path.kind {
		case gwv1.PathMatchExact:
			// The whole path is the matched prefix.
			t.mode, t.path = replaceFull, *rr.Path.ReplacePrefixMatch
		case gwv1.PathMatchPathPrefix:
			t.mode, t.path = replacePrefix, *rr.Path.ReplacePrefixMatch
			t.prefix = strings.TrimRight(ps.path.value, "/")
		default:
			return t, fmt.Errorf("RequestRedirect ReplacePrefixMatch needs a PathPrefix match, not %s", ps.path.kind)
		}
	default:
		return t, fmt.Errorf("RequestRedirect path type %q is not supported", rr.Path.Type)
	}
	if !strings.HasPrefix(t.path, "/") {
		t.path = "/" + t.path
	}
	return t, nil
}

// lua is the pre-function chunk answering the redirect. Every value from
// the route is embedded as a quoted Lua string, never as code.
func (t redirectTarget) lua() string {
	var b strings.Builder
	b.WriteString("-- Drawbridge RequestRedirect\n")
	switch t.mode {
	case keepPath:
		b.WriteString("local path = kong.request.get_path()\nlocal query = kong.request.get_raw_query()\n")
	case replaceFull:
		fmt.Fprintf(&b, "local path = %s\nlocal query = \"\"\n", luaQuote(t.path))
	case replacePrefix:
		// The route matched the prefix on a segment boundary, so the rest
		// is empty or starts with "/".
		fmt.Fprintf(&b, "local rest = kong.request.get_path():sub(%d)\nlocal query = kong.request.get_raw_query()\n", len(t.prefix)+1)
		fmt.Fprintf(&b, "local path = %s .. rest\nif path == \"\" then path = \"/\" end\n", luaQuote(strings.TrimRight(t.path, "/")))
	}
	host := "kong.request.get_host()"
	if t.host != "" {
		host = luaQuote(t.host)
	}
	fmt.Fprintf(&b, "local location = %s .. %s .. %s .. path\n", luaQuote(t.scheme+"://"), host, luaQuote(t.portSuffix))
	b.WriteString("if query ~= \"\" then location = location .. \"?\" .. query end\n")
	fmt.Fprintf(&b, "kong.response.exit(%d, \"redirecting\", { [\"Location\"] = location })\n", t.status)
	return b.String()
}

// luaQuote renders s as a Lua string literal; bytes outside printable
// ASCII become decimal escapes, so no input can end the literal.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
