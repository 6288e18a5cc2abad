package kong

import "sort"

// Stream protocols a plugin may run on besides HTTP.
const (
	protoTCP = "tcp"
	protoTLS = "tls"
	protoUDP = "udp"
)

// bundledStream records, for every plugin bundled with Kong 3.9 open source
// (kong/plugins/*), whether its schema accepts stream protocols. Kong says
// so through the protocols field of each schema.lua: typedefs.protocols
// (every protocol, stream included) or typedefs.protocols_http (http,
// https, grpc, grpcs only). pre-function and post-function share
// kong/plugins/pre-function/_schema.lua, which uses typedefs.protocols.
var bundledStream = map[string]bool{
	"acl": false, "acme": false, "ai-prompt-decorator": false, "ai-prompt-guard": false,
	"ai-prompt-template": false, "ai-proxy": false, "ai-request-transformer": false,
	"ai-response-transformer": false, "aws-lambda": false, "azure-functions": true,
	"basic-auth": false, "bot-detection": false, "correlation-id": false, "cors": false,
	"datadog": true, "file-log": true, "grpc-gateway": true, "grpc-web": true,
	"hmac-auth": false, "http-log": true, "ip-restriction": true, "jwt": false,
	"key-auth": false, "ldap-auth": false, "loggly": true, "oauth2": false,
	"opentelemetry": false, "post-function": true, "pre-function": true,
	"prometheus": true, "proxy-cache": true, "rate-limiting": false, "redirect": false,
	"request-size-limiting": false, "request-termination": false,
	"request-transformer": true, "response-ratelimiting": false,
	"response-transformer": false, "session": true, "standard-webhooks": false,
	"statsd": true, "syslog": true, "tcp-log": true, "udp-log": true, "zipkin": true,
}

// unsafeForAppTeams are bundled plugins that are off the default allow-list:
// pre-function and post-function run arbitrary Lua, and file-log writes to
// a path its configuration names. No other bundled plugin reads or writes a
// file its configuration chooses (checked in kong/plugins/*/: the only
// other io.open calls read nginx's buffered request body in aws-lambda and
// the cluster certificate in prometheus).
var unsafeForAppTeams = map[string]bool{"pre-function": true, "post-function": true, "file-log": true}

// BundledPlugins returns the names of the plugins bundled with Kong 3.9, sorted.
func BundledPlugins() []string {
	out := make([]string, 0, len(bundledStream))
	for n := range bundledStream {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsBundledPlugin says whether name is a plugin bundled with Kong 3.9.
func IsBundledPlugin(name string) bool {
	_, ok := bundledStream[name]
	return ok
}

// PluginRunsOnStreams says whether a bundled plugin's schema accepts the
// stream protocols (tcp, tls, udp). Custom plugins are unknown: false.
func PluginRunsOnStreams(name string) bool { return bundledStream[name] }

// DefaultAllowedPlugins is the allow-list for app teams when the platform
// sets none: every bundled plugin except pre-function, post-function and
// file-log, sorted. Custom plugins are added by the caller.
func DefaultAllowedPlugins() []string {
	var out []string
	for _, n := range BundledPlugins() {
		if !unsafeForAppTeams[n] {
			out = append(out, n)
		}
	}
	return out
}

// failsClosed are the bundled plugins that decide who may pass: when the
// KongPlugin that should apply one is invalid, the requests it would have
// judged are refused rather than let through unchecked.
var failsClosed = map[string]bool{
	"key-auth": true, "basic-auth": true, "jwt": true, "hmac-auth": true, "oauth2": true, "ldap-auth": true,
	"acl": true, "ip-restriction": true, "bot-detection": true, "request-termination": true,
}

// FailsClosed says whether an invalid plugin of this name must refuse the
// requests it would have judged (authentication and access control).
func FailsClosed(name string) bool { return failsClosed[name] }
