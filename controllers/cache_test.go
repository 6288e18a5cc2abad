package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestStripForCache(t *testing.T) {
	route := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{
		Name: "r", Namespace: "ns", Labels: map[string]string{"app": "a"},
		Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation: `{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute"}`,
			"team.example/owner":               "payments",
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := stripForCache(route)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*gwv1.HTTPRoute)
	if got.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", got.ManagedFields)
	}
	if _, ok := got.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Error("the last-applied-configuration annotation was kept")
	}
	if got.Annotations["team.example/owner"] != "payments" || got.Labels["app"] != "a" {
		t.Errorf("other metadata changed: labels %v, annotations %v", got.Labels, got.Annotations)
	}

	// Objects without either, and tombstones, pass unchanged.
	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}
	if out, err := stripForCache(plain); err != nil || out != plain || plain.Annotations != nil || plain.ManagedFields != nil {
		t.Errorf("stripForCache(plain Service) = %v, %v", out, err)
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "ns/r", Obj: route}
	if out, err := stripForCache(tomb); err != nil || out != any(tomb) {
		t.Errorf("stripForCache(tombstone) = %v, %v", out, err)
	}
}

func TestStripDeployment(t *testing.T) {
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "gw-kong", Namespace: "ns",
			OwnerReferences: []metav1.OwnerReference{{Kind: "Gateway", Name: "gw", UID: "u", Controller: ptr.To(true)}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "drawbridge"}}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "gw"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "proxy", Image: "kong:3.9", Env: []corev1.EnvVar{{Name: "KONG_DATABASE", Value: "off"}}}}}},
		},
		Status: appsv1.DeploymentStatus{Replicas: 3, AvailableReplicas: 2},
	}
	out, err := stripDeployment(dep)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.Deployment)
	if len(got.Spec.Template.Spec.Containers) != 0 {
		t.Errorf("Pod template kept: %+v", got.Spec.Template)
	}
	if got.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", got.ManagedFields)
	}
	// What observe and the status read: the owner, the desired replicas
	// and the status.
	if *got.Spec.Replicas != 3 || got.Status.AvailableReplicas != 2 || len(got.OwnerReferences) != 1 || got.Spec.Selector == nil {
		t.Errorf("fields the operator reads were dropped: %+v", got)
	}
}
