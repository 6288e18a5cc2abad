package netpol

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

var (
	nodeIP     = netip.MustParseAddr("10.244.0.1")
	operatorIP = netip.MustParseAddr("10.244.0.2")
	kongIP     = netip.MustParseAddr("10.244.0.3")
	otherIP    = netip.MustParseAddr("10.244.0.4")
	impostorIP = netip.MustParseAddr("10.244.0.5")
)

// TestDrawbridgePolicyAdmitsOnlyTheOperatorToTheAdminPort compiles the
// NetworkPolicy that internal/provision renders for a Gateway with a
// listener of every protocol, for the Kong pod of its Deployment: the
// operator alone reaches the admin port, every source reaches the status
// port and each listener port with the listener's protocol, and nothing
// else is admitted.
func TestDrawbridgePolicyAdmitsOnlyTheOperatorToTheAdminPort(t *testing.T) {
	passthrough := gwv1.TLSModePassthrough
	gw := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", UID: "00000000-0000-0000-0000-000000000001"},
		Spec: gwv1.GatewaySpec{GatewayClassName: "drawbridge", Listeners: []gwv1.Listener{
			{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType},
			{Name: "tcp", Port: 5432, Protocol: gwv1.TCPProtocolType},
			{Name: "udp", Port: 53, Protocol: gwv1.UDPProtocolType},
			{Name: "tls", Port: 8443, Protocol: gwv1.TLSProtocolType, TLS: &gwv1.ListenerTLSConfig{Mode: &passthrough}},
		}},
	}
	var listeners []gwv1.Listener
	for i, r := range gatewayapi.ValidateListeners(gatewayapi.ListenerInput{Gateway: gw}) {
		if r.Serves() {
			listeners = append(listeners, gw.Spec.Listeners[i])
		}
	}
	if len(listeners) != len(gw.Spec.Listeners) {
		t.Fatalf("%d of %d listeners serve", len(listeners), len(gw.Spec.Listeners))
	}
	operatorLabels := map[string]string{"app.kubernetes.io/name": "drawbridge"}
	objs, err := provision.Render(provision.Input{
		Gateway: gw, Config: provision.Merge(nil, nil), Listeners: listeners,
		OperatorNamespace: "drawbridge-system", OperatorPodLabels: operatorLabels,
	})
	if err != nil {
		t.Fatal(err)
	}
	tpl := objs.Deployment.Spec.Template
	kong := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-kong-1", Namespace: "apps", Labels: tpl.Labels}, Spec: tpl.Spec}
	st := State{
		Policies:   []*networkingv1.NetworkPolicy{objs.NetworkPolicy},
		Namespaces: map[string]map[string]string{"drawbridge-system": nil, "apps": nil},
		Peers: []Peer{
			{Namespace: "drawbridge-system", Name: "drawbridge-1", Labels: operatorLabels, IPs: []netip.Addr{operatorIP}},
			{Namespace: "apps", Name: "web-kong-1", Labels: tpl.Labels, IPs: []netip.Addr{kongIP}},
			{Namespace: "apps", Name: "client", Labels: map[string]string{"app": "client"}, IPs: []netip.Addr{otherIP}},
			// The operator's labels in another namespace are not the operator.
			{Namespace: "apps", Name: "impostor", Labels: operatorLabels, IPs: []netip.Addr{impostorIP}},
		},
	}
	plan := Compile(kong, st)
	if !plan.Isolated {
		t.Fatal("the Kong pod is not isolated by the rendered policy")
	}
	for _, p := range provision.MapPorts(listeners) {
		for _, src := range []netip.Addr{nodeIP, otherIP, impostorIP, operatorIP} {
			if !plan.Allows(src, p.Kind.Protocol(), p.KongPort) {
				t.Errorf("listener port %d/%s refuses %s", p.KongPort, p.Kind.Protocol(), src)
			}
		}
		other := corev1.ProtocolUDP
		if p.Kind.Protocol() == corev1.ProtocolUDP {
			other = corev1.ProtocolTCP
		}
		if plan.Allows(otherIP, other, p.KongPort) {
			t.Errorf("listener port %d admits %s too", p.KongPort, other)
		}
	}
	for _, c := range []struct {
		src   netip.Addr
		proto corev1.Protocol
		port  int32
		want  bool
	}{
		{operatorIP, corev1.ProtocolTCP, provision.AdminPort, true},
		{nodeIP, corev1.ProtocolTCP, provision.AdminPort, false},
		{otherIP, corev1.ProtocolTCP, provision.AdminPort, false},
		{impostorIP, corev1.ProtocolTCP, provision.AdminPort, false},
		{kongIP, corev1.ProtocolTCP, provision.AdminPort, false},
		{operatorIP, corev1.ProtocolUDP, provision.AdminPort, false},
		{nodeIP, corev1.ProtocolTCP, provision.StatusPort, true},
		{otherIP, corev1.ProtocolTCP, provision.StatusPort, true},
		{otherIP, corev1.ProtocolTCP, 9999, false},
		{operatorIP, corev1.ProtocolTCP, 9999, false},
	} {
		if got := plan.Allows(c.src, c.proto, c.port); got != c.want {
			t.Errorf("%s -> %d/%s: admitted %v, want %v", c.src, c.port, c.proto, got, c.want)
		}
	}
	// The ruleset names the admin port on the operator's line only.
	for _, line := range strings.Split(Ruleset(plan), "\n") {
		if strings.Contains(line, "dport 8444") && !strings.HasPrefix(strings.TrimSpace(line), "ip saddr { 10.244.0.2 } tcp dport 8444 accept") {
			t.Errorf("admin port line %q is not the operator's", line)
		}
	}
}

func TestAllows(t *testing.T) {
	tcp, udp, sctp := corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP
	server := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "server", Namespace: "ns", Labels: map[string]string{"app": "server"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 5353, Protocol: udp},
		}}}},
	}
	policy := func(types []networkingv1.PolicyType, rules ...networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
				PolicyTypes: types, Ingress: rules,
			},
		}
	}
	port := func(proto corev1.Protocol, p intstr.IntOrString, end int32) networkingv1.NetworkPolicyPort {
		np := networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p}
		if end != 0 {
			np.EndPort = &end
		}
		return np
	}
	ingress := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	a := netip.MustParseAddr
	peers := []Peer{
		{Namespace: "ns", Name: "client", Labels: map[string]string{"role": "client"}, IPs: []netip.Addr{a("10.244.0.10")}},
		{Namespace: "ns", Name: "other", Labels: map[string]string{"role": "other"}, IPs: []netip.Addr{a("10.244.0.11")}},
	}
	type probe struct {
		src   string
		proto corev1.Protocol
		port  int32
		want  bool
	}
	for _, c := range []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		probes   []probe
	}{
		{"no policy admits everything", nil, []probe{{"10.244.0.11", tcp, 1, true}, {"192.0.2.1", udp, 53, true}}},
		{"egress-only policy does not isolate", []*networkingv1.NetworkPolicy{policy([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress})},
			[]probe{{"10.244.0.11", tcp, 1, true}}},
		{"ingress policy without rules admits nothing", []*networkingv1.NetworkPolicy{policy(ingress)},
			[]probe{{"10.244.0.10", tcp, 8080, false}, {"10.244.0.1", tcp, 8080, false}}},
		{"pod selector admits its pods on the named port only", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}},
			Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromString("http"), 0)},
		})}, []probe{
			{"10.244.0.10", tcp, 8080, true}, {"10.244.0.10", tcp, 8081, false}, {"10.244.0.10", udp, 8080, false},
			{"10.244.0.11", tcp, 8080, false}, {"10.244.0.1", tcp, 8080, false},
		}},
		{"named UDP port", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{port(udp, intstr.FromString("dns"), 0), port(tcp, intstr.FromString("dns"), 0)},
		})}, []probe{{"10.244.0.11", udp, 5353, true}, {"10.244.0.11", tcp, 5353, false}}},
		{"endPort range is inclusive", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromInt32(30000), 30010), port(sctp, intstr.FromInt32(2905), 0)},
		})}, []probe{
			{"10.244.0.11", tcp, 29999, false}, {"10.244.0.11", tcp, 30000, true}, {"10.244.0.11", tcp, 30010, true},
			{"10.244.0.11", tcp, 30011, false}, {"10.244.0.11", sctp, 2905, true}, {"10.244.0.11", tcp, 2905, false},
		}},
		{"protocol without port admits every port of it", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp}},
		})}, []probe{{"10.244.0.11", udp, 1, true}, {"10.244.0.11", udp, 65535, true}, {"10.244.0.11", tcp, 1, false}}},
		{"ipBlock with except", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16", Except: []string{"10.244.0.0/28"}}}},
		})}, []probe{{"10.244.0.1", tcp, 80, false}, {"10.244.0.15", tcp, 80, false}, {"10.244.0.16", tcp, 80, true}, {"10.245.0.16", tcp, 80, false}}},
		{"an except of one peer does not hide another peer", []*networkingv1.NetworkPolicy{policy(ingress, networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/24", Except: []string{"10.244.0.10/32"}}},
				{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}},
			},
		})}, []probe{{"10.244.0.10", tcp, 80, true}, {"10.244.0.11", tcp, 80, true}}},
		{"policies add up", []*networkingv1.NetworkPolicy{
			policy(ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromInt32(80), 0)}}),
			func() *networkingv1.NetworkPolicy {
				p := policy(nil, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromInt32(443), 0)}})
				p.Name = "q"
				return p
			}(),
		}, []probe{{"10.244.0.11", tcp, 80, true}, {"10.244.0.11", tcp, 443, true}, {"10.244.0.11", tcp, 8080, false}}},
		{"policy of another namespace does not select", []*networkingv1.NetworkPolicy{func() *networkingv1.NetworkPolicy {
			p := policy(ingress)
			p.Namespace = "elsewhere"
			return p
		}()}, []probe{{"10.244.0.11", tcp, 80, true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := Compile(server, State{Policies: c.policies, Peers: peers})
			for _, p := range c.probes {
				if got := plan.Allows(a(p.src), p.proto, p.port); got != p.want {
					t.Errorf("%s -> %d/%s: admitted %v, want %v\n%s", p.src, p.port, p.proto, got, p.want, Ruleset(plan))
				}
			}
		})
	}
}
