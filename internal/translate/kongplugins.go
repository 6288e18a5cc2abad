package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// KongPlugins reach Kong routes from five levels. When the same plugin name
// reaches one Kong route from several, the most specific wins, in this
// order (highest first):
//
//	levelFilter   an ExtensionRef filter of the route rule
//	levelRule     a targetRef naming the route with sectionName = the rule's name
//	levelRoute    a targetRef naming the route
//	levelListener a targetRef naming the Gateway with sectionName = a listener
//	levelGateway  a targetRef naming the Gateway
//
// Every winner becomes a plugin scoped to the Kong route (never a Kong global
// plugin, so one team's plugin cannot reach another Gateway's routes and
// Kong's own precedence never has to choose). Two KongPlugins of the same
// plugin name on the same target and level conflict: the older one
// (creationTimestamp, then namespace/name) wins and the other is reported
// Conflicted on that Gateway.
type pluginLevel int

const (
	levelGateway pluginLevel = iota
	levelListener
	levelRoute
	levelRule
	levelFilter
)

func (l pluginLevel) String() string {
	return [...]string{"Gateway", "listener", "route", "route rule", "ExtensionRef filter"}[l]
}

// KongPluginGroup and KongPluginKind are what an ExtensionRef filter names
// to use a KongPlugin.
const (
	KongPluginGroup = "gateway.drawbridge.dev"
	KongPluginKind  = "KongPlugin"
)

// RouteReasonInvalidKongPlugin is the ResolvedRefs reason of a route whose
// ExtensionRef filter names a KongPlugin that exists but cannot be applied
// (a configFrom Secret or key is missing). Gateway API has no upstream
// reason for an invalid extension object; the rule answers 500 as the spec
// asks for filters that cannot be applied.
const RouteReasonInvalidKongPlugin gwv1.RouteConditionReason = "InvalidKongPlugin"

// DefaultAllowedPlugins is the allow-list app teams get when the platform
// sets none: every plugin bundled with Kong 3.9 except pre-function,
// post-function (arbitrary Lua) and file-log (writes a file its config
// names). The custom plugins of the GatewayConfiguration are added to it.
func DefaultAllowedPlugins() []string { return kong.DefaultAllowedPlugins() }

// policyProblem is one reason a KongPlugin is not (fully) accepted by this
// Gateway.
type policyProblem struct {
	reason  gwv1.PolicyConditionReason
	message string
}

// kongPluginState is what translation learns about one KongPlugin.
type kongPluginState struct {
	obj  *v1alpha1.KongPlugin
	key  KongPluginKey
	tags []string
	// config is the plugin configuration with configFrom applied, as JSON.
	config []byte
	// invalid says why the plugin can be applied nowhere (allow-list,
	// configFrom); "" when it is valid.
	invalid string
	// relevant: the plugin gets an ancestor entry on this Gateway.
	relevant bool
	// applied counts the Kong routes that carry it.
	applied  int
	problems []policyProblem
}

func (s *kongPluginState) problem(reason gwv1.PolicyConditionReason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, p := range s.problems {
		if p.message == msg {
			return
		}
	}
	s.problems = append(s.problems, policyProblem{reason, msg})
}

// older orders KongPlugins for conflicts: creationTimestamp, then
// namespace/name.
func (s *kongPluginState) older(o *kongPluginState) bool {
	a, b := s.obj.CreationTimestamp, o.obj.CreationTimestamp
	if !a.Equal(&b) {
		return a.Before(&b)
	}
	if s.key.Namespace != o.key.Namespace {
		return s.key.Namespace < o.key.Namespace
	}
	return s.key.Name < o.key.Name
}

// ruleTarget names a rule of a route by its name.
type ruleTarget struct {
	route RouteKey
	rule  string
}

// policyIndex holds, per target, the winning KongPlugin of each plugin name.
type policyIndex struct {
	byKey     map[KongPluginKey]*kongPluginState
	allowed   map[string]bool
	gateway   map[string]*kongPluginState
	listeners map[string]map[string]*kongPluginState
	routes    map[RouteKey]map[string]*kongPluginState
	rules     map[ruleTarget]map[string]*kongPluginState
}

// routeKinds are the route kinds a targetRef may name, with whether they
// run HTTP plugins (false: stream routes).
var routeKinds = map[string]bool{"HTTPRoute": true, "GRPCRoute": true, "TCPRoute": false, "TLSRoute": false, "UDPRoute": false}

// routeRuleNames returns the rule names of every route of the snapshot
// ("" for unnamed rules), or false when the route is not in it.
func (t *translator) routeRuleNames(key RouteKey) ([]string, bool) {
	names := func(n int, at func(int) *gwv1.SectionName) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = ruleName(at(i))
		}
		return out
	}
	s := t.snap
	switch key.Kind {
	case "HTTPRoute":
		for i := range s.HTTPRoutes {
			if r := &s.HTTPRoutes[i]; r.Namespace == key.Namespace && r.Name == key.Name {
				return names(len(r.Spec.Rules), func(i int) *gwv1.SectionName { return r.Spec.Rules[i].Name }), true
			}
		}
	case "GRPCRoute":
		for i := range s.GRPCRoutes {
			if r := &s.GRPCRoutes[i]; r.Namespace == key.Namespace && r.Name == key.Name {
				return names(len(r.Spec.Rules), func(i int) *gwv1.SectionName { return r.Spec.Rules[i].Name }), true
			}
		}
	case "TCPRoute":
		for i := range s.TCPRoutes {
			if r := &s.TCPRoutes[i]; r.Namespace == key.Namespace && r.Name == key.Name {
				return names(len(r.Spec.Rules), func(i int) *gwv1.SectionName { return r.Spec.Rules[i].Name }), true
			}
		}
	case "TLSRoute":
		for i := range s.TLSRoutes {
			if r := &s.TLSRoutes[i]; r.Namespace == key.Namespace && r.Name == key.Name {
				return names(len(r.Spec.Rules), func(i int) *gwv1.SectionName { return r.Spec.Rules[i].Name }), true
			}
		}
	case "UDPRoute":
		for i := range s.UDPRoutes {
			if r := &s.UDPRoutes[i]; r.Namespace == key.Namespace && r.Name == key.Name {
				return names(len(r.Spec.Rules), func(i int) *gwv1.SectionName { return r.Spec.Rules[i].Name }), true
			}
		}
	}
	return nil, false
}

// allowedPlugins is the effective allow-list.
func allowedPlugins(p PluginPolicy) map[string]bool {
	out := map[string]bool{}
	if p.Allowed == nil {
		for _, n := range DefaultAllowedPlugins() {
			out[n] = true
		}
		for _, n := range p.Custom {
			out[n] = true
		}
		return out
	}
	for _, n := range p.Allowed {
		out[n] = true
	}
	return out
}

// indexPlugins validates every KongPlugin of the snapshot and resolves
// targetRef conflicts per target and level.
func (t *translator) indexPlugins() {
	idx := &policyIndex{
		byKey:     map[KongPluginKey]*kongPluginState{},
		allowed:   allowedPlugins(t.snap.Plugins),
		gateway:   map[string]*kongPluginState{},
		listeners: map[string]map[string]*kongPluginState{},
		routes:    map[RouteKey]map[string]*kongPluginState{},
		rules:     map[ruleTarget]map[string]*kongPluginState{},
	}
	t.policies = idx
	states := make([]*kongPluginState, 0, len(t.snap.KongPlugins))
	for i := range t.snap.KongPlugins {
		kp := &t.snap.KongPlugins[i]
		st := &kongPluginState{obj: kp, key: KongPluginKey{Namespace: kp.Namespace, Name: kp.Name},
			tags: objectTags("KongPlugin", kp.Namespace, kp.Name, string(kp.UID))}
		if _, dup := idx.byKey[st.key]; dup {
			continue
		}
		idx.byKey[st.key] = st
		st.config, st.invalid = t.pluginConfig(kp)
		if msg, rejected := t.snap.RejectedKongPlugins[st.key]; rejected && st.invalid == "" {
			st.invalid = "Kong rejected its configuration: " + msg
		}
		if st.invalid == "" && !idx.allowed[kp.Spec.Plugin] {
			st.invalid = fmt.Sprintf("plugin %q is not on the allow-list of Gateway %s/%s; the platform team sets it in the GatewayConfiguration's spec.plugins.allowed", kp.Spec.Plugin, t.gw.Namespace, t.gw.Name)
		}
		states = append(states, st)
	}
	sort.Slice(states, func(i, j int) bool { return states[i].older(states[j]) })
	place := func(st *kongPluginState, target string, m map[string]*kongPluginState) {
		name := st.obj.Spec.Plugin
		// An invalid plugin applies nowhere; an invalid access-control
		// plugin still takes its place, so that what it should protect
		// fails closed (withUserPlugins) instead of opening up.
		if st.invalid != "" && !kong.FailsClosed(name) {
			return
		}
		if w, ok := m[name]; ok && w != st {
			st.problem(gwv1.PolicyReasonConflicted, "%s already sets plugin %s on %s and is older", pluginRef(w.key), name, target)
			return
		}
		m[name] = st
	}
	for _, st := range states {
		kp := st.obj
		for i, ref := range kp.Spec.TargetRefs {
			where := fmt.Sprintf("targetRefs[%d]", i)
			group, kind, name := string(ref.Group), string(ref.Kind), string(ref.Name)
			section := ""
			if ref.SectionName != nil {
				section = string(*ref.SectionName)
			}
			switch {
			case group == gwv1.GroupName && kind == "Gateway":
				if name != t.gw.Name || kp.Namespace != t.gw.Namespace {
					continue
				}
				st.relevant = true
				if section == "" {
					place(st, "Gateway "+t.gw.Name, idx.gateway)
					continue
				}
				found := false
				for _, l := range t.gw.Spec.Listeners {
					if string(l.Name) == section {
						found = true
					}
				}
				if !found {
					st.problem(gwv1.PolicyReasonTargetNotFound, "%s: Gateway %s has no listener %q", where, t.gw.Name, section)
					continue
				}
				m := idx.listeners[section]
				if m == nil {
					m = map[string]*kongPluginState{}
					idx.listeners[section] = m
				}
				place(st, fmt.Sprintf("listener %s of Gateway %s", section, t.gw.Name), m)
			case group == gwv1.GroupName && isRouteKind(kind):
				key := RouteKey{Kind: kind, Namespace: kp.Namespace, Name: name}
				rules, ok := t.routeRuleNames(key)
				if !ok {
					// Only a route this Gateway may carry is in the
					// snapshot, so the verdict is reported here.
					st.relevant = true
					st.problem(gwv1.PolicyReasonTargetNotFound, "%s: %s %s/%s does not exist", where, kind, kp.Namespace, name)
					continue
				}
				if section == "" {
					m := idx.routes[key]
					if m == nil {
						m = map[string]*kongPluginState{}
						idx.routes[key] = m
					}
					place(st, key.String(), m)
					continue
				}
				found := false
				for _, r := range rules {
					if r == section {
						found = true
					}
				}
				if !found {
					st.relevant = true
					st.problem(gwv1.PolicyReasonTargetNotFound, "%s: %s %s/%s has no rule named %q", where, kind, kp.Namespace, name, section)
					continue
				}
				rt := ruleTarget{route: key, rule: section}
				m := idx.rules[rt]
				if m == nil {
					m = map[string]*kongPluginState{}
					idx.rules[rt] = m
				}
				place(st, fmt.Sprintf("rule %s of %s", section, key), m)
			default:
				// Not a target this Gateway can have; another controller
				// may own it.
			}
		}
	}
}

func isRouteKind(kind string) bool {
	_, ok := routeKinds[kind]
	return ok
}

func pluginRef(k KongPluginKey) string { return "KongPlugin " + k.Namespace + "/" + k.Name }

// pluginConfig returns the KongPlugin's config with configFrom applied, as
// JSON, or why it cannot be built. Messages name Secrets and keys, never
// their values.
func (t *translator) pluginConfig(kp *v1alpha1.KongPlugin) ([]byte, string) {
	cfg := map[string]any{}
	if kp.Spec.Config != nil && len(kp.Spec.Config.Raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(kp.Spec.Config.Raw))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil || cfg == nil {
			return nil, "spec.config must be a JSON object"
		}
	}
	for i, f := range kp.Spec.ConfigFrom {
		where := fmt.Sprintf("spec.configFrom[%d] (field %s)", i, f.Field)
		sec, ok := t.secrets[types.NamespacedName{Namespace: kp.Namespace, Name: f.SecretKeyRef.Name}]
		if !ok {
			return nil, fmt.Sprintf("%s: Secret %s/%s does not exist", where, kp.Namespace, f.SecretKeyRef.Name)
		}
		val, ok := sec.Data[f.SecretKeyRef.Key]
		if !ok {
			return nil, fmt.Sprintf("%s: Secret %s/%s has no key %q", where, kp.Namespace, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
		}
		if err := setPath(cfg, f.Field, string(val)); err != "" {
			return nil, where + ": " + err
		}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, "spec.config cannot be encoded: " + err.Error()
	}
	return data, ""
}

// setPath sets a dot-separated field of a config, creating records on the
// way; it refuses to replace a non-record value with a record.
func setPath(cfg map[string]any, path, value string) string {
	parts := strings.Split(path, ".")
	m := cfg
	for i, p := range parts[:len(parts)-1] {
		next, present := m[p]
		if !present || next == nil {
			n := map[string]any{}
			m[p] = n
			m = n
			continue
		}
		n, ok := next.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is not a record in spec.config", strings.Join(parts[:i+1], "."))
		}
		m = n
	}
	m[parts[len(parts)-1]] = value
	return ""
}

// kongPlugin renders a KongPlugin for one Kong route. protocols is set on
// stream routes, where the schema default (http only) would not run.
func (st *kongPluginState) kongPlugin(protocols []string) kong.Plugin {
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(st.config))
	dec.UseNumber()
	_ = dec.Decode(&cfg) // st.config was encoded from a map
	if len(cfg) == 0 {
		cfg = nil
	}
	return kong.Plugin{Name: st.obj.Spec.Plugin, Config: cfg, Protocols: protocols, Tags: st.tags}
}

// chosenPlugin is the KongPlugin that won one plugin name for a Kong route.
type chosenPlugin struct {
	st    *kongPluginState
	level pluginLevel
}

// policyPlugins resolves the KongPlugins that reach a rule of a route on a
// listener, by plugin name, with ExtensionRef filters on top.
func (t *translator) policyPlugins(route RouteKey, rule string, l *listenerInfo, filters []*kongPluginState) map[string]chosenPlugin {
	out := map[string]chosenPlugin{}
	set := func(level pluginLevel, m map[string]*kongPluginState) {
		for name, st := range m {
			if _, taken := out[name]; !taken {
				out[name] = chosenPlugin{st, level}
			}
		}
	}
	for _, st := range filters {
		if _, taken := out[st.obj.Spec.Plugin]; !taken {
			out[st.obj.Spec.Plugin] = chosenPlugin{st, levelFilter}
		}
	}
	idx := t.policies
	if rule != "" {
		set(levelRule, idx.rules[ruleTarget{route, rule}])
	}
	set(levelRoute, idx.routes[route])
	// A listener targetRef names a Gateway listener; ListenerSet listeners
	// are not sections of the Gateway.
	if l != nil && l.set == nil {
		set(levelListener, idx.listeners[string(l.spec.Name)])
	}
	set(levelGateway, idx.gateway)
	return out
}

// withUserPlugins adds the KongPlugins that reach one Kong route to the
// plugins Drawbridge generated for it. On an HTTP route a KongPlugin whose
// plugin Drawbridge already uses there (one instance per name per route in
// Kong) makes the route unsupported when it comes from an ExtensionRef
// filter; from a targetRef, the route's own filter wins and the KongPlugin
// is reported. pre-function is never added to HTTP routes: a route's
// pre-function replaces Drawbridge's global one (Host normalisation).
// streamProtos is nil for HTTP routes.
func (t *translator) withUserPlugins(own []kong.Plugin, chosen map[string]chosenPlugin, streamProtos []string, where string) ([]kong.Plugin, *unsupported) {
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	ownNames := map[string]bool{}
	for _, p := range own {
		ownNames[p.Name] = true
	}
	for _, n := range names {
		if c := chosen[n]; c.st.invalid != "" {
			// Only an access-control plugin is chosen while invalid: the
			// route refuses every request until the KongPlugin is fixed.
			c.st.relevant = true
			return []kong.Plugin{failClosedPlugin(c.st, streamProtos)}, nil
		}
	}
	out := append([]kong.Plugin(nil), own...)
	var add []*kongPluginState
	for _, n := range names {
		c := chosen[n]
		switch {
		case streamProtos == nil && n == kong.PluginPreFunction:
			msg := "plugin pre-function cannot run on HTTP or gRPC routes: Kong runs one pre-function per route, and a route's own would replace Drawbridge's (Host normalisation, redirects)"
			if c.level == levelFilter {
				return nil, &unsupported{reason: gwv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf("%s: %s uses %s", where, pluginRef(c.st.key), msg)}
			}
			c.st.relevant = true
			c.st.problem(gwv1.PolicyReasonInvalid, "%s", msg)
			continue
		case ownNames[n]:
			if c.level == levelFilter {
				return nil, &unsupported{reason: gwv1.RouteReasonIncompatibleFilters,
					message: fmt.Sprintf("%s: %s uses plugin %s, which Drawbridge already uses for another filter of this rule (or to answer it with an error); Kong runs one %s per route", where, pluginRef(c.st.key), n, n)}
			}
			c.st.relevant = true
			c.st.problem(gwv1.PolicyReasonConflicted, "a route rule's own filter uses plugin %s on %s, so this %s-level KongPlugin does not apply there", n, where, c.level)
			continue
		case streamProtos != nil && kong.IsBundledPlugin(n) && !kong.PluginRunsOnStreams(n):
			// Gateway- and listener-wide HTTP plugins simply do not
			// concern stream routes.
			if c.level >= levelRoute {
				c.st.relevant = true
				c.st.problem(gwv1.PolicyReasonInvalid, "plugin %s does not run on TCP, TLS or UDP routes (Kong's schema allows HTTP protocols only), so it does not apply to %s", n, where)
			}
			continue
		}
		add = append(add, c.st)
	}
	for _, st := range add {
		st.relevant = true
		st.applied++
		out = append(out, st.kongPlugin(streamProtos))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// failClosedPlugin is what a Kong route runs instead of an invalid
// access-control KongPlugin: request-termination answering 500 on HTTP
// routes, and on stream routes (where request-termination does not run)
// ip-restriction closing every connection.
func failClosedPlugin(st *kongPluginState, streamProtos []string) kong.Plugin {
	msg := fmt.Sprintf("%s (plugin %s) is invalid, so the requests it protects are refused: %s", pluginRef(st.key), st.obj.Spec.Plugin, st.invalid)
	if streamProtos != nil {
		return kong.Plugin{Name: "ip-restriction", Protocols: streamProtos, Tags: st.tags,
			Config: map[string]any{"deny": []string{"0.0.0.0/0", "::/0"}}}
	}
	return terminationPlugin(msg, st.tags)
}

// extRef is one ExtensionRef filter of a rule.
type extRef struct {
	ref   gwv1.LocalObjectReference
	where string
}

// resolveExtRefs looks up a rule's ExtensionRef filters. A wrong group or
// kind, a missing KongPlugin or an invalid one is a ResolvedRefs problem and
// the rule answers 500 (broken says why); a plugin off the allow-list, or
// two filters of the same plugin, makes the route unsupported.
func (t *translator) resolveExtRefs(meta *routeMeta, refs []extRef) (states []*kongPluginState, problems []refProblem, broken string, u *unsupported) {
	seen := map[string]string{}
	for _, r := range refs {
		if string(r.ref.Group) != KongPluginGroup || string(r.ref.Kind) != KongPluginKind {
			problems = append(problems, refProblem{gwv1.RouteReasonInvalidKind,
				fmt.Sprintf("%s: ExtensionRef %s/%s is not supported; Drawbridge filters are KongPlugins (group %s, kind %s)", r.where, r.ref.Group, r.ref.Kind, KongPluginGroup, KongPluginKind)})
			broken = "An ExtensionRef filter of the route rule is not supported"
			continue
		}
		key := KongPluginKey{Namespace: meta.key.Namespace, Name: string(r.ref.Name)}
		st, ok := t.policies.byKey[key]
		if !ok {
			problems = append(problems, refProblem{gwv1.RouteReasonBackendNotFound,
				fmt.Sprintf("%s: KongPlugin %s/%s does not exist", r.where, key.Namespace, key.Name)})
			broken = "An ExtensionRef filter of the route rule names a KongPlugin that does not exist"
			continue
		}
		st.relevant = true
		if st.invalid != "" {
			if !t.policies.allowed[st.obj.Spec.Plugin] {
				return nil, nil, "", &unsupported{reason: gwv1.RouteReasonUnsupportedValue,
					message: fmt.Sprintf("%s: %s: %s", r.where, pluginRef(key), st.invalid)}
			}
			problems = append(problems, refProblem{RouteReasonInvalidKongPlugin,
				fmt.Sprintf("%s: %s is invalid: %s", r.where, pluginRef(key), st.invalid)})
			broken = "An ExtensionRef filter of the route rule names an invalid KongPlugin"
			continue
		}
		if prev, dup := seen[st.obj.Spec.Plugin]; dup {
			return nil, nil, "", &unsupported{reason: gwv1.RouteReasonIncompatibleFilters,
				message: fmt.Sprintf("%s: %s and %s both configure plugin %s; Kong runs one %s per route", r.where, prev, pluginRef(key), st.obj.Spec.Plugin, st.obj.Spec.Plugin)}
		}
		seen[st.obj.Spec.Plugin] = pluginRef(key)
		states = append(states, st)
	}
	return states, problems, broken, nil
}

// routeAttached says whether a route attached to any listener of this
// Gateway.
func (t *translator) routeAttached(key RouteKey) bool {
	for _, m := range t.attached {
		if m[key] {
			return true
		}
	}
	return false
}

// pluginResults builds one ancestor verdict per KongPlugin this Gateway
// applies or that targets it, its listeners or its routes.
func (t *translator) pluginResults() []KongPluginAncestorResult {
	idx := t.policies
	keys := make([]KongPluginKey, 0, len(idx.byKey))
	for k, st := range idx.byKey {
		if !st.relevant {
			// A route-level target counts when the route is attached here.
			for _, ref := range st.obj.Spec.TargetRefs {
				if string(ref.Group) == gwv1.GroupName && isRouteKind(string(ref.Kind)) {
					if t.routeAttached(RouteKey{Kind: string(ref.Kind), Namespace: k.Namespace, Name: string(ref.Name)}) {
						st.relevant = true
					}
				}
			}
		}
		if st.relevant {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Namespace != keys[j].Namespace {
			return keys[i].Namespace < keys[j].Namespace
		}
		return keys[i].Name < keys[j].Name
	})
	group := gwv1.Group(gwv1.GroupName)
	kind := gwv1.Kind("Gateway")
	ns := gwv1.Namespace(t.gw.Namespace)
	ancestor := gwv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: gwv1.ObjectName(t.gw.Name)}
	out := make([]KongPluginAncestorResult, 0, len(keys))
	for _, k := range keys {
		st := idx.byKey[k]
		res := KongPluginAncestorResult{Plugin: k, Generation: st.obj.Generation, AncestorRef: ancestor}
		accepted := string(gwv1.PolicyConditionAccepted)
		switch {
		case st.invalid != "":
			res.Accepted = gatewayapi.False(accepted, string(gwv1.PolicyReasonInvalid), st.invalid)
		case len(st.problems) > 0:
			reason := st.problems[0].reason
			for _, r := range []gwv1.PolicyConditionReason{gwv1.PolicyReasonInvalid, gwv1.PolicyReasonTargetNotFound, gwv1.PolicyReasonConflicted} {
				found := false
				for _, p := range st.problems {
					if p.reason == r {
						found = true
					}
				}
				if found {
					reason = r
					break
				}
			}
			msgs := make([]string, len(st.problems))
			for i, p := range st.problems {
				msgs[i] = p.message
			}
			msg := strings.Join(msgs, "; ")
			if st.applied > 0 {
				msg += fmt.Sprintf("; it applies to %d other Kong route(s) of this Gateway", st.applied)
			}
			res.Accepted = gatewayapi.False(accepted, string(reason), msg)
		default:
			res.Accepted = gatewayapi.True(accepted, string(gwv1.PolicyReasonAccepted), fmt.Sprintf("Plugin %s applies to %d Kong route(s) of this Gateway", st.obj.Spec.Plugin, st.applied))
		}
		out = append(out, res)
	}
	return out
}

// gatewayPlugins are the platform's Gateway-wide plugins, as Kong global
// plugins. pre-function is refused: Drawbridge's own global pre-function
// (Host normalisation) holds that name.
func (t *translator) gatewayPlugins(taken map[string]bool) []kong.Plugin {
	var out []kong.Plugin
	seen := map[string]bool{}
	tags := append(objectTags("Gateway", t.gw.Namespace, t.gw.Name, string(t.gw.UID)), "drawbridge-gateway-plugin")
	for i, gp := range t.snap.Plugins.Gateway {
		switch {
		case gp.Plugin == kong.PluginPreFunction || taken[gp.Plugin]:
			t.warnf("GatewayConfiguration spec.plugins.gateway[%d]: plugin %s is not applied: Drawbridge uses its own global %s on this Gateway", i, gp.Plugin, gp.Plugin)
			continue
		case seen[gp.Plugin]:
			t.warnf("GatewayConfiguration spec.plugins.gateway[%d]: plugin %s is listed twice; the first entry is applied", i, gp.Plugin)
			continue
		}
		seen[gp.Plugin] = true
		var cfg map[string]any
		if gp.Config != nil && len(gp.Config.Raw) > 0 {
			dec := json.NewDecoder(bytes.NewReader(gp.Config.Raw))
			dec.UseNumber()
			if err := dec.Decode(&cfg); err != nil {
				t.warnf("GatewayConfiguration spec.plugins.gateway[%d]: plugin %s config is not a JSON object; not applied", i, gp.Plugin)
				continue
			}
		}
		if len(cfg) == 0 {
			cfg = nil
		}
		out = append(out, kong.Plugin{Name: gp.Plugin, Config: cfg, Tags: tags})
	}
	return out
}

// checkExtClash refuses ExtensionRef KongPlugins whose plugin Drawbridge
// already uses on the rule's Kong routes (Kong runs one instance of a
// plugin per route) and pre-function on HTTP routes. terminates says the
// rule answers with request-termination.
func checkExtClash(f ruleFilters, ext []*kongPluginState, terminates bool, ri int) *unsupported {
	own := map[string]string{}
	if !f.request.empty() || f.rewrite != nil {
		own[kong.PluginRequestTransformer] = "a RequestHeaderModifier or URLRewrite filter"
	}
	if !f.response.empty() {
		own[kong.PluginResponseTransformer] = "a ResponseHeaderModifier filter"
	}
	if f.cors != nil {
		own[kong.PluginDrawbridgeCORS] = "a CORS filter"
		// Kong's cors would answer the same preflights and set the same
		// headers with other values.
		own[kong.PluginCORS] = "a CORS filter (drawbridge-cors)"
	}
	if f.redirect != nil {
		own[kong.PluginRedirect] = "a RequestRedirect filter"
	}
	if f.perBackend != nil {
		own[kong.PluginDrawbridgeBackendSelect] = "backendRefs with different filters"
	}
	if terminates {
		own[kong.PluginRequestTermination] = "answering the rule's requests with 500 (its backends cannot be used)"
	}
	for _, st := range ext {
		n := st.obj.Spec.Plugin
		if n == kong.PluginPreFunction {
			st.problem(gwv1.PolicyReasonInvalid, "rules[%d] uses it through an ExtensionRef, but pre-function cannot run on HTTP or gRPC routes", ri)
			return &unsupported{reason: gwv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf("rules[%d]: %s uses plugin pre-function, which cannot run on HTTP or gRPC routes: Kong runs one pre-function per route, and a route's own would replace Drawbridge's (Host normalisation, redirects)", ri, pluginRef(st.key))}
		}
		if why, ok := own[n]; ok {
			st.problem(gwv1.PolicyReasonConflicted, "rules[%d] of a route also uses plugin %s for %s, so the route was not accepted", ri, n, why)
			return &unsupported{reason: gwv1.RouteReasonIncompatibleFilters, message: fmt.Sprintf("rules[%d]: %s uses plugin %s, which Drawbridge already uses on this rule for %s; Kong runs one %s per route", ri, pluginRef(st.key), n, why, n)}
		}
	}
	return nil
}
