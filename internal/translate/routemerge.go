package translate

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Kong validates, stores and indexes every route entity of a configuration
// on each POST /config, and on real Kong 3.9.3 the route entities were the
// largest part of applying 5,000 generated HTTPRoutes (1,000 services,
// 1,000 upstreams, 6,000 targets): the same routes merged five to a Kong
// route were served after 1.7 s instead of 2.7 s (TestKongApplyCompare).
// Routes that behave the same once matched (one service, no plugins of
// their own, the same Kong route settings) differ only in what they match,
// so they can share one Kong route whose expression ORs theirs.
//
// A merged route has one priority, the highest of its members', so the
// other members move up past every route ranked between them. That changes
// nothing only if none of those routes can match a request the moved member
// matches. footprint over-approximates what a route matches (listener port,
// hostname, path and method), and two routes whose footprints cannot share
// a request never compete, whatever their order. Merging is greedy in
// priority order and bounded, so its cost stays linear.

// mergedTag is the only tag of a merged route. Kong's errors about such a
// route cannot name one object, so a rejection that names it makes the
// operator translate again with Snapshot.SeparateRoutes (one Kong route per
// match, each tagged with its object) to learn which object Kong refuses.
const mergedTag = "drawbridge-merged-routes"

// MergedRouteTag reports whether a Kong entity's tags mark a merged route.
func MergedRouteTag(tags []string) bool { return slices.Contains(tags, mergedTag) }

const (
	// maxMergedRoutes bounds a merged route's size: its expression grows
	// with every member, and Kong reports its errors as one.
	maxMergedRoutes = 64
	// maxMergeScan bounds the routes checked for one merge; a route that
	// would need more starts a group of its own instead.
	maxMergeScan = 512
)

// footprint is an over-approximation of the requests a Kong route on the
// HTTP router matches, and the parts of its expression: scope holds the
// listener and hostname predicates, rest the path, method, header and
// query predicates.
type footprint struct {
	port   int32
	host   string // "" for any host, an exact name, or "*.suffix"
	path   pathMatch
	method string // "" for any method
	scope  []string
	rest   []string
}

// overlap reports whether some request could match both footprints. A nil
// footprint (a route of unknown shape) overlaps everything.
func (a *footprint) overlap(b *footprint) bool {
	if a == nil || b == nil {
		return true
	}
	if a.port != b.port {
		return false
	}
	if a.method != "" && b.method != "" && a.method != b.method {
		return false
	}
	// Kong's host predicates read as Gateway API hostnames do: an exact
	// name is equality, "*.suffix" is "ends with .suffix" (isolation.go).
	_, hosts := gatewayapi.HostnamesIntersect(a.host, b.host)
	return hosts && pathsOverlap(a.path, b.path)
}

// pathsOverlap compares path matches as their predicates read (matches.go):
// Exact is equality, PathPrefix P is "== P or starts with P/", and a
// regular expression may match anything.
func pathsOverlap(a, b pathMatch) bool {
	if a.kind == gwv1.PathMatchRegularExpression || b.kind == gwv1.PathMatchRegularExpression {
		return true
	}
	if a.kind == gwv1.PathMatchExact && b.kind == gwv1.PathMatchExact {
		return a.value == b.value
	}
	within := func(p, prefix string) bool {
		return prefix == "/" || p == prefix ||
			len(p) > len(prefix) && p[len(prefix)] == '/' && strings.HasPrefix(p, prefix)
	}
	if a.kind == gwv1.PathMatchExact {
		return within(a.value, b.value)
	}
	if b.kind == gwv1.PathMatchExact {
		return within(b.value, a.value)
	}
	return within(a.value, b.value) || within(b.value, a.value)
}

// mergeEntry is one Kong route of the HTTP router in priority order.
type mergeEntry struct {
	route *kong.Route
	fp    *footprint
	key   int // index of its mergeKey from 1, 0 when the route is never merged
}

type mergeGroup struct {
	top     int // position of the highest member
	members []*mergeEntry
}

// mergeRoutes merges routes as described above. It runs after
// shareBackends, so rules that send to the same backends already share a
// service, and after assignPriorities.
func (t *translator) mergeRoutes() {
	if t.snap.SeparateRoutes {
		return
	}
	prints := map[*kong.Route]*footprint{}
	for _, p := range t.pending {
		if p.fp != nil && !p.stream {
			prints[p.route] = p.fp
		}
	}
	var order []*mergeEntry
	keys := map[string]int{}
	for _, sb := range t.kongServices {
		for _, r := range sb.routes {
			if streamRoute(r) {
				continue
			}
			e := &mergeEntry{route: r, fp: prints[r]}
			if e.fp != nil && len(r.Plugins) == 0 {
				k := mergeKey(sb, r)
				if keys[k] == 0 {
					keys[k] = len(keys) + 1
				}
				e.key = keys[k]
			}
			order = append(order, e)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].route.Priority != order[j].route.Priority {
			return order[i].route.Priority > order[j].route.Priority
		}
		return order[i].route.Name < order[j].route.Name
	})

	runs := make([][2]int, len(order))
	for i := 0; i < len(order); {
		j := i
		for j+1 < len(order) && order[j+1].route.Priority == order[i].route.Priority {
			j++
		}
		for k := i; k <= j; k++ {
			runs[k] = [2]int{i, j}
		}
		i = j + 1
	}

	// Routes with an exact hostname are indexed by port and hostname; the
	// others (wildcard, no hostname, unknown shape) may overlap any route
	// and are checked against every candidate.
	buckets := map[string][]int{}
	var wide []int
	for i, e := range order {
		if b, ok := bucketOf(e.fp); ok {
			buckets[b] = append(buckets[b], i)
		} else {
			wide = append(wide, i)
		}
	}

	open := map[int]*mergeGroup{}
	var groups []*mergeGroup
	for i, e := range order {
		if e.key == 0 {
			continue
		}
		g := open[e.key]
		if g != nil && len(g.members) < maxMergedRoutes && mayJoin(order, runs, e, g.top, i, buckets, wide) {
			g.members = append(g.members, e)
			continue
		}
		g = &mergeGroup{top: i, members: []*mergeEntry{e}}
		open[e.key] = g
		groups = append(groups, g)
	}

	merged := map[*kong.Route]bool{}
	for _, g := range groups {
		if len(g.members) < 2 {
			continue
		}
		top := g.members[0].route
		top.Expression = mergedExpression(g.members)
		top.Name = boundName(top.Name + ".and-" + strconv.Itoa(len(g.members)-1))
		top.Tags = []string{mergedTag}
		for _, m := range g.members[1:] {
			merged[m.route] = true
		}
	}
	if len(merged) == 0 {
		return
	}
	for _, sb := range t.kongServices {
		kept := sb.routes[:0]
		for _, r := range sb.routes {
			if !merged[r] {
				kept = append(kept, r)
			}
		}
		sb.routes = kept
	}
}

// mayJoin reports whether the route at position i may move up to position
// top: every route ranked between them that is not interchangeable with it
// (another key) must be unable to match what it matches. Routes of the same
// key are interchangeable: whichever wins, the request is handled the same
// way. Kong orders routes of equal priority by id, not by the order here,
// so routes with the top's or the moving route's own priority count as
// between them too (runs[p] is the span of equal priorities around p).
func mayJoin(order []*mergeEntry, runs [][2]int, e *mergeEntry, top, i int, buckets map[string][]int, wide []int) bool {
	first, last := runs[top][0], runs[i][1]
	blocked := func(p int) bool {
		x := order[p]
		return x.key != e.key && x.fp.overlap(e.fp)
	}
	check := func(positions []int) (bool, int) {
		lo := sort.SearchInts(positions, first)
		hi := sort.SearchInts(positions, last+1)
		if hi-lo > maxMergeScan {
			return false, hi - lo
		}
		for _, p := range positions[lo:hi] {
			if blocked(p) {
				return false, hi - lo
			}
		}
		return true, hi - lo
	}
	if b, ok := bucketOf(e.fp); ok {
		ok1, n1 := check(buckets[b])
		if !ok1 {
			return false
		}
		ok2, n2 := check(wide)
		return ok2 && n1+n2 <= maxMergeScan
	}
	if last-first+1 > maxMergeScan {
		return false
	}
	for p := first; p <= last; p++ {
		if blocked(p) {
			return false
		}
	}
	return true
}

// bucketOf is the index key of a route with an exact hostname.
func bucketOf(fp *footprint) (string, bool) {
	if fp == nil || fp.host == "" || strings.HasPrefix(fp.host, "*.") {
		return "", false
	}
	return strconv.Itoa(int(fp.port)) + " " + fp.host, true
}

// mergeKey is what routes must share to be merged: their service and every
// Kong route setting apart from the name, expression, priority and tags.
func mergeKey(sb *serviceBuild, r *kong.Route) string {
	var b strings.Builder
	b.WriteString(sb.svc.Name)
	b.WriteByte('|')
	b.WriteString(strings.Join(r.Protocols, ","))
	for _, v := range []*bool{r.PreserveHost, r.StripPath} {
		switch {
		case v == nil:
			b.WriteString("|-")
		case *v:
			b.WriteString("|t")
		default:
			b.WriteString("|f")
		}
	}
	return b.String()
}

// mergedExpression ORs the members' expressions, stating the listener and
// hostname predicates once for each run of members that share them. A
// member without predicates of its own matches its whole scope, which then
// needs no others.
func mergedExpression(members []*mergeEntry) string {
	var alts []string
	for i := 0; i < len(members); {
		scope := strings.Join(members[i].fp.scope, " && ")
		var rests []string
		seen := map[string]bool{}
		whole := false
		j := i
		for ; j < len(members) && slices.Equal(members[j].fp.scope, members[i].fp.scope); j++ {
			preds := members[j].fp.rest
			whole = whole || len(preds) == 0
			// Equal matches of different rules (a conflict the spec
			// resolves by precedence) need to be stated once.
			if r := restExpression(preds); !seen[r] {
				seen[r] = true
				rests = append(rests, r)
			}
		}
		switch {
		case whole:
			alts = append(alts, scope)
		case len(rests) == 1:
			alts = append(alts, scope+" && "+rests[0])
		default:
			alts = append(alts, scope+" && ("+strings.Join(rests, " || ")+")")
		}
		i = j
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, ") || (") + ")"
}

// restExpression is one member's own predicates, parenthesised when they
// are several (each predicate is already a single term).
func restExpression(preds []string) string {
	if len(preds) == 1 {
		return preds[0]
	}
	return "(" + strings.Join(preds, " && ") + ")"
}

// streamRoute reports whether a Kong route belongs to the stream router,
// which never competes with the HTTP router's routes.
func streamRoute(r *kong.Route) bool {
	for _, p := range r.Protocols {
		switch p {
		case "tcp", "tls", "tls_passthrough", "udp":
			return true
		}
	}
	return false
}
