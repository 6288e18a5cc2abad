// Package provision turns a Gateway and its effective GatewayConfiguration into
// the Kubernetes objects of its Kong data plane: ServiceAccount, Deployment,
// ingress and admin Services, and optionally a HorizontalPodAutoscaler, a
// PodDisruptionBudget and a NetworkPolicy. Everything here is pure: the same
// input gives the same objects, which golden tests in testdata/ pin down.
package provision
