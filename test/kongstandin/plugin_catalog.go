package kongstandin

// Every plugin bundled with Kong 3.9 (internal/kong.BundledPlugins, read
// from kong/constants.lua), with its handler PRIORITY and the protocols its
// schema accepts (kong/plugins/<name>/schema.lua: typedefs.protocols_http or
// typedefs.protocols; both default to the HTTP protocols). Plugins with an
// entry in pluginDefs have their config validated field by field; the
// others are accepted with any config record, as the stand-in does not
// carry their schemas (see doc.go): a config Kong's schema would refuse is
// accepted here. At request time a plugin the stand-in does not run
// answers 500 with a stand-in message, so a test never passes through a
// plugin silently.

import (
	"sort"

	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// bundledPriorities are the PRIORITY values of kong/plugins/*/handler.lua.
var bundledPriorities = map[string]int{
	"acl": 950, "acme": 1705, "ai-prompt-decorator": 772, "ai-prompt-guard": 771,
	"ai-prompt-template": 773, "ai-proxy": 770, "ai-request-transformer": 777,
	"ai-response-transformer": 768, "aws-lambda": 750, "azure-functions": 749,
	"basic-auth": 1100, "bot-detection": 2500, "correlation-id": 100001, "cors": 2000,
	"datadog": 10, "file-log": 9, "grpc-gateway": 998, "grpc-web": 3, "hmac-auth": 1030,
	"http-log": 12, "ip-restriction": 990, "jwt": 1450, "key-auth": 1250, "ldap-auth": 1200,
	"loggly": 6, "oauth2": 1400, "opentelemetry": 14, "post-function": -1000,
	"pre-function": 1000000, "prometheus": 13, "proxy-cache": 100, "rate-limiting": 910,
	"redirect": 779, "request-size-limiting": 951, "request-termination": 2,
	"request-transformer": 801, "response-ratelimiting": 900, "response-transformer": 800,
	"session": 1900, "standard-webhooks": 760, "statsd": 11, "syslog": 4, "tcp-log": 7,
	"udp-log": 8, "zipkin": 100000,
}

// pluginDefFor returns the definition of an enabled plugin: the stand-in's
// own for the plugins it validates, else one built from the bundled list
// (or, for a custom plugin, one that accepts every protocol and config).
func pluginDefFor(name string) *pluginDef {
	if d, ok := pluginDefs[name]; ok {
		return d
	}
	if kong.IsBundledPlugin(name) {
		d := &pluginDef{priority: bundledPriorities[name], protocols: httpProtocols, opaque: true}
		if kong.PluginRunsOnStreams(name) {
			d.allowed = allProtocols
		}
		return d
	}
	// A custom plugin: the stand-in cannot read its schema.lua. Drawbridge's
	// own plugins have their handler's PRIORITY (plugins_drawbridge.go).
	return &pluginDef{priority: drawbridgePriorities[name], protocols: httpProtocols, allowed: allProtocols, opaque: true, custom: true}
}

// enabledPlugins resolves KONG_PLUGINS as kong/conf_loader does:
// "bundled" stands for every bundled plugin, "off" for none, any other
// entry is a plugin name (custom ones included).
func enabledPlugins(list []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range list {
		switch p {
		case "off":
		case "bundled":
			for _, n := range kong.BundledPlugins() {
				out[n] = true
			}
		default:
			out[p] = true
		}
	}
	return out
}

func sortedNames(m map[string]bool) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
