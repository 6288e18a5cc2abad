package translate

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Snapshot is everything translation reads for one Gateway. Routes may
// include routes that do not reference the Gateway; they are ignored.
type Snapshot struct {
	GatewayClass *gwv1.GatewayClass
	Gateway      *gwv1.Gateway
	// Listeners are the listener verdicts in spec order. When nil they are
	// computed with gatewayapi.ValidateListeners from Secrets and
	// ReferenceGrants below.
	Listeners []gatewayapi.ListenerResult
	// ListenerSets are the ListenerSets that may name the Gateway as their
	// parent; others are ignored.
	ListenerSets []gwv1.ListenerSet
	// ListenerSetResults are the ListenerSet verdicts in merge precedence.
	// When nil they are computed with gatewayapi.ValidateListenerSets.
	ListenerSetResults []gatewayapi.ListenerSetResult

	HTTPRoutes []gwv1.HTTPRoute
	GRPCRoutes []gwv1.GRPCRoute
	TLSRoutes  []gwv1.TLSRoute
	TCPRoutes  []gwv1.TCPRoute
	UDPRoutes  []gwv1.UDPRoute

	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Secrets        []corev1.Secret
	// ConfigMaps are the CA bundles that the Gateway's spec.tls.frontend
	// and the BackendTLSPolicies reference (a referenced ConfigMap missing
	// here does not exist).
	ConfigMaps      []corev1.ConfigMap
	ReferenceGrants []gwv1.ReferenceGrant
	// Namespaces supply labels for allowedRoutes selectors. A namespace
	// missing here is assumed to carry only kubernetes.io/metadata.name.
	Namespaces []corev1.Namespace

	// BackendTLSPolicies are the policies in the namespaces of the backend
	// Services.
	BackendTLSPolicies []gwv1.BackendTLSPolicy

	// KongPlugins are the plugins routes name in ExtensionRef filters and
	// those whose targetRefs may name this Gateway or its routes.
	KongPlugins []v1alpha1.KongPlugin
	// KongConsumers are the consumers of the namespaces this Gateway may
	// admit routes from.
	KongConsumers []v1alpha1.KongConsumer
	// Plugins is the platform's plugin policy for this Gateway.
	Plugins PluginPolicy
	// RejectedKongPlugins are KongPlugins Kong refused, with Kong's message:
	// they are applied nowhere, routes that name them in a filter answer
	// 500, and access-control ones attached with targetRefs fail closed.
	RejectedKongPlugins map[KongPluginKey]string
	// SeparateRoutes keeps one Kong route per match, each tagged with the
	// object it came from, instead of merging routes that behave the same
	// (routemerge.go). The operator sets it to learn which object a
	// rejection of a merged route is about.
	SeparateRoutes bool
}

// Result is the outcome of translating a Snapshot.
type Result struct {
	// Config is the Kong declarative configuration; JSON is its canonical
	// encoding, byte-identical for identical snapshots.
	Config *kong.Config
	JSON   []byte
	// Listeners has one entry per Gateway listener, in spec order.
	Listeners []ListenerStatus
	// ListenerSets has one entry per ListenerSet of the Gateway, in merge
	// precedence.
	ListenerSets []ListenerSetStatus
	// Routes has one entry per (route, parentRef index) whose parentRef
	// points at this Gateway, ordered by kind, namespace, name and index.
	Routes []RouteParentResult
	// KongPlugins has one ancestor verdict per KongPlugin that this
	// Gateway applies or that targets it or its routes and listeners.
	KongPlugins []KongPluginAncestorResult
	// KongConsumers has one verdict per consumer this Gateway can see.
	KongConsumers []KongConsumerResult
	// BackendTLSPolicies has this Gateway's verdict on every
	// BackendTLSPolicy that targets a backend of its routes.
	BackendTLSPolicies []BackendTLSPolicyResult
	// BackendClientCertificate is the Gateway's ResolvedRefs verdict on
	// spec.tls.backend.clientCertificateRef; nil when it has none.
	BackendClientCertificate *gatewayapi.Condition
	// GatewayConditions are Gateway conditions that follow from the spec
	// alone (InsecureFrontendValidationMode while spec.tls.frontend lets
	// clients through unverified). Accepted and Programmed are the
	// controller's.
	GatewayConditions []gatewayapi.Condition
	// Warnings are things the Gateway's owner should know that are not a
	// route condition, such as a listener certificate that could not be
	// served because its SNI was already taken.
	Warnings []string
}

// ListenerStatus is the translation-side status of one listener.
type ListenerStatus struct {
	Name gwv1.SectionName
	// AttachedRoutes counts the routes successfully attached to the listener.
	AttachedRoutes int32
	// Verdict is the listener validation this translation used.
	Verdict gatewayapi.ListenerResult
}

// ListenerSetStatus is the translation-side status of one ListenerSet.
type ListenerSetStatus struct {
	Verdict gatewayapi.ListenerSetResult
	// Listeners has one entry per listener of the ListenerSet, in spec order.
	Listeners []ListenerStatus
}

// RouteKey names a route object.
type RouteKey struct {
	Kind      string
	Namespace string
	Name      string
}

func (k RouteKey) String() string { return k.Kind + " " + k.Namespace + "/" + k.Name }

// RouteParentResult is what one parentRef of one route gets in
// status.parents: the controller writes it with ControllerName and the
// route's generation, see ParentStatus and MergeParentStatuses.
type RouteParentResult struct {
	Route          RouteKey
	Generation     int64
	ParentRefIndex int
	ParentRef      gwv1.ParentReference
	Accepted       gatewayapi.Condition
	ResolvedRefs   gatewayapi.Condition
	// Programmed says whether the configuration that carries the route is
	// live on the data plane. Translation cannot know, so it leaves it nil;
	// the controller sets it after pushing to Kong.
	Programmed *gatewayapi.Condition
	// Listeners are the listeners this parentRef attached to.
	Listeners []gwv1.SectionName
}
