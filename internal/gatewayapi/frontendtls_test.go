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

func caRef(kind, ns, name string) gwv1.ObjectReference {
	ref := gwv1.ObjectReference{Kind: gwv1.Kind(kind), Name: gwv1.ObjectName(name)}
	if ns != "" {
		ref.Namespace = ptr.To(gwv1.Namespace(ns))
	}
	return ref
}

func validation(mode gwv1.FrontendValidationModeType, refs ...gwv1.ObjectReference) *gwv1.FrontendTLSValidation {
	return &gwv1.FrontendTLSValidation{Mode: mode, CACertificateRefs: refs}
}

// TestFrontendValidationStatus follows the Gateway API v1.7 tests
// GatewayInvalidFrontendClientCertificateValidation and
// GatewayFrontendInvalidDefaultClientCertificateValidation, and the rules of
// FrontendTLSValidation around them.
func TestFrontendValidationStatus(t *testing.T) {
	caA, _ := selfSignedPEM(t, "ca-a")
	caB, _ := selfSignedPEM(t, "ca-b")
	certPEM, keyPEM := selfSignedPEM(t, "example.org")
	secrets := map[types.NamespacedName]*corev1.Secret{
		{Namespace: "infra", Name: "server"}: {ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "server"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}},
		// A CA kept the way cert-manager keeps one: ca.crt next to the
		// CA's own key, which must never reach the bundle.
		{Namespace: "infra", Name: "ca-secret"}: {ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "ca-secret"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"ca.crt": append(append([]byte{}, caB...), keyPEM...), "tls.crt": certPEM, "tls.key": keyPEM}},
	}
	cm := func(ns, name string, data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	}
	configMaps := map[types.NamespacedName]*corev1.ConfigMap{
		{Namespace: "infra", Name: "ca-a"}:      cm("infra", "ca-a", map[string]string{"ca.crt": string(caA)}),
		{Namespace: "infra", Name: "ca-b"}:      cm("infra", "ca-b", map[string]string{"ca.crt": string(caB)}),
		{Namespace: "infra", Name: "both"}:      cm("infra", "both", map[string]string{"ca.crt": string(caA) + "comment\n" + string(caB)}),
		{Namespace: "infra", Name: "no-key"}:    cm("infra", "no-key", map[string]string{"ca.pem": string(caA)}),
		{Namespace: "infra", Name: "garbage"}:   cm("infra", "garbage", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
		{Namespace: "infra", Name: "empty"}:     cm("infra", "empty", map[string]string{"ca.crt": "not pem"}),
		{Namespace: "web", Name: "web-backend"}: cm("web", "web-backend", map[string]string{"ca.crt": string(caB)}),
	}
	https := func(name string, port int32) gwv1.Listener {
		return listener(name, port, gwv1.HTTPSProtocolType, certRef("", "server"))
	}
	grant := gwv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "ca"},
		Spec: gwv1.ReferenceGrantSpec{
			From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "infra"}},
			To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "ConfigMap"}},
		},
	}
	type want struct {
		verdict string // Accepted/Conflicted/ResolvedRefs reasons
		mode    gwv1.FrontendValidationModeType
		cas     int // certificates in the bundle; -1: no ClientValidation
	}
	cases := []struct {
		name      string
		frontend  *gwv1.FrontendTLSConfig
		listeners []gwv1.Listener
		grants    []gwv1.ReferenceGrant
		want      []want
	}{
		{"no frontend config", nil, []gwv1.Listener{https("https", 443)}, nil,
			[]want{{"Accepted/NoConflicts/ResolvedRefs", "", -1}}},
		{"default applies to every https port, not http",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "ca-a"))}},
			[]gwv1.Listener{https("a", 443), https("b", 8443), listener("http", 80, gwv1.HTTPProtocolType)}, nil,
			[]want{{"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 1}, {"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 1}, {"Accepted/NoConflicts/ResolvedRefs", "", -1}}},
		{"per port overrides the default",
			&gwv1.FrontendTLSConfig{
				Default: gwv1.TLSConfig{Validation: validation(gwv1.AllowInsecureFallback, caRef("ConfigMap", "", "ca-a"))},
				PerPort: []gwv1.TLSPortConfig{{Port: 8443, TLS: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "both"))}}},
			},
			[]gwv1.Listener{https("a", 443), https("b", 8443)}, nil,
			[]want{{"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowInsecureFallback, 1}, {"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 2}}},
		{"a per-port entry without validation turns it off for its port",
			&gwv1.FrontendTLSConfig{
				Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "ca-a"))},
				PerPort: []gwv1.TLSPortConfig{{Port: 8443}},
			},
			[]gwv1.Listener{https("a", 443), https("b", 8443)}, nil,
			[]want{{"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 1}, {"Accepted/NoConflicts/ResolvedRefs", "", -1}}},
		{"the conformance test's invalid references affect only their listeners",
			&gwv1.FrontendTLSConfig{
				Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "ca-a"))},
				PerPort: []gwv1.TLSPortConfig{
					{Port: 7443, TLS: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "non-existing"))}},
					{Port: 8443, TLS: gwv1.TLSConfig{Validation: validation("", caRef("Service", "", "infra-backend-v2"))}},
					{Port: 6443, TLS: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "web", "web-backend"))}},
				},
			},
			[]gwv1.Listener{https("https", 443), https("https-unresolved", 7443), https("https-invalid-kind", 8443), https("https-grant-missing", 6443)}, nil,
			[]want{
				{"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 1},
				{"NoValidCACertificate/NoConflicts/InvalidCACertificateRef", gwv1.AllowValidOnly, 0},
				{"NoValidCACertificate/NoConflicts/InvalidCACertificateKind", gwv1.AllowValidOnly, 0},
				{"NoValidCACertificate/NoConflicts/RefNotPermitted", gwv1.AllowValidOnly, 0},
			}},
		{"a ReferenceGrant opens a ConfigMap in another namespace",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "web", "web-backend"))}},
			[]gwv1.Listener{https("https", 443)}, []gwv1.ReferenceGrant{grant},
			[]want{{"Accepted/NoConflicts/ResolvedRefs", gwv1.AllowValidOnly, 1}}},
		{"an invalid default does not touch the http listener",
			&gwv1.FrontendTLSConfig{
				Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "does-not-exist"))},
				PerPort: []gwv1.TLSPortConfig{{Port: 80, TLS: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "ca-b"))}}},
			},
			[]gwv1.Listener{https("https", 443), listener("http", 80, gwv1.HTTPProtocolType)}, nil,
			[]want{{"NoValidCACertificate/NoConflicts/InvalidCACertificateRef", gwv1.AllowValidOnly, 0}, {"Accepted/NoConflicts/ResolvedRefs", "", -1}}},
		{"some valid references keep the listener accepted with their CAs",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation("",
				caRef("ConfigMap", "", "no-key"), caRef("ConfigMap", "", "ca-a"), caRef("Pod", "", "ca-b"), caRef("ConfigMap", "", "both"))}},
			[]gwv1.Listener{https("https", 443)}, nil,
			[]want{{"Accepted/NoConflicts/InvalidCACertificateRef", gwv1.AllowValidOnly, 2}}},
		{"a CA Secret's ca.crt, its other PEM blocks left out; a Secret without ca.crt is invalid",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation("",
				caRef("Secret", "", "ca-secret"), caRef("Secret", "", "server"), caRef("Secret", "", "absent"))}},
			[]gwv1.Listener{https("https", 443)}, nil,
			[]want{{"Accepted/NoConflicts/InvalidCACertificateRef", gwv1.AllowValidOnly, 1}}},
		{"bundles that do not parse are invalid references",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation(gwv1.AllowInsecureFallback,
				caRef("ConfigMap", "", "garbage"), caRef("ConfigMap", "", "empty"))}},
			[]gwv1.Listener{https("https", 443)}, nil,
			[]want{{"NoValidCACertificate/NoConflicts/InvalidCACertificateRef", gwv1.AllowInsecureFallback, 0}}},
		{"an unknown mode is refused",
			&gwv1.FrontendTLSConfig{Default: gwv1.TLSConfig{Validation: validation("AllowAnything", caRef("ConfigMap", "", "ca-a"))}},
			[]gwv1.Listener{https("https", 443)}, nil,
			[]want{{"UnsupportedValue/NoConflicts/ResolvedRefs", "AllowAnything", 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}, Spec: gwv1.GatewaySpec{Listeners: tc.listeners}}
			if tc.frontend != nil {
				gw.Spec.TLS = &gwv1.GatewayTLSConfig{Frontend: tc.frontend}
			}
			results := ValidateListeners(ListenerInput{Gateway: gw, Secrets: secrets, ConfigMaps: configMaps, ReferenceGrants: tc.grants})
			for i, r := range results {
				w := tc.want[i]
				if got := verdict(r); got != w.verdict {
					t.Errorf("listener %s: got %s, want %s (messages: %q / %q)", r.Name, got, w.verdict, r.Accepted.Message, r.ResolvedRefs.Message)
				}
				if w.cas < 0 {
					if r.ClientValidation != nil {
						t.Errorf("listener %s: unexpected client validation %+v", r.Name, r.ClientValidation)
					}
					continue
				}
				if r.ClientValidation == nil {
					t.Fatalf("listener %s: no client validation", r.Name)
				}
				if r.ClientValidation.Mode != w.mode {
					t.Errorf("listener %s: mode %s, want %s", r.Name, r.ClientValidation.Mode, w.mode)
				}
				if n := strings.Count(r.ClientValidation.CACertificates, "BEGIN CERTIFICATE"); n != w.cas && w.verdict[:8] == "Accepted" {
					t.Errorf("listener %s: %d CA certificates, want %d", r.Name, n, w.cas)
				}
				if strings.Contains(r.ClientValidation.CACertificates, "PRIVATE KEY") || strings.Contains(r.ResolvedRefs.Message, "PRIVATE KEY") {
					t.Errorf("listener %s: key material in the bundle or the condition", r.Name)
				}
				if r.Valid() != (w.verdict == "Accepted/NoConflicts/ResolvedRefs") {
					t.Errorf("listener %s: Valid() = %v", r.Name, r.Valid())
				}
			}
		})
	}
}

func TestFrontendCARefs(t *testing.T) {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}, Spec: gwv1.GatewaySpec{TLS: &gwv1.GatewayTLSConfig{Frontend: &gwv1.FrontendTLSConfig{
		Default: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "", "a"), caRef("Service", "", "svc"))},
		PerPort: []gwv1.TLSPortConfig{
			{Port: 1, TLS: gwv1.TLSConfig{Validation: validation("", caRef("ConfigMap", "infra", "a"), caRef("ConfigMap", "web", "b"))}},
			{Port: 2},
		},
	}}}}
	got := FrontendCAConfigMapRefs(gw)
	want := []types.NamespacedName{{Namespace: "infra", Name: "a"}, {Namespace: "web", Name: "b"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
	gw.Spec.TLS.Frontend.PerPort[1].TLS.Validation = validation("", caRef("Secret", "", "s"), caRef("ConfigMap", "", "a"))
	if got := FrontendCASecretRefs(gw); len(got) != 1 || got[0] != (types.NamespacedName{Namespace: "infra", Name: "s"}) {
		t.Errorf("Secrets: got %v", got)
	}
	if FrontendCAConfigMapRefs(&gwv1.Gateway{}) != nil {
		t.Error("a Gateway without spec.tls references no ConfigMap")
	}
}

func TestInsecureFrontendValidation(t *testing.T) {
	gw := &gwv1.Gateway{Spec: gwv1.GatewaySpec{TLS: &gwv1.GatewayTLSConfig{Frontend: &gwv1.FrontendTLSConfig{
		Default: gwv1.TLSConfig{Validation: validation(gwv1.AllowValidOnly, caRef("ConfigMap", "", "a"))},
	}}}}
	if _, ok := InsecureFrontendValidation(gw); ok {
		t.Error("AllowValidOnly everywhere is not insecure")
	}
	gw.Spec.TLS.Frontend.PerPort = []gwv1.TLSPortConfig{{Port: 8443, TLS: gwv1.TLSConfig{Validation: validation(gwv1.AllowInsecureFallback, caRef("ConfigMap", "", "a"))}}}
	c, ok := InsecureFrontendValidation(gw)
	if !ok || c.Type != "InsecureFrontendValidationMode" || c.Reason != "ConfigurationChanged" || c.Status != "True" || !strings.Contains(c.Message, "perPort[port 8443]") {
		t.Errorf("got %+v, %v", c, ok)
	}
}
