package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// patchStatus writes the Gateway status decided in this reconcile. It runs
// deferred, so status is written even when a phase failed halfway.
//
// Conditions are a list, which a merge patch replaces whole: a write based
// on a stale cached copy would drop conditions another controller added
// since (GatewayPreserveForeignConditions). So the patch carries the
// resourceVersion it was computed from, and on a conflict our verdicts are
// laid again over the status read straight from the API server, as long as
// the spec they were decided for has not changed.
func (r *GatewayReconciler) patchStatus(ctx context.Context, s *gatewayScope, original *gwv1.Gateway) error {
	programmed, err := r.writeGatewayStatus(ctx, s, original)
	for attempt := 0; apierrors.IsConflict(err) && attempt < 3; attempt++ {
		fresh := &gwv1.Gateway{}
		if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s.gateway), fresh); gerr != nil {
			return errors.Join(err, gerr)
		}
		if fresh.Generation != s.gateway.Generation {
			break // the next reconcile decides for the new spec
		}
		s.gateway.ResourceVersion = fresh.ResourceVersion
		s.gateway.Status = *fresh.Status.DeepCopy()
		programmed, err = r.writeGatewayStatus(ctx, s, s.gateway.DeepCopy())
	}
	if err != nil {
		return fmt.Errorf("patch status of Gateway %s/%s: %w", s.gateway.Namespace, s.gateway.Name, err)
	}
	return r.writeListenerSetStatuses(ctx, s, programmed)
}

// writeGatewayStatus sets this reconcile's verdicts on s.gateway's status
// and patches it against original with an optimistic lock. It returns
// whether the Gateway is Programmed.
func (r *GatewayReconciler) writeGatewayStatus(ctx context.Context, s *gatewayScope, original *gwv1.Gateway) (bool, error) {
	gw := s.gateway
	gen := gw.Generation
	accepted, programmed := gatewayConditions(s)
	gatewayapi.Set(&gw.Status.Conditions, gen, accepted)
	gatewayapi.Set(&gw.Status.Conditions, gen, programmed)
	gatewayapi.Set(&gw.Status.Conditions, gen, gatewayResolvedRefs(s))
	// Present while spec.tls.frontend lets clients through unverified,
	// removed as soon as it no longer does.
	if insecure, ok := gatewayapi.InsecureFrontendValidation(gw); ok {
		gatewayapi.Set(&gw.Status.Conditions, gen, insecure)
	} else {
		meta.RemoveStatusCondition(&gw.Status.Conditions, string(gwv1.GatewayConditionInsecureFrontendValidationMode))
	}
	gw.Status.Addresses = addressesOf(s.ingress)
	gw.Status.Listeners = listenerStatuses(s, programmed.Status == "True")
	if r.ListenerSets {
		n := attachedListenerSets(s)
		gw.Status.AttachedListenerSets = &n
	}
	return programmed.Status == "True", r.Client.Status().Patch(ctx, gw, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))
}

// gatewayConditions decides Accepted and Programmed.
func gatewayConditions(s *gatewayScope) (accepted, programmed gatewayapi.Condition) {
	acceptedType, programmedType := string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayConditionProgrammed)
	if s.address.Unsupported != "" {
		return gatewayapi.False(acceptedType, string(gwv1.GatewayReasonUnsupportedAddress), s.address.Unsupported),
			gatewayapi.False(programmedType, string(gwv1.GatewayReasonInvalid), "Not programmed: spec.addresses has an unsupported address; the data plane was left unchanged")
	}
	if s.invalidParams != "" {
		return gatewayapi.False(acceptedType, string(gwv1.GatewayReasonInvalidParameters), s.invalidParams),
			gatewayapi.False(programmedType, string(gwv1.GatewayReasonInvalid), "Not programmed: the configuration is invalid; the data plane was left unchanged")
	}

	valid := 0
	for _, l := range s.listeners {
		if l.Valid() {
			valid++
		}
	}
	switch {
	case len(s.listeners) > 0 && valid == 0:
		accepted = gatewayapi.False(acceptedType, string(gwv1.GatewayReasonListenersNotValid), "No listener is valid; see status.listeners")
	case valid < len(s.listeners):
		accepted = gatewayapi.True(acceptedType, string(gwv1.GatewayReasonListenersNotValid),
			fmt.Sprintf("%d of %d listeners are valid; see status.listeners", valid, len(s.listeners)))
	default:
		accepted = gatewayapi.True(acceptedType, string(gwv1.GatewayReasonAccepted), "Gateway is accepted")
	}

	switch {
	case s.address.NotUsable != "":
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonAddressNotUsable),
			s.address.NotUsable+"; the data plane was left unchanged")
	case !s.provisioned:
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonPending), "Waiting for the data plane to be provisioned")
	case s.ingress == nil:
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonAddressNotAssigned), "No listener can be served, so the data plane has no Service")
	case s.address.IP != "" && s.ingress.Spec.Type != corev1.ServiceTypeLoadBalancer:
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonAddressNotUsable),
			fmt.Sprintf("spec.addresses asks for %s, but the data plane's Service %s/%s has type %s, which has no load balancer to ask for it; "+
				"set service.type LoadBalancer in the GatewayConfiguration, or remove spec.addresses", s.address.IP, s.ingress.Namespace, s.ingress.Name, s.ingress.Spec.Type))
	case s.address.IP != "" && !hasAddress(s.ingress, s.address.IP):
		// The load balancer does not say why; pending and refused look the
		// same from here, so the message names both.
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonAddressNotUsable),
			fmt.Sprintf("The load balancer has not assigned the requested address %s to Service %s/%s (spec.loadBalancerIP): "+
				"it is pending, or the load balancer refused it (not in its pool, or in use); the Service has %s",
				s.address.IP, s.ingress.Namespace, s.ingress.Name, describeAddresses(addressesOf(s.ingress))))
	case len(addressesOf(s.ingress)) == 0:
		programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonAddressNotAssigned),
			fmt.Sprintf("Waiting for an address on %s Service %s/%s", s.ingress.Spec.Type, s.ingress.Namespace, s.ingress.Name))
	default:
		available, desired := replicaCounts(s)
		switch {
		case available < 1 && s.sync != nil && s.sync.AllInSync():
			programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonPending),
				fmt.Sprintf("Waiting for the data plane: %s, but %d/%d replicas available", s.sync.Summary(), available, desired))
		case s.sync == nil || s.sync.Total == 0:
			programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonPending),
				"Waiting for data-plane replicas to be discovered on the admin Service")
		case !s.sync.AllInSync():
			msg := s.sync.Summary()
			if lagging := s.sync.Lagging(); lagging != "" {
				msg += "; " + lagging
			}
			if s.sync.Rejection != nil {
				msg += "; Kong rejected the configuration: " + s.sync.Rejection.Message
			}
			programmed = gatewayapi.False(programmedType, string(gwv1.GatewayReasonPending), msg)
		default:
			programmed = gatewayapi.True(programmedType, string(gwv1.GatewayReasonProgrammed),
				fmt.Sprintf("Address assigned; %s; %d/%d replicas available", s.sync.Summary(), available, desired))
		}
	}
	return accepted, programmed
}

func replicaCounts(s *gatewayScope) (available, desired int32) {
	if s.deployment == nil {
		return 0, 0
	}
	desired = s.deployment.Status.Replicas
	if s.deployment.Spec.Replicas != nil {
		desired = *s.deployment.Spec.Replicas
	}
	return s.deployment.Status.AvailableReplicas, desired
}

// addressesOf takes the Gateway addresses from the ingress Service: load
// balancer IPs and hostnames for a LoadBalancer, otherwise its cluster IPs.
func addressesOf(svc *corev1.Service) []gwv1.GatewayStatusAddress {
	addresses := []gwv1.GatewayStatusAddress{}
	if svc == nil {
		return addresses
	}
	ipType, hostType := gwv1.IPAddressType, gwv1.HostnameAddressType
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" {
				addresses = append(addresses, gwv1.GatewayStatusAddress{Type: &ipType, Value: ing.IP})
			}
			if ing.Hostname != "" {
				addresses = append(addresses, gwv1.GatewayStatusAddress{Type: &hostType, Value: ing.Hostname})
			}
		}
		return addresses
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone {
			addresses = append(addresses, gwv1.GatewayStatusAddress{Type: &ipType, Value: ip})
		}
	}
	return addresses
}

// hasAddress reports whether the load balancer gave svc the IP address ip.
func hasAddress(svc *corev1.Service, ip string) bool {
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if got, err := netip.ParseAddr(ing.IP); err == nil && got.Unmap() == want.Unmap() {
			return true
		}
	}
	return false
}

func describeAddresses(addresses []gwv1.GatewayStatusAddress) string {
	if len(addresses) == 0 {
		return "no address"
	}
	values := make([]string, 0, len(addresses))
	for _, a := range addresses {
		values = append(values, a.Value)
	}
	return strings.Join(values, ", ")
}

// listenerConditions writes a listener verdict (of a Gateway or a
// ListenerSet listener) and its Programmed condition over the existing
// conditions. Of the upstream listener condition types, it drops those it
// no longer reports; conditions of any other type belong to another
// controller and are kept as they are.
func listenerConditions(existing []metav1.Condition, gen int64, res gatewayapi.ListenerResult, programmed gatewayapi.Condition) []metav1.Condition {
	conds := append([]metav1.Condition(nil), existing...)
	gatewayapi.Set(&conds, gen, res.Accepted)
	gatewayapi.Set(&conds, gen, res.Conflicted)
	gatewayapi.Set(&conds, gen, res.ResolvedRefs)
	gatewayapi.Set(&conds, gen, programmed)
	kept := conds[:0]
	for _, c := range conds {
		switch c.Type {
		case string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerConditionConflicted),
			string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerConditionProgrammed):
			kept = append(kept, c)
		case string(gwv1.ListenerConditionOverlappingTLSConfig), "Ready", "Detached":
			// Upstream types this controller does not report.
		default:
			kept = append(kept, c)
		}
	}
	return kept
}

// listenerStatuses rebuilds status.listeners in spec order, keeping existing
// conditions so their transition times only move on real changes.
func listenerStatuses(s *gatewayScope, gatewayProgrammed bool) []gwv1.ListenerStatus {
	previous := map[gwv1.SectionName]gwv1.ListenerStatus{}
	for _, ls := range s.gateway.Status.Listeners {
		previous[ls.Name] = ls
	}
	gen := s.gateway.Generation
	rejectedCerts := rejectedSecretsOf(s)
	out := make([]gwv1.ListenerStatus, 0, len(s.listeners))
	for _, res := range s.listeners {
		ls := gwv1.ListenerStatus{Name: res.Name, SupportedKinds: res.SupportedKinds}
		if prev, ok := previous[res.Name]; ok {
			ls.Conditions = prev.Conditions
			ls.AttachedRoutes = prev.AttachedRoutes
		}
		if s.attachedRoutes != nil {
			ls.AttachedRoutes = s.attachedRoutes[res.Name]
		}
		programmedType := string(gwv1.ListenerConditionProgrammed)
		var programmed gatewayapi.Condition
		rejectedCert, certRejected := rejectedCerts[string(res.Name)]
		switch {
		case certRejected:
			msg := "The listener's " + rejectedCert
			res.ResolvedRefs = gatewayapi.False(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonInvalidCertificateRef), msg)
			programmed = gatewayapi.False(programmedType, string(gwv1.ListenerReasonInvalid), msg)
		case s.invalidParams != "":
			programmed = gatewayapi.False(programmedType, string(gwv1.ListenerReasonInvalid), "The Gateway's configuration is invalid")
		case !res.Valid():
			programmed = gatewayapi.False(programmedType, string(gwv1.ListenerReasonInvalid), "Listener is not valid; see its other conditions")
		case !gatewayProgrammed:
			programmed = gatewayapi.False(programmedType, string(gwv1.ListenerReasonPending), "Waiting for the Gateway to be programmed")
		default:
			programmed = gatewayapi.True(programmedType, string(gwv1.ListenerReasonProgrammed), "Listener is programmed")
		}
		ls.Conditions = listenerConditions(ls.Conditions, gen, res, programmed)
		out = append(out, ls)
	}
	return out
}

// routeResults are the route statuses of this reconcile: translation's
// verdicts, Kong's rejections, and whether the configuration is live.
func routeResults(s *gatewayScope) []translate.RouteParentResult {
	t := s.translation
	out := append([]translate.RouteParentResult(nil), t.result.Routes...)
	if left := leftOut(t.routes, t.excluded); len(left) > 0 {
		// The routes that were left out are translated on their own, for
		// everything but Kong's verdict (ResolvedRefs, the parentRefs).
		alone, err := translate.Translate(filterRoutes(t.full, func(ref objectRef) bool { _, ok := left[ref]; return ok }))
		if err == nil {
			for _, res := range alone.Routes {
				ref := objectRef{res.Route.Kind, res.Route.Namespace, res.Route.Name}
				res.Accepted = gatewayapi.False(string(gwv1.RouteConditionAccepted), string(gwv1.RouteReasonUnsupportedValue),
					fmt.Sprintf("Kong rejected the configuration generated from this route, so it is left out of Gateway %s/%s "+
						"and the other routes stay configured; change the route to have it tried again. %s",
						s.gateway.Namespace, s.gateway.Name, left[ref]))
				out = append(out, res)
			}
		}
	}
	for i := range out {
		c := routeProgrammed(s, out[i])
		out[i].Programmed = &c
	}
	return out
}

// routeProgrammed says whether a route's configuration is live on every
// replica of the Gateway.
func routeProgrammed(s *gatewayScope, res translate.RouteParentResult) gatewayapi.Condition {
	programmed := string(gwv1.GatewayConditionProgrammed)
	switch {
	case res.Accepted.Status != "True":
		return gatewayapi.False(programmed, string(gwv1.GatewayReasonInvalid), "The route is not accepted, so none of it is configured")
	case s.sync == nil:
		return gatewayapi.False(programmed, string(gwv1.GatewayReasonPending), "Waiting for the Gateway's data plane")
	case s.sync.Total == 0:
		return gatewayapi.False(programmed, string(gwv1.GatewayReasonPending), "Waiting for data-plane replicas to be discovered")
	case !s.sync.AllInSync():
		return gatewayapi.False(programmed, string(gwv1.GatewayReasonPending), s.sync.Summary())
	}
	return gatewayapi.True(programmed, string(gwv1.GatewayReasonProgrammed), "The route's configuration is live: "+s.sync.Summary())
}
