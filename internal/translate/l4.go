package translate

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// l4Route is the part of TCPRoute, UDPRoute and TLSRoute that translation
// reads: they have no matches, only backendRefs per rule.
type l4Route struct {
	meta  *routeMeta
	kind  gwv1.RouteGroupKind
	rules [][]gwv1.BackendRef
	proto backendProtocol
	order int // kind order for tie-breaks
	// firstRule is the name of the first rule ("" when unnamed), which
	// KongPlugin targetRefs may name.
	firstRule string
}

func objectMeta(kind string, om metav1.ObjectMeta, refs []gwv1.ParentReference) *routeMeta {
	return &routeMeta{key: RouteKey{Kind: kind, Namespace: om.Namespace, Name: om.Name}, uid: string(om.UID),
		generation: om.Generation, created: om.CreationTimestamp, parentRefs: refs}
}

func sortL4(routes []l4Route) {
	sort.Slice(routes, func(i, j int) bool {
		a, b := routes[i].meta.key, routes[j].meta.key
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

func (t *translator) translateTLSRoutes() {
	var routes []l4Route
	for i := range t.snap.TLSRoutes {
		r := &t.snap.TLSRoutes[i]
		meta := objectMeta("TLSRoute", r.ObjectMeta, r.Spec.ParentRefs)
		meta.hostnames, meta.hasHostnames = hostnameStrings(r.Spec.Hostnames), true
		lr := l4Route{meta: meta, kind: gatewayapi.KindTLSRoute, proto: tcpBackends, order: 2}
		for i, rule := range r.Spec.Rules {
			lr.rules = append(lr.rules, rule.BackendRefs)
			if i == 0 {
				lr.firstRule = ruleName(rule.Name)
			}
		}
		routes = append(routes, lr)
	}
	t.translateL4All(routes)
}

func (t *translator) translateTCPRoutes() {
	var routes []l4Route
	for i := range t.snap.TCPRoutes {
		r := &t.snap.TCPRoutes[i]
		lr := l4Route{meta: objectMeta("TCPRoute", r.ObjectMeta, r.Spec.ParentRefs), kind: gatewayapi.KindTCPRoute, proto: tcpBackends, order: 3}
		for i, rule := range r.Spec.Rules {
			lr.rules = append(lr.rules, rule.BackendRefs)
			if i == 0 {
				lr.firstRule = ruleName(rule.Name)
			}
		}
		routes = append(routes, lr)
	}
	t.translateL4All(routes)
}

func (t *translator) translateUDPRoutes() {
	var routes []l4Route
	for i := range t.snap.UDPRoutes {
		r := &t.snap.UDPRoutes[i]
		lr := l4Route{meta: objectMeta("UDPRoute", r.ObjectMeta, r.Spec.ParentRefs), kind: gatewayapi.KindUDPRoute, proto: udpBackends, order: 4}
		for i, rule := range r.Spec.Rules {
			lr.rules = append(lr.rules, rule.BackendRefs)
			if i == 0 {
				lr.firstRule = ruleName(rule.Name)
			}
		}
		routes = append(routes, lr)
	}
	t.translateL4All(routes)
}

// streamProtocol is the Kong route protocol for a stream listener.
func streamProtocol(l *listenerInfo) string {
	switch l.kind {
	case provision.KindUDP:
		return "udp"
	case provision.KindTLS:
		return "tls"
	case provision.KindTLSPassthrough:
		return "tls_passthrough"
	}
	return "tcp"
}

// translateL4 maps a stream route to one Kong service and one stream route
// per listener (and, for TLSRoute, per SNI). Without a usable backend no
// route is emitted, so Kong closes the connection as the spec requires
// ("connection rejected") instead of proxying nowhere.
func (t *translator) translateL4(r l4Route) {
	meta := r.meta
	atts, resIdx := t.attachRoute(meta, r.kind)
	if len(resIdx) == 0 {
		return
	}
	var u *unsupported
	var backends ruleBackends
	switch {
	case len(r.rules) == 0:
		u = unsupportedf("the route has no rules")
	case len(r.rules) > 1:
		u = unsupportedf("the route has %d rules; a %s can only have one because Kong cannot tell its connections apart beyond listener and SNI", len(r.rules), meta.key.Kind)
	}
	var problems []refProblem
	proto := r.proto
	if meta.key.Kind == "TLSRoute" && terminatesOnly(atts) {
		// Kong speaks TLS to the backend only after terminating the
		// client's; a passthrough connection is forwarded as it is.
		proto = tlsTerminateBackends
	}
	if len(r.rules) > 0 {
		backends = t.resolveBackends(meta, 0, r.rules[0], proto)
		problems = backends.problems
		if u == nil && backends.tlsMixed != "" {
			u = unsupportedf("rules[0]: %s", backends.tlsMixed)
		}
	}
	t.finishRoute(meta, atts, resIdx, u, problems)
	if u != nil || len(atts) == 0 || !backends.usable() {
		return
	}
	sb := t.ruleService(meta, 0, backends, proto, nil)
	for _, s := range t.scopes(atts) {
		route := &kong.Route{
			Name:       entityName(meta.key.Kind, meta.key.Namespace, meta.key.Name, 0, 0, s.listener.index, s.hostIdx, 0),
			Protocols:  []string{streamProtocol(s.listener)},
			Expression: joinPredicates(scopePredicates(s, "tls.sni")),
			Tags:       routeTags(meta),
		}
		// Kong runs no plugin on TLS passthrough routes.
		if proto := route.Protocols[0]; proto != "tls_passthrough" {
			route.Plugins, _ = t.withUserPlugins(nil, t.policyPlugins(meta.key, r.firstRule, s.listener, nil), []string{proto}, "rules[0]")
		}
		sb.routes = append(sb.routes, route)
		t.pending = append(t.pending, &pendingRoute{route: route, stream: true, prec: precedence{}.withHost(s.origin),
			tie: tieKey{kindOrder: r.order, created: meta.created, namespace: meta.key.Namespace, name: meta.key.Name}})
	}
	if len(sb.routes) == 0 {
		t.warnf("%s: every hostname is owned by a more specific listener, so it receives no traffic", meta.key)
	}
}

// terminatesOnly reports whether every attachment is to a listener where
// Kong terminates TLS.
func terminatesOnly(atts []attachment) bool {
	for _, a := range atts {
		if a.listener.kind != provision.KindTLS {
			return false
		}
	}
	return len(atts) > 0
}

// translateL4All translates routes of one kind in their stable order.
func (t *translator) translateL4All(routes []l4Route) {
	sortL4(routes)
	for _, r := range routes {
		t.translateL4(r)
	}
}
