package kongstandin

// drawbridge-mirror, Drawbridge's own RequestMirror plugin
// (internal/kong/luaplugins/plugins/drawbridge-mirror/handler.lua), as the
// stand-in runs it: after request-transformer (PRIORITY 800), each sampled
// request is copied (method, upstream path and query, headers after the
// plugins, body up to max_body_bytes) to one random endpoint of each
// mirror, from a goroutine, and the answer is thrown away. The client's
// answer never depends on it. Unlike Kong, whose bound is per worker, the
// stand-in bounds copies in flight per plugin instance.

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// mirrorPriority is the handler's PRIORITY.
const mirrorPriority = 800

type mirrorTargetRT struct {
	endpoints              []string
	numerator, denominator int
}

type mirrorPlugin struct {
	noHeaderFilter
	mirrors     []mirrorTargetRT
	maxBody     int
	maxInFlight int64
	timeout     time.Duration
	inFlight    atomic.Int64
	client      *http.Client
}

// intOr reads an integer config field, or def when it is absent (the
// schema default, which the stand-in applies at run time for opaque
// plugins).
func intOr(cfg map[string]any, k string, def int) int {
	if _, ok := cfg[k]; !ok {
		return def
	}
	return getInt(cfg, k)
}

func newMirror(cfg map[string]any) *mirrorPlugin {
	p := &mirrorPlugin{
		maxBody:     intOr(cfg, "max_body_bytes", 65536),
		maxInFlight: int64(intOr(cfg, "max_in_flight", 128)),
		timeout:     time.Duration(intOr(cfg, "timeout", 5000)) * time.Millisecond,
	}
	for _, m := range mirrorList(cfg["mirrors"]) {
		p.mirrors = append(p.mirrors, mirrorTargetRT{
			endpoints:   getStrings(m, "endpoints"),
			numerator:   intOr(m, "numerator", 100),
			denominator: intOr(m, "denominator", 100),
		})
	}
	p.client = &http.Client{Timeout: p.timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 32},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p
}

// mirrorList returns the objects of a JSON array.
func mirrorList(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func (p *mirrorPlugin) access(st *proxyState) *exitResponse {
	var picked []mirrorTargetRT
	for _, m := range p.mirrors {
		if m.numerator >= m.denominator || (m.numerator > 0 && rand.IntN(m.denominator) < m.numerator) {
			picked = append(picked, m)
		}
	}
	r := st.req
	if len(picked) == 0 || r.Header.Get("Upgrade") != "" || p.inFlight.Load() >= p.maxInFlight {
		return nil
	}
	body, ok := p.readBody(r)
	if !ok {
		return nil
	}
	target := escapePath(st.upPath)
	if st.queryChanged {
		if q := st.upQuery.Encode(); q != "" {
			target += "?" + q
		}
	} else if r.URL.RawQuery != "" || strings.HasSuffix(r.RequestURI, "?") {
		target += "?" + r.URL.RawQuery
	}
	h := st.upHeader.Clone()
	host := st.upstreamHost
	if v := h.Get("Host"); v != "" {
		host = v
	}
	for _, c := range h.Values("Connection") {
		for _, tok := range strings.Split(c, ",") {
			h.Del(strings.TrimSpace(tok))
		}
	}
	for _, k := range append([]string{"Host", "Content-Length", "Expect"}, hopHeaders...) {
		h.Del(k)
	}
	clientIP := r.RemoteAddr
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		clientIP = ip
	}
	if prior := h.Values("X-Forwarded-For"); len(prior) > 0 {
		h.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+clientIP)
	} else {
		h.Set("X-Forwarded-For", clientIP)
	}
	h.Set("X-Real-IP", clientIP)
	h.Set("X-Forwarded-Proto", st.scheme)
	h.Set("X-Forwarded-Host", strings.TrimSuffix(st.host, "."))
	h.Set("X-Forwarded-Port", strconv.Itoa(st.dstPort))
	setVia(h, clientHTTPVersion(r))
	method := st.upMethod
	for _, m := range picked {
		if len(m.endpoints) == 0 || p.inFlight.Add(1) > p.maxInFlight {
			if len(m.endpoints) > 0 {
				p.inFlight.Add(-1)
			}
			continue
		}
		ep := m.endpoints[rand.IntN(len(m.endpoints))]
		go p.send(method, ep, target, host, h.Clone(), body)
	}
	return nil
}

// readBody reads up to maxBody bytes and puts them back in front of the
// rest; ok is false when the body is over the limit (the request is then
// not mirrored).
func (p *mirrorPlugin) readBody(r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	if r.ContentLength > int64(p.maxBody) {
		return nil, false
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, int64(p.maxBody)+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
	if err != nil || len(buf) > p.maxBody {
		return nil, false
	}
	return buf, true
}

func (p *mirrorPlugin) send(method, endpoint, target, host string, h http.Header, body []byte) {
	defer p.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return
	}
	// Opaque keeps the path bytes Kong would send.
	path, q, hasQ := strings.Cut(target, "?")
	req.URL.Opaque, req.URL.RawQuery, req.URL.ForceQuery = path, q, hasQ && q == ""
	if body == nil {
		req.Body = http.NoBody
	}
	req.Header = h
	req.Host = host
	resp, err := p.client.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}
