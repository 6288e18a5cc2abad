package gatewayapi

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ListenerSetInput is what ListenerSet validation reads for one Gateway.
type ListenerSetInput struct {
	ListenerInput
	// GatewayListeners are the verdicts on the Gateway's own listeners, in
	// spec order; they take precedence over every ListenerSet listener.
	GatewayListeners []ListenerResult
	// ListenerSets may include ListenerSets of other Gateways; they are
	// ignored.
	ListenerSets []gwv1.ListenerSet
	// Namespaces supply labels for an allowedListeners selector. A namespace
	// missing here is assumed to carry only kubernetes.io/metadata.name.
	Namespaces []corev1.Namespace
}

// ListenerSetResult is the verdict on one ListenerSet of a Gateway.
type ListenerSetResult struct {
	Key        types.NamespacedName
	Generation int64
	// Accepted is the ListenerSet's own Accepted condition (ListenerSet
	// reasons: Accepted, NotAllowed, ListenersNotValid).
	Accepted Condition
	// Listeners are the verdicts on its listeners, in spec order. A
	// ListenerSet that is not accepted serves none of them.
	Listeners []ListenerResult
	// Specs are its listeners as Gateway listeners, in spec order.
	Specs []gwv1.Listener
}

// Attached reports whether the ListenerSet counts in the Gateway's
// status.attachedListenerSets and has its listeners served.
func (r ListenerSetResult) Attached() bool { return r.Accepted.Status == metav1.ConditionTrue }

// ListenerFromEntry gives a ListenerSet listener the shape of a Gateway
// listener; the fields mean the same on both.
func ListenerFromEntry(e gwv1.ListenerEntry) gwv1.Listener {
	return gwv1.Listener{Name: e.Name, Hostname: e.Hostname, Port: e.Port, Protocol: e.Protocol, TLS: e.TLS, AllowedRoutes: e.AllowedRoutes}
}

// ListenerSetParent returns the Gateway a ListenerSet names, or false when
// its parentRef is not a Gateway.
func ListenerSetParent(ls *gwv1.ListenerSet) (types.NamespacedName, bool) {
	ref := ls.Spec.ParentRef
	if ref.Group != nil && string(*ref.Group) != gwv1.GroupName {
		return types.NamespacedName{}, false
	}
	if ref.Kind != nil && string(*ref.Kind) != "Gateway" {
		return types.NamespacedName{}, false
	}
	ns := ls.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return types.NamespacedName{Namespace: ns, Name: string(ref.Name)}, true
}

// ListenerSetSecretRefs returns the Secrets a ListenerSet's listeners
// reference, resolved in the ListenerSet's namespace.
func ListenerSetSecretRefs(ls *gwv1.ListenerSet) []types.NamespacedName {
	tls := make([]*gwv1.ListenerTLSConfig, 0, len(ls.Spec.Listeners))
	for _, l := range ls.Spec.Listeners {
		tls = append(tls, l.TLS)
	}
	return certificateSecretRefs(ls.Namespace, tls)
}

// SortListenerSets puts ListenerSets in merge precedence: oldest first, then
// by namespace/name.
func SortListenerSets(sets []gwv1.ListenerSet) {
	sort.SliceStable(sets, func(i, j int) bool {
		a, b := sets[i], sets[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// ListenerSetAllowed reports whether the Gateway's spec.allowedListeners
// admits ListenerSets from namespace ns; the default admits none.
func ListenerSetAllowed(gw *gwv1.Gateway, ns string, nsLabels map[string]string) (bool, string) {
	from := gwv1.NamespacesFromNone
	var selector *metav1.LabelSelector
	if al := gw.Spec.AllowedListeners; al != nil && al.Namespaces != nil {
		if al.Namespaces.From != nil {
			from = *al.Namespaces.From
		}
		selector = al.Namespaces.Selector
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true, ""
	case gwv1.NamespacesFromSame:
		if ns == gw.Namespace {
			return true, ""
		}
		return false, fmt.Sprintf("Gateway %s/%s only allows ListenerSets from its own namespace (spec.allowedListeners.namespaces.from: Same)", gw.Namespace, gw.Name)
	case gwv1.NamespacesFromSelector:
		if selector == nil {
			return false, fmt.Sprintf("Gateway %s/%s sets spec.allowedListeners.namespaces.from: Selector without a selector, which selects no namespace", gw.Namespace, gw.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false, fmt.Sprintf("Gateway %s/%s has an invalid spec.allowedListeners.namespaces.selector: %v", gw.Namespace, gw.Name, err)
		}
		set := labels.Merge(labels.Set{"kubernetes.io/metadata.name": ns}, nsLabels)
		if sel.Matches(set) {
			return true, ""
		}
		return false, fmt.Sprintf("namespace %q does not match the spec.allowedListeners.namespaces.selector of Gateway %s/%s", ns, gw.Namespace, gw.Name)
	}
	return false, fmt.Sprintf("Gateway %s/%s does not allow ListenerSets (spec.allowedListeners.namespaces.from is None or unset)", gw.Namespace, gw.Name)
}

// claim is a listener that holds its port: later listeners that cannot
// share the port with it lose.
type claim struct {
	port   gwv1.PortNumber
	udp    bool
	family string
	host   string
	owner  string
}

func claimOf(l gwv1.Listener, owner string) claim {
	host := ""
	if l.Hostname != nil && l.Protocol != gwv1.TCPProtocolType && l.Protocol != gwv1.UDPProtocolType {
		host = string(*l.Hostname)
	}
	return claim{port: l.Port, udp: l.Protocol == gwv1.UDPProtocolType, family: family(l), host: host, owner: owner}
}

// ValidateListenerSets decides every ListenerSet that names the Gateway, in
// merge precedence (see SortListenerSets). The Gateway's own listeners come
// first; a ListenerSet listener that cannot share its port with a listener
// of higher precedence is conflicted and not served, and leaves the winner
// untouched.
func ValidateListenerSets(in ListenerSetInput) []ListenerSetResult {
	gw := in.Gateway
	gwKey := types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
	nsLabels := map[string]map[string]string{}
	for i := range in.Namespaces {
		nsLabels[in.Namespaces[i].Name] = in.Namespaces[i].Labels
	}
	var sets []gwv1.ListenerSet
	for _, ls := range in.ListenerSets {
		if parent, ok := ListenerSetParent(&ls); ok && parent == gwKey {
			sets = append(sets, ls)
		}
	}
	SortListenerSets(sets)

	var claims []claim
	for i, l := range gw.Spec.Listeners {
		if i < len(in.GatewayListeners) && in.GatewayListeners[i].Accepted.Status == metav1.ConditionTrue {
			claims = append(claims, claimOf(l, "Gateway "+gwKey.String()))
		}
	}
	out := make([]ListenerSetResult, 0, len(sets))
	for i := range sets {
		ls := &sets[i]
		res := ListenerSetResult{Key: types.NamespacedName{Namespace: ls.Namespace, Name: ls.Name}, Generation: ls.Generation}
		for _, e := range ls.Spec.Listeners {
			res.Specs = append(res.Specs, ListenerFromEntry(e))
		}
		if ok, why := ListenerSetAllowed(gw, ls.Namespace, nsLabels[ls.Namespace]); !ok {
			res.Accepted = False(string(gwv1.ListenerSetConditionAccepted), string(gwv1.ListenerSetReasonNotAllowed), why)
			for _, l := range res.Specs {
				res.Listeners = append(res.Listeners, notAllowedListener(l, why))
			}
			out = append(out, res)
			continue
		}
		from := Reference{Group: gwv1.GroupName, Kind: "ListenerSet", Namespace: ls.Namespace}
		owner := "ListenerSet " + res.Key.String()
		for _, l := range res.Specs {
			r := validateListener(in.ListenerInput, from, l)
			if r.Accepted.Status == metav1.ConditionTrue {
				c := claimOf(l, owner)
				if lost := conflictWith(claims, c); lost != nil {
					r = conflicted(r, *lost)
				} else {
					claims = append(claims, c)
				}
			}
			res.Listeners = append(res.Listeners, r)
		}
		res.Accepted = listenerSetAccepted(res.Listeners)
		out = append(out, res)
	}
	return out
}

// conflictWith returns the reason c loses its port to an earlier claim.
func conflictWith(claims []claim, c claim) *Condition {
	for _, w := range claims {
		if w.port != c.port || w.udp != c.udp {
			continue
		}
		if w.family != c.family {
			cond := True(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonProtocolConflict),
				fmt.Sprintf("port %d is already used by a %s listener of %s, which takes precedence", c.port, w.family, w.owner))
			return &cond
		}
		if w.host == c.host {
			cond := True(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonHostnameConflict),
				fmt.Sprintf("port %d with hostname %s is already used by a listener of %s, which takes precedence", c.port, orNone(c.host), w.owner))
			return &cond
		}
	}
	return nil
}

func orNone(h string) string {
	if h == "" {
		return "(none)"
	}
	return h
}

// conflicted marks a ListenerSet listener that lost its port: it is neither
// accepted nor served, with the conflict's reason on both conditions.
func conflicted(r ListenerResult, c Condition) ListenerResult {
	r.Conflicted = c
	r.Accepted = False(string(gwv1.ListenerConditionAccepted), c.Reason, c.Message)
	return r
}

func notAllowedListener(l gwv1.Listener, why string) ListenerResult {
	kinds, _ := routeKindsFor(l)
	if kinds == nil {
		kinds = []gwv1.RouteGroupKind{}
	}
	return ListenerResult{
		Name:           l.Name,
		Accepted:       False(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerSetReasonNotAllowed), "The ListenerSet is not allowed: "+why),
		Conflicted:     False(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonNoConflicts), "No conflicts"),
		ResolvedRefs:   True(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonResolvedRefs), "References are not checked while the ListenerSet is not allowed"),
		SupportedKinds: kinds,
	}
}

// listenerSetAccepted accepts a ListenerSet with at least one fully valid
// listener; the others are reported on their own status.
func listenerSetAccepted(listeners []ListenerResult) Condition {
	valid := 0
	for _, l := range listeners {
		if l.Valid() {
			valid++
		}
	}
	accepted := string(gwv1.ListenerSetConditionAccepted)
	switch {
	case valid == 0:
		return False(accepted, string(gwv1.ListenerSetReasonListenersNotValid), "No listener is valid; see status.listeners")
	case valid < len(listeners):
		return True(accepted, string(gwv1.ListenerSetReasonListenersNotValid),
			fmt.Sprintf("%d of %d listeners are valid; see status.listeners", valid, len(listeners)))
	}
	return True(accepted, string(gwv1.ListenerSetReasonAccepted), "ListenerSet is accepted")
}

// ServedListeners is the merged listener list the data plane serves: the
// Gateway's listeners that serve, then those of each attached ListenerSet
// in merge precedence. Ports and certificates are computed from it.
func ServedListeners(gw *gwv1.Gateway, verdicts []ListenerResult, sets []ListenerSetResult) []gwv1.Listener {
	var out []gwv1.Listener
	for i, l := range gw.Spec.Listeners {
		if i < len(verdicts) && verdicts[i].Serves() {
			out = append(out, l)
		}
	}
	for _, s := range sets {
		if !s.Attached() {
			continue
		}
		for i, l := range s.Specs {
			if i < len(s.Listeners) && s.Listeners[i].Serves() {
				out = append(out, l)
			}
		}
	}
	return out
}
