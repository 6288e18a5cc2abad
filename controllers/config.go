package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// InvalidParametersError is a configuration problem the platform team must
// fix; it becomes an InvalidParameters condition rather than a retry.
type InvalidParametersError struct{ Message string }

func (e *InvalidParametersError) Error() string { return e.Message }

func invalidParams(format string, args ...any) error {
	return &InvalidParametersError{Message: fmt.Sprintf(format, args...)}
}

// classConfig returns the GatewayConfiguration a GatewayClass references (nil
// when it references none), or an *InvalidParametersError naming the problem.
func classConfig(ctx context.Context, c client.Reader, class *gwv1.GatewayClass) (*v1alpha1.GatewayConfiguration, error) {
	ref := class.Spec.ParametersRef
	if ref == nil {
		return nil, nil
	}
	if string(ref.Group) != v1alpha1.GroupVersion.Group || string(ref.Kind) != v1alpha1.GatewayConfigurationKind {
		return nil, invalidParams("parametersRef must point to group %q kind %q, not group %q kind %q",
			v1alpha1.GroupVersion.Group, v1alpha1.GatewayConfigurationKind, ref.Group, ref.Kind)
	}
	if ref.Namespace == nil || *ref.Namespace == "" {
		return nil, invalidParams("parametersRef.namespace is required: GatewayConfiguration %q is a namespaced resource", ref.Name)
	}
	return getConfig(ctx, c, types.NamespacedName{Namespace: string(*ref.Namespace), Name: ref.Name}, "parametersRef")
}

// gatewayConfig returns the GatewayConfiguration of a Gateway's
// spec.infrastructure.parametersRef, which must be in the Gateway's namespace.
func gatewayConfig(ctx context.Context, c client.Reader, gw *gwv1.Gateway) (*v1alpha1.GatewayConfiguration, error) {
	if gw.Spec.Infrastructure == nil || gw.Spec.Infrastructure.ParametersRef == nil {
		return nil, nil
	}
	ref := gw.Spec.Infrastructure.ParametersRef
	if string(ref.Group) != v1alpha1.GroupVersion.Group || string(ref.Kind) != v1alpha1.GatewayConfigurationKind {
		return nil, invalidParams("spec.infrastructure.parametersRef must point to group %q kind %q, not group %q kind %q",
			v1alpha1.GroupVersion.Group, v1alpha1.GatewayConfigurationKind, ref.Group, ref.Kind)
	}
	return getConfig(ctx, c, types.NamespacedName{Namespace: gw.Namespace, Name: ref.Name}, "spec.infrastructure.parametersRef")
}

func getConfig(ctx context.Context, c client.Reader, key types.NamespacedName, field string) (*v1alpha1.GatewayConfiguration, error) {
	var cfg v1alpha1.GatewayConfiguration
	if err := c.Get(ctx, key, &cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, invalidParams("%s: GatewayConfiguration %s not found", field, key)
		}
		return nil, fmt.Errorf("get GatewayConfiguration %s: %w", key, err)
	}
	return &cfg, nil
}

// checkConfig proves a configuration (optionally overlaid) renders, by
// rendering it for a throw-away Gateway. This catches podTemplate patches that
// do not apply, which CEL cannot see. The Gateway path needs no such check:
// it renders the real objects and reports the same error.
func checkConfig(class, gateway *v1alpha1.GatewayConfigurationSpec) error {
	probe := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "probe"}}
	cfg := provision.Merge(class, gateway)
	// Custom plugin ConfigMaps are checked per Gateway, where they are read.
	var custom []provision.CustomPluginSource
	for _, c := range cfg.Plugins.Custom {
		custom = append(custom, provision.CustomPluginSource{Name: c.Name, Data: map[string]string{"handler.lua": ""}})
	}
	_, err := provision.Render(provision.Input{Gateway: probe, Config: cfg, CustomPlugins: custom})
	return err
}

func specOf(cfg *v1alpha1.GatewayConfiguration) *v1alpha1.GatewayConfigurationSpec {
	if cfg == nil {
		return nil
	}
	return &cfg.Spec
}
