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
// usable, on each Gateway that can see it and in sum.
type KongConsumerStatus struct {
	// Conditions sum up the Gateways: Accepted is False when any Gateway
	// refuses the consumer (the message names it), Programmed is True when
	// every Gateway's replicas hold it.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Gateways has one entry per Gateway that admits the consumer's
	// namespace, with that Gateway's Accepted and Programmed: a username
	// can clash on one Gateway and not on another.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Gateways []ConsumerGatewayStatus `json:"gateways,omitempty"`
}

// ConsumerGatewayStatus is one Gateway's verdict on a consumer.
type ConsumerGatewayStatus struct {
	// Namespace and Name of the Gateway.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Conditions are Accepted and Programmed on this Gateway.
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
