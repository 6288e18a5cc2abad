package translate

import (
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// precedence holds the Gateway API ordering criteria of one Kong route, most
// significant first. Kong's expressions router tries routes by descending
// priority and takes the first match, so the criteria are packed into the
// 46-bit priority:
//
//	bit  45     exact (non-wildcard) hostname
//	bits 37-44  hostname length (wildcards: the suffix), capped at 255
//	bit  36     Exact path match
//	bit  35     RegularExpression path match
//	bits 25-34  path length, capped at 1023
//	bit  24     method match
//	bits 19-23  number of header matches (Gateway API allows at most 16)
//	bits 14-18  number of query parameter matches (at most 16)
//	bits 0-13   tie-break: older route, then namespace/name, rule and match
//
// Regular expressions rank above every prefix: the spec leaves their place
// to implementations, and a regex is usually the narrower intent.
//
// The hostname criteria read the route's own hostname, not its intersection
// with the listener's (GatewayRouteHostnameIntersectionPrecedence): on a
// listener for abc.example.com, a route for abc.example.com wins over an
// older one for *.example.com whatever their paths, although both serve
// exactly abc.example.com there. A route without hostnames ranks last. This
// never reverses the order of the intersections: routes of one listener
// compete only for hosts both intersections match, and when they differ the
// more specific intersection is the route's own hostname, more specific than
// the other route's, whose intersection it lies within. Routes of different
// listeners never compete, because listener isolation keeps their hosts or
// ports apart (isolation.go).
type precedence struct {
	hostExact bool
	hostLen   int
	pathExact bool
	pathRegex bool
	pathLen   int
	method    bool
	headers   int
	queries   int
}

const tieBits = 14

func capInt(v, max int) uint64 {
	if v > max {
		v = max
	}
	if v < 0 {
		v = 0
	}
	return uint64(v)
}

func (p precedence) bits() uint64 {
	var b uint64
	if p.hostExact {
		b |= 1 << 45
	}
	b |= capInt(p.hostLen, 255) << 37
	if p.pathExact {
		b |= 1 << 36
	}
	if p.pathRegex {
		b |= 1 << 35
	}
	b |= capInt(p.pathLen, 1023) << 25
	if p.method {
		b |= 1 << 24
	}
	b |= capInt(p.headers, 31) << 19
	b |= capInt(p.queries, 31) << 14
	return b
}

// withHost sets the hostname criteria from the route hostname host.
func (p precedence) withHost(host string) precedence {
	switch {
	case host == "":
	case strings.HasPrefix(host, "*."):
		p.hostLen = len(host) - 1
	default:
		p.hostExact = true
		p.hostLen = len(host)
	}
	return p
}

// hostMoreSpecific reports whether route hostname a ranks above b by the
// hostname criteria of withHost.
func hostMoreSpecific(a, b string) bool {
	pa, pb := precedence{}.withHost(a), precedence{}.withHost(b)
	if pa.hostExact != pb.hostExact {
		return pa.hostExact
	}
	return pa.hostLen > pb.hostLen
}

// tieKey orders routes whose criteria are all equal, as the spec requires:
// oldest creation timestamp, then namespace/name alphabetically, then the
// order of rules and matches within the route.
type tieKey struct {
	kindOrder int
	created   metav1.Time
	namespace string
	name      string
	rule      int
	match     int
}

func (a tieKey) less(b tieKey) bool {
	if !a.created.Equal(&b.created) {
		return a.created.Before(&b.created)
	}
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	if a.name != b.name {
		return a.name < b.name
	}
	if a.kindOrder != b.kindOrder {
		return a.kindOrder < b.kindOrder
	}
	if a.rule != b.rule {
		return a.rule < b.rule
	}
	return a.match < b.match
}

// pendingRoute is a Kong route whose priority is set once all routes are
// known.
type pendingRoute struct {
	route  *kong.Route
	stream bool
	prec   precedence
	tie    tieKey
	// fp is what the route can match, for mergeRoutes; nil when unknown.
	fp *footprint
}

// assignPriorities finalises priorities. Only routes with equal criteria
// compete on the tie-break bits, so ranks are assigned within each group of
// equal criteria; a group larger than 2^14 shares the lowest rank beyond
// that, which Kong then orders arbitrarily.
func (t *translator) assignPriorities() {
	type groupKey struct {
		stream bool
		bits   uint64
	}
	groups := map[groupKey][]*pendingRoute{}
	var keys []groupKey
	for _, p := range t.pending {
		k := groupKey{p.stream, p.prec.bits()}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	const maxTie = 1<<tieBits - 1
	for _, k := range keys {
		g := groups[k]
		sort.SliceStable(g, func(i, j int) bool { return g[i].tie.less(g[j].tie) })
		rank := 0
		for i, p := range g {
			if i > 0 && g[i-1].tie != p.tie {
				rank++
			}
			r := rank
			if r > maxTie {
				r = maxTie
			}
			p.route.Priority = k.bits | uint64(maxTie-r)
		}
	}
}
