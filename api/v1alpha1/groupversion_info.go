// Package v1alpha1 holds the gateway.drawbridge.dev/v1alpha1 API: the
// GatewayConfiguration that platform teams reference from a GatewayClass (class
// defaults) or from a Gateway's spec.infrastructure.parametersRef (per-Gateway
// overrides) to shape the Kong data plane Drawbridge provisions.
//
// +kubebuilder:object:generate=true
// +groupName=gateway.drawbridge.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "gateway.drawbridge.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// GatewayConfigurationKind is the kind name that parametersRef must use.
const GatewayConfigurationKind = "GatewayConfiguration"
