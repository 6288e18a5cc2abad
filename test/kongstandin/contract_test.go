package kongstandin

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// TestOperatorEnvironmentIsUnderstood renders a data plane the way the
// operator does, for every listener kind, and checks that the stand-in
// accepts exactly that Kong environment (it rejects any setting it does not
// know, like Kong rejects a setting it cannot parse). Source: reference
// kong-dataplane.md §5 (Kong environment, admin mTLS settings) and
// https://developer.konghq.com/gateway/configuration/ (KONG_* overrides).
func TestOperatorEnvironmentIsUnderstood(t *testing.T) {
	passthrough := gwv1.TLSModePassthrough
	gw := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", UID: "u1"},
		Spec: gwv1.GatewaySpec{Listeners: []gwv1.Listener{
			{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType},
			{Name: "https", Port: 443, Protocol: gwv1.HTTPSProtocolType},
			{Name: "tcp", Port: 5432, Protocol: gwv1.TCPProtocolType},
			{Name: "udp", Port: 53, Protocol: gwv1.UDPProtocolType},
			{Name: "tls", Port: 9443, Protocol: gwv1.TLSProtocolType},
			{Name: "pt", Port: 8443, Protocol: gwv1.TLSProtocolType, TLS: &gwv1.ListenerTLSConfig{Mode: &passthrough}},
		}},
	}
	objs, err := provision.Render(provision.Input{Gateway: gw, Config: provision.Merge(nil, nil), Listeners: gw.Spec.Listeners, OperatorNamespace: "drawbridge-system"})
	if err != nil {
		t.Fatal(err)
	}
	var environ []string
	for _, e := range objs.Deployment.Spec.Template.Spec.Containers[0].Env {
		environ = append(environ, e.Name+"="+e.Value)
	}
	cfg, err := ConfigFromEnv(environ)
	if err != nil {
		t.Fatalf("the stand-in rejects the operator's environment: %v", err)
	}
	if len(cfg.ProxyListeners) != 2 || len(cfg.StreamListeners) != 4 {
		t.Fatalf("proxy listeners %v, stream listeners %v", cfg.ProxyListeners, cfg.StreamListeners)
	}
}
