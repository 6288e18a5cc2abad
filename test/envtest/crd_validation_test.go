package envtest

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

var _ = Describe("GatewayConfiguration admission (CEL and schema)", func() {
	ctx := context.Background()
	create := func(spec v1alpha1.GatewayConfigurationSpec) error {
		cfg := &v1alpha1.GatewayConfiguration{ObjectMeta: metav1.ObjectMeta{Name: unique("cel"), Namespace: "default"}, Spec: spec}
		return k8s.Create(ctx, cfg)
	}
	clusterIP, nodePort := corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort
	local := corev1.ServiceExternalTrafficPolicyLocal

	DescribeTable("rejects", func(spec v1alpha1.GatewayConfigurationSpec, message string) {
		err := create(spec)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(message))
	},
		Entry("replicas with autoscaling", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Replicas: ptr.To(int32(2)), Autoscaling: &v1alpha1.AutoscalingConfig{MaxReplicas: 3}}}, "mutually exclusive"),
		Entry("min above max", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Autoscaling: &v1alpha1.AutoscalingConfig{MinReplicas: ptr.To(int32(5)), MaxReplicas: 3}}}, "minReplicas must not exceed maxReplicas"),
		Entry("both PDB bounds", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			PodDisruptionBudget: &v1alpha1.PodDisruptionBudgetConfig{MinAvailable: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(1))}}}, "exactly one of minAvailable and maxUnavailable"),
		Entry("no PDB bound", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			PodDisruptionBudget: &v1alpha1.PodDisruptionBudgetConfig{}}}, "exactly one of minAvailable and maxUnavailable"),
		Entry("a managed env var", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Env: []corev1.EnvVar{{Name: "KONG_ADMIN_LISTEN", Value: "0.0.0.0:8001"}}}}, "must not set variables that Drawbridge manages"),
		Entry("a managed env family (the Lua sandbox)", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Env: []corev1.EnvVar{{Name: "KONG_LOG_LEVEL", Value: "info"}, {Name: "KONG_UNTRUSTED_LUA", Value: "on"}}}}, "must not set variables that Drawbridge manages"),
		Entry("an nginx directive in the admin server", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Env: []corev1.EnvVar{{Name: "KONG_NGINX_ADMIN_ALLOW", Value: "all"}}}}, "must not set variables that Drawbridge manages"),
		Entry("hybrid mode", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Env: []corev1.EnvVar{{Name: "KONG_ROLE", Value: "data_plane"}}}}, "must not set variables that Drawbridge manages"),
		Entry("an image with spaces", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Image: ptr.To("kong 3.9")}}, "spec.dataPlane.image"),
		Entry("externalTrafficPolicy on ClusterIP", v1alpha1.GatewayConfigurationSpec{Service: &v1alpha1.ServiceConfig{
			Type: &clusterIP, ExternalTrafficPolicy: &local}}, "externalTrafficPolicy cannot be set for a ClusterIP Service"),
		Entry("loadBalancerClass on NodePort", v1alpha1.GatewayConfigurationSpec{Service: &v1alpha1.ServiceConfig{
			Type: &nodePort, LoadBalancerClass: ptr.To("example.com/lb")}}, "loadBalancerClass requires type LoadBalancer"),
		Entry("a source range that is not a CIDR", v1alpha1.GatewayConfigurationSpec{Service: &v1alpha1.ServiceConfig{
			LoadBalancerSourceRanges: []string{"10.0.0.1"}}}, "must be a CIDR"),
	)

	DescribeTable("accepts", func(spec v1alpha1.GatewayConfigurationSpec) {
		Expect(create(spec)).To(Succeed())
	},
		Entry("an image tag", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptr.To("registry.example.com:5000/team/kong:3.9.1")}}),
		Entry("an image digest", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptr.To("kong@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")}}),
		Entry("a podTemplate patch with sidecars", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			PodTemplate: rawJSON(`{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}`)}}),
		Entry("Kong settings Drawbridge leaves to the platform team", v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{
			Env: []corev1.EnvVar{{Name: "KONG_LOG_LEVEL", Value: "info"}, {Name: "KONG_NGINX_WORKER_PROCESSES", Value: "2"},
				{Name: "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE", Value: "16k"}, {Name: "KONG_TRUSTED_IPS", Value: "10.0.0.0/8"}}}}),
		Entry("an empty spec", v1alpha1.GatewayConfigurationSpec{}),
	)
})
