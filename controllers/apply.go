package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apply writes obj with server-side apply under our field manager. Only the
// fields we render are claimed: fields set by others (an HPA's replicas,
// `kubectl rollout restart` annotations) stay theirs, and a field we stop
// rendering (a removed annotation) is removed.
func apply(ctx context.Context, c client.Client, obj client.Object) error {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	// Status is not ours to apply, and an empty creationTimestamp would be
	// claimed as a field.
	delete(content, "status")
	if meta, ok := content["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: content}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// deleteIfOwned removes an object that is no longer rendered, but only if the
// given owner controls it: a same-named object of someone else is left alone.
func deleteIfOwned(ctx context.Context, c client.Client, obj client.Object, key types.NamespacedName, owner types.UID) error {
	if err := c.Get(ctx, key, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == owner && ref.Controller != nil && *ref.Controller {
			if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete %T %s: %w", obj, key, err)
			}
			return nil
		}
	}
	return nil
}
