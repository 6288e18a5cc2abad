package kongdiff

// Rewriting a golden configuration for traffic: upstream targets point at
// local echo servers, the Kong-side port of remapped TLS listeners becomes
// the port real Kong bound, and a probe route tells when the configuration
// is live. Both data planes get the same rewritten bytes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// echoes are the pools a configuration's targets are spread over.
type echoes struct {
	// gRPC services get their own HTTP echoes: nginx keeps one upstream
	// keepalive pool per address, and a connection opened by grpc_pass
	// (h2c) reused by proxy_pass (HTTP/1.1), or the other way round,
	// fails; see the report of test/kongdiff.
	http, grpc, tcp, udp, probe *echoPool
}

// rewritten is a configuration ready for traffic plus what its upstreams
// are called.
type rewritten struct {
	config []byte
	// labels names what each echo stands for in this case: the original
	// target ("<upstream> <target>"), or "<upstream> (any target)" when the
	// upstream balances over several targets.
	labels map[string]string
}

var tlsPortPairRE = regexp.MustCompile(`\(net\.dst\.port == (\d+) \|\| net\.dst\.port == (\d+)\)`)

// rewriteForTraffic rewrites one configuration; token is what the probe
// route answers, probeEcho the TCP probe target for this load.
func rewriteForTraffic(raw []byte, ech echoes, kongTLSPorts map[int]int, token string, probeEcho int) (*rewritten, error) {
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	rw := &rewritten{labels: map[string]string{}}
	// Upstreams that carry HTTP/2 with prior knowledge (gRPC services,
	// routes with drawbridge-h2c, and the per-backend upstreams their
	// drawbridge-backend-select names) get the gRPC echoes: nginx pools
	// upstream connections by address, so an h2c connection left in the
	// pool by one case would be reused for HTTP/1.1 by the next one that
	// sends to the same echo, which then resets it.
	serviceProto := map[string]string{}
	for _, s := range list(cfg["services"]) {
		host, ok := s["host"].(string)
		if !ok {
			continue
		}
		proto, _ := s["protocol"].(string)
		if serviceProto[host] == "" || proto == "grpc" || proto == "grpcs" {
			serviceProto[host] = proto
		}
		for _, r := range list(s["routes"]) {
			h2 := proto == "grpc" || proto == "grpcs"
			for _, p := range list(r["plugins"]) {
				if p["name"] == "drawbridge-h2c" {
					h2 = true
				}
			}
			if !h2 {
				continue
			}
			serviceProto[host] = "grpc"
			for _, p := range list(r["plugins"]) {
				if p["name"] != "drawbridge-backend-select" {
					continue
				}
				c, _ := p["config"].(map[string]any)
				for _, b := range list(c["backends"]) {
					if u, ok := b["upstream"].(string); ok {
						serviceProto[u] = "grpc"
					}
				}
			}
		}
	}
	next := map[*echoPool]int{}
	pick := func(proto string) (*echoPool, int) {
		pool := ech.http
		switch proto {
		case "grpc", "grpcs":
			pool = ech.grpc
		case "tcp", "tls":
			pool = ech.tcp
		case "udp":
			pool = ech.udp
		}
		i := next[pool] % len(pool.addrs)
		next[pool]++
		return pool, i
	}
	label := func(name, l string) {
		if old, ok := rw.labels[name]; ok && old != l {
			l = old + " | " + l
		}
		rw.labels[name] = l
	}
	upstreams := map[string]bool{}
	for _, u := range list(cfg["upstreams"]) {
		name, _ := u["name"].(string)
		upstreams[name] = true
		targets := list(u["targets"])
		live := 0
		for _, tg := range targets {
			if w, ok := tg["weight"].(json.Number); !ok || w.String() != "0" {
				live++
			}
		}
		for _, tg := range targets {
			pool, i := pick(serviceProto[name])
			orig, _ := tg["target"].(string)
			if live > 1 {
				label(pool.names[i], name+" (any target)")
			} else {
				label(pool.names[i], name+" "+orig)
			}
			tg["target"] = pool.addrs[i]
		}
	}
	for _, s := range list(cfg["services"]) {
		host, _ := s["host"].(string)
		if upstreams[host] {
			continue
		}
		proto, _ := s["protocol"].(string)
		pool, i := pick(proto)
		h, p, _ := strings.Cut(pool.addrs[i], ":")
		port, _ := strconv.Atoi(p)
		label(pool.names[i], fmt.Sprintf("service %v", s["name"]))
		s["host"], s["port"] = h, port
	}
	// drawbridge-mirror carries its mirrors' endpoints in its config: they
	// become an HTTP echo too, so no copy leaves 127.0.0.1. The echoes are
	// stateless, so the copies change no answer.
	for _, s := range list(cfg["services"]) {
		for _, r := range list(s["routes"]) {
			for _, p := range list(r["plugins"]) {
				if p["name"] != "drawbridge-mirror" {
					continue
				}
				c, _ := p["config"].(map[string]any)
				for _, m := range list(c["mirrors"]) {
					if len(list2(m["endpoints"])) > 0 {
						m["endpoints"] = []any{ech.http.addrs[0]}
					}
				}
			}
		}
	}
	for _, s := range list(cfg["services"]) {
		for _, r := range list(s["routes"]) {
			if hasAny(r["protocols"], "tls", "tls_passthrough") {
				expr, _ := r["expression"].(string)
				r["expression"] = kongSidePorts(expr, kongTLSPorts)
			}
		}
	}
	addProbe(cfg, ech.probe, token, probeEcho)
	out, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	rw.config = out
	return rw, nil
}

// kongSidePorts rewrites the ports of a TLS stream route for the test's
// listeners. Kong matches such a route twice: on the listener, with the
// port after port_maps, and again on its internal TLS socket, with the
// port Kong bound (kong/router/fields.lua, proxy_protocol_server_port).
// The translator writes "net.dst.port == G" where Kong binds G itself, and
// "(net.dst.port == G || net.dst.port == K)" where it binds K = G+8000;
// here Kong binds neither, so both forms become G or the bound port.
func kongSidePorts(expr string, kongTLSPorts map[int]int) string {
	expr = tlsPortPairRE.ReplaceAllString(expr, "net.dst.port == $1")
	return dstPortRE.ReplaceAllStringFunc(expr, func(m string) string {
		g, _ := strconv.Atoi(dstPortRE.FindStringSubmatch(m)[1])
		if k, ok := kongTLSPorts[g]; ok {
			return fmt.Sprintf("(net.dst.port == %d || net.dst.port == %d)", g, k)
		}
		return m
	})
}

const probePath = "/kongdiff-probe"

// addProbe adds an HTTP route that answers the token (request-termination)
// and a TCP route to one probe echo, both on probePort only.
func addProbe(cfg map[string]any, probe *echoPool, token string, probeEcho int) {
	h, p, _ := strings.Cut(probe.addrs[probeEcho], ":")
	port, _ := strconv.Atoi(p)
	services, _ := cfg["services"].([]any)
	cfg["services"] = append(services,
		map[string]any{
			"name": "kongdiff-probe-http", "host": "127.0.0.1", "port": 9, "protocol": "http",
			"routes": []any{map[string]any{
				"name": "kongdiff-probe-http", "protocols": []any{"http"}, "priority": 1,
				"expression": fmt.Sprintf(`net.dst.port == %d && http.path == %q`, probePort, probePath),
				"plugins": []any{map[string]any{
					"name":   "request-termination",
					"config": map[string]any{"status_code": 200, "message": token},
				}},
			}},
		},
		map[string]any{
			"name": "kongdiff-probe-tcp", "host": h, "port": port, "protocol": "tcp",
			"routes": []any{map[string]any{
				"name": "kongdiff-probe-tcp", "protocols": []any{"tcp"}, "priority": 1,
				"expression": fmt.Sprintf(`net.dst.port == %d`, probePort),
			}},
		},
	)
}

// list returns the objects of a JSON array (others are skipped).
func list(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// list2 returns the elements of a JSON array.
func list2(v any) []any {
	arr, _ := v.([]any)
	return arr
}

func hasAny(v any, want ...string) bool {
	arr, _ := v.([]any)
	for _, e := range arr {
		for _, w := range want {
			if e == w {
				return true
			}
		}
	}
	return false
}
