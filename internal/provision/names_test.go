package provision

import (
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
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
