package kongstandin

// Config schemas of the bundled plugins the stand-in implements, following
// Kong 3.9's kong/plugins/<name>/schema.lua as documented on
// https://developer.konghq.com/plugins/<name>/reference/.

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// pluginDef is a plugin the stand-in implements.
type pluginDef struct {
	priority  int // Kong's handler PRIORITY: higher runs first in access
	protocols []string
	config    []*fspec
	check     func(cfg map[string]any) string // whole-config custom_validator
	// allowed are the protocols the schema accepts when they differ from
	// the default (protocols): typedefs.protocols accepts stream ones too.
	allowed []string
	// opaque plugins have no config schema in the stand-in: any record is
	// accepted and kept as given (defaults are applied by the runtime).
	opaque bool
	custom bool // not bundled with Kong (KONG_PLUGINS names it)
}

var httpProtocols = []string{"grpc", "grpcs", "http", "https"}

var pluginDefs = map[string]*pluginDef{
	"cors": {
		priority: 2000, protocols: []string{"http", "https"},
		config: []*fspec{
			{name: "origins", kind: kArray, elem: &fspec{kind: kString, check: checkCORSOrigin}},
			stringArray("headers"), stringArray("exposed_headers"),
			{name: "methods", kind: kArray, def: []any{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"},
				elem: &fspec{kind: kString, oneOf: []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}}},
			{name: "max_age", kind: kNumber},
			{name: "credentials", kind: kBoolean, required: true, def: false},
			{name: "private_network", kind: kBoolean, required: true, def: false},
			{name: "preflight_continue", kind: kBoolean, required: true, def: false},
		},
	},
	"request-transformer": {
		priority: 801, protocols: httpProtocols,
		config: []*fspec{
			{name: "http_method", kind: kString, check: func(v any) string {
				if !regexp.MustCompile(`^[A-Z]+$`).MatchString(v.(string)) {
					return "invalid value: " + v.(string)
				}
				return ""
			}},
			transformRecord("remove", []string{"body", "headers", "querystring"}, false),
			transformRecord("rename", []string{"body", "headers", "querystring"}, true),
			withURI(transformRecord("replace", []string{"body", "headers", "querystring"}, true)),
			transformRecord("add", []string{"body", "headers", "querystring"}, true),
			transformRecord("append", []string{"body", "headers", "querystring"}, true),
		},
		check: func(cfg map[string]any) string {
			for _, op := range []string{"remove", "rename", "replace", "add", "append"} {
				if len(getStrings(getRecord(cfg, op), "body")) > 0 {
					return fmt.Sprintf("stand-in: request-transformer %s.body is outside the stand-in's scope (Drawbridge does not emit it)", op)
				}
			}
			return checkTemplates(cfg)
		},
	},
	"response-transformer": {
		priority: 800, protocols: httpProtocols,
		config: []*fspec{
			transformRecord("remove", []string{"headers", "json"}, false),
			transformRecord("rename", []string{"headers", "json"}, true),
			withJSONTypes(transformRecord("replace", []string{"headers", "json"}, true)),
			withJSONTypes(transformRecord("add", []string{"headers", "json"}, true)),
			withJSONTypes(transformRecord("append", []string{"headers", "json"}, true)),
		},
		check: func(cfg map[string]any) string {
			for _, op := range []string{"remove", "rename", "replace", "add", "append"} {
				if len(getStrings(getRecord(cfg, op), "json")) > 0 {
					return fmt.Sprintf("stand-in: response-transformer %s.json is outside the stand-in's scope (Drawbridge does not emit it)", op)
				}
			}
			return ""
		},
	},
	"pre-function": {
		priority: 1000000, protocols: []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"},
		config: []*fspec{
			luaPhase("certificate"), luaPhase("rewrite"), luaPhase("access"),
			luaPhase("header_filter"), luaPhase("body_filter"), luaPhase("log"),
		},
		check: checkServerlessPhases,
	},
	"redirect": {
		priority: 779, protocols: httpProtocols,
		config: []*fspec{
			{name: "status_code", kind: kInteger, required: true, def: 301, between: between(100, 599)},
			{name: "location", kind: kString, required: true, check: checkURL},
			{name: "keep_incoming_path", kind: kBoolean, def: false},
		},
	},
	"request-termination": {
		priority: 2, protocols: httpProtocols,
		config: []*fspec{
			{name: "status_code", kind: kInteger, def: 503, between: between(100, 599)},
			strSpec("message"), strSpec("content_type"), strSpec("body"),
			{name: "echo", kind: kBoolean, required: true, def: false},
			strSpec("trigger"),
		},
		check: func(cfg map[string]any) string {
			present := func(k string) bool { return getString(cfg, k) != "" }
			switch {
			case present("message") && (present("content_type") || present("body")):
				return "message cannot be used with content_type or body"
			case present("content_type") && !present("body"):
				return "content_type requires a body"
			case getBool(cfg, "echo") && (present("content_type") || present("body")):
				return "echo cannot be used with content_type and body"
			}
			return ""
		},
	},
}

func transformRecord(name string, lists []string, colon bool) *fspec {
	r := &fspec{name: name, kind: kRecord, required: true}
	for _, l := range lists {
		elem := &fspec{kind: kString}
		if colon {
			elem.check = checkColonPair
		}
		r.fields = append(r.fields, &fspec{name: l, kind: kArray, required: true, def: []any{}, elem: elem})
	}
	return r
}

func withURI(r *fspec) *fspec {
	r.fields = append(r.fields, strSpec("uri"))
	return r
}

func withJSONTypes(r *fspec) *fspec {
	r.fields = append(r.fields, &fspec{name: "json_types", kind: kArray, required: true, def: []any{},
		elem: &fspec{kind: kString, oneOf: []string{"boolean", "number", "string"}}})
	return r
}

func checkColonPair(v any) string {
	s := v.(string)
	k, _, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Sprintf("invalid value: %s", s)
	}
	return ""
}

// luaPhase is one serverless phase: an array of Lua chunks, each compiled
// when the plugin is configured.
func luaPhase(name string) *fspec {
	return &fspec{name: name, kind: kArray, def: []any{}, elem: &fspec{kind: kString, check: checkLuaChunk}}
}

func checkURL(v any) string {
	u, err := url.Parse(v.(string))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "missing host in url"
	}
	return ""
}

// checkCORSOrigin accepts "*" or a valid regex, as the cors schema does.
func checkCORSOrigin(v any) string {
	s := v.(string)
	if s == "*" {
		return ""
	}
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Sprintf("'%s' is not a valid regex", s)
	}
	return ""
}

// checkTemplates rejects request-transformer values whose $(...) templates
// the stand-in cannot evaluate (Kong runs them as Lua; we support lookups).
func checkTemplates(cfg map[string]any) string {
	check := func(s string) string {
		if _, err := parseTemplate(s); err != nil {
			return "stand-in: " + err.Error()
		}
		return ""
	}
	for _, op := range []string{"rename", "replace", "add", "append"} {
		rec := getRecord(cfg, op)
		for _, l := range []string{"headers", "querystring"} {
			for _, e := range getStrings(rec, l) {
				_, val, _ := strings.Cut(e, ":")
				if msg := check(val); msg != "" {
					return msg
				}
			}
		}
	}
	if uri := getString(getRecord(cfg, "replace"), "uri"); uri != "" {
		return check(uri)
	}
	return ""
}
