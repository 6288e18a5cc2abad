// Package kongstandin is a test double for Kong Gateway 3.9 running DB-less
// with router_flavor=expressions. The lab runs it in place of the kong image:
// it reads the same KONG_* environment, serves the Admin API (POST /config
// with Kong's validation and error shapes, /status, /status/ready), and proxies
// HTTP(S), gRPC, WebSocket and stream (tcp, udp, tls, tls_passthrough) traffic
// the way Kong's expressions router and the bundled plugins that Drawbridge
// emits (request-transformer, response-transformer, redirect,
// request-termination, cors) behave.
//
// Plugins: every plugin bundled with Kong 3.9 is known, and KONG_PLUGINS
// is read as Kong reads it ("bundled", "off", custom names). An unknown or
// unloaded name is refused ("plugin 'x' not enabled"), and protocols a
// plugin's schema does not accept are refused (HTTP-only plugins on stream
// protocols). Config fields are validated only for the plugins listed in
// plugin_schemas.go; any other plugin's config record is accepted as given,
// so a config Kong's schema would refuse may pass here. At request time
// the stand-in runs request-transformer, response-transformer, redirect,
// request-termination, cors, pre-function, key-auth, acl, ip-restriction
// (HTTP and tcp/tls preread), rate-limiting (policy local),
// request-size-limiting, prometheus (no visible effect),
// response-ratelimiting with a Redis policy (fault tolerant: no effect, as
// the stand-in never reaches Redis) and Drawbridge's own drawbridge-cors,
// drawbridge-backend-select, drawbridge-mirror, drawbridge-retry and
// drawbridge-h2c; a request that reaches any other plugin (or an option of
// these it does not model, such as key-auth's anonymous) is answered 500
// with a "stand-in:" message.
// Consumer-scoped plugins are not applied. Consumers with keyauth_credentials,
// basicauth_credentials, jwt_secrets, hmacauth_credentials and acls (nested
// or top-level, known only when their plugin is loaded) are loaded with
// Kong's endpoint-key uniqueness (key-auth and jwt keys, basic-auth and
// hmac-auth usernames, consumer usernames); only key-auth credentials
// authenticate requests.
//
// The stand-in is deliberately strict: configuration Kong would reject is
// rejected with Kong's error shapes, and any Kong feature the stand-in does not
// implement is rejected loudly instead of being ignored, so a passing lab test
// never hides a behaviour real Kong would not have.
//
// Facts are taken from /work/shared/reference/kong-dataplane.md ("reference"
// below) and from Kong's public documentation at developer.konghq.com.
package kongstandin

// KongVersion is the Kong release the stand-in imitates; it appears in
// GET / and in the Via and Server headers.
const KongVersion = "3.9.3"
