package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Kong's cost to apply a configuration is dominated by upstreams: each one
// gets a balancer and a health checker when the configuration loads. On
// real Kong 3.9.3, 5,000 HTTPRoutes with one service and upstream each (6
// targets) took 5.4 s to apply; the same routes sharing the 1,000 upstreams
// their backends actually differ by took 1.6 s (test/kongapply). So rules
// that send to the same endpoints with the same weights share one upstream,
// and rules whose services would be identical apart from their names share
// one service, which carries all their routes. Routes keep their own names
// and tags, so Kong's errors about them still name the rule.

// sharedTag marks upstreams and services that serve more than one rule's
// backends as a set (the Service tags name a single backend).
const sharedTag = "drawbridge-backends"

// shareBackends merges the rule services that carry an upstream of their
// own into shared services and upstreams, in a deterministic order.
func (t *translator) shareBackends() {
	var rules []*serviceBuild
	kept := t.kongServices[:0]
	for _, sb := range t.kongServices {
		if sb.upstream == nil {
			kept = append(kept, sb)
			continue
		}
		rules = append(rules, sb)
	}
	if len(rules) == 0 {
		return
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].svc.Name < rules[j].svc.Name })

	upstreams := map[string]string{}   // targets content -> upstream name
	upstreamTaken := map[string]bool{} // names in use
	for _, u := range t.upstreams {
		upstreamTaken[u.Name] = true
	}
	services := map[string]*serviceBuild{} // service content -> shared service
	serviceTaken := map[string]bool{}
	for _, sb := range kept {
		serviceTaken[sb.svc.Name] = true
	}
	for _, sb := range rules {
		// Services of different protocols never share an upstream: the
		// targets of a gRPC rule and of an HTTP rule may be the same
		// endpoints, and keeping them apart keeps their balancers (and
		// anything that reads an upstream's protocol from its services)
		// separate, as they were before sharing.
		content := sb.svc.Protocol + ";" + targetsKey(sb.upstream.Targets)
		upName, ok := upstreams[content]
		if !ok {
			base, tags := backendsName(sb.backends)
			upName = uniqueName(base, content, upstreamTaken)
			upstreams[content] = upName
			t.upstreams = append(t.upstreams, kong.Upstream{Name: upName, Algorithm: sb.upstream.Algorithm, Tags: tags, Targets: sb.upstream.Targets})
		}
		svc := sb.svc
		svc.Name, svc.Host, svc.Tags, svc.Routes = "", upName, nil, nil
		key := serviceKey(svc)
		shared, ok := services[key]
		if !ok {
			svc.Name = uniqueName(upName+"."+svc.Protocol, key, serviceTaken)
			if u := findUpstream(t.upstreams, upName); u != nil {
				svc.Tags = u.Tags
			}
			shared = &serviceBuild{svc: svc}
			services[key] = shared
			kept = append(kept, shared)
		}
		shared.routes = append(shared.routes, sb.routes...)
	}
	for _, sb := range services {
		sort.Slice(sb.routes, func(i, j int) bool { return sb.routes[i].Name < sb.routes[j].Name })
	}
	t.kongServices = kept
}

// backendsName describes a set of backends as an upstream name and tags:
// "backend.<namespace>.<service>.<port>" for one Service (tagged with it),
// "backend.<namespace>.<service>.<port>.and-<n>" for several.
func backendsName(backends []resolvedBackend) (string, []string) {
	var used []resolvedBackend
	for _, b := range backends {
		if b.weight > 0 && len(b.endpoints) > 0 {
			used = append(used, b)
		}
	}
	if len(used) == 0 {
		used = backends
	}
	first := used[0]
	name := fmt.Sprintf("backend.%s.%s.%d", first.service.Namespace, first.service.Name, first.port)
	distinct := map[string]bool{}
	for _, b := range used {
		distinct[fmt.Sprintf("%s/%s:%d", b.service.Namespace, b.service.Name, b.port)] = true
	}
	if len(distinct) == 1 {
		return boundName(name), first.tags
	}
	return boundName(fmt.Sprintf("%s.and-%d", name, len(distinct)-1)), []string{sharedTag}
}

// uniqueName returns base, or base with a hash of content when another
// entity already has that name (the same backends with other weights or
// other service settings).
func uniqueName(base, content string, taken map[string]bool) string {
	name := base
	if taken[name] {
		sum := sha256.Sum256([]byte(content))
		name = boundName(base + "." + hex.EncodeToString(sum[:4]))
	}
	taken[name] = true
	return name
}

func targetsKey(targets []kong.Target) string {
	var b strings.Builder
	for _, t := range targets {
		fmt.Fprintf(&b, "%s=%d;", t.Target, t.Weight)
	}
	return b.String()
}

// serviceKey is the service's content apart from its name, tags and
// routes; services with equal keys behave the same.
func serviceKey(svc kong.Service) string {
	data, err := json.Marshal(svc)
	if err != nil {
		// A kong.Service always marshals; a distinct key keeps it unshared.
		return fmt.Sprintf("unmarshalable %p", &svc)
	}
	return string(data)
}

func findUpstream(ups []kong.Upstream, name string) *kong.Upstream {
	for i := len(ups) - 1; i >= 0; i-- {
		if ups[i].Name == name {
			return &ups[i]
		}
	}
	return nil
}
