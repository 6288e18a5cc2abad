package provision

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

func TestMergeDefaultsApplyOnlyAfterOverlay(t *testing.T) {
	class := &v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Image: ptr.To("kong:3.9.1")}}
	// An empty Gateway layer must not put the default image back.
	got := Merge(class, &v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{}})
	if got.Image != "kong:3.9.1" {
		t.Fatalf("image = %q, want the class image", got.Image)
	}
	if got.Replicas == nil || *got.Replicas != 1 || got.Autoscaling != nil {
		t.Fatalf("want the default of 1 replica, got replicas=%v autoscaling=%v", got.Replicas, got.Autoscaling)
	}
	if *got.Service.Type != corev1.ServiceTypeLoadBalancer {
		t.Fatalf("service type = %s, want LoadBalancer", *got.Service.Type)
	}
	if empty := Merge(nil, nil); empty.Image != DefaultImage {
		t.Fatalf("no configuration at all: image = %q", empty.Image)
	}
}

func TestMergeMapsAndEnv(t *testing.T) {
	class := &v1alpha1.GatewayConfigurationSpec{
		DataPlane: &v1alpha1.DataPlaneConfig{Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "1"}}},
		Service:   &v1alpha1.ServiceConfig{Annotations: map[string]string{"keep": "class", "override": "class"}},
	}
	gw := &v1alpha1.GatewayConfigurationSpec{
		DataPlane: &v1alpha1.DataPlaneConfig{Env: []corev1.EnvVar{{Name: "B", Value: "2"}, {Name: "C", Value: "2"}}},
		Service:   &v1alpha1.ServiceConfig{Annotations: map[string]string{"override": "gateway"}},
	}
	got := Merge(class, gw)
	wantEnv := []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "C", Value: "2"}}
	if len(got.Env) != len(wantEnv) {
		t.Fatalf("env = %v", got.Env)
	}
	for i := range wantEnv {
		if got.Env[i] != wantEnv[i] {
			t.Fatalf("env = %v, want %v", got.Env, wantEnv)
		}
	}
	if got.Service.Annotations["keep"] != "class" || got.Service.Annotations["override"] != "gateway" {
		t.Fatalf("annotations = %v", got.Service.Annotations)
	}
	// Merging must not write into the inputs.
	if class.Service.Annotations["override"] != "class" || len(class.DataPlane.Env) != 2 {
		t.Fatal("Merge modified the class configuration")
	}
}

func TestMergeReplicasAndAutoscalingReplaceEachOther(t *testing.T) {
	withReplicas := &v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Replicas: ptr.To(int32(3))}}
	withHPA := &v1alpha1.GatewayConfigurationSpec{DataPlane: &v1alpha1.DataPlaneConfig{Autoscaling: &v1alpha1.AutoscalingConfig{MaxReplicas: 5}}}
	if got := Merge(withReplicas, withHPA); got.Replicas != nil || got.Autoscaling == nil {
		t.Fatalf("gateway autoscaling over class replicas: replicas=%v autoscaling=%v", got.Replicas, got.Autoscaling)
	}
	if got := Merge(withHPA, withReplicas); got.Autoscaling != nil || got.Replicas == nil || *got.Replicas != 3 {
		t.Fatalf("gateway replicas over class autoscaling: replicas=%v autoscaling=%v", got.Replicas, got.Autoscaling)
	}
}
