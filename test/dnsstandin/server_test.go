package dnsstandin

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The Corefile the Gateway API conformance suite (v1.6.3 base manifests)
// gives its CoreDNS backend, with the port moved off 53 for the test.
const suiteCorefile = `.:%PORT% {
    forward . 8.8.8.8 9.9.9.9
    log
    errors
}
foo.bar.com:%PORT% {
  whoami
}
`

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestServesTheSuiteCorefile(t *testing.T) {
	port := freeUDPPort(t)
	blocks, err := ParseCorefile(strings.NewReader(strings.ReplaceAll(suiteCorefile, "%PORT%", strconv.Itoa(port))))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	srv := New(blocks, &log)
	if err := srv.Start("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	// whoami: the client's address and port, as CoreDNS answers.
	msg := new(dns.Msg)
	msg.SetQuestion("foo.bar.com.", dns.TypeA)
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(msg, addr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != dns.RcodeSuccess || len(resp.Extra) != 2 {
		t.Fatalf("whoami answer: %v", resp)
	}
	if a, ok := resp.Extra[0].(*dns.A); !ok || !a.A.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("A record = %v, want the client address", resp.Extra[0])
	}
	if srv, ok := resp.Extra[1].(*dns.SRV); !ok || srv.Port == 0 || !strings.HasPrefix(srv.Hdr.Name, "_udp.") {
		t.Errorf("SRV record = %v", resp.Extra[1])
	}

	// Over TCP too.
	c.Net = "tcp"
	if resp, _, err := c.Exchange(msg, addr); err != nil || !strings.HasPrefix(resp.Extra[1].Header().Name, "_tcp.") {
		t.Fatalf("whoami over TCP: %v %v", resp, err)
	}

	// Everything else would be forwarded outside the lab: never done.
	msg.SetQuestion("example.org.", dns.TypeA)
	c.Net = "udp"
	if resp, _, err := c.Exchange(msg, addr); err != nil || resp.Rcode != dns.RcodeServerFailure {
		t.Fatalf("forwarded zone: %v %v, want SERVFAIL", resp, err)
	}
	if !strings.Contains(log.String(), "foo.bar.com.") {
		t.Errorf("queries are not logged: %q", log.String())
	}
}

func TestParseCorefileRejectsWhatItCannotServe(t *testing.T) {
	for name, tc := range map[string]struct{ corefile, want string }{
		"unknown plugin":   {".:53 {\n  cache 30\n}\n", `plugin "cache" is outside the DNS stand-in's scope`},
		"plugin block":     {".:53 {\n  forward . 1.1.1.1 {\n  }\n}\n", "plugin blocks are not supported"},
		"unclosed block":   {".:53 {\n  whoami\n", "is not closed"},
		"bad port":         {".:99999 {\n whoami\n}\n", "invalid port"},
		"no block at all":  {"# nothing\n", "no server block"},
		"missing brace":    {".:53\n", `expected "zone[:port] {"`},
		"mixed ports keys": {"a.com:53, b.com:54 {\n whoami\n}\n", "different ports"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCorefile(strings.NewReader(tc.corefile))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	blocks, err := ParseCorefile(strings.NewReader("example.com, Other.org:5353 { # comment\n whoami\n}\n"))
	if err != nil || len(blocks) != 1 || blocks[0].Port != 5353 || blocks[0].Zones[1] != "other.org." {
		t.Fatalf("blocks = %+v, %v", blocks, err)
	}
}
