package translate

import (
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// misdirectedRoutes answers 421 Misdirected Request when an HTTPS request's
// Host selects a different listener than the SNI of its connection did.
// HTTP/2 clients reuse one connection for every host its certificate
// covers, so without this check a request could reach a listener whose
// certificate the client never saw (RFC 9110 §15.5.20). One Kong route per
// HTTPS listener matches "SNI selects this listener, Host does not"; it has
// the highest priority, above any priority assignPriorities gives (hostname
// lengths never fill their 8 bits), so it wins over the routes of the
// listener the Host selects.
func (t *translator) misdirectedRoutes() {
	for _, l := range t.listeners {
		if l.kind != provision.KindHTTPS || !l.serves() {
			continue
		}
		sni, host := t.listenerSelection(l, "tls.sni"), t.listenerSelection(l, "http.host")
		if len(sni) == 0 {
			continue // the only listener on its port: every host is its own
		}
		tags := objectTags("Gateway", t.gw.Namespace, t.gw.Name, string(t.gw.UID))
		tags = append(tags, "drawbridge-listener:"+l.tag())
		name := entityName("Gateway", t.gw.Namespace, t.gw.Name, l.index) + ".misdirected"
		t.upstreams = append(t.upstreams, kong.Upstream{Name: name, Tags: tags})
		preds := append([]string{portPredicate(l)}, sni...)
		preds = append(preds, negate(host))
		route := &kong.Route{
			Name:       name,
			Protocols:  []string{"https"},
			Expression: joinPredicates(preds),
			Priority:   kong.MaxPriority,
			Tags:       tags,
			Plugins: []kong.Plugin{{Name: kong.PluginRequestTermination, Tags: tags,
				Config: map[string]any{"status_code": 421, "message": "Misdirected Request: the request's host is served by another listener than the connection's TLS server name"}}},
		}
		t.kongServices = append(t.kongServices, &serviceBuild{
			svc:    kong.Service{Name: name, Protocol: "http", Host: name, Port: 80, Tags: tags},
			routes: []*kong.Route{route},
		})
	}
}

// listenerSelection returns the predicates on field (tls.sni or http.host)
// that hold exactly when the most specific HTTPS listener on l's port for
// that name is l: l's hostname matches and no more specific listener's does.
// It is empty when l is the port's only HTTPS listener and has no hostname.
func (t *translator) listenerSelection(l *listenerInfo, field string) []string {
	var preds []string
	if l.hostname != "" {
		preds = append(preds, hostPredicate(field, l.hostname))
	}
	for _, o := range t.listeners {
		if o == l || o.kind != provision.KindHTTPS || !o.serves() || o.spec.Port != l.spec.Port || o.hostname == "" {
			continue
		}
		if !moreSpecific(o.hostname, l.hostname) {
			continue
		}
		if l.hostname != "" && !covers(l.hostname, o.hostname) {
			continue
		}
		preds = append(preds, "!("+hostPredicate(field, o.hostname)+")")
	}
	return preds
}

// negate is the negation of a conjunction of predicates; a lone exclusion
// "!(p)" simply becomes p.
func negate(preds []string) string {
	if len(preds) == 1 && strings.HasPrefix(preds[0], "!(") && strings.HasSuffix(preds[0], ")") {
		return preds[0][2 : len(preds[0])-1]
	}
	return "!(" + joinPredicates(preds) + ")"
}
