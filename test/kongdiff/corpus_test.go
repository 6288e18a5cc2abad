package kongdiff

// The request corpus of one case, generated from what its route
// expressions test: hosts (in any letter case, with ports), paths (encoded
// and unusual forms), methods, headers and query arguments, over every
// protocol the routes serve. Bounded: at most corpusLimit requests a case.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const corpusLimit = 120

// facts is what a case's expressions test.
type facts struct {
	targets                 map[kind]map[int]bool // listeners the routes serve
	hosts, snis, paths      []string
	methods, contentTypes   []string
	headers, queries        [][2]string
	grpc, stream, hasRoutes bool
	// keyAuth says a key-auth plugin is configured; keys are the
	// key-auth credential keys of the configuration's consumers.
	keyAuth bool
	keys    []string
}

// unknownKey is a key-auth key no configuration holds.
const unknownKey = "kongdiff-unknown-key"

var predicateRE = regexp.MustCompile(`([a-z_.]+) (==|=\^|\^=|~) "((?:[^"\\]|\\.)*)"`)

// gatherFacts reads every route expression of a configuration.
func gatherFacts(cfg []byte) facts {
	type plugin struct {
		Name string `json:"name"`
	}
	type keyCred struct {
		Key string `json:"key"`
	}
	var c struct {
		Services []struct {
			Plugins []plugin `json:"plugins"`
			Routes  []struct {
				Expression string   `json:"expression"`
				Protocols  []string `json:"protocols"`
				Plugins    []plugin `json:"plugins"`
			} `json:"routes"`
		} `json:"services"`
		Plugins   []plugin `json:"plugins"`
		Consumers []struct {
			KeyauthCredentials []keyCred `json:"keyauth_credentials"`
		} `json:"consumers"`
		KeyauthCredentials []keyCred `json:"keyauth_credentials"`
	}
	_ = json.Unmarshal(cfg, &c)
	f := facts{targets: map[kind]map[int]bool{}}
	add := func(list *[]string, v string) {
		for _, e := range *list {
			if e == v {
				return
			}
		}
		*list = append(*list, v)
	}
	addPair := func(list *[][2]string, k, v string) {
		for _, e := range *list {
			if e[0] == k {
				return
			}
		}
		*list = append(*list, [2]string{k, v})
	}
	isKeyAuth := func(ps []plugin) {
		for _, p := range ps {
			f.keyAuth = f.keyAuth || p.Name == "key-auth"
		}
	}
	isKeyAuth(c.Plugins)
	for _, cons := range c.Consumers {
		for _, k := range cons.KeyauthCredentials {
			add(&f.keys, k.Key)
		}
	}
	for _, k := range c.KeyauthCredentials {
		add(&f.keys, k.Key)
	}
	for _, s := range c.Services {
		isKeyAuth(s.Plugins)
		for _, r := range s.Routes {
			if strings.Contains(r.Expression, "kongdiff-probe") {
				continue
			}
			isKeyAuth(r.Plugins)
			f.hasRoutes = true
			var ports []int
			for _, m := range dstPortRE.FindAllStringSubmatch(r.Expression, -1) {
				p, _ := strconv.Atoi(m[1])
				ports = append(ports, p)
			}
			if len(ports) == 0 {
				ports = []int{80}
			}
			for _, proto := range r.Protocols {
				var k kind
				switch proto {
				case "http", "ws":
					k = kindHTTP
				case "https", "wss":
					k = kindHTTPS
				case "grpc":
					k, f.grpc = kindHTTP, true
				case "grpcs":
					k, f.grpc = kindHTTPS, true
				case "tcp":
					k, f.stream = kindTCP, true
				case "udp":
					k, f.stream = kindUDP, true
				case "tls", "tls_passthrough":
					k, f.stream = kindTLS, true
				default:
					continue
				}
				if f.targets[k] == nil {
					f.targets[k] = map[int]bool{}
				}
				for _, p := range ports {
					f.targets[k][p] = true
				}
			}
			for _, m := range predicateRE.FindAllStringSubmatch(r.Expression, -1) {
				field, op, val := m[1], m[2], unquote(m[3])
				sample := sampleFor(op, val)
				switch {
				case field == "http.host":
					add(&f.hosts, sample)
				case field == "tls.sni":
					add(&f.snis, sample)
				case field == "http.path":
					if !strings.HasPrefix(sample, "/") {
						sample = "/" + sample
					}
					add(&f.paths, sample)
					if op == "^=" && !strings.HasSuffix(val, "/") {
						add(&f.paths, val+"/sub")
					}
				case field == "http.method":
					add(&f.methods, val)
				case field == "http.headers.content_type":
					// Sent on one request only: on every request it would
					// turn the whole corpus into (would-be) gRPC traffic.
					add(&f.contentTypes, sample)
				case strings.HasPrefix(field, "http.headers."):
					addPair(&f.headers, strings.ReplaceAll(strings.TrimPrefix(field, "http.headers."), "_", "-"), sample)
				case strings.HasPrefix(field, "http.queries."):
					addPair(&f.queries, strings.TrimPrefix(field, "http.queries."), sample)
				}
			}
		}
	}
	return f
}

func unquote(s string) string {
	r := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n", `\r`, "\r", `\t`, "\t")
	return r.Replace(s)
}

// sampleFor makes a value that the predicate accepts: the value itself,
// a name under a suffix, or the literal start of a regex.
func sampleFor(op, val string) string {
	switch op {
	case "=^":
		return "a" + val
	case "~":
		s := strings.TrimPrefix(val, "^")
		for i, ch := range s {
			if strings.ContainsRune(`\.[]()*+?{}|$`, ch) {
				s = s[:i]
				break
			}
		}
		return s
	}
	return val
}

// corpus builds the requests for one case.
func corpus(f facts) []request {
	var out []request
	push := func(r request) {
		if len(out) < corpusLimit {
			out = append(out, r)
		}
	}
	hosts := capList(append(append([]string{}, f.hosts...), f.snis...), 3)
	hosts = append(hosts, "nomatch.example")
	paths := capList(f.paths, 4)
	if len(paths) == 0 || paths[0] != "/" {
		paths = append(paths, "/")
	}
	for _, k := range []kind{kindHTTP, kindHTTPS, kindTLS, kindTCP, kindUDP} {
		for _, port := range sortedPorts(f.targets[k]) {
			switch k {
			case kindHTTP, kindHTTPS:
				httpCorpus(push, f, k, port, hosts, paths)
			case kindTLS:
				for _, sni := range append(capList(append(append([]string{}, f.snis...), f.hosts...), 3), "", "nomatch.example", strings.ToUpper(firstOr(f.snis, "example.com"))) {
					push(request{proto: "tls", kind: k, port: port, sni: sni})
				}
			case kindTCP:
				push(request{proto: "tcp", kind: k, port: port})
			case kindUDP:
				push(request{proto: "udp", kind: k, port: port})
			}
		}
	}
	return out
}

func httpCorpus(push func(request), f facts, k kind, port int, hosts, paths []string) {
	query := ""
	for i, q := range f.queries {
		if i > 0 {
			query += "&"
		}
		query += q[0] + "=" + q[1]
	}
	withQuery := func(p, q string) string {
		if q == "" {
			return p
		}
		return p + "?" + q
	}
	h1 := func(method, host, path string, hdr [][2]string) request {
		r := request{proto: "h1", kind: k, port: port, method: method, host: host, path: path, headers: hdr}
		if k == kindHTTPS {
			r.sni = sniOf(host)
		}
		return r
	}
	h0, p0 := hosts[0], paths[0]
	// Every host with every path, with the headers and query the routes test.
	for _, h := range hosts {
		for _, p := range paths {
			push(h1("GET", h, withQuery(p, query), f.headers))
		}
	}
	// Methods.
	for _, m := range append([]string{"POST", "HEAD", "DELETE"}, capList(f.methods, 2)...) {
		push(h1(m, h0, withQuery(p0, query), f.headers))
	}
	// Host forms: letter case, ports, trailing dot, none.
	for _, v := range []struct{ host, note string }{
		{strings.ToUpper(h0), "upper-case Host"}, {mixedCase(h0), "mixed-case Host"},
		{fmt.Sprintf("%s:%d", h0, port), "Host with port"}, {h0 + ":1234", "Host with other port"},
		{h0 + ".", "Host with trailing dot"}, {"", "no Host"},
	} {
		r := h1("GET", v.host, withQuery(p0, query), f.headers)
		r.note = v.note
		push(r)
	}
	// Paths: encoded, doubled and dotted segments, trailing slash, case.
	base := strings.TrimSuffix(p0, "/")
	for _, p := range []string{
		base + "/", base + "/x", base + "x", "/x" + base, base + "%20y", base + "/%2Fy", "/" + p0, base + "/./z", base + "/y/../z",
		strings.ToUpper(p0), encodeUnreserved(p0), p0 + "?extra=1",
	} {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		push(h1("GET", h0, withQuery(p, query), f.headers))
	}
	// key-auth: a key from the configuration (or, without consumers, one
	// no consumer holds) in the apikey header and query argument, on
	// every host and path, so the 401 and the authenticated answers are
	// compared wherever a key-auth route may be.
	if f.keyAuth {
		keys := append(capList(f.keys, 1), unknownKey)
		for _, h := range hosts {
			for _, p := range paths {
				for _, key := range keys {
					r := h1("GET", h, withQuery(p, query), append(append([][2]string{}, f.headers...), [2]string{"apikey", key}))
					r.note = "key-auth key in header"
					if key == unknownKey {
						r.note = "unknown key-auth key in header"
					}
					push(r)
				}
				push(h1("GET", h, withQuery(p, strings.TrimPrefix(query+"&apikey="+keys[0], "&")), f.headers))
			}
		}
	}
	// Headers and query arguments: missing, other values, other case.
	if len(f.headers) > 0 {
		push(h1("GET", h0, withQuery(p0, query), nil))
		var other, upper [][2]string
		for _, h := range f.headers {
			other = append(other, [2]string{h[0], h[1] + "-other"})
			upper = append(upper, [2]string{strings.ToUpper(h[0]), strings.ToUpper(h[1])})
		}
		push(h1("GET", h0, withQuery(p0, query), other))
		r := h1("GET", h0, withQuery(p0, query), upper)
		r.note = "upper-case header name and value"
		push(r)
	}
	for _, ct := range capList(f.contentTypes, 1) {
		r := h1("POST", h0, withQuery(p0, query), append(append([][2]string{}, f.headers...), [2]string{"content-type", ct}))
		r.note = "content-type a route tests, over HTTP/1.1"
		push(r)
	}
	if query != "" {
		push(h1("GET", h0, p0, f.headers))
		r := h1("GET", h0, withQuery(p0, strings.ToUpper(query)), f.headers)
		r.note = "upper-case query"
		push(r)
		push(h1("GET", h0, withQuery(p0, query+"&"+query), f.headers))
	}
	// HTTP/2 (h2c on plain listeners, h2 over TLS), gRPC and WebSocket.
	h2 := "h2c"
	if k == kindHTTPS {
		h2 = "h2"
	}
	for _, h := range hosts[:min(2, len(hosts))] {
		r := h1("GET", h, withQuery(p0, query), f.headers)
		r.proto = h2
		push(r)
		g := h1("POST", h, p0, f.headers)
		g.proto = "grpc"
		push(g)
		ws := h1("GET", h, withQuery(p0, query), f.headers)
		ws.proto = "ws"
		push(ws)
	}
	if f.grpc {
		g := h1("POST", h0, "/unknown.Service/Method", f.headers)
		g.proto = "grpc"
		push(g)
		// gRPC's content type over HTTP/1.1.
		r := h1("POST", h0, p0, append(append([][2]string{}, f.headers...), [2]string{"content-type", "application/grpc"}))
		r.note = "gRPC content-type over HTTP/1.1"
		push(r)
	}
	if k == kindHTTPS {
		// TLS without SNI, and with an SNI other than the Host.
		r := h1("GET", h0, withQuery(p0, query), f.headers)
		r.sni = ""
		push(r)
		r.sni = "nomatch.example"
		push(r)
		if len(hosts) > 2 {
			r.sni = sniOf(hosts[1])
			push(r)
		}
	}
}

func sniOf(host string) string {
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

func mixedCase(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i += 2 {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// encodeUnreserved percent-encodes the first letter of the path.
func encodeUnreserved(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return p[:i] + fmt.Sprintf("%%%02X", c) + p[i+1:]
		}
	}
	return p + "%7E"
}

func capList(l []string, n int) []string {
	if len(l) > n {
		return l[:n]
	}
	return l
}

func firstOr(l []string, d string) string {
	if len(l) > 0 {
		return l[0]
	}
	return d
}

func sortedPorts(m map[int]bool) []int {
	var out []int
	for p := range m {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}
