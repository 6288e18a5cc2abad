package provision

import (
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

// DefaultImage is the Kong image used when no configuration names one.
const DefaultImage = "kong:3.9"

// Config is the effective data-plane configuration of one Gateway: the class
// configuration overlaid by the Gateway's, with defaults filled in.
type Config struct {
	Image               string
	Replicas            *int32 // nil when Autoscaling owns the replica count
	Autoscaling         *v1alpha1.AutoscalingConfig
	PodDisruptionBudget *v1alpha1.PodDisruptionBudgetConfig
	Resources           corev1.ResourceRequirements
	Env                 []corev1.EnvVar
	// PodTemplatePatches are strategic-merge patches applied in order (the
	// class's first, then the Gateway's).
	PodTemplatePatches []apiextensionsv1.JSON
	Service            v1alpha1.ServiceConfig // Type is always set
	// Plugins is the plugin policy: allow-list, Gateway-wide and custom
	// plugins (see mergePlugins).
	Plugins Plugins
}

// Merge overlays the Gateway-level configuration on the class-level one (either
// may be nil) field by field and fills in defaults. The rule is documented on
// v1alpha1.GatewayConfigurationSpec.
func Merge(class, gateway *v1alpha1.GatewayConfigurationSpec) Config {
	var dp v1alpha1.DataPlaneConfig
	var patches []apiextensionsv1.JSON
	var svc v1alpha1.ServiceConfig
	var classPlugins, gatewayPlugins *v1alpha1.PluginsConfig
	if class != nil {
		classPlugins = class.Plugins
	}
	if gateway != nil {
		gatewayPlugins = gateway.Plugins
	}
	for _, layer := range []*v1alpha1.GatewayConfigurationSpec{class, gateway} {
		if layer == nil {
			continue
		}
		if layer.DataPlane != nil {
			overlayDataPlane(&dp, layer.DataPlane.DeepCopy())
			if layer.DataPlane.PodTemplate != nil {
				patches = append(patches, *layer.DataPlane.PodTemplate.DeepCopy())
			}
		}
		if layer.Service != nil {
			overlayService(&svc, layer.Service.DeepCopy())
		}
	}

	cfg := Config{
		Image:               DefaultImage,
		Replicas:            dp.Replicas,
		Autoscaling:         dp.Autoscaling,
		PodDisruptionBudget: dp.PodDisruptionBudget,
		Env:                 dp.Env,
		PodTemplatePatches:  patches,
		Service:             svc,
		Plugins:             mergePlugins(classPlugins, gatewayPlugins),
	}
	if dp.Image != nil {
		cfg.Image = *dp.Image
	}
	if cfg.Autoscaling == nil && cfg.Replicas == nil {
		one := int32(1)
		cfg.Replicas = &one
	}
	if dp.Resources != nil {
		cfg.Resources = *dp.Resources
	} else {
		cfg.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		}}
	}
	if cfg.Service.Type == nil {
		lb := corev1.ServiceTypeLoadBalancer
		cfg.Service.Type = &lb
	}
	return cfg
}

func overlayDataPlane(dst, src *v1alpha1.DataPlaneConfig) {
	if src.Image != nil {
		dst.Image = src.Image
	}
	// replicas and autoscaling are two ways to own one number: setting either
	// one on a more specific layer replaces both.
	if src.Replicas != nil {
		dst.Replicas, dst.Autoscaling = src.Replicas, nil
	}
	if src.Autoscaling != nil {
		dst.Replicas, dst.Autoscaling = nil, src.Autoscaling
	}
	if src.PodDisruptionBudget != nil {
		dst.PodDisruptionBudget = src.PodDisruptionBudget
	}
	if src.Resources != nil {
		dst.Resources = src.Resources
	}
	dst.Env = mergeEnv(dst.Env, src.Env)
}

// mergeEnv keeps the order of base, replaces variables that overlay redefines
// in place and appends new ones.
func mergeEnv(base, overlay []corev1.EnvVar) []corev1.EnvVar {
	if len(overlay) == 0 {
		return base
	}
	out := append([]corev1.EnvVar(nil), base...)
	index := map[string]int{}
	for i, e := range out {
		index[e.Name] = i
	}
	for _, e := range overlay {
		if i, ok := index[e.Name]; ok {
			out[i] = e
			continue
		}
		index[e.Name] = len(out)
		out = append(out, e)
	}
	return out
}

func overlayService(dst, src *v1alpha1.ServiceConfig) {
	if src.Type != nil {
		dst.Type = src.Type
	}
	dst.Annotations = mergeMap(dst.Annotations, src.Annotations)
	dst.Labels = mergeMap(dst.Labels, src.Labels)
	if src.ExternalTrafficPolicy != nil {
		dst.ExternalTrafficPolicy = src.ExternalTrafficPolicy
	}
	if src.LoadBalancerClass != nil {
		dst.LoadBalancerClass = src.LoadBalancerClass
	}
	if src.LoadBalancerSourceRanges != nil {
		dst.LoadBalancerSourceRanges = src.LoadBalancerSourceRanges
	}
}

func mergeMap(base, overlay map[string]string) map[string]string {
	if len(overlay) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, overlay)
	return out
}

// Validate reports what is wrong with a merged configuration in terms a
// platform team can act on. CEL rejects most mistakes at admission; this
// catches the ones that only appear after merging two layers.
func (c Config) Validate() error {
	var problems []string
	t := *c.Service.Type
	if c.Service.ExternalTrafficPolicy != nil && t == corev1.ServiceTypeClusterIP {
		problems = append(problems, "service.externalTrafficPolicy cannot be used with service.type ClusterIP")
	}
	if c.Service.LoadBalancerClass != nil && t != corev1.ServiceTypeLoadBalancer {
		problems = append(problems, fmt.Sprintf("service.loadBalancerClass requires service.type LoadBalancer, not %s", t))
	}
	if len(c.Service.LoadBalancerSourceRanges) > 0 && t != corev1.ServiceTypeLoadBalancer {
		problems = append(problems, fmt.Sprintf("service.loadBalancerSourceRanges requires service.type LoadBalancer, not %s", t))
	}
	if c.Autoscaling != nil && c.Autoscaling.MinReplicas != nil && *c.Autoscaling.MinReplicas > c.Autoscaling.MaxReplicas {
		problems = append(problems, "dataPlane.autoscaling.minReplicas must not exceed maxReplicas")
	}
	for _, e := range c.Env {
		if isManagedEnv(e.Name) {
			problems = append(problems, fmt.Sprintf("dataPlane.env must not set %s: Drawbridge manages it", e.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
