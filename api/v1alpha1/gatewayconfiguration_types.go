package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// GatewayConfigurationSpec shapes the Kong data plane of the Gateways that use it.
//
// Merge rule: a GatewayClass parametersRef supplies class defaults and a
// Gateway's spec.infrastructure.parametersRef overlays them field by field.
// Every field set on the Gateway's configuration replaces the class value of
// the same field; unset fields inherit. Maps (annotations, labels) merge key by
// key with the Gateway's value winning; env merges by variable name; the two
// podTemplate patches are applied in order, class first. Setting replicas on
// the Gateway clears an inherited autoscaling and vice versa. Defaults (image
// kong:3.9, 1 replica, LoadBalancer Service) apply only after merging, so an
// empty field never overrides a class value.
type GatewayConfigurationSpec struct {
	// DataPlane configures the Kong Deployment and its scaling.
	// +optional
	DataPlane *DataPlaneConfig `json:"dataPlane,omitempty"`

	// Service configures the ingress Service that exposes the Gateway's listeners.
	// +optional
	Service *ServiceConfig `json:"service,omitempty"`

	// Plugins is the platform team's control over Kong plugins: which ones
	// app teams may use, which run for every request, and custom Lua
	// plugins. Only the GatewayClass's configuration may add Gateway-wide
	// or custom plugins; a Gateway's own configuration can only narrow the
	// allow-list.
	// +optional
	Plugins *PluginsConfig `json:"plugins,omitempty"`
}

// PluginsConfig controls the Kong plugins of a data plane.
type PluginsConfig struct {
	// Allowed lists the plugins app teams may use through KongPlugin. When
	// unset, every plugin bundled with Kong 3.9 except pre-function,
	// post-function (arbitrary Lua) and file-log (writes local files), plus
	// the custom plugins below. Drawbridge's own generated Lua works
	// whatever this list says.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9][a-z0-9_-]*$`
	// +kubebuilder:validation:items:MaxLength=64
	Allowed []string `json:"allowed,omitempty"`

	// Gateway plugins run for every request of every Gateway using this
	// configuration (Kong global plugins), e.g. prometheus or
	// correlation-id. A route's own KongPlugin of the same name wins over
	// them.
	// +optional
	// +listType=map
	// +listMapKey=plugin
	// +kubebuilder:validation:MaxItems=32
	Gateway []GatewayPlugin `json:"gateway,omitempty"`

	// Custom are Lua plugins shipped as ConfigMaps in this
	// GatewayConfiguration's namespace: each key is one file of the plugin's
	// module directory (handler.lua, schema.lua, ...). Drawbridge copies
	// them to each Gateway's namespace, mounts them into the data plane and
	// enables them in KONG_PLUGINS.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Custom []CustomPlugin `json:"custom,omitempty"`
}

// GatewayPlugin is a plugin applied to every request of a Gateway.
type GatewayPlugin struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_-]*$`
	Plugin string `json:"plugin"`
	// Config is the plugin's configuration, validated by Kong.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:Schemaless
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// CustomPlugin is a Lua plugin from a ConfigMap.
type CustomPlugin struct {
	// Name is the plugin's name, as KongPlugin.spec.plugin uses it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_-]*$`
	Name string `json:"name"`
	// ConfigMapName is the ConfigMap holding the plugin's Lua files.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName"`
}

// DataPlaneConfig configures the Kong Deployment.
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.autoscaling))",message="replicas and autoscaling are mutually exclusive: autoscaling owns the replica count"
type DataPlaneConfig struct {
	// Image is the Kong image, by tag or digest (for example kong:3.9 or
	// kong@sha256:<64 hex>). Defaults to kong:3.9 after merging.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`
	Image *string `json:"image,omitempty"`

	// Replicas is a fixed number of Kong replicas. Defaults to 1 after merging
	// when autoscaling is not set.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Replicas *int32 `json:"replicas,omitempty"`

	// Autoscaling makes Drawbridge create a HorizontalPodAutoscaler that owns
	// the replica count of the Deployment.
	// +optional
	Autoscaling *AutoscalingConfig `json:"autoscaling,omitempty"`

	// PodDisruptionBudget makes Drawbridge create a PodDisruptionBudget for the
	// Kong pods.
	// +optional
	PodDisruptionBudget *PodDisruptionBudgetConfig `json:"podDisruptionBudget,omitempty"`

	// Resources of the Kong container. Defaults to requests of 100m CPU and
	// 256Mi memory when unset after merging.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// Env adds environment variables to the Kong container. Variables that
	// carry the operator's contract with Kong cannot be set here: database
	// mode, role, router flavor, listeners and port maps, the prefix, the
	// plugin list and Lua paths, headers, a declarative configuration, and
	// every variable starting with KONG_ADMIN_, KONG_NGINX_ADMIN_,
	// KONG_STATUS_, KONG_CLUSTER_ or KONG_UNTRUSTED_LUA.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(e, !(e.name in ['KONG_DATABASE','KONG_ROUTER_FLAVOR','KONG_PROXY_LISTEN','KONG_STREAM_LISTEN','KONG_PORT_MAPS','KONG_PREFIX','KONG_ROLE','KONG_PLUGINS','KONG_LUA_PACKAGE_PATH','KONG_LUA_PACKAGE_CPATH','KONG_HEADERS','KONG_HEADERS_UPSTREAM','KONG_DECLARATIVE_CONFIG','KONG_DECLARATIVE_CONFIG_STRING']) && !(['KONG_ADMIN_','KONG_NGINX_ADMIN_','KONG_STATUS_','KONG_CLUSTER_','KONG_UNTRUSTED_LUA'].exists(p, e.name.startsWith(p))))",message="env must not set variables that Drawbridge manages (KONG_DATABASE, KONG_ROLE, KONG_ROUTER_FLAVOR, listeners, port maps, KONG_PREFIX, KONG_PLUGINS, Lua paths, headers, declarative configuration, and KONG_ADMIN_*, KONG_NGINX_ADMIN_*, KONG_STATUS_*, KONG_CLUSTER_*, KONG_UNTRUSTED_LUA*)"
	Env []corev1.EnvVar `json:"env,omitempty"`

	// PodTemplate is a strategic-merge patch applied over the generated pod
	// template: the escape hatch for node selectors, tolerations, affinity,
	// volumes and sidecars. The Kong container is named "proxy"; patch it by
	// that name.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:Schemaless
	PodTemplate *apiextensionsv1.JSON `json:"podTemplate,omitempty"`
}

// AutoscalingConfig configures the HorizontalPodAutoscaler of the data plane.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas"
type AutoscalingConfig struct {
	// MinReplicas is the lower bound of the replica count. Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the upper bound of the replica count.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`

	// TargetCPUUtilizationPercentage adds a CPU utilization metric. When no
	// metric is given at all, 80% CPU is used.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`

	// TargetMemoryUtilizationPercentage adds a memory utilization metric.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	TargetMemoryUtilizationPercentage *int32 `json:"targetMemoryUtilizationPercentage,omitempty"`

	// Metrics are extra HPA metrics, added after the CPU and memory targets.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`

	// Behavior configures scale-up and scale-down policies.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// PodDisruptionBudgetConfig configures the PodDisruptionBudget of the data plane.
// +kubebuilder:validation:XValidation:rule="has(self.minAvailable) != has(self.maxUnavailable)",message="set exactly one of minAvailable and maxUnavailable"
type PodDisruptionBudgetConfig struct {
	// MinAvailable pods during a voluntary disruption (number or percentage).
	// +optional
	// +kubebuilder:validation:XIntOrString
	MinAvailable *intstr.IntOrString `json:"minAvailable,omitempty"`

	// MaxUnavailable pods during a voluntary disruption (number or percentage).
	// +optional
	// +kubebuilder:validation:XIntOrString
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// UnhealthyPodEvictionPolicy is passed to the PodDisruptionBudget.
	// +optional
	// +kubebuilder:validation:Enum=IfHealthyBudget;AlwaysAllow
	UnhealthyPodEvictionPolicy *policyv1.UnhealthyPodEvictionPolicyType `json:"unhealthyPodEvictionPolicy,omitempty"`
}

// ServiceConfig configures the ingress Service of the data plane.
// +kubebuilder:validation:XValidation:rule="!has(self.externalTrafficPolicy) || !has(self.type) || self.type != 'ClusterIP'",message="externalTrafficPolicy cannot be set for a ClusterIP Service"
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerClass) || !has(self.type) || self.type == 'LoadBalancer'",message="loadBalancerClass requires type LoadBalancer"
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerSourceRanges) || !has(self.type) || self.type == 'LoadBalancer'",message="loadBalancerSourceRanges requires type LoadBalancer"
type ServiceConfig struct {
	// Type of the ingress Service. Defaults to LoadBalancer after merging.
	// +optional
	// +kubebuilder:validation:Enum=LoadBalancer;NodePort;ClusterIP
	Type *corev1.ServiceType `json:"type,omitempty"`

	// Annotations added to the ingress Service (for example a cloud load
	// balancer's settings). An annotation removed here disappears from the
	// Service.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels added to the ingress Service.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// ExternalTrafficPolicy of a LoadBalancer or NodePort Service.
	// +optional
	// +kubebuilder:validation:Enum=Cluster;Local
	ExternalTrafficPolicy *corev1.ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`

	// LoadBalancerClass selects a load-balancer implementation. Immutable on
	// the Service once set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LoadBalancerClass *string `json:"loadBalancerClass,omitempty"`

	// LoadBalancerSourceRanges restricts client CIDRs where supported.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(r, isCIDR(r))",message="every loadBalancerSourceRanges entry must be a CIDR such as 10.0.0.0/8"
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`
}

// GatewayConfiguration shapes the Kong data plane that Drawbridge provisions
// for Gateways. Reference it from a GatewayClass's spec.parametersRef (with a
// namespace) or from a Gateway's spec.infrastructure.parametersRef (same
// namespace as the Gateway).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=gwconf;dbgc,categories=drawbridge
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.dataPlane.image`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.dataPlane.replicas`
// +kubebuilder:printcolumn:name="Max Replicas",type=integer,JSONPath=`.spec.dataPlane.autoscaling.maxReplicas`,priority=1
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.service.type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the configuration. It has no status: the GatewayClass and
	// Gateways that reference it report whether it is valid.
	Spec GatewayConfigurationSpec `json:"spec,omitempty"`
}

// GatewayConfigurationList is a list of GatewayConfigurations.
//
// +kubebuilder:object:root=true
type GatewayConfigurationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayConfiguration `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GatewayConfiguration{}, &GatewayConfigurationList{})
}
