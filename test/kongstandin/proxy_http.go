package kongstandin

// HTTP proxy: routing through the expressions router, Kong's protocol checks,
// plugins, and forwarding with Kong's upstream URI, Host and X-Forwarded-*
// rules (reference section 4).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// proxyState is the per-request state shared by the router, plugins and the
// upstream request (Kong's ngx.ctx for one request).
type proxyState struct {
	s       *Server
	rt      *runtime
	route   *route
	req     *http.Request
	reqID   string
	start   time.Time
	scheme  string
	host    string // request host without port, lower-case
	dstPort int    // published port (after port_maps)

	captures     map[string]string
	matchedPath  string
	origHeader   http.Header
	origQuery    url.Values
	origPath     string // normalized path
	origRawQuery string

	upHeader     http.Header
	upQuery      url.Values
	queryChanged bool
	upMethod     string
	upPath       string

	corsSkipHeaders bool
	plugins         []*pluginInstance

	// drawbridgePreflight: drawbridge-cors answered a preflight.
	drawbridgePreflight bool
	// upstreamName is the upstream drawbridge-backend-select chose
	// (kong.service.set_upstream); "" keeps the service's host.
	upstreamName      string
	drawbridgeBackend *dbBackend

	// The authenticated consumer and credential (kong.client.authenticate).
	consumer     *consumerRec
	credentialID string
	// respHeaders are headers plugins set in access (kong.response.set_header).
	respHeaders http.Header

	// upstreamHost is ngx.var.upstream_host: the Host the router read when
	// the route preserves the host, which access-phase Lua may change.
	upstreamHost string
	// The request's Lua state (pre-function), shared by its phases.
	lua       *lua.LState
	luaCancel context.CancelFunc
	luaCtx    *lua.LTable // ngx.ctx
	luaExit   *exitResponse

	// h2cSetURI says that drawbridge-h2c ran (h2c.go).
	h2cSetURI bool
}

// Kong's messages for errors it generates itself (kong/error_handlers.lua).
const (
	msgNoRoute   = "no Route matched with those values"
	msgNoPeer    = "failure to get a peer from the ring-balancer"
	msgBadGW     = "An invalid response was received from the upstream server"
	msgTimeout   = "The upstream server is timing out"
	msgNameRes   = "name resolution failed"
	msgNoService = "no Service found with those values"
)

func (s *Server) proxyHandler(l Listener, localPort int) http.Handler {
	pubPort := s.cfg.publishedPort(localPort)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.totalRequests.Add(1)
		st := &proxyState{s: s, rt: s.rt.Load(), req: r, reqID: newRequestID(), start: time.Now(), scheme: "http", dstPort: pubPort}
		if r.TLS != nil {
			st.scheme = "https"
		}
		status := s.serveProxy(w, st)
		fmt.Fprintf(s.proxyLog, "%s - - [%s] \"%s %s %s\" %d request_id=%s\n", r.RemoteAddr, st.start.Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.URL.RequestURI(), r.Proto, status, st.reqID)
	})
}

func hostOnly(hostport string) string {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}

// routerHost is the Host as Kong's router reads it:
// kong.tools.http.get_header("host", ngx.ctx), which returns
// ngx.ctx.cached_request_headers.host when a plugin set that table (in the
// rewrite phase) and the Host header as sent otherwise, case and port
// included.
func (st *proxyState) routerHost() string {
	if h, ok := st.cachedHost(); ok {
		return h
	}
	return st.req.Host
}

// splitHostPortKong is Kong's split_host_port (kong/router/transform.lua):
// the port is what follows the first ':' when it is a number, so
// "[::1]:80" stays whole with no port.
func splitHostPortKong(h string) (string, int, bool) {
	i := strings.IndexByte(h, ':')
	if i < 0 {
		return h, 0, false
	}
	p, err := strconv.Atoi(h[i+1:])
	if err != nil {
		return h, 0, false
	}
	return h[:i], p, true
}

// httpMatchContext supplies the HTTP router fields (expressions language
// reference, "HTTP fields"). As in Kong (kong/router/atc.lua matching and
// kong/router/fields.lua), http.host is the router's Host without its port
// and not lower-cased, and net.dst.port is that Host's port when it has
// one, the listener's port (after port_maps) otherwise.
func (st *proxyState) httpMatchContext(reqHost string) *matchContext {
	r := st.req
	ctx := newMatchContext()
	ctx.setString("net.protocol", st.scheme)
	if r.TLS != nil && r.TLS.ServerName != "" {
		ctx.setString("tls.sni", strings.ToLower(r.TLS.ServerName))
	}
	ctx.setString("http.method", r.Method)
	host, port, ok := splitHostPortKong(reqHost)
	if reqHost != "" {
		ctx.setString("http.host", host)
	}
	if !ok {
		port = st.dstPort
	}
	ctx.setString("http.path", st.origPath)
	ctx.setInt("net.dst.port", port)
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ctx.setIP("net.src.ip", ap.Addr())
		ctx.setInt("net.src.port", int(ap.Port()))
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			ctx.setIP("net.dst.ip", ap.Addr())
		}
	}
	segs := strings.Split(strings.Trim(st.origPath, "/"), "/")
	if st.origPath == "/" {
		segs = nil
	}
	ctx.setInt("http.path.segments.len", len(segs))
	ctx.lookup = func(field string) []fieldValue {
		var vals []string
		switch {
		case strings.HasPrefix(field, "http.headers."):
			name := strings.ReplaceAll(strings.TrimPrefix(field, "http.headers."), "_", "-")
			if strings.ToLower(name) != name {
				return nil // header fields must be written in lower case
			}
			vals = st.origHeader.Values(name)
			if name == "host" && r.Host != "" {
				vals = []string{r.Host}
			}
		case strings.HasPrefix(field, "http.queries."):
			vals = st.origQuery[strings.TrimPrefix(field, "http.queries.")]
		case strings.HasPrefix(field, "http.path.segments."):
			spec := strings.TrimPrefix(field, "http.path.segments.")
			a, b, ranged := strings.Cut(spec, "_")
			i, _ := strconv.Atoi(a)
			j := i
			if ranged {
				j, _ = strconv.Atoi(b)
			}
			if i < len(segs) && j < len(segs) && i <= j {
				vals = []string{strings.Join(segs[i:j+1], "/")}
			}
		}
		out := make([]fieldValue, len(vals))
		for i, v := range vals {
			out[i] = fieldValue{str: v}
		}
		return out
	}
	return ctx
}

// kongError writes an error Kong generates itself (kong.response.error),
// with request_id. For a gRPC request kong.response.error sets Content-Type
// application/grpc and no body, so send answers with grpc-status mapped
// from the HTTP status and grpc-message its name (kong/pdk/response.lua
// error and send; confirmed on Kong 3.9.3: an unmatched gRPC request gets
// 404 with grpc-status 5 "NotFound").
func (st *proxyState) kongError(status int, msg string) *exitResponse {
	if st.isGRPCRequest() {
		return &exitResponse{status: status, header: http.Header{"Content-Type": {"application/grpc"}}}
	}
	r := exitJSON(status, map[string]any{"message": msg, "request_id": st.reqID}, nil)
	r.header.Set("Content-Type", "application/json; charset=utf-8")
	return r
}

// send is kong/pdk/response.lua send(): what kong.response.exit puts on
// the wire. The answer is gRPC when the exit's Content-Type says so, or,
// without a Content-Type, when the request is gRPC; a gRPC answer gets
// grpc-status (unless given) mapped from the HTTP status, and a body meant
// for an HTTP client (a string, or a table's "message") moves into
// grpc-message, leaving the body empty. Otherwise a table body is JSON.
func (st *proxyState) send(r *exitResponse) {
	if r.sent {
		return
	}
	r.sent = true
	if r.header == nil {
		r.header = http.Header{}
	}
	h := r.header
	_, hasCT := h["Content-Type"]
	var isGRPC, isGRPCOutput bool
	if hasCT {
		isGRPC = strings.HasPrefix(h.Get("Content-Type"), "application/grpc")
		isGRPCOutput = isGRPC
	} else {
		isGRPC = st.isGRPCRequest()
	}
	grpcStatus := -1
	if isGRPC && h.Get("Grpc-Status") == "" {
		grpcStatus = grpcStatusFor(r.status)
		h.Set("Grpc-Status", strconv.Itoa(grpcStatus))
	}
	if r.table != nil {
		switch msg, isString := r.table["message"].(string); {
		case !isGRPC:
			b, _ := json.Marshal(r.table)
			r.body = b
			if !hasCT {
				h.Set("Content-Type", "application/json; charset=utf-8")
			}
		case isGRPCOutput:
			// Kong raises "table body encoding with gRPC is not
			// supported"; the stand-in sends no body.
			r.body = nil
		case isString:
			r.body = []byte(msg)
		default:
			r.body = nil // Kong logs that it removed the body
		}
		r.table = nil
	}
	if r.body != nil && isGRPC && !isGRPCOutput {
		h.Set("Grpc-Message", string(r.body))
		r.body = []byte{}
	}
	if grpcStatus >= 0 && h.Get("Grpc-Message") == "" {
		h.Set("Grpc-Message", grpcStatusNames[grpcStatus])
	}
}

// grpcStatusFor maps an HTTP status as send() does.
func grpcStatusFor(status int) int {
	if code, ok := httpToGRPCStatus[status]; ok {
		return code
	}
	switch {
	case status >= 500 && status <= 599:
		return httpToGRPCStatus[500]
	case status >= 400 && status <= 499:
		return httpToGRPCStatus[400]
	case status >= 200 && status <= 299:
		return httpToGRPCStatus[200]
	}
	return 2 // GRPC_STATUS_UNKNOWN
}

// isGRPCRequest is kong/pdk/response.lua is_grpc_request.
func (st *proxyState) isGRPCRequest() bool {
	return strings.HasPrefix(st.req.Header.Get("Content-Type"), "application/grpc") && st.req.ProtoMajor == 2
}

// httpToGRPCStatus and grpcStatusNames are kong/pdk/response.lua's
// HTTP_TO_GRPC_STATUS and GRPC_MESSAGES.
var (
	httpToGRPCStatus = map[int]int{200: 0, 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4}
	grpcStatusNames  = map[int]string{0: "OK", 1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
		6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition", 10: "Aborted", 11: "OutOfRange",
		12: "Unimplemented", 13: "Internal", 14: "Unavailable", 15: "DataLoss", 16: "Unauthenticated"}
)

// serveProxy handles one request and returns the status sent.
func (s *Server) serveProxy(w http.ResponseWriter, st *proxyState) int {
	r := st.req
	st.host = hostOnly(r.Host)
	st.origHeader = r.Header
	st.origRawQuery = r.URL.RawQuery
	st.origQuery, _ = url.ParseQuery(r.URL.RawQuery)
	if st.origQuery == nil {
		st.origQuery = url.Values{}
	}
	st.origPath = normalizePath(r.URL.EscapedPath())
	defer st.closeLua()
	// Global plugins run their rewrite phase before the router.
	for _, p := range st.rt.plugins {
		if pf, ok := p.impl.(*preFunction); ok && p.routeID == "" && p.serviceID == "" && p.consumer == "" {
			if resp := pf.runRewrite(st); resp != nil {
				return st.writeExit(w, resp, false)
			}
		}
	}
	reqHost := st.routerHost()
	ctx := st.httpMatchContext(reqHost)
	for _, rt := range st.rt.httpRoutes {
		ctx.reset()
		if evalExpr(rt.expr, ctx) {
			st.route = rt
			break
		}
	}
	if st.route == nil {
		return st.writeExit(w, st.kongError(http.StatusNotFound, msgNoRoute), false)
	}
	st.captures = ctx.captures
	st.matchedPath = ctx.matches["http.path"]
	if st.route.preserveHost {
		st.upstreamHost = reqHost // atc.lua: upstream_host = req_host
	}
	if resp := st.protocolCheck(); resp != nil {
		return st.writeExit(w, resp, false)
	}
	proto := st.scheme
	if st.route.hasProtocol("grpc") || st.route.hasProtocol("grpcs") {
		proto = map[string]string{"http": "grpc", "https": "grpcs"}[st.scheme]
	}
	st.plugins = st.rt.pluginsFor(st.route, proto)
	st.upHeader = r.Header.Clone()
	st.upQuery, _ = url.ParseQuery(r.URL.RawQuery)
	if st.upQuery == nil {
		st.upQuery = url.Values{}
	}
	st.upMethod = r.Method
	base := "/"
	if svc := st.route.service; svc != nil && svc.hasPath {
		base = svc.path
	}
	st.upPath = upstreamURI(st.origPath, st.matchedPath, st.route.stripPath, base)
	for _, p := range st.plugins {
		if resp := p.impl.access(st); resp != nil {
			return st.writeExit(w, resp, true)
		}
	}
	if st.route.service == nil {
		// [unverified] Kong answers a matched route without a service with 503.
		return st.writeExit(w, st.kongError(http.StatusServiceUnavailable, msgNoService), true)
	}
	return s.forward(w, st)
}

// protocolCheck applies Kong's post-match checks (reference 4.1): an
// https-only route hit over http gets 426 or a redirect; a gRPC route needs
// a gRPC request.
func (st *proxyState) protocolCheck() *exitResponse {
	rt := st.route
	if rt.hasProtocol("https") && !rt.hasProtocol("http") && st.scheme != "https" {
		if rt.httpsRedirect == 426 {
			// kong.response.error: the body carries request_id too.
			r := st.kongError(426, "Please use HTTPS protocol")
			r.header.Set("Connection", "Upgrade")
			r.header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
			return r
		}
		loc := "https://" + st.host + st.req.URL.RequestURI()
		return &exitResponse{status: rt.httpsRedirect, header: http.Header{"Location": {loc}}}
	}
	if (rt.hasProtocol("grpc") || rt.hasProtocol("grpcs")) && !rt.hasProtocol("http") && !rt.hasProtocol("https") {
		if !strings.HasPrefix(st.req.Header.Get("Content-Type"), "application/grpc") {
			return st.kongError(415, "Non-gRPC request matched gRPC route")
		}
		if st.req.ProtoMajor != 2 {
			// kong/runloop/handler.lua: a gRPC content type over HTTP/1.x.
			r := st.kongError(426, "Please use HTTP2 protocol")
			r.header.Set("Connection", "Upgrade")
			r.header.Set("Upgrade", "HTTP/2")
			return r
		}
		if !rt.hasProtocol("grpc") && st.scheme != "https" {
			r := st.kongError(426, "Please use HTTPS protocol")
			r.header.Set("Connection", "Upgrade")
			r.header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
			return r
		}
	}
	return nil
}

// writeExit sends a response generated by Kong or a plugin; header_filter
// plugins run on it as they do in Kong.
func (st *proxyState) writeExit(w http.ResponseWriter, resp *exitResponse, runFilters bool) int {
	st.send(resp)
	h := resp.header
	for k, v := range st.respHeaders {
		if _, set := h[k]; !set {
			h[k] = v
		}
	}
	if runFilters {
		for _, p := range st.plugins {
			p.impl.headerFilter(st, resp.status, h)
		}
	}
	dst := w.Header()
	for k, v := range h {
		dst[k] = v
	}
	if _, ok := h["Content-Type"]; !ok {
		dst["Content-Type"] = nil // no sniffing: Kong sends none for raw bodies
	}
	dst.Set("Server", "kong/"+KongVersion)
	dst.Set("X-Kong-Response-Latency", strconv.FormatInt(time.Since(st.start).Milliseconds(), 10))
	dst.Set("X-Kong-Request-Id", st.reqID)
	dst.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if st.req.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
	return resp.status
}

var errNoPeer = errors.New(msgNoPeer)

// hopHeaders are removed before forwarding (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (s *Server) forward(w http.ResponseWriter, st *proxyState) int {
	r := st.req
	svc := st.route.service
	up := st.rt.upstreams[svc.host]
	if st.upstreamName != "" {
		up = st.rt.upstreams[st.upstreamName]
	}
	isGRPC := svc.protocol == "grpc" || svc.protocol == "grpcs"
	// nginx's grpc module drops Upgrade and Connection (it speaks HTTP/2,
	// without extended CONNECT), so an upgrade reaches a grpc service (an
	// h2c backend of an HTTPRoute) as a plain request.
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && !isGRPC
	// Buffer small bodies so a failed connect can be retried (Kong buffers
	// request bodies by default: request_buffering=true).
	if r.Body != nil && r.ContentLength > 0 && r.ContentLength <= 1<<20 && !upgrade && !isGRPC {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return st.writeExit(w, st.kongError(http.StatusBadRequest, "failed reading request body"), true)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	status := 0
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { st.rewrite(pr, svc, upgrade) },
		Transport:     st.transport(svc, up, upgrade),
		FlushInterval: -1,
		ErrorLog:      s.errLog,
		ModifyResponse: func(resp *http.Response) error {
			status = resp.StatusCode
			for k, v := range st.respHeaders {
				resp.Header[k] = v
			}
			for _, p := range st.plugins {
				p.impl.headerFilter(st, resp.StatusCode, resp.Header)
			}
			setVia(resp.Header, upstreamHTTPVersion(isGRPC))
			if resp.Header.Get("Server") == "" {
				// Kong replaces nginx's default Server header when the
				// upstream sends none (runloop/handler.lua header_filter).
				resp.Header.Set("Server", "kong/"+KongVersion)
			}
			lat := time.Since(st.start).Milliseconds()
			resp.Header.Set("X-Kong-Upstream-Latency", strconv.FormatInt(lat, 10))
			resp.Header.Set("X-Kong-Proxy-Latency", "0")
			resp.Header.Set("X-Kong-Request-Id", st.reqID)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			status = st.writeExit(w, st.upstreamError(err), true)
		},
	}
	rp.ServeHTTP(w, r)
	return status
}

// transport is how a request reaches the upstream: Kong's balancer retries,
// plus drawbridge-retry's when the route has it (Kong does not buffer, so
// the plugin does not run, for upgrades).
func (st *proxyState) transport(svc *service, up *upstream, upgrade bool) http.RoundTripper {
	first := &retryTransport{st: st, svc: svc, up: up, base: st.rt.transportFor(svc)}
	p := retryPluginOf(st)
	if p == nil || upgrade {
		return first
	}
	once := *svc
	once.retries = 0
	return &codeRetryTransport{p: p, first: first, start: st.start,
		next: &retryTransport{st: st, svc: &once, up: up, base: first.base}}
}

func (st *proxyState) upstreamError(err error) *exitResponse {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, errNoPeer):
		return st.kongError(http.StatusServiceUnavailable, msgNoPeer)
	case errors.As(err, &dnsErr):
		return st.kongError(http.StatusServiceUnavailable, msgNameRes)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return st.kongError(http.StatusGatewayTimeout, msgTimeout)
	}
	st.s.errLog.Printf("request %s: upstream error: %v", st.reqID, err)
	return st.kongError(http.StatusBadGateway, msgBadGW)
}

// rewrite builds the upstream request: method, URI, headers after plugins,
// then Kong's X-Forwarded-* and X-Real-IP (which plugins cannot override,
// as they come from nginx proxy_set_header).
func (st *proxyState) rewrite(pr *httputil.ProxyRequest, svc *service, upgrade bool) {
	out, in := pr.Out, pr.In
	h := st.upHeader
	for _, c := range h.Values("Connection") {
		for _, tok := range strings.Split(c, ",") {
			h.Del(strings.TrimSpace(tok))
		}
	}
	te := h.Values("Te")
	for _, k := range hopHeaders {
		h.Del(k)
	}
	for _, v := range te {
		if strings.Contains(strings.ToLower(v), "trailers") {
			h.Set("Te", "trailers")
		}
	}
	if upgrade {
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", in.Header.Get("Upgrade"))
	}
	hostOverride := h.Get("Host")
	h.Del("Host")
	clientIP := in.RemoteAddr
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		clientIP = ip
	}
	if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
		h.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+clientIP)
	} else {
		h.Set("X-Forwarded-For", clientIP)
	}
	h.Set("X-Real-IP", clientIP)
	h.Set("X-Forwarded-Proto", st.scheme)
	// nginx's $host, which Kong sends: lower-case, no port, no trailing dot.
	h.Set("X-Forwarded-Host", strings.TrimSuffix(st.host, "."))
	h.Set("X-Forwarded-Port", strconv.Itoa(st.dstPort))
	// ctx.request_uri up to the query: the path as the client sent it.
	rawPath, _, _ := strings.Cut(in.RequestURI, "?")
	if rawPath == "" {
		rawPath = in.URL.EscapedPath()
	}
	h.Set("X-Forwarded-Path", rawPath)
	h.Del("X-Forwarded-Prefix")
	if st.route.stripPath && st.matchedPath != "" {
		h.Set("X-Forwarded-Prefix", st.matchedPath)
	}
	h.Set("X-Kong-Request-Id", st.reqID)
	setVia(h, clientHTTPVersion(in))
	out.Header = h
	out.Method = st.upMethod
	out.URL.Scheme = "http"
	if svc.protocol == "https" || svc.protocol == "grpcs" {
		out.URL.Scheme = "https"
	}
	out.URL.Host = net.JoinHostPort(svc.host, strconv.Itoa(svc.port)) // replaced per attempt
	// Kong sends escape(upstream_uri) verbatim; Go re-encodes Path unless
	// RawPath is a valid encoding of it, which the escaped form is.
	raw := escapePath(st.upPath)
	if p, err := url.PathUnescape(raw); err == nil {
		out.URL.Path, out.URL.RawPath = p, raw
	} else {
		out.URL.Path, out.URL.RawPath = raw, ""
	}
	if st.queryChanged {
		out.URL.RawQuery = st.upQuery.Encode()
	} else {
		out.URL.RawQuery = in.URL.RawQuery
	}
	if svc.protocol == "grpc" || svc.protocol == "grpcs" {
		st.grpcTarget(out.URL, in)
	}
	out.Host = st.upstreamHost
	if hostOverride != "" {
		out.Host = hostOverride
	}
}

// retryTransport picks a target per attempt and retries connection failures
// up to service.retries times (Kong's balancer retries).
type retryTransport struct {
	st   *proxyState
	svc  *service
	up   *upstream
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tried := map[*target]bool{}
	var lastErr error
	for attempt := 0; attempt <= t.svc.retries; attempt++ {
		host, port, hostHeader := t.svc.host, t.svc.port, ""
		if t.up != nil {
			tg := t.up.pickTarget(tried)
			if tg == nil && len(tried) > 0 {
				tried = map[*target]bool{} // every target failed once: start over
				tg = t.up.pickTarget(tried)
			}
			if tg == nil {
				return nil, errNoPeer
			}
			tried[tg] = true
			host, port, hostHeader = tg.host, tg.port, t.up.hostHeader
		}
		r2 := req.Clone(req.Context())
		r2.URL.Host = net.JoinHostPort(host, strconv.Itoa(port))
		if r2.Host == "" {
			r2.Host = upstreamHostHeader(hostHeader, host, port, req.URL.Scheme)
		}
		if attempt > 0 && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r2.Body = b
		}
		resp, err := t.base.RoundTrip(r2)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var op *net.OpError
		connectFailed := errors.As(err, &op) && op.Op == "dial"
		if !connectFailed || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return nil, err
		}
	}
	return nil, lastErr
}

// upstreamHostHeader implements Kong's set_host_header (reference 4.3).
func upstreamHostHeader(hostHeader, host string, port int, scheme string) string {
	if hostHeader != "" {
		host = hostHeader
	}
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		return hostForHeader(host)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func hostForHeader(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// setVia appends Kong's Via entry ("<http version> kong/<version>") to
// whatever Via the message already has, comma-joined, as Kong does for the
// upstream request ($upstream_via) and the proxied response.
func setVia(h http.Header, httpVersion string) {
	via := httpVersion + " kong/" + KongVersion
	if prior := h.Values("Via"); len(prior) > 0 {
		via = strings.Join(prior, ", ") + ", " + via
	}
	h.Set("Via", via)
}

// clientHTTPVersion is ngx.req.http_version() as Lua prints it: 1, 1.1 or 2.
func clientHTTPVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1"
	}
	return "1.1"
}

// upstreamHTTPVersion is the version Kong names in the response's Via:
// 2 for gRPC upstreams, else proxy_http_version (1.1).
func upstreamHTTPVersion(grpc bool) string {
	if grpc {
		return "2"
	}
	return "1.1"
}
