package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// KongPluginSpec is one configured Kong plugin. It applies to a route rule
// through an HTTPRoute or GRPCRoute ExtensionRef filter (group
// gateway.drawbridge.dev, kind KongPlugin), and to everything under its
// targetRefs (a Gateway or one of its listeners, a route or one of its
// rules). When the same plugin reaches a request from several levels, the
// most specific wins: rule filter, then route rule, route, listener,
// Gateway.
type KongPluginSpec struct {
	// Plugin is the name of a Kong plugin, bundled (rate-limiting,
	// key-auth, ...) or custom (named in the GatewayConfiguration). It must
	// be on the allow-list of the Gateway's GatewayConfiguration.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_-]*$`
	Plugin string `json:"plugin"`

	// Config is the plugin's configuration as Kong's schema for the plugin
	// defines it; Kong validates it, and its verdict is reported on this
	// object.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:Schemaless
	Config *apiextensionsv1.JSON `json:"config,omitempty"`

	// ConfigFrom sets configuration fields from Secrets in the KongPlugin's
	// namespace, so credentials stay out of the object.
	// +optional
	// +listType=map
	// +listMapKey=field
	// +kubebuilder:validation:MaxItems=16
	ConfigFrom []ConfigFieldFromSecret `json:"configFrom,omitempty"`

	// TargetRefs attach the plugin to Gateways, listeners (sectionName),
	// HTTPRoutes and GRPCRoutes (sectionName: a rule name), and TCP, TLS and
	// UDP routes for plugins that run on streams.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	TargetRefs []gwv1.LocalPolicyTargetReferenceWithSectionName `json:"targetRefs,omitempty"`
}

// ConfigFieldFromSecret is one configuration field whose value is a Secret
// key.
type ConfigFieldFromSecret struct {
	// Field is the dot-separated path of the field in the plugin's
	// configuration, e.g. "redis.password".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9_]+(\.[a-z0-9_]+)*$`
	Field string `json:"field"`
	// SecretKeyRef names the Secret (in the KongPlugin's namespace) and key.
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// SecretKeySelector is a key of a Secret in the referring object's namespace.
type SecretKeySelector struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// KongPlugin configures one Kong plugin for routes and Gateways. Its status
// follows Gateway API policy attachment (GEP-713): one ancestor entry per
// Gateway that applies it, with an Accepted condition.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kp,categories=drawbridge
// +kubebuilder:printcolumn:name="Plugin",type=string,JSONPath=`.spec.plugin`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KongPlugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec KongPluginSpec `json:"spec"`
	// +optional
	Status gwv1.PolicyStatus `json:"status,omitempty"`
}

// KongPluginList is a list of KongPlugins.
//
// +kubebuilder:object:root=true
type KongPluginList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KongPlugin `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KongPlugin{}, &KongPluginList{})
}
