package proxy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func slice(name string, port int32, portName string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   eps,
	}
}

func ep(ip string, ready *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
}

func TestBackendsAreReadyEndpointsOfThePort(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, s := range []*discoveryv1.EndpointSlice{
		slice("a", 8080, "http", ep("10.244.0.2", ptr.To(true)), ep("10.244.0.3", ptr.To(false)), ep("10.244.0.4", nil)),
		slice("b", 8080, "http", ep("10.244.0.2", ptr.To(true)), ep("10.244.0.5", ptr.To(true))),
		slice("c", 9090, "metrics", ep("10.244.0.9", ptr.To(true))),
	} {
		if err := idx.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	p := New(Options{APIServer: "127.0.0.1:6443"})
	p.slices = discoverylisters.NewEndpointSliceLister(idx)

	got, viaHost := p.backends(target{service: "ns/web", portName: "http"}, corev1.ProtocolTCP)
	want := []string{"10.244.0.2:8080", "10.244.0.4:8080", "10.244.0.5:8080"}
	if viaHost || len(got) != len(want) {
		t.Fatalf("backends = %v (viaHost %v), want %v", got, viaHost, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backends = %v, want %v", got, want)
		}
	}
	if got, _ := p.backends(target{service: "ns/web", portName: "http"}, corev1.ProtocolUDP); len(got) != 0 {
		t.Errorf("a UDP port must not use TCP endpoints: %v", got)
	}
	got, viaHost = p.backends(target{service: "default/kubernetes", portName: "https"}, corev1.ProtocolTCP)
	if !viaHost || len(got) != 1 || got[0] != "127.0.0.1:6443" {
		t.Errorf("the kubernetes Service must go to the host apiserver, got %v %v", got, viaHost)
	}

	// Round-robin over the ready endpoints.
	seen := map[string]int{}
	for range 6 {
		b, _, err := p.pick(target{service: "ns/web", portName: "http"}, corev1.ProtocolTCP)
		if err != nil {
			t.Fatal(err)
		}
		seen[b]++
	}
	for _, w := range want {
		if seen[w] != 2 {
			t.Errorf("round robin: %v", seen)
		}
	}
	if _, _, err := p.pick(target{service: "ns/none", portName: "http"}, corev1.ProtocolTCP); err == nil {
		t.Error("a service without endpoints must fail to pick")
	}
}
