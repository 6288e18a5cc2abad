package gatewayapi

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func gatewayAllowing(from *gwv1.FromNamespaces, selector *metav1.LabelSelector) *gwv1.Gateway {
	gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
	if from != nil || selector != nil {
		gw.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{From: from, Selector: selector}}
	}
	return gw
}

func TestListenerSetAllowed(t *testing.T) {
	team := map[string]string{"team": "a"}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	byName := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "apps"}}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Bogus"}}}
	cases := []struct {
		name   string
		gw     *gwv1.Gateway
		ns     string
		labels map[string]string
		want   bool
	}{
		{"unset means None", gatewayAllowing(nil, nil), "infra", nil, false},
		{"None", gatewayAllowing(ptr.To(gwv1.NamespacesFromNone), nil), "infra", nil, false},
		{"Same, same namespace", gatewayAllowing(ptr.To(gwv1.NamespacesFromSame), nil), "infra", nil, true},
		{"Same, other namespace", gatewayAllowing(ptr.To(gwv1.NamespacesFromSame), nil), "apps", nil, false},
		{"All", gatewayAllowing(ptr.To(gwv1.NamespacesFromAll), nil), "apps", nil, true},
		{"Selector matches labels", gatewayAllowing(ptr.To(gwv1.NamespacesFromSelector), sel), "apps", team, true},
		{"Selector does not match", gatewayAllowing(ptr.To(gwv1.NamespacesFromSelector), sel), "apps", nil, false},
		{"Selector on the metadata.name label", gatewayAllowing(ptr.To(gwv1.NamespacesFromSelector), byName), "apps", nil, true},
		{"Selector without selector", gatewayAllowing(ptr.To(gwv1.NamespacesFromSelector), nil), "apps", team, false},
		{"invalid selector", gatewayAllowing(ptr.To(gwv1.NamespacesFromSelector), bad), "apps", team, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := ListenerSetAllowed(c.gw, c.ns, c.labels)
			if got != c.want {
				t.Fatalf("allowed = %v (%s), want %v", got, why, c.want)
			}
			if !got && why == "" {
				t.Fatal("a refusal must say why")
			}
		})
	}
}

func listenerSet(ns, name string, created int64, listeners ...gwv1.Listener) gwv1.ListenerSet {
	ls := gwv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 3,
		CreationTimestamp: metav1.NewTime(time.Unix(created, 0))}}
	ls.Spec.ParentRef = gwv1.ParentGatewayReference{Name: "gw", Namespace: ptr.To(gwv1.Namespace("infra"))}
	for _, l := range listeners {
		ls.Spec.Listeners = append(ls.Spec.Listeners, gwv1.ListenerEntry{Name: l.Name, Hostname: l.Hostname, Port: l.Port,
			Protocol: l.Protocol, TLS: l.TLS, AllowedRoutes: l.AllowedRoutes})
	}
	return ls
}

func TestValidateListenerSetsPrecedence(t *testing.T) {
	gw := gatewayAllowing(ptr.To(gwv1.NamespacesFromAll), nil)
	gw.Spec.Listeners = []gwv1.Listener{listener("web", 80, gwv1.HTTPProtocolType, hostname("a.example.com"))}
	in := ListenerSetInput{
		ListenerInput:    ListenerInput{Gateway: gw},
		GatewayListeners: ValidateListeners(ListenerInput{Gateway: gw}),
		ListenerSets: []gwv1.ListenerSet{
			// Newest first in the input: the order must come from the
			// creation time, then namespace/name.
			listenerSet("apps", "zeta", 200, listener("b", 80, gwv1.HTTPProtocolType, hostname("b.example.com"))),
			listenerSet("apps", "alpha", 200, listener("b", 80, gwv1.HTTPProtocolType, hostname("b.example.com")),
				listener("udp", 80, gwv1.UDPProtocolType)),
			listenerSet("apps", "old", 100,
				listener("same-host", 80, gwv1.HTTPProtocolType, hostname("a.example.com")),
				listener("tcp", 80, gwv1.TCPProtocolType),
				listener("c", 80, gwv1.HTTPProtocolType, hostname("c.example.com"))),
			// Another Gateway's ListenerSet is no business of this one.
			func() gwv1.ListenerSet {
				ls := listenerSet("apps", "elsewhere", 1, listener("x", 80, gwv1.HTTPProtocolType))
				ls.Spec.ParentRef.Name = "other"
				return ls
			}(),
		},
	}
	got := ValidateListenerSets(in)
	order := []string{}
	for _, r := range got {
		order = append(order, r.Key.Name)
	}
	if want := []string{"old", "alpha", "zeta"}; len(order) != 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("order = %v, want %v", order, want)
	}
	old, alpha, zeta := got[0], got[1], got[2]
	checks := []struct {
		what string
		res  ListenerResult
		want string
	}{
		{"old/same-host loses to the Gateway", old.Listeners[0], "HostnameConflict/HostnameConflict/ResolvedRefs"},
		{"old/tcp cannot share an HTTP port", old.Listeners[1], "ProtocolConflict/ProtocolConflict/ResolvedRefs"},
		{"old/c is served", old.Listeners[2], "Accepted/NoConflicts/ResolvedRefs"},
		{"alpha/b wins the tie by name", alpha.Listeners[0], "Accepted/NoConflicts/ResolvedRefs"},
		{"alpha/udp binds another socket", alpha.Listeners[1], "Accepted/NoConflicts/ResolvedRefs"},
		{"zeta/b loses to alpha", zeta.Listeners[0], "HostnameConflict/HostnameConflict/ResolvedRefs"},
	}
	for _, c := range checks {
		if v := verdict(c.res); v != c.want {
			t.Errorf("%s: %s, want %s", c.what, v, c.want)
		}
	}
	if old.Accepted.Status != metav1.ConditionTrue || old.Accepted.Reason != string(gwv1.ListenerSetReasonListenersNotValid) {
		t.Errorf("old: Accepted %s/%s, want True/ListenersNotValid", old.Accepted.Status, old.Accepted.Reason)
	}
	if zeta.Accepted.Status != metav1.ConditionFalse || zeta.Accepted.Reason != string(gwv1.ListenerSetReasonListenersNotValid) {
		t.Errorf("zeta: Accepted %s/%s, want False/ListenersNotValid", zeta.Accepted.Status, zeta.Accepted.Reason)
	}
	if old.Generation != 3 {
		t.Errorf("generation = %d, want 3", old.Generation)
	}

	served := ServedListeners(gw, in.GatewayListeners, got)
	var names []string
	for _, l := range served {
		names = append(names, string(l.Name))
	}
	if want := "web c b udp"; strings.Join(names, " ") != want {
		t.Errorf("served = %q, want %q", strings.Join(names, " "), want)
	}
}

func TestValidateListenerSetsNotAllowedAndCertificates(t *testing.T) {
	certPEM, keyPEM := selfSignedPEM(t, "example.com")
	gw := gatewayAllowing(ptr.To(gwv1.NamespacesFromSame), nil)
	gw.Spec.Listeners = []gwv1.Listener{listener("web", 80, gwv1.HTTPProtocolType)}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "cert"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}}
	in := ListenerSetInput{
		ListenerInput: ListenerInput{Gateway: gw, Secrets: map[types.NamespacedName]*corev1.Secret{{Namespace: "infra", Name: "cert"}: secret}},
		ListenerSets: []gwv1.ListenerSet{
			listenerSet("apps", "outside", 1, listener("x", 8080, gwv1.HTTPProtocolType)),
			// The certificate resolves in the ListenerSet's namespace.
			listenerSet("infra", "tls", 2, listener("https", 443, gwv1.HTTPSProtocolType, certRef("", "cert"))),
		},
	}
	in.GatewayListeners = ValidateListeners(in.ListenerInput)
	got := ValidateListenerSets(in)
	if len(got) != 2 {
		t.Fatalf("got %d results", len(got))
	}
	outside, tls := got[0], got[1]
	if outside.Attached() || outside.Accepted.Reason != string(gwv1.ListenerSetReasonNotAllowed) {
		t.Errorf("outside: %+v, want NotAllowed", outside.Accepted)
	}
	if outside.Listeners[0].Serves() {
		t.Error("a listener of a ListenerSet that is not allowed must not serve")
	}
	if !tls.Attached() || !tls.Listeners[0].Valid() || len(tls.Listeners[0].Certificates) != 1 {
		t.Errorf("tls: %+v / %s", tls.Accepted, verdict(tls.Listeners[0]))
	}
	served := ServedListeners(gw, in.GatewayListeners, got)
	if len(served) != 2 || served[1].Name != "https" {
		t.Errorf("served = %v", served)
	}
}
