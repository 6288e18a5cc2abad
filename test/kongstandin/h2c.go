package kongstandin

// The request target Kong sends to grpc services, and Drawbridge's
// drawbridge-h2c plugin (internal/kong/luaplugins), which HTTPRoute rules
// with h2c backends carry.
//
// Kong proxies grpc services through nginx's grpc module, which ignores
// $upstream_uri: it sends the client's request target verbatim
// (r->unparsed_uri) unless the request's URI was changed, and then
// r->uri escaped with NGX_ESCAPE_URI plus "?" and r->args
// (ngx_http_grpc_module.c, ngx_http_grpc_create_request). drawbridge-h2c
// changes the URI (ngx.req.set_uri with the percent-decoded
// $upstream_uri) when $upstream_uri is not the client's raw path (Kong
// normalised it, or a plugin rewrote it) or a plugin changed the query.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type h2cPlugin struct{ noHeaderFilter }

func (h2cPlugin) access(st *proxyState) *exitResponse {
	st.h2cSetURI = true
	return nil
}

// grpcTarget sets the :path of a request to a grpc service.
func (st *proxyState) grpcTarget(u *url.URL, in *http.Request) {
	rawPath, rawQuery, hasQuery := strings.Cut(in.RequestURI, "?")
	if !strings.HasPrefix(rawPath, "/") {
		// Absolute-form target: nginx's unparsed_uri starts at the path.
		rawPath = in.URL.EscapedPath()
	}
	path, query, force := rawPath, rawQuery, hasQuery && rawQuery == ""
	if st.h2cSetURI && (escapePath(st.upPath) != rawPath || st.queryChanged) {
		path = nginxEscapeURI(percentDecode(escapePath(st.upPath)))
		query, force = in.URL.RawQuery, false
		if st.queryChanged {
			query = st.upQuery.Encode()
		}
	}
	u.RawQuery, u.ForceQuery = query, force
	if strings.HasPrefix(path, "//") {
		// Opaque "//..." would be read as an authority; RawPath keeps it.
		u.Opaque = ""
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
		}
		return
	}
	u.Opaque = path
}

// percentDecode decodes every %XX and nothing else ("+" stays).
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			var c byte
			fmt.Sscanf(s[i+1:i+3], "%02x", &c)
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// nginxEscapeURI is ngx_escape_uri(NGX_ESCAPE_URI): controls, space,
// " # % < > ? \ ^ ` { | } and bytes from 0x7F are escaped in upper case.
func nginxEscapeURI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte("\"#%<>?\\^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
