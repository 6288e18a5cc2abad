// Package convert turns the objects of a Kong Ingress Controller (KIC) or
// ingress-nginx installation (Ingresses, IngressClasses, KIC's
// configuration.konghq.com custom resources, and the Services and Secrets
// they name) into Gateway API objects and Drawbridge's KongPlugins and
// KongConsumers, plus a report of everything that could not be converted.
//
// Convert is pure and deterministic: the same input gives the same objects
// in the same order and the same report, byte for byte once rendered. The
// `drawbridge convert` subcommand is a thin layer over it.
package convert
