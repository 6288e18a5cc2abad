package netpol

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.nft from the current output")

// readCase reads testdata/<case>.in.yaml: Namespaces, Pods (their
// addresses in status.podIPs or status.podIP) and NetworkPolicies, as
// YAML documents.
func readCase(t *testing.T, path string) ([]*corev1.Pod, State) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st := State{Namespaces: map[string]map[string]string{}}
	var pods []*corev1.Pod
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		switch u.GetKind() {
		case "Namespace":
			st.Namespaces[u.GetName()] = u.GetLabels()
		case "Pod":
			var p corev1.Pod
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &p, true); err != nil {
				t.Fatalf("%s: pod %s: %v", path, u.GetName(), err)
			}
			pods = append(pods, &p)
			st.Peers = append(st.Peers, peerOf(t, &p))
		case "NetworkPolicy":
			var np networkingv1.NetworkPolicy
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &np, true); err != nil {
				t.Fatalf("%s: policy %s: %v", path, u.GetName(), err)
			}
			st.Policies = append(st.Policies, &np)
		default:
			t.Fatalf("%s: unexpected kind %q", path, u.GetKind())
		}
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name
	})
	return pods, st
}

func peerOf(t *testing.T, p *corev1.Pod) Peer {
	peer := Peer{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels}
	ips := p.Status.PodIPs
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: p.Status.PodIP}}
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip.IP)
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
		peer.IPs = append(peer.IPs, a)
	}
	return peer
}

// TestRulesetGolden renders the ruleset of every pod of each
// testdata/<case>.in.yaml, in namespace/name order, and compares them with
// <case>.out.nft.
func TestRulesetGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			got := renderCase(t, in)
			out := strings.TrimSuffix(in, ".in.yaml") + ".out.nft"
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("read %s (go test ./internal/lab/netpol -update creates it): %v", out, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs; run with -update and review the diff.\n--- got ---\n%s", out, got)
			}
		})
	}
}

func renderCase(t *testing.T, in string) []byte {
	pods, st := readCase(t, in)
	if len(pods) == 0 {
		t.Fatalf("%s has no pods", in)
	}
	var out bytes.Buffer
	for _, p := range pods {
		out.WriteString(Ruleset(Compile(p, st)))
		out.WriteString("\n")
	}
	return out.Bytes()
}
