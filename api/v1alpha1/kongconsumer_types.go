package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KongConsumerSpec is a Kong consumer: an API client that authentication
// plugins (key-auth, basic-auth, jwt, hmac-auth) identify and acl allows or
// forbids by group. A consumer reaches the Kong data planes of the Gateways
// that admit routes from its namespace.
// +kubebuilder:validation:XValidation:rule="has(self.username) || has(self.customID)",message="a consumer needs a username or a customID"
type KongConsumerSpec struct {
	// Username is the consumer's unique name on a Gateway.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Username *string `json:"username,omitempty"`
	// CustomID is an identifier of the consumer in another system.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	CustomID *string `json:"customID,omitempty"`
	// Groups are the consumer's acl groups.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	Groups []string `json:"groups,omitempty"`
	// Credentials are taken from Secrets in the consumer's namespace.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Credentials []KongCredential `json:"credentials,omitempty"`
}

// KongCredential is one credential of a consumer, read from a Secret:
// key-auth reads the key "key"; basic-auth "username" and "password"; jwt
// "key" and "secret" (and optionally "algorithm" and "rsa_public_key");
// hmac-auth "username" and "secret".
type KongCredential struct {
	// +kubebuilder:validation:Enum=key-auth;basic-auth;jwt;hmac-auth
	Type string `json:"type"`
	// SecretName is a Secret in the consumer's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`
}

// KongConsumerStatus reports whether the consumer and its credentials are
// usable.
type KongConsumerStatus struct {
	// Conditions: Accepted (the consumer and every credential resolve) and
	// Programmed (the Gateways that admit it hold it).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// KongConsumer is an API client known to Kong's authentication plugins.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kc,categories=drawbridge
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KongConsumer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec KongConsumerSpec `json:"spec"`
	// +optional
	Status KongConsumerStatus `json:"status,omitempty"`
}

// KongConsumerList is a list of KongConsumers.
//
// +kubebuilder:object:root=true
type KongConsumerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KongConsumer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KongConsumer{}, &KongConsumerList{})
}
