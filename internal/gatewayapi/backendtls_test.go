package gatewayapi

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestValidateBackendClientCertificate(t *testing.T) {
	certPEM, keyPEM := selfSignedPEM(t, "client")
	good := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "client"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}}
	opaque := good.DeepCopy()
	opaque.Name, opaque.Type = "opaque", corev1.SecretTypeOpaque
	secrets := map[types.NamespacedName]*corev1.Secret{{Namespace: "certs", Name: "client"}: good, {Namespace: "certs", Name: "opaque"}: opaque}
	grant := gwv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "certs", Name: "g"}, Spec: gwv1.ReferenceGrantSpec{
		From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "Gateway", Namespace: "infra"}},
		To:   []gwv1.ReferenceGrantTo{{Group: "", Kind: "Secret"}}}}
	ns := gwv1.Namespace("certs")
	vault := gwv1.Kind("Vault")
	group := gwv1.Group("example.com")
	for _, c := range []struct {
		name   string
		ref    *gwv1.SecretObjectReference
		grants []gwv1.ReferenceGrant
		reason gwv1.GatewayConditionReason
	}{
		{"no reference", nil, nil, gwv1.GatewayReasonResolvedRefs},
		{"granted", &gwv1.SecretObjectReference{Name: "client", Namespace: &ns}, []gwv1.ReferenceGrant{grant}, gwv1.GatewayReasonResolvedRefs},
		{"not granted", &gwv1.SecretObjectReference{Name: "client", Namespace: &ns}, nil, gwv1.GatewayReasonRefNotPermitted},
		{"missing", &gwv1.SecretObjectReference{Name: "nope", Namespace: &ns}, []gwv1.ReferenceGrant{grant}, gwv1.GatewayReasonInvalidClientCertificateRef},
		{"not a TLS Secret", &gwv1.SecretObjectReference{Name: "opaque", Namespace: &ns}, []gwv1.ReferenceGrant{grant}, gwv1.GatewayReasonInvalidClientCertificateRef},
		{"not a Secret", &gwv1.SecretObjectReference{Group: &group, Kind: &vault, Name: "client"}, nil, gwv1.GatewayReasonInvalidClientCertificateRef},
	} {
		t.Run(c.name, func(t *testing.T) {
			gw := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
			if c.ref != nil {
				gw.Spec.TLS = &gwv1.GatewayTLSConfig{Backend: &gwv1.GatewayBackendTLS{ClientCertificateRef: c.ref}}
			}
			key, cond, ok := ValidateBackendClientCertificate(ListenerInput{Gateway: gw, Secrets: secrets, ReferenceGrants: c.grants})
			if cond.Type != string(gwv1.GatewayConditionResolvedRefs) || cond.Reason != string(c.reason) {
				t.Fatalf("got %+v, want reason %s", cond, c.reason)
			}
			wantOK := c.reason == gwv1.GatewayReasonResolvedRefs
			if ok != wantOK || (cond.Status == metav1.ConditionTrue) != wantOK {
				t.Fatalf("ok=%v status=%s, want ok=%v", ok, cond.Status, wantOK)
			}
			if wantOK && c.ref != nil && (key == nil || *key != (types.NamespacedName{Namespace: "certs", Name: "client"})) {
				t.Fatalf("key %v", key)
			}
			if !wantOK && key != nil {
				t.Fatalf("an unusable reference returned key %v", key)
			}
		})
	}
}
