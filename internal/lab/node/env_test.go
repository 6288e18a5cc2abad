package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestContainerEnv(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"token": []byte("t0k")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"A": "from-cm", "B": "b"}},
	)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
		Status:     corev1.PodStatus{PodIP: "10.244.0.9"},
	}
	c := &corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		Env: []corev1.EnvVar{
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "token"}}},
			{Name: "URL", Value: "http://$(IP):80/$(POD)/$(MISSING)/$$(POD)"},
		},
	}
	env, err := containerEnv(context.Background(), cs, pod, c, map[string]string{"BASE": "1"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range env {
		for i := range kv {
			if kv[i] == '=' {
				got[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	want := map[string]string{
		"BASE": "1", "CM_A": "from-cm", "CM_B": "b", "POD": "p", "IP": "10.244.0.9", "APP": "x", "TOKEN": "t0k",
		"URL": "http://10.244.0.9:80/p/$(MISSING)/$(POD)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k"}}})
	if _, err := containerEnv(context.Background(), cs, pod, c, nil); err == nil {
		t.Error("a missing non-optional Secret must fail the container's environment")
	}
}

func TestWriteFilesReplacesAndPrunes(t *testing.T) {
	dir := t.TempDir()
	if err := writeFiles(dir, map[string]volumeFile{"a": {data: []byte("1"), mode: 0o600}, "sub/b": {data: []byte("2"), mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(dir, map[string]volumeFile{"a": {data: []byte("3"), mode: 0o440}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "a"))
	if err != nil || string(raw) != "3" {
		t.Fatalf("a = %q, %v", raw, err)
	}
	info, _ := os.Stat(filepath.Join(dir, "a"))
	if info.Mode().Perm() != 0o440 {
		t.Errorf("mode = %v, want 0440", info.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "sub/b")); !os.IsNotExist(err) {
		t.Errorf("a key removed from the source must disappear, stat: %v", err)
	}
	if err := writeFiles(dir, map[string]volumeFile{"../escape": {data: []byte("x")}}); err == nil {
		t.Error("a path leaving the volume must be refused")
	}
}
