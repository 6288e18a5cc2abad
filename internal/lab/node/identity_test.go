package node

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestContainerIdentity(t *testing.T) {
	kong := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
		RunAsUser: ptr.To(int64(1000)), RunAsGroup: ptr.To(int64(1000)), FSGroup: ptr.To(int64(2000)), SupplementalGroups: []int64{3000},
	}}}
	id, err := containerIdentity(kong, &corev1.Container{Image: "kong:3.9"})
	if err != nil || id.uid != 1000 || id.gid != 1000 || !slices.Equal(id.groups, []int64{2000, 3000}) {
		t.Fatalf("kong identity = %+v, %v", id, err)
	}
	// The container's securityContext wins over the pod's.
	id, _ = containerIdentity(kong, &corev1.Container{Image: "kong:3.9", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To(int64(7))}})
	if id.uid != 7 {
		t.Fatalf("container runAsUser ignored: %+v", id)
	}
	// Without a user, the image's own user applies.
	nonRoot := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}}}
	id, err = containerIdentity(nonRoot, &corev1.Container{Image: "drawbridge:dev"})
	if err != nil || id.uid != 65532 {
		t.Fatalf("operator identity = %+v, %v", id, err)
	}
	if _, err := containerIdentity(nonRoot, &corev1.Container{Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1"}); err == nil {
		t.Fatal("runAsNonRoot with a root image must be refused")
	}
	if f := (identity{}).flags(); f != nil {
		t.Fatalf("root needs no flags, got %v", f)
	}
}
