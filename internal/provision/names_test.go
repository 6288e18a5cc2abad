package provision

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

func TestNamesAreDNSLabelsAndDistinct(t *testing.T) {
	gatewayNames := []string{
		"web", "web-kong", "web-kong-admin", "a", "1st", "my.gateway", "my-gateway",
		strings.Repeat("x", 63), strings.Repeat("x", 64), strings.Repeat("y", 253),
		strings.Repeat("x", 40) + ".a", strings.Repeat("x", 40) + ".b",
	}
	owner := map[string]string{}
	for _, name := range gatewayNames {
		n := NamesFor(&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}})
		for _, objName := range []string{n.DataPlane, n.Admin, n.AdminTLS} {
			if errs := validation.IsDNS1035Label(objName); len(errs) > 0 {
				t.Errorf("gateway %q: object name %q is not a DNS-1035 label: %v", name, objName, errs)
			}
			if prev, taken := owner[objName]; taken {
				t.Errorf("object name %q is used by gateways %q and %q", objName, prev, name)
			}
			owner[objName] = name
		}
	}
}

func TestNamesKeepShortNamesReadable(t *testing.T) {
	n := NamesFor(&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"}})
	if n.DataPlane != "web-kong" || n.Admin != "web-kong-admin" || n.AdminTLS != "web-kong-admin-tls" {
		t.Fatalf("unexpected names %+v", n)
	}
}

func TestMapPorts(t *testing.T) {
	l := func(port int32, proto gwv1.ProtocolType) gwv1.Listener {
		return gwv1.Listener{Name: "l", Port: gwv1.PortNumber(port), Protocol: proto}
	}
	cases := []struct {
		name      string
		listeners []gwv1.Listener
		want      string
	}{
		{"low ports move up by 8000", []gwv1.Listener{l(80, gwv1.HTTPProtocolType), l(443, gwv1.HTTPSProtocolType)}, "80>8080/http 443>8443/https"},
		{"high ports stay", []gwv1.Listener{l(9000, gwv1.TCPProtocolType)}, "9000>9000/tcp"},
		{"admin and status ports are avoided", []gwv1.Listener{l(8444, gwv1.HTTPProtocolType), l(8100, gwv1.HTTPProtocolType)}, "8100>8101/http 8444>8445/http"},
		{"a remapped port never takes a listener's own port", []gwv1.Listener{l(80, gwv1.HTTPProtocolType), l(8080, gwv1.HTTPProtocolType)}, "80>8081/http 8080>8080/http"},
		{"tcp and udp share a number", []gwv1.Listener{l(53, gwv1.UDPProtocolType), l(53, gwv1.TCPProtocolType)}, "53>8053/tcp 53>8053/udp"},
		{"one kong port never serves two gateway ports", []gwv1.Listener{l(53, gwv1.TCPProtocolType), l(8053, gwv1.UDPProtocolType)}, "53>8054/tcp 8053>8053/udp"},
		{"tls passthrough and terminate share one listener", []gwv1.Listener{tlsMode(443, gwv1.TLSModePassthrough), tlsMode(443, gwv1.TLSModeTerminate), tlsMode(9443, gwv1.TLSModePassthrough)},
			"443>8443/tls 9443>9443/tlspt"},
		{"duplicates collapse", []gwv1.Listener{l(80, gwv1.HTTPProtocolType), l(80, gwv1.HTTPProtocolType)}, "80>8080/http"},
		{"unsupported protocols are skipped", []gwv1.Listener{l(80, "SCTP")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var parts []string
			for _, m := range MapPorts(tc.listeners) {
				parts = append(parts, strings.Join([]string{itoa(m.GatewayPort) + ">" + itoa(m.KongPort), string(m.Kind)}, "/"))
			}
			if got := strings.Join(parts, " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func tlsMode(port int32, mode gwv1.TLSModeType) gwv1.Listener {
	return gwv1.Listener{Name: "l", Port: gwv1.PortNumber(port), Protocol: gwv1.TLSProtocolType, TLS: &gwv1.ListenerTLSConfig{Mode: &mode}}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// TestLongestGatewayNameRendersValidObjects renders every object for the
// Gateway of the upstream test GatewayNameMaximumLength (a 253-character
// name, the most a Kubernetes object name allows) and checks that the API
// server would take each one: names, labels and selectors.
func TestLongestGatewayNameRendersValidObjects(t *testing.T) {
	const prefix = "gateway-name-maximum-length-"
	gw := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + strings.Repeat("a", 253-len(prefix)), Namespace: "gateway-conformance-infra", UID: "u"},
		Spec:       gwv1.GatewaySpec{GatewayClassName: "drawbridge", Listeners: []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType}}},
	}
	maxReplicas := int32(5)
	minAvailable := intstr.FromInt32(1)
	cfg := Merge(&v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
		Autoscaling:         &v1alpha1.AutoscalingConfig{MaxReplicas: maxReplicas},
		PodDisruptionBudget: &v1alpha1.PodDisruptionBudgetConfig{MinAvailable: &minAvailable},
	}}, nil)
	objs, err := Render(Input{Gateway: gw, Config: cfg, Listeners: gw.Spec.Listeners, OperatorNamespace: "drawbridge-system"})
	if err != nil {
		t.Fatal(err)
	}
	if objs.HPA == nil || objs.PDB == nil {
		t.Fatal("the HPA and PDB were not rendered; the test needs every object")
	}
	checkLabels := func(what string, labels map[string]string) {
		for k, v := range labels {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				t.Errorf("%s: label key %q: %v", what, k, errs)
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("%s: label %s=%q: %v", what, k, v, errs)
			}
		}
	}
	for _, obj := range objs.List() {
		what := fmt.Sprintf("%T %s", obj, obj.GetName())
		// Services need DNS-1035 labels; every other kind here takes a
		// DNS subdomain.
		errs := validation.IsDNS1123Subdomain(obj.GetName())
		if _, ok := obj.(*corev1.Service); ok {
			errs = validation.IsDNS1035Label(obj.GetName())
		}
		if len(errs) > 0 {
			t.Errorf("%s: name: %v", what, errs)
		}
		checkLabels(what, obj.GetLabels())
	}
	checkLabels("pod template", objs.Deployment.Spec.Template.Labels)
	checkLabels("selector", objs.Deployment.Spec.Selector.MatchLabels)
}
