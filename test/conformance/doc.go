// Package conformance runs the upstream Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance, unmodified) against Drawbridge and
// turns its ConformanceReport into a short per-profile table.
//
// It is its own Go module so the suite's dependencies (gRPC, DNS client)
// stay out of the operator's module graph. The test dials Gateway addresses
// directly (TCP, UDP, TLS passthrough and h2c cannot be redirected), so it
// runs inside the lab's node network namespace: see `make conformance`.
package conformance
