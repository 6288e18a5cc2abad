package kong

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Names of the plugins Drawbridge emits. They are all bundled with Kong 3.9
// open source and enabled by default ("bundled").
const (
	PluginRequestTransformer  = "request-transformer"
	PluginResponseTransformer = "response-transformer"
	PluginRedirect            = "redirect"
	PluginRequestTermination  = "request-termination"
	PluginCORS                = "cors"
	// PluginPreFunction runs Lua in Kong's sandbox (untrusted_lua=sandbox,
	// the default) before every other plugin. Drawbridge emits only code it
	// generates itself, for what no declarative plugin can express.
	PluginPreFunction = "pre-function"
	// PluginMirror is Drawbridge's own RequestMirror plugin
	// (internal/kong/luaplugins/plugins/drawbridge-mirror), loaded by every
	// data plane the operator provisions.
	PluginMirror = "drawbridge-mirror"
)

// pluginSchema checks one plugin's config; the returned strings are problems
// relative to "config".
type pluginSchema func(cfg map[string]any) []string

var pluginSchemas = map[string]pluginSchema{
	PluginRequestTransformer:      checkRequestTransformer,
	PluginResponseTransformer:     checkResponseTransformer,
	PluginRedirect:                checkRedirect,
	PluginRequestTermination:      checkRequestTermination,
	PluginCORS:                    checkCORS,
	PluginPreFunction:             checkPreFunction,
	PluginDrawbridgeCORS:          checkDrawbridgeCORS,
	PluginDrawbridgeBackendSelect: checkDrawbridgeBackendSelect,
	PluginDrawbridgeRetry:         checkDrawbridgeRetry,
	PluginMirror:                  checkMirror,
}

var httpPluginProtocols = map[string]bool{"http": true, "https": true, "grpc": true, "grpcs": true}

func (v *validator) plugins(path, entity string, plugins []Plugin, routeProtocols []string) {
	seen := map[string]bool{}
	for i, p := range plugins {
		pp := fmt.Sprintf("%s[%d]", path, i)
		v.tags(pp, entity, p.Tags)
		if !pluginNameRE.MatchString(p.Name) {
			v.add(pp+".name", entity, "plugin name %q is not a valid plugin name", p.Name)
			continue
		}
		if seen[p.Name] {
			// Kong derives plugin IDs from (name, route, service, consumer),
			// so two instances on one entity collide.
			v.add(pp+".name", entity, "plugin %q appears twice on one entity", p.Name)
		}
		seen[p.Name] = true
		protos := p.Protocols
		if len(protos) == 0 {
			protos = routeProtocols
		}
		for _, proto := range p.Protocols {
			if protocolGroups[proto] == "" || proto == "tls_passthrough" {
				v.add(pp+".protocols", entity, "protocol %q is not one a plugin can run on", proto)
			}
		}
		for _, proto := range protos {
			stream := proto == protoTCP || proto == protoTLS || proto == protoUDP
			switch {
			case !httpPluginProtocols[proto] && !stream:
				v.add(pp+".name", entity, "plugin %s does not support route protocol %s", p.Name, proto)
			case stream && IsBundledPlugin(p.Name) && !PluginRunsOnStreams(p.Name):
				v.add(pp+".name", entity, "plugin %s does not support route protocol %s", p.Name, proto)
			case stream && len(p.Protocols) == 0:
				v.add(pp+".protocols", entity, "plugin %s on a %s route needs explicit protocols (the default is http only)", p.Name, proto)
			case p.Name == PluginCORS && proto != "http" && proto != "https":
				v.add(pp+".name", entity, "plugin %s does not support route protocol %s", p.Name, proto)
			default:
				continue
			}
			break
		}
		// Plugins Drawbridge generates are checked against the rules of
		// their schemas; any other plugin's config is Kong's to validate,
		// and its verdict reaches the KongPlugin through the tags.
		if schema, ok := pluginSchemas[p.Name]; ok && !userPlugin(p.Tags) {
			for _, msg := range schema(p.Config) {
				v.add(pp+".config", entity, "%s: %s", p.Name, msg)
			}
		}
	}
}

// pluginNameRE is the name rule of KongPlugin.spec.plugin, which covers
// every bundled plugin.
var pluginNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// userPlugin says whether a plugin came from a KongPlugin (or a
// GatewayConfiguration) rather than from Drawbridge's own translation.
func userPlugin(tags []string) bool {
	for _, t := range tags {
		if t == "k8s-kind:KongPlugin" || t == "drawbridge-gateway-plugin" {
			return true
		}
	}
	return false
}

// Generic accessors tolerate both the Go types the translator builds and the
// types encoding/json produces when a config is parsed back.

func asStrings(v any) ([]string, bool) {
	switch t := v.(type) {
	case []string:
		return t, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func asInt(v any) (int, bool) {
	switch t := v.(type) {
	case int:
		return t, true
	case int64:
		return int(t), true
	case float64:
		if t == float64(int(t)) {
			return int(t), true
		}
	}
	return 0, false
}

func asRecord(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok
}

func unknownKeys(cfg map[string]any, allowed ...string) []string {
	var out []string
	for k := range cfg {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("unknown field %q", k))
		}
	}
	sort.Strings(out)
	return out
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// checkTransformRecord checks remove/rename/replace/add/append records:
// arrays of strings, "name:value" pairs except for remove.
func checkTransformRecord(cfg map[string]any, op string, lists []string, extra ...string) []string {
	raw, present := cfg[op]
	if !present {
		return nil
	}
	rec, ok := asRecord(raw)
	if !ok {
		return []string{op + " must be a record"}
	}
	problems := unknownKeys(rec, append(append([]string{}, lists...), extra...)...)
	for _, l := range lists {
		rv, present := rec[l]
		if !present {
			continue
		}
		items, ok := asStrings(rv)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.%s must be an array of strings", op, l))
			continue
		}
		for _, item := range items {
			name := item
			if op != "remove" {
				n, _, found := strings.Cut(item, ":")
				if !found {
					problems = append(problems, fmt.Sprintf("%s.%s entry %q must be name:value", op, l, item))
					continue
				}
				name = n
			}
			if l == "headers" && !headerNameRE.MatchString(name) {
				problems = append(problems, fmt.Sprintf("%s.%s entry %q has an invalid header name", op, l, item))
			}
		}
	}
	return problems
}

func checkRequestTransformer(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "http_method", "remove", "rename", "replace", "add", "append")
	lists := []string{"headers", "querystring", "body"}
	for _, op := range []string{"remove", "rename", "add", "append"} {
		problems = append(problems, checkTransformRecord(cfg, op, lists)...)
	}
	problems = append(problems, checkTransformRecord(cfg, "replace", lists, "uri")...)
	if rec, ok := asRecord(cfg["replace"]); ok {
		if uri, present := rec["uri"]; present {
			if s, ok := uri.(string); !ok || !strings.HasPrefix(s, "/") {
				problems = append(problems, "replace.uri must be a string starting with /")
			}
		}
	}
	if m, present := cfg["http_method"]; present {
		if s, ok := m.(string); !ok || !methodRE.MatchString(s) {
			problems = append(problems, "http_method must be an upper-case method")
		}
	}
	return problems
}

func checkResponseTransformer(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "remove", "rename", "replace", "add", "append")
	for _, op := range []string{"remove", "rename", "replace", "add", "append"} {
		problems = append(problems, checkTransformRecord(cfg, op, []string{"headers", "json"}, "json_types")...)
	}
	return problems
}

func checkRedirect(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "status_code", "location", "keep_incoming_path")
	if code, ok := asInt(cfg["status_code"]); !ok || code < 100 || code > 599 {
		problems = append(problems, "status_code must be an integer in 100..599")
	}
	loc, _ := cfg["location"].(string)
	if u, err := url.Parse(loc); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, fmt.Sprintf("location %q must be an absolute URL", loc))
	}
	if k, present := cfg["keep_incoming_path"]; present {
		if _, ok := k.(bool); !ok {
			problems = append(problems, "keep_incoming_path must be a boolean")
		}
	}
	return problems
}

func checkRequestTermination(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "status_code", "message", "body", "content_type", "echo", "trigger")
	if raw, present := cfg["status_code"]; present {
		if code, ok := asInt(raw); !ok || code < 100 || code > 599 {
			problems = append(problems, "status_code must be an integer in 100..599")
		}
	}
	_, hasMessage := cfg["message"]
	_, hasBody := cfg["body"]
	_, hasType := cfg["content_type"]
	if hasMessage && (hasBody || hasType) {
		problems = append(problems, "message cannot be used with content_type or body")
	}
	if hasType && !hasBody {
		problems = append(problems, "content_type requires a body")
	}
	return problems
}

var corsMethods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "PATCH": true, "POST": true, "DELETE": true, "OPTIONS": true, "TRACE": true, "CONNECT": true}

func checkCORS(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "origins", "headers", "exposed_headers", "methods", "max_age", "credentials", "private_network", "preflight_continue")
	for _, k := range []string{"origins", "headers", "exposed_headers", "methods"} {
		raw, present := cfg[k]
		if !present {
			continue
		}
		items, ok := asStrings(raw)
		if !ok {
			problems = append(problems, k+" must be an array of strings")
			continue
		}
		for _, item := range items {
			switch k {
			case "methods":
				if !corsMethods[item] {
					problems = append(problems, fmt.Sprintf("methods: %q is not one of GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT", item))
				}
			case "origins":
				if item != "*" {
					if _, err := regexp.Compile(item); err != nil {
						problems = append(problems, fmt.Sprintf("origins: %q is not a valid regex", item))
					}
				}
			}
		}
	}
	if raw, present := cfg["max_age"]; present {
		if n, ok := asInt(raw); !ok || n < 0 {
			problems = append(problems, "max_age must be a non-negative number")
		}
	}
	for _, k := range []string{"credentials", "private_network", "preflight_continue"} {
		if raw, present := cfg[k]; present {
			if _, ok := raw.(bool); !ok {
				problems = append(problems, k+" must be a boolean")
			}
		}
	}
	return problems
}

// checkPreFunction accepts the access phase only: it is the one phase
// Drawbridge generates code for.
// checkPreFunction accepts the phases Drawbridge generates code for:
// access, and rewrite (which Kong runs for global plugins only, before the
// router).
func checkPreFunction(cfg map[string]any) []string {
	problems := unknownKeys(cfg, "access", "rewrite")
	if _, ok := cfg["access"]; !ok {
		return append(problems, "access must be a non-empty array of strings")
	}
	for _, phase := range []string{"access", "rewrite"} {
		v, present := cfg[phase]
		if !present {
			continue
		}
		chunks, ok := asStrings(v)
		if !ok || len(chunks) == 0 {
			problems = append(problems, phase+" must be a non-empty array of strings")
			continue
		}
		for i, c := range chunks {
			if strings.TrimSpace(c) == "" {
				problems = append(problems, fmt.Sprintf("%s[%d] is empty", phase, i))
			}
		}
	}
	return problems
}
