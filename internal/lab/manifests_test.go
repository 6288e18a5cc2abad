package lab

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReadKustomizationOfConfigDefault(t *testing.T) {
	objs, err := ReadKustomization(filepath.Join("..", "..", "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var image string
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			image, _ = cs[0].(map[string]any)["image"].(string)
		}
	}
	for _, k := range []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"} {
		if kinds[k] == 0 {
			t.Errorf("config/default has no %s (kinds: %v)", k, kinds)
		}
	}
	if image != "drawbridge:dev" {
		t.Errorf("operator image = %q, want drawbridge:dev", image)
	}
}

func TestKustomizationImagesAndUnknownFields(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("d.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
      - {name: a, image: "drawbridge:dev"}
      - {name: b, image: "registry.example.com/other:1"}
`)
	write("kustomization.yaml", "resources: [d.yaml]\nimages:\n- {name: drawbridge, newName: example.com/drawbridge, newTag: v2}\n")
	objs, err := ReadKustomization(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
	if got := cs[0].(map[string]any)["image"]; got != "example.com/drawbridge:v2" {
		t.Errorf("retagged image = %v", got)
	}
	if got := cs[1].(map[string]any)["image"]; got != "registry.example.com/other:1" {
		t.Errorf("unrelated image changed to %v", got)
	}
	write("kustomization.yaml", "resources: [d.yaml]\nnamePrefix: x-\n")
	if _, err := ReadKustomization(dir); err == nil {
		t.Error("a kustomize feature the lab does not implement must be an error, not ignored")
	}
}
