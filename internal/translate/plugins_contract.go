package translate

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// PluginPolicy is what the platform team decided about plugins for one
// Gateway, after merging its GatewayConfigurations (internal/provision):
// the plugins app teams may use, the Gateway-wide plugins and the names of
// the custom plugins the data plane loads.
type PluginPolicy struct {
	// Allowed is the effective allow-list for KongPlugins; nil means the
	// default list (DefaultAllowedPlugins plus Custom).
	Allowed []string
	// Gateway are the plugins that run for every request (global plugins).
	Gateway []v1alpha1.GatewayPlugin
	// Custom are the custom plugin names the data plane loads.
	Custom []string
}

// KongPluginKey names a KongPlugin.
type KongPluginKey struct {
	Namespace, Name string
}

// KongPluginAncestorResult is one entry of a KongPlugin's status.ancestors:
// the verdict of one Gateway on the plugin (GEP-713). The controller writes
// it with its ControllerName and the plugin's generation.
type KongPluginAncestorResult struct {
	Plugin     KongPluginKey
	Generation int64
	// AncestorRef is the Gateway.
	AncestorRef gwv1.ParentReference
	// Accepted carries the reason Accepted, Invalid, TargetNotFound or
	// Conflicted (gwv1.PolicyReason*) and a message saying what to change.
	Accepted gatewayapi.Condition
}

// KongConsumerKey names a KongConsumer.
type KongConsumerKey struct {
	Namespace, Name string
}

// KongConsumerResult is one Gateway's verdict on a consumer it can see.
type KongConsumerResult struct {
	Consumer   KongConsumerKey
	Generation int64
	// Accepted is False (reason Invalid) when a credential's Secret is
	// missing or lacks a key; the message names it, never its value.
	Accepted metav1.Condition
}
