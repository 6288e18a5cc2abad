package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions configure the manager's cache. Reads of kinds without an
// informer fail instead of silently starting one, so a stray typed read of a
// Secret can never pull every Secret in the cluster into memory.
//
// The cache holds every route, Service, EndpointSlice and Deployment of the
// cluster, so what each cached object carries is what the operator's memory
// grows with; the transforms drop what nothing here reads (see
// stripForCache and stripDeployment). Nothing writes a cached object back
// with Update: changes are server-side applies of rendered objects and
// patches computed between two cached copies, so a dropped field is never
// removed from the cluster.
func CacheOptions() cache.Options {
	return cache.Options{
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            stripForCache,
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Transform: stripDeployment},
		},
	}
}

// stripForCache drops the managedFields and the annotation `kubectl apply`
// leaves (a full copy of the object as last applied, as JSON), often the
// two largest parts of a route or Service and read by nothing here.
func stripForCache(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		// A tombstone (cache.DeletedFinalStateUnknown) passes unchanged.
		return in, nil
	}
	// Only set when present: setting nil managedFields on an object that
	// has none allocates (kubernetes/kubernetes#124337).
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if a := obj.GetAnnotations(); a != nil {
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			// The map is the decoded object's own, not shared.
			delete(a, corev1.LastAppliedConfigAnnotation)
		}
	}
	return in, nil
}

// stripDeployment is stripForCache plus the Pod template: the operator reads
// a Deployment's owner, spec.replicas and status (how many of its data
// plane's replicas are desired and available) and writes its own with
// server-side apply, never from the cached copy. The informer watches every
// Deployment in the cluster, and the Pod template is nearly all of one (the
// data plane's: about 40 environment variables, volumes and probes).
func stripDeployment(in any) (any, error) {
	if d, ok := in.(*appsv1.Deployment); ok {
		d.Spec.Template = corev1.PodTemplateSpec{}
	}
	return stripForCache(in)
}
