package controllers

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// GatewayClassReconciler accepts GatewayClasses with our controllerName and
// validates their parametersRef.
type GatewayClassReconciler struct {
	Client client.Client
	// Served is what the installed Gateway API CRDs let users write, read
	// at start: features of kinds the API server does not serve, or whose
	// fields the CRDs lack, are not published. ReferenceGrant is always
	// installed: the operator does not start without it.
	Served gatewayapi.Served
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=gateway.drawbridge.dev,resources=gatewayconfigurations,verbs=get;list;watch

// Reconcile sets Accepted and supportedFeatures on one GatewayClass.
func (r *GatewayClassReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var class gwv1.GatewayClass
	if err := r.Client.Get(ctx, req.NamespacedName, &class); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if class.Spec.ControllerName != gatewayapi.ControllerName {
		return reconcile.Result{}, nil
	}
	original := class.DeepCopy()

	accepted := gatewayapi.True(string(gwv1.GatewayClassConditionStatusAccepted), string(gwv1.GatewayClassReasonAccepted), "GatewayClass is accepted by Drawbridge")
	cfg, err := classConfig(ctx, r.Client, &class)
	if err == nil && cfg != nil {
		if renderErr := checkConfig(&cfg.Spec, nil); renderErr != nil {
			err = invalidParams("parametersRef: GatewayConfiguration %s/%s is invalid: %v", cfg.Namespace, cfg.Name, renderErr)
		}
	}
	var invalid *InvalidParametersError
	switch {
	case errors.As(err, &invalid):
		accepted = gatewayapi.False(string(gwv1.GatewayClassConditionStatusAccepted), string(gwv1.GatewayClassReasonInvalidParameters), invalid.Message)
		log.FromContext(ctx).Info("GatewayClass has invalid parameters", "reason", invalid.Message)
	case err != nil:
		return reconcile.Result{}, err
	}
	gatewayapi.Set(&class.Status.Conditions, class.Generation, accepted)
	class.Status.SupportedFeatures = gatewayapi.SupportedFeatures(r.Served)
	if err := r.Client.Status().Patch(ctx, &class, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		return reconcile.Result{}, fmt.Errorf("patch status of GatewayClass %s: %w", class.Name, err)
	}
	return reconcile.Result{}, nil
}

// SetupWithManager registers the reconciler and its watches.
func (r *GatewayClassReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.(*gwv1.GatewayClass).Spec.ControllerName == gatewayapi.ControllerName
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayclass").
		For(&gwv1.GatewayClass{}, builder.WithPredicates(ours)).
		Watches(&v1alpha1.GatewayConfiguration{}, handler.EnqueueRequestsFromMapFunc(r.classesForConfig)).
		Complete(r)
}

func (r *GatewayClassReconciler) classesForConfig(ctx context.Context, o client.Object) []reconcile.Request {
	var classes gwv1.GatewayClassList
	if err := r.Client.List(ctx, &classes, client.MatchingFields{indexClassParams: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list GatewayClasses for GatewayConfiguration", "configuration", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(classes.Items))
	for _, c := range classes.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return reqs
}
