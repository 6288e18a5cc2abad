package gatewayapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// BackendClientCertificateRef is the Secret a Gateway presents to backends
// it reaches over TLS (spec.tls.backend.clientCertificateRef), or nil when
// none is set or the reference is not to a core Secret.
func BackendClientCertificateRef(gw *gwv1.Gateway) *types.NamespacedName {
	ref := backendClientRef(gw)
	if ref == nil || !isSecretRef(*ref) {
		return nil
	}
	return &types.NamespacedName{Namespace: refNamespace(*ref, gw.Namespace), Name: string(ref.Name)}
}

// HasBackendClientCertificate reports whether the Gateway sets
// spec.tls.backend.clientCertificateRef (to anything).
func HasBackendClientCertificate(gw *gwv1.Gateway) bool { return backendClientRef(gw) != nil }

func backendClientRef(gw *gwv1.Gateway) *gwv1.SecretObjectReference {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Backend == nil {
		return nil
	}
	return gw.Spec.TLS.Backend.ClientCertificateRef
}

// ValidateBackendClientCertificate resolves spec.tls.backend.
// clientCertificateRef. It returns the Secret to present when the reference
// is usable, and the Gateway's ResolvedRefs verdict on it; a Gateway without
// the reference gets nil and ok true.
func ValidateBackendClientCertificate(in ListenerInput) (key *types.NamespacedName, cond Condition, ok bool) {
	gw := in.Gateway
	ref := backendClientRef(gw)
	condType := string(gwv1.GatewayConditionResolvedRefs)
	if ref == nil {
		return nil, True(condType, string(gwv1.GatewayReasonResolvedRefs), "All references resolved"), true
	}
	invalid := func(reason gwv1.GatewayConditionReason, format string, args ...any) (*types.NamespacedName, Condition, bool) {
		return nil, False(condType, string(reason), "spec.tls.backend.clientCertificateRef: "+fmt.Sprintf(format, args...)), false
	}
	if !isSecretRef(*ref) {
		return invalid(gwv1.GatewayReasonInvalidClientCertificateRef, "must reference a core Secret, not %s", refKind(*ref))
	}
	k := types.NamespacedName{Namespace: refNamespace(*ref, gw.Namespace), Name: string(ref.Name)}
	from := Reference{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gw.Namespace}
	to := Reference{Group: "", Kind: "Secret", Namespace: k.Namespace, Name: k.Name}
	if !ReferenceAllowed(from, to, in.ReferenceGrants) {
		return invalid(gwv1.GatewayReasonRefNotPermitted,
			"Secret %s is in another namespace and no ReferenceGrant in %q allows Gateways from %q to reference it", k, k.Namespace, gw.Namespace)
	}
	secret, found := in.Secrets[k]
	if !found {
		return invalid(gwv1.GatewayReasonInvalidClientCertificateRef, "Secret %s does not exist", k)
	}
	if err := ValidateTLSSecret(secret); err != nil {
		return invalid(gwv1.GatewayReasonInvalidClientCertificateRef, "Secret %s: %v", k, err)
	}
	return &k, True(condType, string(gwv1.GatewayReasonResolvedRefs), "All references resolved"), true
}

// GatewayResolvedRefs is the Gateway's ResolvedRefs condition: the verdict
// on its own references (the backend client certificate), then a summary
// of its listeners'.
func GatewayResolvedRefs(clientCert Condition, listeners []ListenerResult) Condition {
	if clientCert.Status != "True" {
		return clientCert
	}
	for _, l := range listeners {
		if l.ResolvedRefs.Status != "True" {
			return False(string(gwv1.GatewayConditionResolvedRefs), string(gwv1.GatewayReasonListenersNotResolved),
				fmt.Sprintf("listener %q: %s", l.Name, l.ResolvedRefs.Message))
		}
	}
	return clientCert
}
