package gatewayapi

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	k8svalidation "k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Route kinds a listener can carry.
var (
	KindHTTPRoute = gwv1.RouteGroupKind{Group: groupPtr(gwv1.GroupName), Kind: "HTTPRoute"}
	KindGRPCRoute = gwv1.RouteGroupKind{Group: groupPtr(gwv1.GroupName), Kind: "GRPCRoute"}
	KindTLSRoute  = gwv1.RouteGroupKind{Group: groupPtr(gwv1.GroupName), Kind: "TLSRoute"}
	KindTCPRoute  = gwv1.RouteGroupKind{Group: groupPtr(gwv1.GroupName), Kind: "TCPRoute"}
	KindUDPRoute  = gwv1.RouteGroupKind{Group: groupPtr(gwv1.GroupName), Kind: "UDPRoute"}
)

func groupPtr(g string) *gwv1.Group { v := gwv1.Group(g); return &v }

// routeKindsFor lists the route kinds each supported protocol carries, in the
// order they are reported in status.
func routeKindsFor(l gwv1.Listener) ([]gwv1.RouteGroupKind, bool) {
	switch l.Protocol {
	case gwv1.HTTPProtocolType, gwv1.HTTPSProtocolType:
		return []gwv1.RouteGroupKind{KindHTTPRoute, KindGRPCRoute}, true
	case gwv1.TLSProtocolType:
		return []gwv1.RouteGroupKind{KindTLSRoute}, true
	case gwv1.TCPProtocolType:
		return []gwv1.RouteGroupKind{KindTCPRoute}, true
	case gwv1.UDPProtocolType:
		return []gwv1.RouteGroupKind{KindUDPRoute}, true
	}
	return nil, false
}

// ListenerInput is what listener validation reads.
type ListenerInput struct {
	Gateway *gwv1.Gateway
	// Secrets holds the listener certificate Secrets and the CA Secrets of
	// spec.tls.frontend (FrontendCASecretRefs) that exist, keyed by
	// namespace/name. A referenced Secret missing here does not exist.
	Secrets map[types.NamespacedName]*corev1.Secret
	// ConfigMaps holds the CA bundle ConfigMaps that spec.tls.frontend
	// references (FrontendCAConfigMapRefs) that exist.
	ConfigMaps      map[types.NamespacedName]*corev1.ConfigMap
	ReferenceGrants []gwv1.ReferenceGrant
}

// ListenerResult is the verdict on one listener.
type ListenerResult struct {
	Name           gwv1.SectionName
	Accepted       Condition
	Conflicted     Condition
	ResolvedRefs   Condition
	SupportedKinds []gwv1.RouteGroupKind
	// Certificates are the listener's certificate Secrets that resolved, in
	// the order the listener lists them.
	Certificates []types.NamespacedName
	// ClientValidation is the client-certificate validation the Gateway's
	// spec.tls.frontend asks of this HTTPS listener; nil when none does.
	ClientValidation *ClientValidation
}

// Serves reports whether the data plane should open this listener's port:
// it is accepted and does not conflict with another listener.
func (r ListenerResult) Serves() bool {
	return r.Accepted.Status == "True" && r.Conflicted.Status == "False"
}

// Valid reports whether the listener is fully valid, which is what the
// Gateway's Accepted reason and the listener's Programmed condition reflect.
func (r ListenerResult) Valid() bool {
	return r.Serves() && r.ResolvedRefs.Status == "True"
}

// ListenerSecretRefs returns the Secrets that the Gateway's listeners
// reference, so a caller can fetch exactly those and nothing else.
func ListenerSecretRefs(gw *gwv1.Gateway) []types.NamespacedName {
	tls := make([]*gwv1.ListenerTLSConfig, 0, len(gw.Spec.Listeners))
	for _, l := range gw.Spec.Listeners {
		tls = append(tls, l.TLS)
	}
	return certificateSecretRefs(gw.Namespace, tls)
}

// certificateSecretRefs returns the Secrets the listener TLS configs of an
// object in namespace ns reference, once each, in order.
func certificateSecretRefs(ns string, configs []*gwv1.ListenerTLSConfig) []types.NamespacedName {
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, c := range configs {
		if c == nil {
			continue
		}
		for _, ref := range c.CertificateRefs {
			key := types.NamespacedName{Namespace: refNamespace(ref, ns), Name: string(ref.Name)}
			if isSecretRef(ref) && !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out
}

func isSecretRef(ref gwv1.SecretObjectReference) bool {
	group := ""
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	kind := "Secret"
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return group == "" && kind == "Secret"
}

func refNamespace(ref gwv1.SecretObjectReference, def string) string {
	if ref.Namespace != nil && *ref.Namespace != "" {
		return string(*ref.Namespace)
	}
	return def
}

// ValidateListeners decides Accepted, Conflicted and ResolvedRefs for every
// listener of a Gateway, in spec order. A bad listener never affects the
// verdict on the others except through a genuine conflict.
func ValidateListeners(in ListenerInput) []ListenerResult {
	gw := in.Gateway
	results := make([]ListenerResult, len(gw.Spec.Listeners))
	from := Reference{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gw.Namespace}
	for i, l := range gw.Spec.Listeners {
		results[i] = validateListener(in, from, l)
	}
	markConflicts(gw.Spec.Listeners, results)
	return results
}

// validateListener decides one listener on its own, before conflicts. from
// is the object that holds the listener: certificate references are resolved
// in its namespace and ReferenceGrants must name its kind.
func validateListener(in ListenerInput, from Reference, l gwv1.Listener) ListenerResult {
	r := ListenerResult{Name: l.Name}
	r.Conflicted = False(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonNoConflicts), "No conflicts")
	r.ResolvedRefs = True(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonResolvedRefs), "All references resolved")
	kinds, ok := routeKindsFor(l)
	if !ok {
		r.Accepted = False(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonUnsupportedProtocol),
			fmt.Sprintf("protocol %q is not supported; use HTTP, HTTPS, TLS, TCP or UDP", l.Protocol))
		r.SupportedKinds = []gwv1.RouteGroupKind{}
		return r
	}
	// The CRDs refuse such names at admission; a listener that reaches us
	// without that check (an older CRD, the offline translator) must not
	// carry its name into Kong tags, which refuse most punctuation.
	if errs := k8svalidation.IsDNS1123Subdomain(string(l.Name)); len(errs) > 0 {
		r.Accepted = False(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonUnsupportedValue),
			fmt.Sprintf("name %q is not a valid section name: %s", l.Name, strings.Join(errs, "; ")))
		r.SupportedKinds = kinds
		return r
	}
	r.Accepted = True(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonAccepted), "Listener is accepted")
	r.SupportedKinds, r.ResolvedRefs = resolveRouteKinds(l, kinds, r.ResolvedRefs)
	if r.ResolvedRefs.Status == "True" {
		r.Certificates, r.ResolvedRefs = resolveCertificates(in, from, l, r.ResolvedRefs)
	}
	// The Gateway's spec.tls.frontend covers its ListenerSets' listeners
	// too: validation is per port, and they share the Gateway's ports.
	resolveClientValidation(in, l, &r)
	return r
}

func resolveRouteKinds(l gwv1.Listener, supported []gwv1.RouteGroupKind, ok Condition) ([]gwv1.RouteGroupKind, Condition) {
	if l.AllowedRoutes == nil || len(l.AllowedRoutes.Kinds) == 0 {
		return supported, ok
	}
	var kinds []gwv1.RouteGroupKind
	var invalid []string
	for _, want := range l.AllowedRoutes.Kinds {
		group := gwv1.GroupName
		if want.Group != nil {
			group = string(*want.Group)
		}
		found := false
		for _, s := range supported {
			if string(*s.Group) == group && s.Kind == want.Kind {
				kinds, found = append(kinds, s), true
				break
			}
		}
		if !found {
			invalid = append(invalid, fmt.Sprintf("%s/%s", group, want.Kind))
		}
	}
	if kinds == nil {
		kinds = []gwv1.RouteGroupKind{}
	}
	if len(invalid) == 0 {
		return kinds, ok
	}
	names := make([]string, len(supported))
	for i, s := range supported {
		names[i] = string(s.Kind)
	}
	return kinds, False(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonInvalidRouteKinds),
		fmt.Sprintf("route kinds %s are not supported on a %s listener (supported: %s)", strings.Join(invalid, ", "), l.Protocol, strings.Join(names, ", ")))
}

func resolveCertificates(in ListenerInput, from Reference, l gwv1.Listener, ok Condition) ([]types.NamespacedName, Condition) {
	terminates := l.Protocol == gwv1.HTTPSProtocolType ||
		(l.Protocol == gwv1.TLSProtocolType && (l.TLS == nil || l.TLS.Mode == nil || *l.TLS.Mode == gwv1.TLSModeTerminate))
	if !terminates {
		return nil, ok
	}
	invalid := func(reason gwv1.ListenerConditionReason, format string, args ...any) ([]types.NamespacedName, Condition) {
		return nil, False(string(gwv1.ListenerConditionResolvedRefs), string(reason), fmt.Sprintf(format, args...))
	}
	if l.TLS == nil || len(l.TLS.CertificateRefs) == 0 {
		return invalid(gwv1.ListenerReasonInvalidCertificateRef, "listener %q terminates TLS but has no tls.certificateRefs", l.Name)
	}
	var certs []types.NamespacedName
	for i, ref := range l.TLS.CertificateRefs {
		if !isSecretRef(ref) {
			return invalid(gwv1.ListenerReasonInvalidCertificateRef, "tls.certificateRefs[%d] must reference a core Secret, not %s", i, refKind(ref))
		}
		key := types.NamespacedName{Namespace: refNamespace(ref, from.Namespace), Name: string(ref.Name)}
		to := Reference{Group: "", Kind: "Secret", Namespace: key.Namespace, Name: key.Name}
		if !ReferenceAllowed(from, to, in.ReferenceGrants) {
			return invalid(gwv1.ListenerReasonRefNotPermitted,
				"Secret %s is in another namespace and no ReferenceGrant in %q allows %ss from %q to reference it", key, key.Namespace, from.Kind, from.Namespace)
		}
		secret, found := in.Secrets[key]
		if !found {
			return invalid(gwv1.ListenerReasonInvalidCertificateRef, "Secret %s does not exist", key)
		}
		if err := ValidateTLSSecret(secret); err != nil {
			return invalid(gwv1.ListenerReasonInvalidCertificateRef, "Secret %s: %v", key, err)
		}
		certs = append(certs, key)
	}
	return certs, ok
}

// ValidateTLSSecret checks that a Secret holds a usable certificate and key.
// The message never includes key material.
func ValidateTLSSecret(s *corev1.Secret) error {
	if s.Type != corev1.SecretTypeTLS {
		return fmt.Errorf("type is %q, want %q", s.Type, corev1.SecretTypeTLS)
	}
	certPEM, keyPEM := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return fmt.Errorf("%s and %s must both be set", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("%s and %s are not a valid PEM certificate and matching key", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	return nil
}

func refKind(ref gwv1.SecretObjectReference) string {
	group, kind := "core", "Secret"
	if ref.Group != nil && *ref.Group != "" {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return group + "/" + kind
}

// family groups listeners that Kong can serve on one port: they must be the
// same kind of Kong listener. TCP-based and UDP listeners never clash because
// they bind different sockets.
func family(l gwv1.Listener) string {
	switch l.Protocol {
	case gwv1.UDPProtocolType:
		return "udp"
	case gwv1.TLSProtocolType:
		// One ssl stream listener serves both modes: Kong reads the SNI
		// first and terminates only for tls routes, so passthrough and
		// terminate listeners may share a port (TLSRouteModeMixed).
		return "tls"
	default:
		return strings.ToLower(string(l.Protocol))
	}
}

// markConflicts finds listeners that share a port but cannot share a Kong
// listener (ProtocolConflict), and listeners of one kind on one port that no
// hostname tells apart (HostnameConflict). Unsupported listeners take no part.
func markConflicts(listeners []gwv1.Listener, results []ListenerResult) {
	type portProto struct {
		port int32
		udp  bool
	}
	groups := map[portProto][]int{}
	for i, l := range listeners {
		if results[i].Accepted.Status != "True" {
			continue
		}
		k := portProto{int32(l.Port), l.Protocol == gwv1.UDPProtocolType}
		groups[k] = append(groups[k], i)
	}
	keys := make([]portProto, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].port < keys[j].port || (keys[i].port == keys[j].port && !keys[i].udp)
	})

	for _, k := range keys {
		idx := groups[k]
		families := map[string]bool{}
		for _, i := range idx {
			families[family(listeners[i])] = true
		}
		if len(families) > 1 {
			for _, i := range idx {
				results[i].Conflicted = True(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonProtocolConflict),
					fmt.Sprintf("port %d is used by listeners with protocols that cannot share it (%s)", k.port, sortedKeys(families)))
			}
			continue
		}
		byHost := map[string][]int{}
		for _, i := range idx {
			host := ""
			if listeners[i].Hostname != nil {
				host = string(*listeners[i].Hostname)
			}
			if listeners[i].Protocol == gwv1.TCPProtocolType || listeners[i].Protocol == gwv1.UDPProtocolType {
				host = "" // L4 listeners have no hostname to tell them apart
			}
			byHost[host] = append(byHost[host], i)
		}
		for host, same := range byHost {
			if len(same) < 2 {
				continue
			}
			shown := host
			if shown == "" {
				shown = "(none)"
			}
			for _, i := range same {
				results[i].Conflicted = True(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonHostnameConflict),
					fmt.Sprintf("%d listeners on port %d share the hostname %s", len(same), k.port, shown))
			}
		}
	}
}

func sortedKeys(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
