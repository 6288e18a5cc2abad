package translate

import (
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Rules whose backendRefs carry different filters.
//
// Kong runs route plugins before its balancer picks a target, so a header
// filter cannot follow the target Kong's balancer would pick. For such a
// rule Drawbridge gives every selectable backendRef a Kong upstream of its
// own, next to the rule's upstream, and puts drawbridge-backend-select on
// the rule's Kong routes: it picks a backendRef by weight, points the
// request at that backendRef's upstream (Kong's balancer then picks among
// its endpoints and retries the others on connection failure) and applies
// that backendRef's header modifiers. Rules without per-backend filters
// are translated as before and do not run the plugin.

// selectableBackends are the backendRefs drawbridge-backend-select can pick:
// resolved, with a non-zero weight and at least one endpoint. The others
// get no traffic, as they get no target in the rule's upstream.
func selectableBackends(p httpRulePlan) []resolvedBackend {
	if p.filters.perBackend == nil {
		return nil
	}
	var out []resolvedBackend
	for _, b := range p.backends.resolved {
		if b.weight > 0 && len(b.endpoints) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// backendSelectPlugin is the drawbridge-backend-select plugin of a rule's
// Kong routes, when the rule needs one.
func backendSelectPlugin(meta *routeMeta, p httpRulePlan, tags []string) (kong.Plugin, bool) {
	sel := selectableBackends(p)
	if len(sel) == 0 {
		return kong.Plugin{}, false
	}
	backends := make([]any, 0, len(sel))
	for _, b := range sel {
		entry := map[string]any{
			"upstream": backendUpstreamName(meta.key.Kind, meta.key.Namespace, meta.key.Name, p.idx, b.ref),
			"weight":   int(min(b.weight, kong.MaxBackendRefWeight)),
		}
		h := p.filters.perBackend[b.ref]
		if !h.request.empty() {
			entry["request_headers"] = headerModifierConfig(h.request)
		}
		if !h.response.empty() {
			entry["response_headers"] = headerModifierConfig(h.response)
		}
		backends = append(backends, entry)
	}
	return kong.Plugin{Name: kong.PluginDrawbridgeBackendSelect, Config: map[string]any{"backends": backends}, Tags: tags}, true
}

// headerModifierConfig renders a header modifier for the plugin: the
// Gateway API fields, values passed literally (no templates).
func headerModifierConfig(ops headerOps) map[string]any {
	cfg := map[string]any{}
	pairs := func(hs []gwv1.HTTPHeader) []any {
		out := make([]any, len(hs))
		for i, h := range hs {
			out[i] = map[string]any{"name": string(h.Name), "value": h.Value}
		}
		return out
	}
	if len(ops.set) > 0 {
		cfg["set"] = pairs(ops.set)
	}
	if len(ops.add) > 0 {
		cfg["add"] = pairs(ops.add)
	}
	if len(ops.remove) > 0 {
		cfg["remove"] = append([]string{}, ops.remove...)
	}
	return cfg
}

// backendUpstreams adds the upstream of every selectable backendRef of a
// rule that needs drawbridge-backend-select.
func (t *translator) backendUpstreams(meta *routeMeta, p httpRulePlan, extraTags []string) {
	for _, b := range selectableBackends(p) {
		tags := routeTags(meta, extraTags...)
		one := ruleBackends{resolved: []resolvedBackend{b}}
		t.upstreams = append(t.upstreams, kong.Upstream{
			Name:    backendUpstreamName(meta.key.Kind, meta.key.Namespace, meta.key.Name, p.idx, b.ref),
			Tags:    tags,
			Targets: one.targets(),
		})
	}
}
