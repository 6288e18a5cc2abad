package translate

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// backendProtocol says which Kong service protocol a route kind proxies
// with, and which Service appProtocols are compatible with it.
type backendProtocol struct {
	kongProtocol string
	l4           corev1.Protocol
	appProtocols map[string]bool // nil: any appProtocol is fine (L4)
	// tlsProtocol is the Kong service protocol for backends a
	// BackendTLSPolicy governs; "" where policies do not apply.
	tlsProtocol string
}

var (
	httpBackends = backendProtocol{kongProtocol: "http", l4: corev1.ProtocolTCP,
		// Kong proxies WebSocket upgrades on http services; h2c backends
		// are proxied through a grpc service (h2c.go). TLS to the backend
		// takes a BackendTLSPolicy (backendtls.go).
		appProtocols: map[string]bool{"": true, "http": true, "kubernetes.io/ws": true, h2cAppProtocol: true}, tlsProtocol: "https"}
	grpcBackends = backendProtocol{kongProtocol: "grpc", l4: corev1.ProtocolTCP,
		appProtocols: map[string]bool{"": true, "grpc": true, "kubernetes.io/h2c": true}, tlsProtocol: "grpcs"}
	tcpBackends = backendProtocol{kongProtocol: "tcp", l4: corev1.ProtocolTCP}
	// tlsTerminateBackends are the backends of TLSRoutes on listeners that
	// terminate TLS, where Kong may speak TLS again to the backend.
	tlsTerminateBackends = backendProtocol{kongProtocol: "tcp", l4: corev1.ProtocolTCP, tlsProtocol: "tls"}
	udpBackends          = backendProtocol{kongProtocol: "udp", l4: corev1.ProtocolUDP}
)

// refProblem is why one backendRef could not be used.
type refProblem struct {
	reason  gwv1.RouteConditionReason
	message string
}

// resolvedBackend is one usable backendRef with its ready endpoints.
type resolvedBackend struct {
	ref         int // index in the rule's backendRefs
	service     *corev1.Service
	port        int32
	weight      int32
	endpoints   []string // host:port, sorted, unique
	appProtocol string   // the Service port's appProtocol, "" when unset
	// tags are the Service's objectTags, one slice per Service and
	// translation (serviceTagsOf) that its targets share.
	tags []string
	// tls is the TLS a BackendTLSPolicy asks for (nil: plain); tlsRefused
	// says why the policy that governs the backend cannot be applied.
	tls        *backendTLS
	tlsRefused string
}

// ruleBackends is the outcome of resolving a rule's backendRefs.
type ruleBackends struct {
	resolved []resolvedBackend
	problems []refProblem
	total    int // number of backendRefs
	// tls is the backend TLS all resolved backends need (nil: plain);
	// tlsMixed says why they cannot share one; tlsRefused lists backends
	// left out because their BackendTLSPolicy cannot be applied.
	tls        *backendTLS
	tlsMixed   string
	tlsRefused []string
}

// usable reports whether traffic can be sent anywhere: at least one
// resolved backend with a non-zero weight.
func (b ruleBackends) usable() bool {
	for _, r := range b.resolved {
		if r.weight > 0 {
			return true
		}
	}
	return false
}

// resolveBackends resolves backendRefs of rule ruleIdx of a route.
func (t *translator) resolveBackends(meta *routeMeta, ruleIdx int, refs []gwv1.BackendRef, proto backendProtocol) ruleBackends {
	out := ruleBackends{total: len(refs)}
	for i, ref := range refs {
		where := fmt.Sprintf("rules[%d].backendRefs[%d]", ruleIdx, i)
		b, problem := t.resolveBackend(meta, ref, proto)
		if problem != nil {
			problem.message = where + ": " + problem.message
			out.problems = append(out.problems, *problem)
			continue
		}
		b.ref = i
		out.resolved = append(out.resolved, b)
	}
	if proto.tlsProtocol != "" {
		settleBackendTLS(&out)
	}
	return out
}

func (t *translator) resolveBackend(meta *routeMeta, ref gwv1.BackendRef, proto backendProtocol) (resolvedBackend, *refProblem) {
	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if group != "" || kind != "Service" {
		shown := kind
		if group != "" {
			shown = group + "/" + kind
		}
		return resolvedBackend{}, &refProblem{gwv1.RouteReasonInvalidKind, fmt.Sprintf("backend kind %s is not supported; only core Services can be backends", shown)}
	}
	ns := meta.key.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	key := types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
	from := gatewayapi.Reference{Group: gwv1.GroupName, Kind: meta.key.Kind, Namespace: meta.key.Namespace}
	to := gatewayapi.Reference{Group: "", Kind: "Service", Namespace: ns, Name: string(ref.Name)}
	if !gatewayapi.ReferenceAllowed(from, to, t.snap.ReferenceGrants) {
		return resolvedBackend{}, &refProblem{gwv1.RouteReasonRefNotPermitted,
			fmt.Sprintf("Service %s is in another namespace and no ReferenceGrant in %q allows %s from %q to reference it", key, ns, meta.key.Kind, meta.key.Namespace)}
	}
	svc, ok := t.services[key]
	if !ok {
		return resolvedBackend{}, &refProblem{gwv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s does not exist", key)}
	}
	if ref.Port == nil {
		return resolvedBackend{}, &refProblem{gwv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s is referenced without a port", key)}
	}
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		portProto := p.Protocol
		if portProto == "" {
			portProto = corev1.ProtocolTCP
		}
		if p.Port == int32(*ref.Port) && portProto == proto.l4 {
			svcPort = p
			break
		}
	}
	if svcPort == nil {
		return resolvedBackend{}, &refProblem{gwv1.RouteReasonBackendNotFound, fmt.Sprintf("Service %s has no port %d", key, *ref.Port)}
	}
	var policy *tlsPolicyState
	if proto.tlsProtocol != "" {
		policy = t.backendTLS.lookup(key, svcPort.Name)
	}
	if proto.appProtocols != nil {
		app := ""
		if svcPort.AppProtocol != nil {
			app = *svcPort.AppProtocol
		}
		// A port that speaks TLS is a backend only with a policy that
		// tells how to verify it.
		tlsApp := policy != nil && strings.EqualFold(app, "https")
		if !proto.appProtocols[app] && !tlsApp {
			return resolvedBackend{}, &refProblem{gwv1.RouteReasonUnsupportedProtocol,
				fmt.Sprintf("Service %s port %d has appProtocol %q, which a %s cannot use (Kong proxies it as %s)", key, *ref.Port, app, meta.key.Kind, proto.kongProtocol)}
		}
	}
	weight := int32(1)
	if ref.Weight != nil {
		weight = *ref.Weight
	}
	if weight < 0 {
		weight = 0 // the CRD forbids negative weights; never send traffic there
	}
	b := resolvedBackend{service: svc, port: int32(*ref.Port), weight: weight, tags: t.serviceTagsOf(key, svc)}
	if svcPort.AppProtocol != nil {
		b.appProtocol = *svcPort.AppProtocol
	}
	switch {
	case policy == nil:
	case policy.usable():
		b.tls = policy.settings()
	default:
		b.tlsRefused = fmt.Sprintf("BackendTLSPolicy %s for Service %s port %d: %s", policy.key, key, *ref.Port, policy.accepted().Message)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		b.endpoints = []string{net.JoinHostPort(strings.TrimSuffix(svc.Spec.ExternalName, "."), fmt.Sprint(*ref.Port))}
		return b, nil
	}
	b.endpoints = t.readyEndpoints(key, svcPort, proto.l4)
	return b, nil
}

// endpointsKey names a Service port's ready endpoints (readyEndpoints).
type endpointsKey struct {
	svc  types.NamespacedName
	port string
	l4   corev1.Protocol
}

// serviceTagsOf returns the tags of a Service's targets, computed once per
// translation. A Service is usually the backend of many rules and has
// several endpoints, and each of those targets used to carry a copy: with
// 5,000 generated routes, copies of the same four strings were the largest
// thing a translation held. The slice is clipped, so an append to it
// copies rather than writes into what other targets share.
func (t *translator) serviceTagsOf(key types.NamespacedName, svc *corev1.Service) []string {
	if tags, ok := t.serviceTags[key]; ok {
		return tags
	}
	tags := slices.Clip(objectTags("Service", svc.Namespace, svc.Name, string(svc.UID)))
	t.serviceTags[key] = tags
	return tags
}

// readyEndpoints lists host:port of the ready, non-terminating endpoints of
// a Service port, once per translation (every backendRef to the port shares
// the list, read-only).
func (t *translator) readyEndpoints(svc types.NamespacedName, sp *corev1.ServicePort, l4 corev1.Protocol) []string {
	k := endpointsKey{svc: svc, port: sp.Name, l4: l4}
	if eps, ok := t.endpoints[k]; ok {
		return eps
	}
	eps := listReadyEndpoints(t.slices[svc], sp, l4)
	t.endpoints[k] = eps
	return eps
}

// listReadyEndpoints lists host:port of the ready, non-terminating
// endpoints of a Service port in its EndpointSlices. EndpointSlice ports
// carry the Service port's name, and their number is the resolved target
// port (named target ports included).
func listReadyEndpoints(endpointSlices []*discoveryv1.EndpointSlice, sp *corev1.ServicePort, l4 corev1.Protocol) []string {
	seen := map[string]bool{}
	var out []string
	for _, es := range endpointSlices {
		var port int32
		found := false
		for _, p := range es.Ports {
			name, proto := "", corev1.ProtocolTCP
			if p.Name != nil {
				name = *p.Name
			}
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if name == sp.Name && proto == l4 && p.Port != nil {
				port, found = *p.Port, true
				break
			}
		}
		if !found {
			continue
		}
		for _, ep := range es.Endpoints {
			if !endpointReady(ep) {
				continue
			}
			for _, addr := range ep.Addresses {
				if es.AddressType == discoveryv1.AddressTypeFQDN {
					addr = strings.TrimSuffix(addr, ".")
				}
				hp := net.JoinHostPort(addr, fmt.Sprint(port))
				if !seen[hp] {
					seen[hp] = true
					out = append(out, hp)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// endpointReady follows the EndpointSlice API: a nil ready condition means
// ready, and terminating endpoints receive no new traffic.
func endpointReady(ep discoveryv1.Endpoint) bool {
	if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
		return false
	}
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
		return false
	}
	return true
}

// targets spreads each backend's weight over its endpoints so the traffic
// share of a backendRef is weight/sum(weights) whatever its endpoint count.
// Weights are multiplied by the least common multiple of endpoint counts
// when that keeps them within Kong's 0..65535; otherwise they are scaled
// and rounded, never below 1 for a non-zero weight. A target shared by
// several backendRefs gets the sum of its shares.
func (b ruleBackends) targets() []kong.Target {
	lcm := 1
	for _, r := range b.resolved {
		if n := len(r.endpoints); n > 0 && r.weight > 0 {
			lcm = lcm / gcd(lcm, n) * n
			if lcm > kong.MaxTargetWeight {
				lcm = kong.MaxTargetWeight
			}
		}
	}
	type share struct {
		weight float64
		tags   []string
	}
	shares := map[string]*share{}
	var order []string
	maxShare := 0.0
	for _, r := range b.resolved {
		n := len(r.endpoints)
		for _, ep := range r.endpoints {
			w := float64(r.weight) * float64(lcm) / float64(n)
			s, ok := shares[ep]
			if !ok {
				s = &share{tags: r.tags}
				shares[ep] = s
				order = append(order, ep)
			}
			s.weight += w
			if s.weight > maxShare {
				maxShare = s.weight
			}
		}
	}
	scale := 1.0
	if maxShare > kong.MaxTargetWeight {
		scale = kong.MaxTargetWeight / maxShare
	}
	sort.Strings(order)
	out := make([]kong.Target, 0, len(order))
	for _, ep := range order {
		s := shares[ep]
		w := int(s.weight*scale + 0.5)
		if s.weight > 0 && w == 0 {
			w = 1
		}
		if w > kong.MaxTargetWeight {
			w = kong.MaxTargetWeight
		}
		out = append(out, kong.Target{Target: ep, Weight: w, Tags: s.tags})
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// resolvedRefsCondition summarises backend problems of all rules; the first
// problem gives the reason and every problem is listed in the message.
func resolvedRefsCondition(problems []refProblem) gatewayapi.Condition {
	if len(problems) == 0 {
		return gatewayapi.True(string(gwv1.RouteConditionResolvedRefs), string(gwv1.RouteReasonResolvedRefs), "All references resolved")
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.message
	}
	return gatewayapi.False(string(gwv1.RouteConditionResolvedRefs), string(problems[0].reason), strings.Join(msgs, "; "))
}
