package translate

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// listenerInfo is a Gateway listener with its verdict and Kong-side facts.
type listenerInfo struct {
	index int
	// set is the ListenerSet that holds the listener; nil for the
	// Gateway's own listeners.
	set      *gatewayapi.ListenerSetResult
	spec     gwv1.Listener
	verdict  gatewayapi.ListenerResult
	hostname string // "" when the listener accepts any hostname
	kind     provision.ListenerKind
	kongPort int32
}

func (l *listenerInfo) name() string { return string(l.spec.Name) }

// tag names the listener in Kong tags; ListenerSet listener names are only
// unique within their ListenerSet.
func (l *listenerInfo) tag() string {
	if l.set == nil {
		return l.name()
	}
	return "listenerset:" + l.set.Key.Namespace + ":" + l.set.Key.Name + ":" + l.name()
}

// serves reports whether the data plane serves the listener: a ListenerSet
// listener only while its ListenerSet is attached.
func (l *listenerInfo) serves() bool {
	return l.verdict.Serves() && (l.set == nil || l.set.Attached())
}

// parent is what one parentRef of a route points at among this snapshot's
// objects: the Gateway, or one of its ListenerSets.
type parent struct {
	kind string // "Gateway" or "ListenerSet"
	key  types.NamespacedName
	set  *gatewayapi.ListenerSetResult
}

func (p parent) String() string { return p.kind + " " + p.key.String() }

// scheme is the scheme clients use to reach the listener.
func (l *listenerInfo) scheme() string {
	if l.spec.Protocol == gwv1.HTTPSProtocolType {
		return "https"
	}
	return "http"
}

// routeMeta is what attachment needs from any route kind.
type routeMeta struct {
	key        RouteKey
	uid        string
	generation int64
	created    metav1.Time
	parentRefs []gwv1.ParentReference
	// hostnames are the route's spec.hostnames; nil for TCP and UDP routes,
	// which have no hostname concept.
	hostnames    []string
	hasHostnames bool
}

// attachment is one listener a route attached to, with the hostnames the
// route serves there (the intersections of route and listener hostnames;
// "" means any host).
type attachment struct {
	listener  *listenerInfo
	hostnames []string
	// origins[i] is the route's own hostname that yields hostnames[i] (the
	// most specific one when several do), "" when the route has none. Route
	// precedence reads it, see precedence.go.
	origins []string
}

// add records that the route serves host there because of its hostname
// origin. An intersection reached from several route hostnames keeps the
// most specific of them.
func (a *attachment) add(host, origin string) {
	for i, h := range a.hostnames {
		if h == host {
			if hostMoreSpecific(origin, a.origins[i]) {
				a.origins[i] = origin
			}
			return
		}
	}
	a.hostnames = append(a.hostnames, host)
	a.origins = append(a.origins, origin)
}

// parentOf resolves a route's parentRef to the Gateway or to one of its
// ListenerSets; ok is false when it points elsewhere.
func (t *translator) parentOf(routeNamespace string, ref gwv1.ParentReference) (parent, bool) {
	if ref.Group != nil && string(*ref.Group) != gwv1.GroupName {
		return parent{}, false
	}
	kind := "Gateway"
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	key := types.NamespacedName{Namespace: ns, Name: string(ref.Name)}
	switch kind {
	case "Gateway":
		if ns == t.gw.Namespace && string(ref.Name) == t.gw.Name {
			return parent{kind: kind, key: key}, true
		}
	case "ListenerSet":
		for i := range t.sets {
			if t.sets[i].Key == key {
				return parent{kind: kind, key: key, set: &t.sets[i]}, true
			}
		}
	}
	return parent{}, false
}

// attachRoute resolves every parentRef of a route that points at this
// Gateway. It returns the union of attachments (one per listener) and
// appends one result per such parentRef. Results start with ResolvedRefs
// True; the kind-specific translation refines them.
func (t *translator) attachRoute(meta *routeMeta, kind gwv1.RouteGroupKind) ([]attachment, []int) {
	var union []attachment
	byListener := map[int]int{}
	var resultIdx []int
	for i, ref := range meta.parentRefs {
		p, ok := t.parentOf(meta.key.Namespace, ref)
		if !ok {
			continue
		}
		atts, accepted := t.attachParentRef(meta, kind, p, ref)
		res := RouteParentResult{
			Route:          meta.key,
			Generation:     meta.generation,
			ParentRefIndex: i,
			ParentRef:      ref,
			Accepted:       accepted,
			ResolvedRefs:   gatewayapi.True(string(gwv1.RouteConditionResolvedRefs), string(gwv1.RouteReasonResolvedRefs), "All references resolved"),
		}
		for _, a := range atts {
			res.Listeners = append(res.Listeners, a.listener.spec.Name)
			j, ok := byListener[a.listener.index]
			if !ok {
				j = len(union)
				byListener[a.listener.index] = j
				union = append(union, attachment{listener: a.listener})
			}
			for k, h := range a.hostnames {
				union[j].add(h, a.origins[k])
			}
		}
		resultIdx = append(resultIdx, len(t.results))
		t.results = append(t.results, res)
	}
	sort.Slice(union, func(i, j int) bool { return union[i].listener.index < union[j].listener.index })
	return union, resultIdx
}

// countAttached records the route on its listeners for attachedRoutes. It is
// called only once the route is known to be accepted.
func (t *translator) countAttached(meta *routeMeta, atts []attachment) {
	for _, a := range atts {
		if t.attached[a.listener.index] == nil {
			t.attached[a.listener.index] = map[RouteKey]bool{}
		}
		t.attached[a.listener.index][meta.key] = true
	}
}

func acceptedCond(reason gwv1.RouteConditionReason, format string, args ...any) gatewayapi.Condition {
	msg := fmt.Sprintf(format, args...)
	if reason == gwv1.RouteReasonAccepted {
		return gatewayapi.True(string(gwv1.RouteConditionAccepted), string(reason), msg)
	}
	return gatewayapi.False(string(gwv1.RouteConditionAccepted), string(reason), msg)
}

// attachParentRef applies the Gateway API attachment rules for one parentRef:
// sectionName and port select listeners, listeners must be serving, allow the
// route's kind and namespace, and share a hostname with the route.
func (t *translator) attachParentRef(meta *routeMeta, kind gwv1.RouteGroupKind, p parent, ref gwv1.ParentReference) ([]attachment, gatewayapi.Condition) {
	if p.set != nil && !p.set.Attached() {
		return nil, acceptedCond(gwv1.RouteReasonNoMatchingParent, "%s is not accepted by Gateway %s/%s (%s: %s), so no route can attach to it",
			p, t.gw.Namespace, t.gw.Name, p.set.Accepted.Reason, p.set.Accepted.Message)
	}
	var selected []*listenerInfo
	for _, l := range t.listeners {
		// A parentRef selects only the listeners of the object it names: a
		// route on the Gateway does not reach its ListenerSets' listeners.
		if l.set != p.set {
			continue
		}
		if ref.SectionName != nil && *ref.SectionName != l.spec.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.spec.Port {
			continue
		}
		selected = append(selected, l)
	}
	if len(selected) == 0 {
		var what []string
		if ref.SectionName != nil {
			what = append(what, fmt.Sprintf("named %q", *ref.SectionName))
		}
		if ref.Port != nil {
			what = append(what, fmt.Sprintf("with port %d", *ref.Port))
		}
		return nil, acceptedCond(gwv1.RouteReasonNoMatchingParent, "%s has no listener %s", p, strings.Join(what, " and "))
	}

	var serving []*listenerInfo
	var notServing []string
	for _, l := range selected {
		if l.serves() {
			serving = append(serving, l)
		} else {
			notServing = append(notServing, l.name())
		}
	}
	if len(serving) == 0 {
		return nil, acceptedCond(gwv1.RouteReasonNoMatchingParent, "listener(s) %s of %s are not accepted or conflict, so no route can attach to them",
			strings.Join(notServing, ", "), p)
	}

	var allowed []*listenerInfo
	var kindDenied, nsDenied []string
	for _, l := range serving {
		if !listenerAllowsKind(l, kind) {
			kindDenied = append(kindDenied, l.name())
			continue
		}
		if !t.listenerAllowsNamespace(l, meta.key.Namespace) {
			nsDenied = append(nsDenied, l.name())
			continue
		}
		allowed = append(allowed, l)
	}
	if len(allowed) == 0 {
		var parts []string
		if len(kindDenied) > 0 {
			parts = append(parts, fmt.Sprintf("listener(s) %s do not allow route kind %s", strings.Join(kindDenied, ", "), kind.Kind))
		}
		if len(nsDenied) > 0 {
			parts = append(parts, fmt.Sprintf("listener(s) %s do not allow routes from namespace %q (see spec.listeners[].allowedRoutes.namespaces)", strings.Join(nsDenied, ", "), meta.key.Namespace))
		}
		return nil, acceptedCond(gwv1.RouteReasonNotAllowedByListeners, "%s", strings.Join(parts, "; "))
	}

	var atts []attachment
	for _, l := range allowed {
		if a, ok := effectiveHostnames(meta, l); ok {
			atts = append(atts, a)
		}
	}
	if len(atts) == 0 {
		names := make([]string, len(allowed))
		for i, l := range allowed {
			names[i] = fmt.Sprintf("%s (%s)", l.name(), orAny(l.hostname))
		}
		return nil, acceptedCond(gwv1.RouteReasonNoMatchingListenerHostname, "none of the route hostnames [%s] match listener(s) %s",
			strings.Join(meta.hostnames, ", "), strings.Join(names, ", "))
	}
	return atts, acceptedCond(gwv1.RouteReasonAccepted, "Route is accepted")
}

func orAny(h string) string {
	if h == "" {
		return "any hostname"
	}
	return h
}

func listenerAllowsKind(l *listenerInfo, kind gwv1.RouteGroupKind) bool {
	for _, k := range l.verdict.SupportedKinds {
		group := gwv1.GroupName
		if k.Group != nil {
			group = string(*k.Group)
		}
		if group == string(*kind.Group) && k.Kind == kind.Kind {
			return true
		}
	}
	return false
}

func (t *translator) listenerAllowsNamespace(l *listenerInfo, ns string) bool {
	owner := t.gw.Namespace
	if l.set != nil {
		owner = l.set.Key.Namespace
	}
	var nsLabels map[string]string
	if obj, ok := t.namespaces[ns]; ok {
		nsLabels = obj.Labels
	}
	return gatewayapi.AllowedRoutesAdmitsNamespace(l.spec.AllowedRoutes, owner, ns, nsLabels)
}

// effectiveHostnames intersects the route's hostnames with the listener's,
// remembering which route hostname gave each intersection. Routes without a
// hostname concept (TCP, UDP) attach regardless.
func effectiveHostnames(meta *routeMeta, l *listenerInfo) (attachment, bool) {
	a := attachment{listener: l}
	switch {
	case !meta.hasHostnames:
		a.add("", "")
	case len(meta.hostnames) == 0:
		a.add(l.hostname, "")
	default:
		for _, h := range meta.hostnames {
			if v, ok := gatewayapi.HostnamesIntersect(h, l.hostname); ok {
				a.add(v, h)
			}
		}
	}
	return a, len(a.hostnames) > 0
}

func appendUnique(list []string, values ...string) []string {
	for _, v := range values {
		found := false
		for _, e := range list {
			if e == v {
				found = true
				break
			}
		}
		if !found {
			list = append(list, v)
		}
	}
	return list
}
