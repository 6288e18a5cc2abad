package kong

import "fmt"

// PluginDrawbridgeBackendSelect is Drawbridge's plugin for HTTPRoute rules
// whose backendRefs carry different filters
// (internal/kong/luaplugins/plugins/drawbridge-backend-select): it picks
// the backendRef by weight, sends the request to that backendRef's own
// upstream and applies its header modifiers. Kong's balancer runs after
// route plugins, so no bundled plugin can tie a filter to a target.
const PluginDrawbridgeBackendSelect = "drawbridge-backend-select"

// MaxBackendRefWeight is the largest backendRef weight the Gateway API
// allows, and the plugin's schema.
const MaxBackendRefWeight = 1000000

// checkDrawbridgeBackendSelect mirrors drawbridge-backend-select/schema.lua.
func checkDrawbridgeBackendSelect(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "backends")
	raw, ok := cfg["backends"].([]any)
	if !ok || len(raw) == 0 {
		return append(problems, "backends must be a non-empty array of records")
	}
	for i, e := range raw {
		b, ok := asRecord(e)
		if !ok {
			problems = append(problems, fmt.Sprintf("backends[%d] must be a record", i))
			continue
		}
		for _, p := range unknownKeys(b, "upstream", "weight", "request_headers", "response_headers") {
			problems = append(problems, fmt.Sprintf("backends[%d]: %s", i, p))
		}
		if u, _ := b["upstream"].(string); u == "" {
			problems = append(problems, fmt.Sprintf("backends[%d].upstream must be an upstream name", i))
		}
		if w, ok := asInt(b["weight"]); !ok || w < 1 || w > MaxBackendRefWeight {
			problems = append(problems, fmt.Sprintf("backends[%d].weight must be an integer in 1..%d", i, MaxBackendRefWeight))
		}
		for _, k := range []string{"request_headers", "response_headers"} {
			if m, present := b[k]; present {
				for _, p := range checkHeaderModifier(m) {
					problems = append(problems, fmt.Sprintf("backends[%d].%s: %s", i, k, p))
				}
			}
		}
	}
	return problems
}

// checkHeaderModifier checks {set: [{name, value}], add: [...], remove: [name]}.
func checkHeaderModifier(v any) []string {
	m, ok := asRecord(v)
	if !ok {
		return []string{"must be a record"}
	}
	problems := unknownKeys(m, "set", "add", "remove")
	for _, k := range []string{"set", "add"} {
		raw, present := m[k]
		if !present {
			continue
		}
		items, ok := raw.([]any)
		if !ok {
			problems = append(problems, k+" must be an array of {name, value}")
			continue
		}
		for _, it := range items {
			h, ok := asRecord(it)
			name, _ := h["name"].(string)
			_, hasValue := h["value"].(string)
			if !ok || !headerNameRE.MatchString(name) || !hasValue || len(h) != 2 {
				problems = append(problems, fmt.Sprintf("%s entry %v must be {name: <header name>, value: <string>}", k, it))
			}
		}
	}
	if raw, present := m["remove"]; present {
		names, ok := asStrings(raw)
		if !ok {
			problems = append(problems, "remove must be an array of header names")
		}
		for _, n := range names {
			if !headerNameRE.MatchString(n) {
				problems = append(problems, fmt.Sprintf("remove entry %q is not a header name", n))
			}
		}
	}
	return problems
}
