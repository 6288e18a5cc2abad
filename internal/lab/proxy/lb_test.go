package proxy

import (
	"context"
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
