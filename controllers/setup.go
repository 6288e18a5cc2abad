package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
)

// Options configure the reconcilers.
type Options struct {
	OperatorNamespace string
	OperatorPodLabels map[string]string
	// Configs receives every Gateway's translated configuration.
	Configs *dataplane.Store
	// AdminDialer, when set, opens connections to Kong admin endpoints in
	// place of a direct dial of the pod address (a port-forward dialer for
	// running outside the cluster, or a test's address map).
	AdminDialer dataplane.Dialer
	// Metrics, when set, receive translation and push figures.
	Metrics *dataplane.Metrics
	// ProxyEnv is the cluster-wide egress proxy (HTTP_PROXY, HTTPS_PROXY,
	// NO_PROXY) passed on to every data plane; see provision.OperatorProxyEnv.
	ProxyEnv []corev1.EnvVar
	// ReplicaCheckPeriod is how often every Gateway's replicas are asked
	// for the configuration they hold (one GET /status each); a replica
	// that lost or changed it gets its Gateway fully reconciled.
	// DefaultReplicaCheckPeriod when zero.
	ReplicaCheckPeriod time.Duration
	// AdminTimeout bounds each call to a Kong admin API (GET /status,
	// POST /config); DefaultAdminTimeout when zero. A replica that does not
	// answer within it is reported as lagging and tried again by the next
	// reconcile.
	AdminTimeout time.Duration
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	routeKinds, err := installedRouteKinds(ctx, mgr.GetAPIReader(), mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if len(routeKinds) < len(allRouteKinds) {
		ctrl.Log.WithName("setup").Info("some route CRDs are not installed; those kinds are ignored until the operator restarts",
			"installed", len(routeKinds), "known", len(allRouteKinds))
	}
	listenerSets, err := listenerSetsInstalled(ctx, mgr.GetAPIReader(), mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if !listenerSets {
		ctrl.Log.WithName("setup").Info("the ListenerSet CRD is not installed; Gateways have no ListenerSets until the operator restarts")
	}
	backendTLSPolicies, err := backendTLSPoliciesInstalled(ctx, mgr.GetAPIReader(), mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if !backendTLSPolicies {
		ctrl.Log.WithName("setup").Info("the BackendTLSPolicy CRD is not installed; backends are reached without TLS until the operator restarts")
	}
	if err := SetupIndexes(ctx, mgr.GetFieldIndexer(), routeKinds, listenerSets, backendTLSPolicies); err != nil {
		return err
	}
	installed := map[string]bool{"Gateway": true, "ReferenceGrant": true, "ListenerSet": listenerSets, "BackendTLSPolicy": backendTLSPolicies}
	for _, k := range routeKinds {
		installed[k.kind] = true
	}
	// The manager has not started: read the CRDs straight from the API
	// server. A CRD replaced later (another channel or release) takes
	// effect when the operator restarts.
	schemas, err := readCRDSchemas(ctx, mgr.GetAPIReader(), mgr.GetRESTMapper(), installed)
	if err != nil {
		return err
	}
	schemas.logChannels()
	if err := (&GatewayClassReconciler{Client: mgr.GetClient(), Served: schemas.served()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up GatewayClass controller: %w", err)
	}
	if err := (&GatewayReconciler{
		Client:             mgr.GetClient(),
		APIReader:          mgr.GetAPIReader(),
		Recorder:           mgr.GetEventRecorder("drawbridge"),
		OperatorNamespace:  opts.OperatorNamespace,
		OperatorPodLabels:  opts.OperatorPodLabels,
		Configs:            opts.Configs,
		RouteKinds:         routeKinds,
		ListenerSets:       listenerSets,
		BackendTLSPolicies: backendTLSPolicies,
		AdminDialer:        opts.AdminDialer,
		Metrics:            opts.Metrics,
		ProxyEnv:           opts.ProxyEnv,
		ReplicaCheckPeriod: opts.ReplicaCheckPeriod,
		AdminTimeout:       opts.AdminTimeout,
		PKI: &AdminPKI{
			Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(),
			Namespace: opts.OperatorNamespace, Now: time.Now,
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up Gateway controller: %w", err)
	}
	return nil
}
