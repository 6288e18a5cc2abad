//go:build tools

// Package echobasic pins the module whose echo-basic program the lab runs for
// the conformance suite's echo-basic images. Gateway API v1.7.0's manifests
// name registry.k8s.io/gateway-api/conformance/echo-basic v0.1.0 and v0.2.0;
// the Go module proxy serves only v0.1.0 of gateway-api-conformance-images, so
// the lab runs that for both tags (internal/lab/node/images.go).
package echobasic

import _ "sigs.k8s.io/gateway-api-conformance-images/echo-basic"
