//go:build tools

// Package echobasic pins the Gateway API conformance module whose echo-basic
// program the lab runs for the echo-basic image.
package echobasic

import _ "sigs.k8s.io/gateway-api/conformance/echo-basic"
