package gatewayapi

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func listener(name string, port int32, proto gwv1.ProtocolType, mutate ...func(*gwv1.Listener)) gwv1.Listener {
	l := gwv1.Listener{Name: gwv1.SectionName(name), Port: gwv1.PortNumber(port), Protocol: proto}
	for _, m := range mutate {
		m(&l)
	}
	return l
}

func hostname(h string) func(*gwv1.Listener) {
	return func(l *gwv1.Listener) { l.Hostname = ptr.To(gwv1.Hostname(h)) }
}

func certRef(ns, name string) func(*gwv1.Listener) {
	return func(l *gwv1.Listener) {
		ref := gwv1.SecretObjectReference{Name: gwv1.ObjectName(name)}
		if ns != "" {
			ref.Namespace = ptr.To(gwv1.Namespace(ns))
		}
		if l.TLS == nil {
			l.TLS = &gwv1.ListenerTLSConfig{}
		}
		l.TLS.CertificateRefs = append(l.TLS.CertificateRefs, ref)
	}
}

func passthrough(l *gwv1.Listener) {
	l.TLS = &gwv1.ListenerTLSConfig{Mode: ptr.To(gwv1.TLSModePassthrough)}
}

// verdict summarises a result as "Accepted/Conflicted/ResolvedRefs" reasons.
func verdict(r ListenerResult) string {
	return strings.Join([]string{r.Accepted.Reason, r.Conflicted.Reason, r.ResolvedRefs.Reason}, "/")
}

func TestValidateListeners(t *testing.T) {
	certPEM, keyPEM := selfSignedPEM(t, "example.com")
	tlsSecret := func(ns, name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}}
	}
	secrets := map[types.NamespacedName]*corev1.Secret{
		{Namespace: "apps", Name: "good"}:  tlsSecret("apps", "good"),
		{Namespace: "certs", Name: "good"}: tlsSecret("certs", "good"),
		{Namespace: "apps", Name: "opaque"}: {ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "opaque"}, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}},
		{Namespace: "apps", Name: "garbage"}: {ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "garbage"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": []byte("nope"), "tls.key": keyPEM}},
	}
	grant := gwv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "gateways"},
		Spec: gwv1.ReferenceGrantSpec{
			From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "apps"}},
			To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "Secret"}},
		},
	}

	cases := []struct {
		name      string
		listeners []gwv1.Listener
		grants    []gwv1.ReferenceGrant
		want      []string
	}{
		{"one http listener", []gwv1.Listener{listener("a", 80, gwv1.HTTPProtocolType)}, nil,
			[]string{"Accepted/NoConflicts/ResolvedRefs"}},
		{"unsupported protocol", []gwv1.Listener{listener("a", 80, "example.com/QUIC"), listener("b", 80, gwv1.HTTPProtocolType)}, nil,
			[]string{"UnsupportedProtocol/NoConflicts/ResolvedRefs", "Accepted/NoConflicts/ResolvedRefs"}},
		{"http and https on one port", []gwv1.Listener{listener("a", 80, gwv1.HTTPProtocolType), listener("b", 80, gwv1.HTTPSProtocolType, certRef("", "good"))}, nil,
			[]string{"Accepted/ProtocolConflict/ResolvedRefs", "Accepted/ProtocolConflict/ResolvedRefs"}},
		{"same hostname twice", []gwv1.Listener{listener("a", 80, gwv1.HTTPProtocolType, hostname("x.example.com")), listener("b", 80, gwv1.HTTPProtocolType, hostname("x.example.com")), listener("c", 80, gwv1.HTTPProtocolType)}, nil,
			[]string{"Accepted/HostnameConflict/ResolvedRefs", "Accepted/HostnameConflict/ResolvedRefs", "Accepted/NoConflicts/ResolvedRefs"}},
		{"two catch-all http listeners", []gwv1.Listener{listener("a", 80, gwv1.HTTPProtocolType), listener("b", 80, gwv1.HTTPProtocolType)}, nil,
			[]string{"Accepted/HostnameConflict/ResolvedRefs", "Accepted/HostnameConflict/ResolvedRefs"}},
		{"tcp and udp share a port", []gwv1.Listener{listener("a", 53, gwv1.TCPProtocolType), listener("b", 53, gwv1.UDPProtocolType)}, nil,
			[]string{"Accepted/NoConflicts/ResolvedRefs", "Accepted/NoConflicts/ResolvedRefs"}},
		{"two tcp listeners on a port", []gwv1.Listener{listener("a", 9000, gwv1.TCPProtocolType), listener("b", 9000, gwv1.TCPProtocolType, hostname("ignored.example.com"))}, nil,
			[]string{"Accepted/HostnameConflict/ResolvedRefs", "Accepted/HostnameConflict/ResolvedRefs"}},
		{"tls passthrough and terminate on one port", []gwv1.Listener{listener("a", 443, gwv1.TLSProtocolType, passthrough, hostname("pass.example.com")),
			listener("b", 443, gwv1.TLSProtocolType, certRef("", "good"), hostname("term.example.com"))}, nil,
			[]string{"Accepted/NoConflicts/ResolvedRefs", "Accepted/NoConflicts/ResolvedRefs"}},
		{"tls passthrough and terminate on one port and hostname", []gwv1.Listener{listener("a", 443, gwv1.TLSProtocolType, passthrough), listener("b", 443, gwv1.TLSProtocolType, certRef("", "good"))}, nil,
			[]string{"Accepted/HostnameConflict/ResolvedRefs", "Accepted/HostnameConflict/ResolvedRefs"}},
		{"tls and https on one port", []gwv1.Listener{listener("a", 443, gwv1.TLSProtocolType, passthrough), listener("b", 443, gwv1.HTTPSProtocolType, certRef("", "good"))}, nil,
			[]string{"Accepted/ProtocolConflict/ResolvedRefs", "Accepted/ProtocolConflict/ResolvedRefs"}},
		{"https with a valid secret", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("", "good"))}, nil,
			[]string{"Accepted/NoConflicts/ResolvedRefs"}},
		{"https without certificates", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType)}, nil,
			[]string{"Accepted/NoConflicts/InvalidCertificateRef"}},
		{"missing secret", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("", "absent"))}, nil,
			[]string{"Accepted/NoConflicts/InvalidCertificateRef"}},
		{"secret of the wrong type", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("", "opaque"))}, nil,
			[]string{"Accepted/NoConflicts/InvalidCertificateRef"}},
		{"secret with a broken certificate", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("", "garbage"))}, nil,
			[]string{"Accepted/NoConflicts/InvalidCertificateRef"}},
		{"cross-namespace secret without a grant", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("certs", "good"))}, nil,
			[]string{"Accepted/NoConflicts/RefNotPermitted"}},
		{"cross-namespace secret with a grant", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, certRef("certs", "good"))}, []gwv1.ReferenceGrant{grant},
			[]string{"Accepted/NoConflicts/ResolvedRefs"}},
		{"certificate ref to a ConfigMap", []gwv1.Listener{listener("a", 443, gwv1.HTTPSProtocolType, func(l *gwv1.Listener) {
			l.TLS = &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Kind: ptr.To(gwv1.Kind("ConfigMap")), Name: "good"}}}
		})}, nil, []string{"Accepted/NoConflicts/InvalidCertificateRef"}},
		{"tls passthrough needs no certificate", []gwv1.Listener{listener("a", 8443, gwv1.TLSProtocolType, passthrough)}, nil,
			[]string{"Accepted/NoConflicts/ResolvedRefs"}},
		{"route kind not valid for the protocol", []gwv1.Listener{listener("a", 80, gwv1.HTTPProtocolType, func(l *gwv1.Listener) {
			l.AllowedRoutes = &gwv1.AllowedRoutes{Kinds: []gwv1.RouteGroupKind{{Kind: "HTTPRoute"}, {Kind: "TCPRoute"}}}
		})}, nil, []string{"Accepted/NoConflicts/InvalidRouteKinds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "gw"}, Spec: gwv1.GatewaySpec{Listeners: tc.listeners}}
			results := ValidateListeners(ListenerInput{Gateway: gw, Secrets: secrets, ReferenceGrants: tc.grants})
			if len(results) != len(tc.want) {
				t.Fatalf("got %d results, want %d", len(results), len(tc.want))
			}
			for i, r := range results {
				if got := verdict(r); got != tc.want[i] {
					t.Errorf("listener %s: got %s, want %s (messages: %q %q %q)", r.Name, got, tc.want[i], r.Accepted.Message, r.Conflicted.Message, r.ResolvedRefs.Message)
				}
				for _, c := range []Condition{r.Accepted, r.Conflicted, r.ResolvedRefs} {
					if c.Message == "" {
						t.Errorf("listener %s: condition %s has no message", r.Name, c.Type)
					}
					if strings.Contains(c.Message, "PRIVATE KEY") {
						t.Errorf("listener %s: condition %s leaks key material", r.Name, c.Type)
					}
				}
			}
		})
	}
}

func TestSupportedKindsFollowAllowedRoutes(t *testing.T) {
	l := listener("a", 80, gwv1.HTTPProtocolType, func(l *gwv1.Listener) {
		l.AllowedRoutes = &gwv1.AllowedRoutes{Kinds: []gwv1.RouteGroupKind{{Kind: "GRPCRoute"}, {Kind: "UDPRoute"}}}
	})
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "apps"}, Spec: gwv1.GatewaySpec{Listeners: []gwv1.Listener{l}}}
	r := ValidateListeners(ListenerInput{Gateway: gw})[0]
	if len(r.SupportedKinds) != 1 || r.SupportedKinds[0].Kind != "GRPCRoute" {
		t.Fatalf("supportedKinds = %v, want only GRPCRoute", r.SupportedKinds)
	}
	if !strings.Contains(r.ResolvedRefs.Message, "UDPRoute") {
		t.Fatalf("message %q should name the unsupported kind", r.ResolvedRefs.Message)
	}
}

func TestHostnamesIntersect(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"", "foo.com", "foo.com"},
		{"foo.com", "foo.com", "foo.com"},
		{"*.foo.com", "a.foo.com", "a.foo.com"},
		{"*.foo.com", "a.b.foo.com", "a.b.foo.com"},
		{"*.foo.com", "foo.com", "-"},
		{"*.foo.com", "*.b.foo.com", "*.b.foo.com"},
		{"*.b.foo.com", "*.foo.com", "*.b.foo.com"},
		{"a.com", "b.com", "-"},
	}
	for _, tc := range cases {
		got, ok := HostnamesIntersect(tc.a, tc.b)
		if !ok {
			got = "-"
		}
		if got != tc.want {
			t.Errorf("HostnamesIntersect(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestReferenceAllowedRespectsNames(t *testing.T) {
	grant := gwv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "certs"},
		Spec: gwv1.ReferenceGrantSpec{
			From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "apps"}},
			To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "Secret", Name: ptr.To(gwv1.ObjectName("only-this"))}},
		},
	}
	from := Reference{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "apps"}
	if !ReferenceAllowed(from, Reference{Kind: "Secret", Namespace: "certs", Name: "only-this"}, []gwv1.ReferenceGrant{grant}) {
		t.Error("the named Secret should be allowed")
	}
	if ReferenceAllowed(from, Reference{Kind: "Secret", Namespace: "certs", Name: "other"}, []gwv1.ReferenceGrant{grant}) {
		t.Error("another Secret must not be allowed")
	}
	if ReferenceAllowed(Reference{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "elsewhere"}, Reference{Kind: "Secret", Namespace: "certs", Name: "only-this"}, []gwv1.ReferenceGrant{grant}) {
		t.Error("a Gateway from another namespace must not be allowed")
	}
}

func TestListenerWithAnInvalidNameIsNotAccepted(t *testing.T) {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "apps"}, Spec: gwv1.GatewaySpec{Listeners: []gwv1.Listener{
		listener("web", 80, gwv1.HTTPProtocolType), listener("has space", 81, gwv1.HTTPProtocolType), listener("Upper", 82, gwv1.HTTPProtocolType),
	}}}
	results := ValidateListeners(ListenerInput{Gateway: gw})
	if !results[0].Serves() {
		t.Fatalf("a valid name is refused: %+v", results[0].Accepted)
	}
	for _, r := range results[1:] {
		if r.Serves() || r.Accepted.Reason != string(gwv1.ListenerReasonUnsupportedValue) || !strings.Contains(r.Accepted.Message, string(r.Name)) {
			t.Errorf("listener %q: Accepted %+v, want False/UnsupportedValue naming it", r.Name, r.Accepted)
		}
	}
}
