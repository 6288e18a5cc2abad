package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomize builds the kustomization in dir with the kustomize module pinned
// in go.mod, so the output does not depend on which kubectl (if any) is
// installed.
func Kustomize(dir string) ([]*unstructured.Unstructured, error) {
	opts := krusty.MakeDefaultOptions()
	// The order `kubectl kustomize` uses: Namespaces and CRDs first, so a
	// stream applied in order never names a namespace or kind before it exists.
	opts.Reorder = krusty.ReorderOptionLegacy
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: encode: %w", dir, err)
	}
	return DecodeObjects(out)
}

// DecodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents.
func DecodeObjects(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decode object %d: %w", len(objs)+1, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// SetOperatorImage sets the image of the manager container of the operator
// Deployment among objs. It fails when there is no such container, so a
// renamed container cannot silently ship the placeholder image.
func SetOperatorImage(objs []*unstructured.Unstructured, image string) error {
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" || obj.GetName() != OperatorName {
			continue
		}
		containers, _, err := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		if err != nil {
			return fmt.Errorf("deployment %s: containers: %w", obj.GetName(), err)
		}
		for i, c := range containers {
			if m, ok := c.(map[string]any); ok && m["name"] == ManagerContainer {
				m["image"] = image
				containers[i] = m
				return unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers")
			}
		}
		return fmt.Errorf("deployment %s has no %q container", obj.GetName(), ManagerContainer)
	}
	return fmt.Errorf("no Deployment %q found", OperatorName)
}
