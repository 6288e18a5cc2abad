package netpol

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
)

// needRoot skips a test that loads rules into the kernel unless it runs as
// root with nft installed; under `make test` (LAB_BIN_DIR set) a missing
// privilege or tool fails instead.
func needRoot(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create network namespaces"
	} else if _, err := exec.LookPath(netns.NFT); err != nil {
		why = "needs nft (make lab-deps installs it)"
	}
	if why == "" {
		return
	}
	if os.Getenv("LAB_BIN_DIR") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// testNS creates a network namespace for one test and deletes it after.
func testNS(t *testing.T, suffix string) netns.NS {
	t.Helper()
	name := fmt.Sprintf("dbnptest-%d-%s", os.Getpid(), suffix)
	ns, err := netns.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// TestGoldenRulesetsLoad loads every ruleset of the golden files into a
// fresh namespace twice (the second time replaces the first) and reads the
// table back: the text is what the kernel takes.
func TestGoldenRulesetsLoad(t *testing.T) {
	needRoot(t)
	files, _ := filepath.Glob("testdata/*.out.nft")
	if len(files) == 0 {
		t.Fatal("no golden rulesets")
	}
	ns := testNS(t, "load")
	ctx := context.Background()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ruleset := range strings.SplitAfter(string(raw), "}\n}\n") {
			if strings.TrimSpace(ruleset) == "" {
				continue
			}
			for range 2 {
				if err := ns.Nft(ctx, ruleset); err != nil {
					t.Fatalf("%s: %v\n%s", f, err, ruleset)
				}
			}
			out, err := exec.Command("nsenter", "--net="+ns.Path(), netns.NFT, "list", "table", "inet", Table).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: list table: %v: %s", f, err, out)
			}
			if strings.Count(string(out), "chain ingress") != 1 {
				t.Fatalf("%s: the table holds %s", f, out)
			}
		}
	}
}

// TestEnforcedInTheKernel wires a server namespace to two client
// namespaces (a veth pair each, addresses in 10.250.0.0/16 that exist only
// in these namespaces), loads the server's ruleset and dials: the kernel
// admits exactly what the plan says, and a new ruleset takes over at once.
func TestEnforcedInTheKernel(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	srv, cli1, cli2 := testNS(t, "srv"), testNS(t, "cli1"), testNS(t, "cli2")
	for i, cli := range []netns.NS{cli1, cli2} {
		n := i + 1
		srvEnd := fmt.Sprintf("to-cli%d", n)
		for _, step := range [][]string{
			{"-n", srv.Name, "link", "add", srvEnd, "type", "veth", "peer", "name", "eth0", "netns", cli.Name},
			{"-n", srv.Name, "addr", "add", fmt.Sprintf("10.250.%d.1/24", n), "dev", srvEnd},
			{"-n", srv.Name, "link", "set", srvEnd, "up"},
			{"-n", cli.Name, "addr", "add", fmt.Sprintf("10.250.%d.2/24", n), "dev", "eth0"},
			{"-n", cli.Name, "link", "set", "eth0", "up"},
		} {
			if err := netns.Run(ctx, step...); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, port := range []string{"8080", "9090"} {
		ln, err := srv.Listen("tcp4", "0.0.0.0:"+port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("ok\n"))
				_ = c.Close()
			}
		}()
	}
	udp, err := srv.ListenPacket("udp4", "0.0.0.0:5353")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = udp.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = udp.WriteTo(buf[:n], from)
		}
	}()

	dialTCP := func(from netns.NS, addr string) error {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		c, err := from.DialContext(dctx, "tcp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 3)
		_, err = c.Read(buf)
		return err
	}
	askUDP := func(from netns.NS, addr string) error {
		c, err := from.DialContext(ctx, "udp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		_, err = c.Read(buf)
		return err
	}

	server := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "server", Namespace: "ns", Labels: map[string]string{"app": "server"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}}}}}}
	udpProto := corev1.ProtocolUDP
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Namespace: "ns"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Port: ptrTo(intstr.FromString("web"))}},
				},
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udpProto, Port: ptrTo(intstr.FromInt32(5353))}}},
			},
		},
	}
	load := func(cli2Role string) {
		t.Helper()
		st := State{Policies: []*networkingv1.NetworkPolicy{np}, Peers: []Peer{
			{Namespace: "ns", Name: "cli1", Labels: map[string]string{"role": "client"}, IPs: []netip.Addr{netip.MustParseAddr("10.250.1.2")}},
			{Namespace: "ns", Name: "cli2", Labels: map[string]string{"role": cli2Role}, IPs: []netip.Addr{netip.MustParseAddr("10.250.2.2")}},
		}}
		if err := srv.Nft(ctx, Ruleset(Compile(server, st))); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, err error, admitted bool) {
		t.Helper()
		if admitted && err != nil {
			t.Errorf("%s: refused: %v", what, err)
		}
		if !admitted && err == nil {
			t.Errorf("%s: admitted", what)
		}
	}

	expect("cli2 -> 8080 before any ruleset", dialTCP(cli2, "10.250.2.1:8080"), true)
	load("other")
	expect("cli1 -> 8080 (selected, named port)", dialTCP(cli1, "10.250.1.1:8080"), true)
	expect("cli1 -> 9090 (port not admitted)", dialTCP(cli1, "10.250.1.1:9090"), false)
	expect("cli2 -> 8080 (not selected)", dialTCP(cli2, "10.250.2.1:8080"), false)
	expect("cli2 -> udp 5353 (any source)", askUDP(cli2, "10.250.2.1:5353"), true)
	expect("server -> its own 9090 over loopback", dialTCP(srv, "127.0.0.1:9090"), true)
	expect("server -> its own address 10.250.1.1:9090", dialTCP(srv, "10.250.1.1:9090"), true)
	load("client")
	expect("cli2 -> 8080 once labelled client", dialTCP(cli2, "10.250.2.1:8080"), true)
	expect("cli2 -> 9090 still not admitted", dialTCP(cli2, "10.250.2.1:9090"), false)
}

func ptrTo[T any](v T) *T { return &v }
