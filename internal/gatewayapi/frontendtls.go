package gatewayapi

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// CACertificateKey is the ConfigMap (or Secret) key that holds a PEM CA
// bundle, as the Gateway API names it for caCertificateRefs.
const CACertificateKey = "ca.crt"

// ClientValidation is the client-certificate validation that
// spec.tls.frontend asks of one HTTPS listener.
type ClientValidation struct {
	// Mode is AllowValidOnly or AllowInsecureFallback (an empty mode in
	// the spec is AllowValidOnly).
	Mode gwv1.FrontendValidationModeType
	// CACertificates is the PEM bundle of every certificate of the valid
	// caCertificateRefs, in reference order, each certificate once. Empty
	// when no reference is valid; the listener is then not accepted.
	CACertificates string
	// Source names the configuration that applies, for messages:
	// "spec.tls.frontend.default" or "spec.tls.frontend.perPort[port 8443]".
	Source string
}

// frontendValidationFor returns the validation spec.tls.frontend sets for
// HTTPS listeners on port, and where it comes from. A perPort entry for the
// port overrides the default even when it sets no validation.
func frontendValidationFor(gw *gwv1.Gateway, port gwv1.PortNumber) (*gwv1.FrontendTLSValidation, string) {
	if gw == nil || gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil, ""
	}
	f := gw.Spec.TLS.Frontend
	for _, pp := range f.PerPort {
		if pp.Port == port {
			return pp.TLS.Validation, fmt.Sprintf("spec.tls.frontend.perPort[port %d]", port)
		}
	}
	return f.Default.Validation, "spec.tls.frontend.default"
}

// frontendValidations lists every validation spec.tls.frontend sets.
func frontendValidations(gw *gwv1.Gateway) []*gwv1.FrontendTLSValidation {
	if gw == nil || gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil
	}
	f := gw.Spec.TLS.Frontend
	out := []*gwv1.FrontendTLSValidation{f.Default.Validation}
	for _, pp := range f.PerPort {
		out = append(out, pp.TLS.Validation)
	}
	return out
}

// FrontendCAConfigMapRefs returns the ConfigMaps that spec.tls.frontend
// references as CA bundles, once each, so a caller can fetch exactly those
// and nothing else.
func FrontendCAConfigMapRefs(gw *gwv1.Gateway) []types.NamespacedName {
	return frontendCARefs(gw, "ConfigMap")
}

// FrontendCASecretRefs returns the Secrets that spec.tls.frontend
// references as CA bundles (an implementation-specific kind, as
// cert-manager keeps a CA in a Secret's ca.crt), once each.
func FrontendCASecretRefs(gw *gwv1.Gateway) []types.NamespacedName {
	return frontendCARefs(gw, "Secret")
}

func frontendCARefs(gw *gwv1.Gateway, kind gwv1.Kind) []types.NamespacedName {
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, v := range frontendValidations(gw) {
		if v == nil {
			continue
		}
		for _, ref := range v.CACertificateRefs {
			if ref.Group != "" || ref.Kind != kind {
				continue
			}
			key := types.NamespacedName{Namespace: objectRefNamespace(ref, gw.Namespace), Name: string(ref.Name)}
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out
}

// InsecureFrontendValidation reports whether spec.tls.frontend lets any
// port accept clients without a valid certificate (AllowInsecureFallback),
// and the Gateway condition that says so.
func InsecureFrontendValidation(gw *gwv1.Gateway) (Condition, bool) {
	var where []string
	if gw != nil && gw.Spec.TLS != nil && gw.Spec.TLS.Frontend != nil {
		f := gw.Spec.TLS.Frontend
		if v := f.Default.Validation; v != nil && v.Mode == gwv1.AllowInsecureFallback {
			where = append(where, "spec.tls.frontend.default")
		}
		for _, pp := range f.PerPort {
			if v := pp.TLS.Validation; v != nil && v.Mode == gwv1.AllowInsecureFallback {
				where = append(where, fmt.Sprintf("spec.tls.frontend.perPort[port %d]", pp.Port))
			}
		}
	}
	if len(where) == 0 {
		return Condition{}, false
	}
	return True(string(gwv1.GatewayConditionInsecureFrontendValidationMode), string(gwv1.GatewayReasonConfigurationChanged),
		fmt.Sprintf("%s set mode AllowInsecureFallback: HTTPS clients with no certificate, or one that fails validation, are let through", strings.Join(where, ", "))), true
}

func objectRefNamespace(ref gwv1.ObjectReference, def string) string {
	if ref.Namespace != nil && *ref.Namespace != "" {
		return string(*ref.Namespace)
	}
	return def
}

// caProblem is one invalid caCertificateRef.
type caProblem struct {
	reason  gwv1.ListenerConditionReason
	message string
}

// resolveClientValidation applies spec.tls.frontend to one listener: HTTPS
// listeners on a port it covers get a ClientValidation, and invalid
// caCertificateRefs make ResolvedRefs False (the first problem's reason)
// and, when none is valid, Accepted False with NoValidCACertificate, so the
// port is never served without the validation it asks for.
func resolveClientValidation(in ListenerInput, l gwv1.Listener, r *ListenerResult) {
	if l.Protocol != gwv1.HTTPSProtocolType {
		return
	}
	v, source := frontendValidationFor(in.Gateway, l.Port)
	if v == nil {
		return
	}
	cv := &ClientValidation{Mode: v.Mode, Source: source}
	if cv.Mode == "" {
		cv.Mode = gwv1.AllowValidOnly
	}
	r.ClientValidation = cv
	if cv.Mode != gwv1.AllowValidOnly && cv.Mode != gwv1.AllowInsecureFallback {
		r.Accepted = False(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonUnsupportedValue),
			fmt.Sprintf("%s: validation mode %q is not supported; use AllowValidOnly or AllowInsecureFallback", source, cv.Mode))
		return
	}

	gw := in.Gateway
	from := Reference{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gw.Namespace}
	var problems []caProblem
	var bundle bytes.Buffer
	seen := map[string]bool{}
	for i, ref := range v.CACertificateRefs {
		certs, p := resolveCARef(in, from, source, i, ref)
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		for _, der := range certs {
			if !seen[string(der)] {
				seen[string(der)] = true
				_ = pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: der})
			}
		}
	}
	cv.CACertificates = bundle.String()
	if len(v.CACertificateRefs) == 0 {
		problems = append(problems, caProblem{gwv1.ListenerReasonInvalidCACertificateRef, source + " has no caCertificateRefs"})
	}
	if len(problems) == 0 {
		return
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.message
	}
	msg := strings.Join(msgs, "; ")
	if r.ResolvedRefs.Status == "True" {
		r.ResolvedRefs = False(string(gwv1.ListenerConditionResolvedRefs), string(problems[0].reason), msg)
	} else {
		r.ResolvedRefs.Message += "; " + msg
	}
	if cv.CACertificates == "" {
		r.Accepted = False(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonNoValidCACertificate),
			fmt.Sprintf("None of the CA certificates of %s is usable, so the listener is not served (it would otherwise accept clients without checking them): %s", source, msg))
	}
}

// resolveCARef checks one caCertificateRef and returns the DER certificates
// of its bundle.
func resolveCARef(in ListenerInput, from Reference, source string, i int, ref gwv1.ObjectReference) ([][]byte, *caProblem) {
	at := fmt.Sprintf("%s caCertificateRefs[%d]", source, i)
	if ref.Group != "" || (ref.Kind != "ConfigMap" && ref.Kind != "Secret") {
		group := string(ref.Group)
		if group == "" {
			group = "core"
		}
		return nil, &caProblem{gwv1.ListenerReasonInvalidCACertificateKind,
			fmt.Sprintf("%s refers to %s/%s %q; only core ConfigMaps and Secrets (with the bundle under %q) are supported", at, group, ref.Kind, ref.Name, CACertificateKey)}
	}
	kind := string(ref.Kind)
	key := types.NamespacedName{Namespace: objectRefNamespace(ref, from.Namespace), Name: string(ref.Name)}
	to := Reference{Group: "", Kind: kind, Namespace: key.Namespace, Name: key.Name}
	if !ReferenceAllowed(from, to, in.ReferenceGrants) {
		return nil, &caProblem{gwv1.ListenerReasonRefNotPermitted,
			fmt.Sprintf("%s: %s %s is in another namespace and no ReferenceGrant in %q allows Gateways from %q to reference it", at, kind, key, key.Namespace, from.Namespace)}
	}
	var data []byte
	var found, hasKey bool
	if kind == "ConfigMap" {
		var cm *corev1.ConfigMap
		if cm, found = in.ConfigMaps[key]; found {
			var s string
			if s, hasKey = cm.Data[CACertificateKey]; hasKey {
				data = []byte(s)
			} else {
				data, hasKey = cm.BinaryData[CACertificateKey]
			}
		}
	} else {
		var secret *corev1.Secret
		if secret, found = in.Secrets[key]; found {
			data, hasKey = secret.Data[CACertificateKey]
		}
	}
	if !found {
		return nil, &caProblem{gwv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("%s: %s %s does not exist", at, kind, key)}
	}
	if !hasKey {
		return nil, &caProblem{gwv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("%s: %s %s has no key %q", at, kind, key, CACertificateKey)}
	}
	certs, err := parseCABundle(data)
	if err != nil {
		return nil, &caProblem{gwv1.ListenerReasonInvalidCACertificateRef, fmt.Sprintf("%s: %s %s: %v", at, kind, key, err)}
	}
	return certs, nil
}

// parseCABundle returns the DER certificates of a PEM bundle (a ca.crt):
// every PEM CERTIFICATE block must parse, and there must be at least one.
// Other PEM blocks and text between blocks are ignored.
func parseCABundle(data []byte) ([][]byte, error) {
	var out [][]byte
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%s: PEM block %d is not a valid certificate: %v", CACertificateKey, n, err)
		}
		out = append(out, block.Bytes)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", CACertificateKey)
	}
	return out, nil
}
