package translate

import (
	"fmt"
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// scope is one (listener, hostname) a route serves, with the hostnames that
// belong to more specific listeners on the same port and must be excluded
// so the route only sees traffic of its own listener.
type scope struct {
	listener *listenerInfo
	host     string // "" for any host
	// origin is the route's own hostname behind host ("" when the route
	// has none), which ranks the route against others (precedence.go).
	origin  string
	hostIdx int
	exclude []string
}

// scopes expands attachments into scopes, dropping hostnames that a more
// specific listener on the same port owns entirely.
func (t *translator) scopes(atts []attachment) []scope {
	var out []scope
	for _, a := range atts {
		for i, h := range a.hostnames {
			s := scope{listener: a.listener, host: h, origin: a.origins[i], hostIdx: i}
			owned := false
			for _, o := range t.listeners {
				if o == a.listener || !o.serves() || o.spec.Port != a.listener.spec.Port ||
					o.kind.Protocol() != a.listener.kind.Protocol() || o.hostname == "" {
					continue
				}
				if !moreSpecific(o.hostname, a.listener.hostname) {
					continue
				}
				if covers(o.hostname, h) {
					owned = true
					break
				}
				if _, overlap := gatewayapi.HostnamesIntersect(o.hostname, h); overlap {
					s.exclude = appendUnique(s.exclude, o.hostname)
				}
			}
			if !owned {
				out = append(out, s)
			}
		}
	}
	return out
}

// moreSpecific reports whether a listener hostname o wins over l for the
// requests both match (exact beats wildcard beats none; a longer wildcard
// suffix beats a shorter one).
func moreSpecific(o, l string) bool {
	switch {
	case o == "" || o == l:
		return false
	case l == "":
		return true
	case !strings.HasPrefix(l, "*."):
		return false
	case !strings.HasPrefix(o, "*."):
		return strings.HasSuffix(o, l[1:])
	default:
		return strings.HasSuffix(o[1:], l[1:])
	}
}

// covers reports whether every host matched by h is also matched by the
// listener hostname pattern.
func covers(pattern, h string) bool {
	switch {
	case h == "":
		return pattern == ""
	case !strings.HasPrefix(pattern, "*."):
		return h == pattern
	case strings.HasPrefix(h, "*."):
		return strings.HasSuffix(h[1:], pattern[1:])
	default:
		return strings.HasSuffix(h, pattern[1:])
	}
}

// hostPredicate matches a hostname on field (http.host or tls.sni). A
// wildcard matches one or more labels, which is a suffix match on ".rest".
func hostPredicate(field, h string) string {
	if strings.HasPrefix(h, "*.") {
		return field + " =^ " + kong.Quote(h[1:])
	}
	return field + " == " + kong.Quote(h)
}

// scopePredicates returns the predicates that pin a Kong route to a scope.
func scopePredicates(s scope, hostField string) []string {
	preds := []string{portPredicate(s.listener)}
	if s.host != "" {
		preds = append(preds, hostPredicate(hostField, s.host))
	}
	for _, ex := range s.exclude {
		preds = append(preds, "!("+hostPredicate(hostField, ex)+")")
	}
	return preds
}

// portPredicate pins a route to its listener's port. Kong's router reads the
// port through port_maps (ctx.host_port), so it sees the Gateway port. For
// TLS stream listeners Kong hands connections through an internal
// proxy_protocol hop whose net.dst.port is the port Kong bound, so both
// numbers are accepted there; MapPorts never gives a listener a Kong port
// that another listener uses as its Gateway port, so this stays isolated.
func portPredicate(l *listenerInfo) string {
	gwPort := int32(l.spec.Port)
	if (l.kind == provision.KindTLS || l.kind == provision.KindTLSPassthrough) && l.kongPort != gwPort {
		return fmt.Sprintf("(net.dst.port == %d || net.dst.port == %d)", gwPort, l.kongPort)
	}
	return fmt.Sprintf("net.dst.port == %d", gwPort)
}
