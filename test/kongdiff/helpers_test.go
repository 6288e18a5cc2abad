package kongdiff

// Unit tests of the suite's own pure helpers; they run without Kong.

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "anything", true},
		{"a", "a", true},
		{"a", "ab", false},
		{"a*", "a/b/c", true},
		{"*host=FOO*", "h1 http:80 GET host=FOO.example /", true},
		{"*x*y", "axbxy", true},
		{"*x*y", "axbxz", false},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestLoadCasesAndKnown(t *testing.T) {
	cases, err := loadCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d golden configurations found", len(cases))
	}
	if ports := gatewayPorts(cases); len(ports) == 0 {
		t.Fatal("no Gateway ports in the golden expressions")
	}
	if _, err := loadKnown(); err != nil {
		t.Fatal(err)
	}
}

func TestRewriteForTraffic(t *testing.T) {
	cfg := `{"_format_version":"3.0",
	"services":[{"name":"s","host":"u","port":80,"protocol":"tcp","routes":[{"name":"r","protocols":["tls"],
	  "expression":"(net.dst.port == 443 || net.dst.port == 8443) && tls.sni == \"a\"","priority":70368744177663}]}],
	"upstreams":[{"name":"u","targets":[{"target":"10.0.0.1:3000","weight":1}]}]}`
	pool := &echoPool{names: []string{"t0"}, addrs: []string{"127.0.0.1:4000"}}
	ech := echoes{http: pool, grpc: pool, tcp: pool, udp: pool, probe: pool}
	rw, err := rewriteForTraffic([]byte(cfg), ech, map[int]int{443: 40443}, "tok", 0)
	if err != nil {
		t.Fatal(err)
	}
	out := string(rw.config)
	for _, want := range []string{`"target":"127.0.0.1:4000"`, `(net.dst.port == 443 || net.dst.port == 40443) \u0026\u0026 tls.sni`, `"priority":70368744177663`, `"message":"tok"`} {
		if !strings.Contains(out, want) {
			t.Errorf("rewritten config lacks %s:\n%s", want, out)
		}
	}
	if rw.labels["t0"] != "u 10.0.0.1:3000" {
		t.Errorf("label of t0 = %q", rw.labels["t0"])
	}
}

func TestCorpusIsBounded(t *testing.T) {
	f := gatherFacts([]byte(`{"services":[{"routes":[{"protocols":["http"],
	  "expression":"net.dst.port == 80 && http.host =^ \".example.com\" && http.path ^= \"/api\" && http.headers.x_a == \"1\" && http.queries.q == \"v\""},
	  {"protocols":["https"],"expression":"net.dst.port == 443 && tls.sni == \"s.example.com\""}]}]}`))
	if got := f.hosts; len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("hosts = %v", got)
	}
	reqs := corpus(f)
	if len(reqs) == 0 || len(reqs) > corpusLimit {
		t.Fatalf("corpus has %d requests", len(reqs))
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		seen[r.proto] = true
	}
	for _, p := range []string{"h1", "h2c", "h2", "grpc", "ws"} {
		if !seen[p] {
			t.Errorf("corpus lacks %s requests", p)
		}
	}
}
