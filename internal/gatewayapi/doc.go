// Package gatewayapi holds Gateway API helpers shared by the controllers and
// the translator: condition bookkeeping, ReferenceGrant checks, hostname rules
// and listener validation. Everything here is pure.
package gatewayapi

// ControllerName is the GatewayClass spec.controllerName Drawbridge serves.
const ControllerName = "drawbridge.dev/gateway-controller"
