package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1alpha2 "sigs.k8s.io/gateway-api/apis/v1alpha2"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
)

// FieldOwner is the server-side-apply manager of what the lab installs.
const FieldOwner = "drawbridge-lab"

// Install applies the Gateway API CRDs from gatewayCRDs and the operator
// from configDir/default (namespace, CRDs, RBAC, Deployment) and waits until
// the operator's Deployment is available: the operator runs as a pod with
// its own ServiceAccount.
func Install(ctx context.Context, c client.Client, gatewayCRDs, configDir string, log func(string, ...any)) error {
	log("installing the Gateway API CRDs from %s", gatewayCRDs)
	crds, err := ReadYAMLDir(gatewayCRDs)
	if err != nil {
		return err
	}
	if err := Apply(ctx, c, crds, FieldOwner); err != nil {
		return err
	}
	log("installing Drawbridge from %s", filepath.Join(configDir, "default"))
	objs, err := ReadKustomization(filepath.Join(configDir, "default"))
	if err != nil {
		return err
	}
	if err := Apply(ctx, c, objs, FieldOwner); err != nil {
		return err
	}
	log("waiting for the operator Deployment drawbridge-system/drawbridge to be available")
	return WaitFor(ctx, 3*time.Minute, "the operator Deployment to be available", func() (bool, error) {
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: "drawbridge-system", Name: "drawbridge"}, &d); err != nil {
			return false, nil
		}
		return d.Status.AvailableReplicas >= 1 && d.Status.ObservedGeneration >= d.Generation, nil
	})
}

// ApplyDir applies the manifests of a directory.
func ApplyDir(ctx context.Context, c client.Client, dir string) error {
	objs, err := ReadYAMLDir(dir)
	if err != nil {
		return err
	}
	return Apply(ctx, c, objs, FieldOwner)
}

// ApplyObjects applies already-parsed objects.
func ApplyObjects(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	return Apply(ctx, c, objs, FieldOwner)
}

// WaitFor polls cond every 200ms until it holds, ctx ends or timeout passes.
func WaitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// GatewayProgrammed reports whether a Gateway is Programmed for its current
// generation, with the condition's message for progress reports.
func GatewayProgrammed(ctx context.Context, c client.Client, key client.ObjectKey) (bool, string) {
	var gw gwv1.Gateway
	if err := c.Get(ctx, key, &gw); err != nil {
		return false, err.Error()
	}
	cond := meta.FindStatusCondition(gw.Status.Conditions, string(gwv1.GatewayConditionProgrammed))
	if cond == nil {
		return false, "no Programmed condition yet"
	}
	return cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == gw.Generation, cond.Reason + ": " + cond.Message
}

// Scheme has every type the lab and its tests read or write.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(gwv1.Install(s))
	utilruntime.Must(gwv1alpha2.Install(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}
