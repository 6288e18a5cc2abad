package netpol

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/drawbridge-dev/drawbridge/internal/lab/netns"
)

// loaded records what the enforcer wrote into each namespace.
type loaded struct {
	mu   sync.Mutex
	by   map[string]string
	fail map[string]bool
}

func (l *loaded) apply(_ context.Context, ns netns.NS, ruleset string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail[ns.Name] {
		return errors.New("nft refused it")
	}
	l.by[ns.Name] = ruleset
	return nil
}

func (l *loaded) get(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[name]
}

func TestEnforcerFollowsTheCluster(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pod := func(name string, lbls map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", UID: types.UID("uid-" + name), Labels: lbls},
			Spec:       corev1.PodSpec{NodeName: "lab-node", Containers: []corev1.Container{{Name: "c", Image: "x"}}},
		}
	}
	server := pod("server", map[string]string{"app": "server"})
	client := pod("client", map[string]string{"role": "client"})
	bystander := pod("bystander", map[string]string{"role": "client"})
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}},
		server, client, bystander,
	)
	factory := informers.NewSharedInformerFactory(cs, 0)
	rec := &loaded{by: map[string]string{}, fail: map[string]bool{"ns-broken": true}}
	e, err := New(cs, factory, Options{NodeName: "lab-node", Apply: rec.apply, Debounce: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), e.HasSynced) {
		t.Fatal("informers did not sync")
	}
	go e.Run(ctx)

	// A policy created just before the pod starts is in its first ruleset.
	_, err = cs.NetworkingV1().NetworkPolicies("app").Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Namespace: "app", UID: "uid-policy"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Attach(ctx, server, netns.NS{Name: "ns-server"}, netip.MustParseAddr("10.244.0.3")); err != nil {
		t.Fatal(err)
	}
	first := rec.get("ns-server")
	if !strings.Contains(first, "isolated by app/server") {
		t.Fatalf("first ruleset of the server is not isolated:\n%s", first)
	}
	// The bystander runs on this node but is not attached: it has no
	// network, so no address of its counts, and neither does the client's
	// until it is attached.
	if strings.Contains(first, "ip saddr") {
		t.Fatalf("a pod without network is a source:\n%s", first)
	}
	if got, ok := e.Ruleset(server.UID); !ok || got != first {
		t.Fatalf("Ruleset(server) = %q, %v", got, ok)
	}

	// Attaching the client puts its address in the server's ruleset at once.
	if err := e.Attach(ctx, client, netns.NS{Name: "ns-client"}, netip.MustParseAddr("10.244.0.4")); err != nil {
		t.Fatal(err)
	}
	if got := rec.get("ns-server"); !strings.Contains(got, "ip saddr { 10.244.0.4 } accept") {
		t.Fatalf("the client's address is not admitted:\n%s", got)
	}
	if got := rec.get("ns-client"); !strings.Contains(got, "not isolated") {
		t.Fatalf("the client is isolated:\n%s", got)
	}

	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s; the server holds:\n%s", what, rec.get("ns-server"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The client's network goes away: its address leaves the ruleset.
	e.Detach(client.UID)
	eventually("the detached client's address stays", func() bool { return !strings.Contains(rec.get("ns-server"), "10.244.0.4") })
	if err := e.Attach(ctx, client, netns.NS{Name: "ns-client"}, netip.MustParseAddr("10.244.0.9")); err != nil {
		t.Fatal(err)
	}
	if got := rec.get("ns-server"); !strings.Contains(got, "ip saddr { 10.244.0.9 } accept") {
		t.Fatalf("the client's new address is not admitted:\n%s", got)
	}

	// A label change of a peer is followed.
	relabelled := client.DeepCopy()
	relabelled.Labels = map[string]string{"role": "other"}
	if _, err := cs.CoreV1().Pods("app").Update(ctx, relabelled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the relabelled client stays admitted", func() bool { return !strings.Contains(rec.get("ns-server"), "10.244.0.9") })

	// Deleting the policy lifts the isolation.
	if err := cs.NetworkingV1().NetworkPolicies("app").Delete(ctx, "server", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("the server stays isolated", func() bool { return strings.Contains(rec.get("ns-server"), "not isolated") })

	// A ruleset that does not load fails the attach, so the pod never starts.
	broken := pod("broken", nil)
	if err := e.Attach(ctx, broken, netns.NS{Name: "ns-broken"}, netip.MustParseAddr("10.244.0.10")); err == nil || !strings.Contains(err.Error(), "nft refused it") {
		t.Fatalf("Attach with a failing load: %v", err)
	}
	if _, ok := e.Ruleset(broken.UID); ok {
		t.Fatal("a pod whose ruleset failed stays attached")
	}
}
