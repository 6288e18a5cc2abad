package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// ProxyContainerName is the name of the Kong container; podTemplate patches
// address it by this name.
const ProxyContainerName = "proxy"

// adminTLSVolume holds the admin API's server certificate and the CA that
// client certificates must chain to.
const adminTLSVolume = "admin-tls"

// Input is everything one rendering needs.
type Input struct {
	Gateway *gwv1.Gateway
	Config  Config
	// Listeners are the Gateway listeners the data plane serves: the accepted,
	// non-conflicting ones. Invalid listeners are left out so that they never
	// take a port from a valid one.
	Listeners []gwv1.Listener
	// OperatorNamespace and OperatorPodLabels identify the operator's pods,
	// the only clients the NetworkPolicy admits to the admin port.
	OperatorNamespace string
	OperatorPodLabels map[string]string
	// AdminCertFingerprint identifies the admin certificate the pods mount;
	// it is written to the pod template so a new certificate rolls them.
	AdminCertFingerprint string
	// ProxyEnv is the cluster-wide egress proxy (HTTP_PROXY, HTTPS_PROXY,
	// NO_PROXY and their lower-case forms) that the operator itself was given,
	// typically by OLM on clusters with a proxy. Kong gets it too, so plugins
	// that call out (logging, OIDC discovery) work behind the same proxy.
	// dataPlane.env overrides it variable by variable.
	ProxyEnv []corev1.EnvVar
	// CustomPlugins are the files of the custom plugins the configuration
	// names (Config.Plugins.Custom), read from the GatewayConfiguration's
	// namespace. A custom plugin without its source fails the rendering.
	CustomPlugins []CustomPluginSource
}

// Objects are the objects of one Gateway's data plane. HPA and PDB are nil
// when not configured, IngressService is nil when no listener is servable.
type Objects struct {
	ServiceAccount *corev1.ServiceAccount
	Deployment     *appsv1.Deployment
	IngressService *corev1.Service
	AdminService   *corev1.Service
	HPA            *autoscalingv2.HorizontalPodAutoscaler
	PDB            *policyv1.PodDisruptionBudget
	NetworkPolicy  *networkingv1.NetworkPolicy
	// MetricsService is set when the prometheus plugin runs Gateway-wide.
	MetricsService *corev1.Service
	// PluginConfigMaps are the copies of the custom plugins' ConfigMaps.
	PluginConfigMaps []*corev1.ConfigMap
}

// List returns the objects that exist, in the order they should be applied.
func (o Objects) List() []client.Object {
	var out []client.Object
	add := func(obj client.Object, present bool) {
		if present {
			out = append(out, obj)
		}
	}
	add(o.ServiceAccount, o.ServiceAccount != nil)
	// The pods mount the plugin ConfigMaps: they exist first.
	for _, cm := range o.PluginConfigMaps {
		add(cm, true)
	}
	add(o.NetworkPolicy, o.NetworkPolicy != nil)
	add(o.AdminService, o.AdminService != nil)
	add(o.IngressService, o.IngressService != nil)
	add(o.MetricsService, o.MetricsService != nil)
	add(o.Deployment, o.Deployment != nil)
	add(o.HPA, o.HPA != nil)
	add(o.PDB, o.PDB != nil)
	return out
}

// Render produces the data-plane objects of a Gateway. It fails only when the
// configuration cannot be turned into valid objects (for example a podTemplate
// patch that does not apply); the error says which field to fix.
func Render(in Input) (Objects, error) {
	if err := in.Config.Validate(); err != nil {
		return Objects{}, err
	}
	gw := in.Gateway
	names := NamesFor(gw)
	ports := MapPorts(in.Listeners)

	plugins, err := renderCustomPlugins(in, names)
	if err != nil {
		return Objects{}, err
	}
	template, err := podTemplate(in, names, ports, plugins)
	if err != nil {
		return Objects{}, err
	}

	objs := Objects{
		ServiceAccount: &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: objectMeta(gw, names.DataPlane, nil, nil),
			// Kong never talks to the Kubernetes API.
			AutomountServiceAccountToken: ptr.To(false),
		},
		Deployment: &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: objectMeta(gw, names.DataPlane, nil, nil),
			Spec: appsv1.DeploymentSpec{
				// nil under autoscaling, so the HPA alone owns the field.
				Replicas: in.Config.Replicas,
				Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(gw)},
				Strategy: appsv1.DeploymentStrategy{
					Type: appsv1.RollingUpdateDeploymentStrategyType,
					// A new replica must be Ready (configured) before an old
					// one goes, so rollouts never lower capacity.
					RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxUnavailable: ptr.To(intstr.FromInt32(0)),
						MaxSurge:       ptr.To(intstr.FromInt32(1)),
					},
				},
				Template: template,
			},
		},
		AdminService:     adminService(gw, names),
		NetworkPolicy:    networkPolicy(in, names, ports),
		PluginConfigMaps: plugins.configMaps,
	}
	if in.Config.Plugins.HasGatewayPlugin("prometheus") {
		objs.MetricsService = metricsService(gw, names)
	}
	if len(ports) > 0 {
		objs.IngressService = ingressService(in, names, ports)
	}
	if in.Config.Autoscaling != nil {
		objs.HPA = hpa(gw, names, in.Config.Autoscaling)
	}
	if in.Config.PodDisruptionBudget != nil {
		objs.PDB = pdb(gw, names, in.Config.PodDisruptionBudget)
	}
	return objs, nil
}

// objectMeta merges, lowest precedence first: the Gateway's
// spec.infrastructure labels and annotations, the extra ones given, and the
// operator's own labels, which nothing may override.
func objectMeta(gw *gwv1.Gateway, name string, extraLabels, extraAnnotations map[string]string) metav1.ObjectMeta {
	labels := map[string]string{}
	annotations := map[string]string{}
	if infra := gw.Spec.Infrastructure; infra != nil {
		for k, v := range infra.Labels {
			labels[string(k)] = string(v)
		}
		for k, v := range infra.Annotations {
			annotations[string(k)] = string(v)
		}
	}
	maps.Copy(labels, extraLabels)
	maps.Copy(annotations, extraAnnotations)
	maps.Copy(labels, ObjectLabels(gw))
	meta := metav1.ObjectMeta{
		Name:      name,
		Namespace: gw.Namespace,
		Labels:    labels,
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion:         gwv1.GroupVersion.String(),
			Kind:               "Gateway",
			Name:               gw.Name,
			UID:                gw.UID,
			Controller:         ptr.To(true),
			BlockOwnerDeletion: ptr.To(true),
		}},
	}
	if len(annotations) > 0 {
		meta.Annotations = annotations
	}
	return meta
}

func podTemplate(in Input, names Names, ports []PortMapping, plugins renderedPlugins) (corev1.PodTemplateSpec, error) {
	gw := in.Gateway
	meta := objectMeta(gw, "", nil, nil)
	containerPorts := []corev1.ContainerPort{
		{Name: AdminPortName, ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
		{Name: StatusPortName, ContainerPort: StatusPort, Protocol: corev1.ProtocolTCP},
	}
	for _, p := range ports {
		containerPorts = append(containerPorts, corev1.ContainerPort{
			Name: p.Name(), ContainerPort: p.KongPort, Protocol: p.Kind.Protocol(),
		})
	}
	env := append(append(kongEnv(ports), plugins.env...), mergeEnv(in.ProxyEnv, in.Config.Env)...)

	tpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels, Annotations: meta.Annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName:            names.DataPlane,
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To(int64(60)),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(1000)),
				RunAsGroup:     ptr.To(int64(1000)),
				FSGroup:        ptr.To(int64(1000)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:      ProxyContainerName,
				Image:     in.Config.Image,
				Args:      KongStartArgs(),
				Env:       env,
				Ports:     containerPorts,
				Resources: in.Config.Resources,
				// Ready means "holds a configuration": Kong answers 200 on
				// /status/ready only after a non-empty config is loaded.
				ReadinessProbe: &corev1.Probe{
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/status/ready", Port: intstr.FromString(StatusPortName), Scheme: corev1.URISchemeHTTP,
					}},
					PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1,
				},
				LivenessProbe: &corev1.Probe{
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/status", Port: intstr.FromString(StatusPortName), Scheme: corev1.URISchemeHTTP,
					}},
					InitialDelaySeconds: 5, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3, SuccessThreshold: 1,
				},
				// Waiting before the shutdown lets endpoints drop the pod
				// before Kong stops accepting connections.
				Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
					Exec: &corev1.ExecAction{Command: []string{"kong", "quit", "--wait=15"}},
				}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: append([]corev1.VolumeMount{
					{Name: "kong-prefix", MountPath: KongPrefix},
					{Name: "tmp", MountPath: "/tmp"},
					{Name: adminTLSVolume, MountPath: AdminTLSDir, ReadOnly: true},
				}, plugins.mounts...),
			}},
			Volumes: append([]corev1.Volume{
				{Name: "kong-prefix", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: adminTLSVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: names.AdminTLS, DefaultMode: ptr.To(int32(0o440)),
				}}},
			}, plugins.volumes...),
		},
	}
	generated := tpl
	for i, patch := range in.Config.PodTemplatePatches {
		patched, err := applyPodTemplatePatch(tpl, patch.Raw)
		if err != nil {
			return corev1.PodTemplateSpec{}, fmt.Errorf("dataPlane.podTemplate (patch %d of %d): %w", i+1, len(in.Config.PodTemplatePatches), err)
		}
		tpl = patched
	}
	if !hasContainer(tpl, ProxyContainerName) {
		return corev1.PodTemplateSpec{}, fmt.Errorf("dataPlane.podTemplate removed the %q container that runs Kong", ProxyContainerName)
	}
	if len(in.Config.PodTemplatePatches) > 0 {
		if err := keepsManagedSettings(generated, tpl); err != nil {
			return corev1.PodTemplateSpec{}, fmt.Errorf("dataPlane.podTemplate %w", err)
		}
	}
	if in.AdminCertFingerprint != "" {
		if tpl.Annotations == nil {
			tpl.Annotations = map[string]string{}
		}
		tpl.Annotations[AnnotationAdminCert] = in.AdminCertFingerprint
	}
	if tpl.Annotations == nil {
		tpl.Annotations = map[string]string{}
	}
	if plugins.hash != "" {
		tpl.Annotations[AnnotationCustomPlugins] = plugins.hash
	}
	tpl.Annotations[AnnotationBuiltinPlugins] = plugins.builtinHash
	// The selector labels must survive any patch, or the Deployment would not
	// select its own pods.
	maps.Copy(tpl.Labels, ObjectLabels(gw))
	return tpl, nil
}

func applyPodTemplatePatch(tpl corev1.PodTemplateSpec, patch []byte) (corev1.PodTemplateSpec, error) {
	original, err := json.Marshal(tpl)
	if err != nil {
		return tpl, fmt.Errorf("encode generated pod template: %w", err)
	}
	merged, err := strategicpatch.StrategicMergePatch(original, patch, corev1.PodTemplateSpec{})
	if err != nil {
		return tpl, fmt.Errorf("not a valid strategic-merge patch of a pod template: %w", err)
	}
	var out corev1.PodTemplateSpec
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return tpl, fmt.Errorf("patched pod template is invalid: %w", err)
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	return out, nil
}

// keepsManagedSettings refuses a patched pod template that changes what
// the operator relies on in the Kong container: a managed variable added,
// changed, removed or read from elsewhere, an envFrom (it could set any
// managed variable that Drawbridge leaves at Kong's default), or the admin
// API's TLS files.
func keepsManagedSettings(generated, patched corev1.PodTemplateSpec) error {
	want, got := proxyContainer(generated), proxyContainer(patched)
	wantEnv := managedEnvOf(want.Env)
	gotEnv := managedEnvOf(got.Env)
	for _, e := range got.Env {
		if isManagedEnv(e.Name) && e.ValueFrom != nil {
			return fmt.Errorf("must not set %s of the %q container from a reference: Drawbridge manages it", e.Name, ProxyContainerName)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(gotEnv)) {
		if v, ok := wantEnv[name]; !ok || v != gotEnv[name] {
			return fmt.Errorf("must not set %s of the %q container: Drawbridge manages it", name, ProxyContainerName)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(wantEnv)) {
		if _, ok := gotEnv[name]; !ok {
			return fmt.Errorf("must not remove %s from the %q container: Drawbridge manages it", name, ProxyContainerName)
		}
	}
	if len(got.EnvFrom) > 0 {
		return fmt.Errorf("must not give the %q container envFrom: it could set variables that Drawbridge manages; use env with valueFrom", ProxyContainerName)
	}
	if !equality.Semantic.DeepEqual(volumeNamed(generated, adminTLSVolume), volumeNamed(patched, adminTLSVolume)) {
		return fmt.Errorf("must not change the %q volume: it holds the admin API's certificates", adminTLSVolume)
	}
	if !slices.ContainsFunc(got.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == adminTLSVolume && m.MountPath == AdminTLSDir && m.SubPath == "" && m.SubPathExpr == ""
	}) || slices.ContainsFunc(got.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name != adminTLSVolume && strings.HasPrefix(m.MountPath+"/", AdminTLSDir+"/")
	}) {
		return fmt.Errorf("must not change where the %q container mounts the admin API's certificates (%s)", ProxyContainerName, AdminTLSDir)
	}
	return nil
}

// managedEnvOf maps the managed variables of a container to their values,
// the last entry of a name winning as it does in the kubelet.
func managedEnvOf(env []corev1.EnvVar) map[string]string {
	out := map[string]string{}
	for _, e := range env {
		if isManagedEnv(e.Name) {
			out[e.Name] = e.Value
		}
	}
	return out
}

func proxyContainer(tpl corev1.PodTemplateSpec) corev1.Container {
	for _, c := range tpl.Spec.Containers {
		if c.Name == ProxyContainerName {
			return c
		}
	}
	return corev1.Container{}
}

func volumeNamed(tpl corev1.PodTemplateSpec, name string) *corev1.Volume {
	for i := range tpl.Spec.Volumes {
		if tpl.Spec.Volumes[i].Name == name {
			return &tpl.Spec.Volumes[i]
		}
	}
	return nil
}

func hasContainer(tpl corev1.PodTemplateSpec, name string) bool {
	for _, c := range tpl.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func ingressService(in Input, names Names, ports []PortMapping) *corev1.Service {
	cfg := in.Config.Service
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(in.Gateway, names.DataPlane, cfg.Labels, cfg.Annotations),
		Spec: corev1.ServiceSpec{
			Type:                     *cfg.Type,
			Selector:                 SelectorLabels(in.Gateway),
			LoadBalancerClass:        cfg.LoadBalancerClass,
			LoadBalancerSourceRanges: cfg.LoadBalancerSourceRanges,
		},
	}
	if cfg.ExternalTrafficPolicy != nil {
		svc.Spec.ExternalTrafficPolicy = *cfg.ExternalTrafficPolicy
	}
	// The address a Gateway asks for in spec.addresses is asked of the load
	// balancer through spec.loadBalancerIP. The field is deprecated (it cannot
	// say dual-stack, and some providers ignore it in favour of their own
	// annotations) but it is the one every load balancer controller honors;
	// gateway status reports whether the address was given. Other Service
	// types have no address to ask for; status says so.
	if req := gatewayapi.RequestedAddress(in.Gateway.Spec.Addresses); req.IP != "" && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		svc.Spec.LoadBalancerIP = req.IP
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name:       p.Name(),
			Protocol:   p.Kind.Protocol(),
			Port:       p.GatewayPort,
			TargetPort: intstr.FromInt32(p.KongPort),
		})
	}
	return svc
}

// adminService is headless so the operator reaches every replica on its own
// (the admin API is per replica) and publishes not-ready pods because a
// replica only becomes Ready after the operator has pushed its config.
func adminService(gw *gwv1.Gateway, names Names) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(gw, names.Admin, nil, nil),
		Spec: corev1.ServiceSpec{
			Type:                     corev1.ServiceTypeClusterIP,
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 SelectorLabels(gw),
			PublishNotReadyAddresses: true,
			Ports: []corev1.ServicePort{{
				Name: AdminPortName, Protocol: corev1.ProtocolTCP, Port: AdminPort, TargetPort: intstr.FromString(AdminPortName),
			}},
		},
	}
}

func networkPolicy(in Input, names Names, ports []PortMapping) *networkingv1.NetworkPolicy {
	open := []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(StatusPort))}}
	for _, p := range ports {
		open = append(open, networkingv1.NetworkPolicyPort{Protocol: ptr.To(p.Kind.Protocol()), Port: ptr.To(intstr.FromInt32(p.KongPort))})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(in.Gateway, names.DataPlane, nil, nil),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(in.Gateway)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					// Only the operator may reach the admin API.
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(AdminPort))}},
					From: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": in.OperatorNamespace}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: in.OperatorPodLabels},
					}},
				},
				// Proxy, stream and status ports stay open to everyone.
				{Ports: open},
			},
		},
	}
}

func hpa(gw *gwv1.Gateway, names Names, as *v1alpha1.AutoscalingConfig) *autoscalingv2.HorizontalPodAutoscaler {
	var metrics []autoscalingv2.MetricSpec
	utilization := func(name corev1.ResourceName, pct int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name:   name,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(pct)},
		}}
	}
	if as.TargetCPUUtilizationPercentage != nil {
		metrics = append(metrics, utilization(corev1.ResourceCPU, *as.TargetCPUUtilizationPercentage))
	}
	if as.TargetMemoryUtilizationPercentage != nil {
		metrics = append(metrics, utilization(corev1.ResourceMemory, *as.TargetMemoryUtilizationPercentage))
	}
	metrics = append(metrics, as.Metrics...)
	if len(metrics) == 0 {
		metrics = append(metrics, utilization(corev1.ResourceCPU, 80))
	}
	minReplicas := as.MinReplicas
	if minReplicas == nil {
		minReplicas = ptr.To(int32(1))
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: objectMeta(gw, names.DataPlane, nil, nil),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: names.DataPlane},
			MinReplicas:    minReplicas,
			MaxReplicas:    as.MaxReplicas,
			Metrics:        metrics,
			Behavior:       as.Behavior,
		},
	}
}

func pdb(gw *gwv1.Gateway, names Names, cfg *v1alpha1.PodDisruptionBudgetConfig) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(gw, names.DataPlane, nil, nil),
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(gw)},
			MinAvailable:               cfg.MinAvailable,
			MaxUnavailable:             cfg.MaxUnavailable,
			UnhealthyPodEvictionPolicy: cfg.UnhealthyPodEvictionPolicy,
		},
	}
}

// AnnotationAdminCert on the pod template carries a fingerprint of the admin
// certificate: Kong reads it only at start, so a new certificate must roll
// the pods.
const AnnotationAdminCert = "gateway.drawbridge.dev/admin-certificate"

// AdminTLSSecret renders the Secret that the Kong pods mount for their admin
// listener: server certificate, key, and the CA that client certificates must
// chain to.
func AdminTLSSecret(gw *gwv1.Gateway, names Names, certPEM, keyPEM, caPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(gw, names.AdminTLS, nil, nil),
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       certPEM,
			corev1.TLSPrivateKeyKey: keyPEM,
			"ca.crt":                caPEM,
		},
	}
}
