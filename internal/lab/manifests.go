package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's format the lab reads: resource
// lists and image overrides, which is all config/ uses. Anything else is an
// error, so a new kustomize feature in config/ cannot be silently ignored.
type kustomization struct {
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// ReadKustomization collects the objects of a kustomize directory.
func ReadKustomization(dir string) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read kustomization in %s: %w", dir, err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml uses more than resources and images: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range k.Resources {
		path := filepath.Join(dir, r)
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: resource %s: %w", dir, r, err)
		}
		var objs []*unstructured.Unstructured
		if info.IsDir() {
			objs, err = ReadKustomization(path)
		} else {
			objs, err = ReadYAMLFile(path)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	for _, img := range k.Images {
		for _, o := range out {
			retag(o, img.Name, img.NewName, img.NewTag)
		}
	}
	return out, nil
}

func retag(o *unstructured.Unstructured, name, newName, newTag string) {
	containers, found, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if !found {
		return
	}
	for i, c := range containers {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		image, _ := m["image"].(string)
		repo, tag := image, ""
		if j := strings.LastIndex(image, ":"); j > strings.LastIndex(image, "/") {
			repo, tag = image[:j], image[j+1:]
		}
		if repo != name {
			continue
		}
		if newName != "" {
			repo = newName
		}
		if newTag != "" {
			tag = newTag
		}
		m["image"] = repo
		if tag != "" {
			m["image"] = repo + ":" + tag
		}
		containers[i] = m
	}
	_ = unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers")
}

// ReadYAMLFile reads every document of a YAML file.
func ReadYAMLFile(path string) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, err := ParseYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ParseYAML parses every document of a multi-document YAML text.
func ParseYAML(raw []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// ReadYAMLDir reads every *.yaml file of a directory except kustomization.yaml.
func ReadYAMLDir(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		objs, err := ReadYAMLFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// applyOrder puts the kinds others depend on first.
var applyOrder = map[string]int{
	"Namespace": 0, "CustomResourceDefinition": 1, "ServiceAccount": 2, "ClusterRole": 3,
	"ClusterRoleBinding": 4, "Role": 5, "RoleBinding": 6, "Secret": 7, "ConfigMap": 7,
	"GatewayConfiguration": 8, "GatewayClass": 9, "Gateway": 10,
}

// Apply server-side applies objects in dependency order; CRDs are waited
// for until established so that objects of their kinds can follow.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, owner string) error {
	sorted := append([]*unstructured.Unstructured{}, objs...)
	rank := func(o *unstructured.Unstructured) int {
		if r, ok := applyOrder[o.GetKind()]; ok {
			return r
		}
		return 50
	}
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	var crds []string
	for i, o := range sorted {
		if i > 0 && rank(sorted[i-1]) == 1 && rank(o) != 1 {
			if err := waitEstablished(ctx, c, crds); err != nil {
				return err
			}
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(owner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.GetName())
		}
	}
	return waitEstablished(ctx, c, crds)
}

func waitEstablished(ctx context.Context, c client.Client, names []string) error {
	deadline := time.Now().Add(time.Minute)
	for _, name := range names {
		for {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err == nil {
				established := false
				for _, cond := range crd.Status.Conditions {
					if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
						established = true
					}
				}
				if established {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established within a minute", name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
