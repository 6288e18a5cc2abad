// Package dnsstandin is the lab's stand-in for the CoreDNS image that the
// Gateway API conformance suite deploys as its UDP backend. It reads the
// same Corefile and implements the few plugins that Corefile uses:
//
//   - whoami: answers with the client's address (A or AAAA) and, in the
//     additional section, an SRV record naming the client's port and
//     transport, as CoreDNS's whoami plugin does;
//   - forward: never forwards. The lab has no route to outside resolvers
//     and must never send traffic there, so such queries get SERVFAIL;
//   - log and errors: accepted (every query is logged to stdout).
//
// Any other plugin is a startup error naming it, so a Corefile that needs
// more than the stand-in offers fails loudly instead of half-working.
package dnsstandin
