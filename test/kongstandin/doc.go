// Package kongstandin is a test double for Kong Gateway 3.9 running DB-less
// with router_flavor=expressions. The lab runs it in place of the kong image:
// it reads the same KONG_* environment, serves the Admin API (POST /config
// with Kong's validation and error shapes, /status, /status/ready), and proxies
// HTTP(S), gRPC, WebSocket and stream (tcp, udp, tls, tls_passthrough) traffic
// the way Kong's expressions router and the bundled plugins that Drawbridge
// emits (request-transformer, response-transformer, redirect,
// request-termination, cors) behave.
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
