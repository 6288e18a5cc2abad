package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestAssignLoadBalancers(t *testing.T) {
	now := time.Now()
	svc := func(name string, age time.Duration, typ corev1.ServiceType, ingress string, class *string) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec:       corev1.ServiceSpec{Type: typ, LoadBalancerClass: class},
		}
		if ingress != "" {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ingress}}
		}
		return s
	}
	services := []*corev1.Service{
		svc("has", 5*time.Minute, corev1.ServiceTypeLoadBalancer, "172.18.255.1", nil),
		svc("older", 3*time.Minute, corev1.ServiceTypeLoadBalancer, "", nil),
		svc("newer", time.Minute, corev1.ServiceTypeLoadBalancer, "", nil),
		svc("cluster", time.Minute, corev1.ServiceTypeClusterIP, "", nil),
		svc("foreign", time.Minute, corev1.ServiceTypeLoadBalancer, "", ptr.To("example.com/other")),
	}
	cs := fake.NewClientset()
	for _, s := range services {
		if _, err := cs.CoreV1().Services("ns").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := New(Options{Client: cs, LBPool: "172.18.255.0/24", Log: t.Logf})
	p.ctx = context.Background()
	p.assignLoadBalancers(services)

	want := map[string]string{"has": "172.18.255.1", "older": "172.18.255.2", "newer": "172.18.255.3", "cluster": "", "foreign": ""}
	for name, ip := range want {
		got, err := cs.CoreV1().Services("ns").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var have string
		if len(got.Status.LoadBalancer.Ingress) > 0 {
			have = got.Status.LoadBalancer.Ingress[0].IP
		}
		if have != ip {
			t.Errorf("%s: ingress %q, want %q", name, have, ip)
		}
	}
}

// TestAssignLoadBalancersHonorsLoadBalancerIP pins what a Service asking for
// an address with spec.loadBalancerIP gets: that address when it is in the
// pool and free (even replacing one it has), nothing when it cannot have it;
// and that the dynamic allocation never hands out an address someone asks for.
func TestAssignLoadBalancersHonorsLoadBalancerIP(t *testing.T) {
	now := time.Now()
	svc := func(name string, age time.Duration, loadBalancerIP, ingress string) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerIP: loadBalancerIP},
		}
		if ingress != "" {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ingress}}
		}
		return s
	}
	services := []*corev1.Service{
		svc("holder", 9*time.Minute, "", "172.18.255.1"),
		svc("kept", 8*time.Minute, "172.18.255.200", "172.18.255.200"),
		svc("fresh", 7*time.Minute, "172.18.255.240", ""),
		svc("moved", 6*time.Minute, "172.18.255.241", "172.18.255.5"),
		svc("outside", 5*time.Minute, "192.0.2.10", "172.18.255.6"),
		svc("taken", 4*time.Minute, "172.18.255.1", ""),
		svc("broadcast", 4*time.Minute, "172.18.255.255", ""),
		svc("garbage", 4*time.Minute, "not-an-ip", ""),
		svc("dynamic", 3*time.Minute, "", ""),
		// Asks for .2 and is the newest: "dynamic" must not take .2 first.
		svc("late", time.Minute, "172.18.255.2", ""),
	}
	cs := fake.NewClientset()
	for _, s := range services {
		if _, err := cs.CoreV1().Services("ns").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var logs []string
	p := New(Options{Client: cs, LBPool: "172.18.255.0/24", Log: func(format string, args ...any) {
		logs = append(logs, fmt.Sprintf(format, args...))
	}})
	p.ctx = context.Background()
	p.assignLoadBalancers(services)

	want := map[string]string{
		"holder":    "172.18.255.1",
		"kept":      "172.18.255.200",
		"fresh":     "172.18.255.240",
		"moved":     "172.18.255.241",
		"outside":   "",
		"taken":     "",
		"broadcast": "",
		"garbage":   "",
		// .1 is assigned and .2 is asked for by "late".
		"dynamic": "172.18.255.3",
		"late":    "172.18.255.2",
	}
	for name, ip := range want {
		got, err := cs.CoreV1().Services("ns").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, ing := range got.Status.LoadBalancer.Ingress {
			have = append(have, ing.IP)
		}
		if (ip == "" && len(have) != 0) || (ip != "" && (len(have) != 1 || have[0] != ip)) {
			t.Errorf("%s: ingress %q, want %q", name, have, ip)
		}
	}
	for _, fragment := range []string{
		"ns/outside asks for 192.0.2.10, but it is outside the pool 172.18.255.0/24",
		"ns/taken asks for 172.18.255.1, but it is assigned to ns/holder",
		"ns/garbage asks for not-an-ip, but it is not an IP address",
	} {
		if !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, fragment) }) {
			t.Errorf("no log line says %q; logs:\n%s", fragment, strings.Join(logs, "\n"))
		}
	}

	// A refusal is logged once, not on every resync.
	before := len(logs)
	current, err := cs.CoreV1().Services("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var again []*corev1.Service
	for i := range current.Items {
		again = append(again, &current.Items[i])
	}
	p.assignLoadBalancers(again)
	if extra := logs[before:]; len(extra) > 0 {
		t.Errorf("a second pass with nothing changed logged:\n%s", strings.Join(extra, "\n"))
	}
}
