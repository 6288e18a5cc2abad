package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
)

// CleanupFinalizer holds a Gateway until its data plane is deleted. Owner
// references would remove the objects eventually; the finalizer makes the
// removal happen before the Gateway disappears, even where no garbage
// collector runs, and gives data-plane sync a point to forget the Gateway.
const CleanupFinalizer = "gateway.drawbridge.dev/cleanup"

// GatewayReconciler provisions the Kong data plane of every Gateway whose
// class is ours and reports its status.
type GatewayReconciler struct {
	Client client.Client
	// APIReader reads listener Secrets straight from the API server, so the
	// operator never caches Secret contents.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// OperatorNamespace and OperatorPodLabels identify the operator's pods for
	// the NetworkPolicy that guards the admin API.
	OperatorNamespace string
	OperatorPodLabels map[string]string
	// Configs receives the translated Kong configuration of every Gateway.
	Configs *dataplane.Store
	// RouteKinds are the route kinds installed in the cluster.
	RouteKinds []routeKind
	// ListenerSets is true when the ListenerSet CRD is installed.
	ListenerSets bool
	// BackendTLSPolicies is true when the BackendTLSPolicy CRD is installed.
	BackendTLSPolicies bool
	// PKI issues the admin API certificates.
	PKI *AdminPKI
	// AdminDialer replaces the direct dial of replica addresses when set.
	AdminDialer dataplane.Dialer
	// Metrics receive translation and push figures; nil disables them.
	Metrics *dataplane.Metrics
	// ProxyEnv is the cluster-wide egress proxy the data planes inherit.
	ProxyEnv []corev1.EnvVar
	// ReplicaCheckPeriod is how often the replicas of every Gateway are
	// asked for the configuration they hold; DefaultReplicaCheckPeriod
	// when zero.
	ReplicaCheckPeriod time.Duration
	// AdminTimeout bounds each admin API call; DefaultAdminTimeout when
	// zero.
	AdminTimeout time.Duration

	pushers    pushers
	rejected   rejections
	servedSets servedListenerSets
}

// gatewayScope is what one reconcile of one Gateway reads and decides.
type gatewayScope struct {
	gateway   *gwv1.Gateway
	class     *gwv1.GatewayClass
	names     provision.Names
	listeners []gatewayapi.ListenerResult
	secrets   []corev1.Secret
	// caConfigMaps are the CA bundles spec.tls.frontend references that
	// exist, read without the cache.
	caConfigMaps map[types.NamespacedName]*corev1.ConfigMap
	grants       []gwv1.ReferenceGrant
	// namespaces supply labels for allowedRoutes and allowedListeners.
	namespaces []corev1.Namespace
	// listenerSetObjs are the ListenerSets that name the Gateway, and
	// listenerSets the verdicts on them in merge precedence.
	listenerSetObjs []gwv1.ListenerSet
	listenerSets    []gatewayapi.ListenerSetResult
	// listenerSetClaims are the ListenerSet keys ("namespace/name") whose
	// route status entries this Gateway writes: its ListenerSets and those
	// it served before (see servedListenerSets).
	listenerSetClaims map[string]bool
	// translation of the routes; nil when translation did not run.
	translation *translation
	// attachedRoutes per listener, from translation; nil when translation
	// did not run, so the last reported counts stay.
	attachedRoutes map[gwv1.SectionName]int32
	// adminCertFingerprint identifies the admin certificate the pods mount.
	adminCertFingerprint string
	// sync is the outcome of pushing the configuration to the replicas; nil
	// when no push was attempted.
	sync *dataplane.Result

	// address is what spec.addresses ask for. When they cannot be served
	// (address.Unsupported or address.NotUsable), the data plane is left
	// exactly as it was, as for invalidParams.
	address gatewayapi.AddressRequest
	// invalidParams is set when the configuration cannot be used; the data
	// plane is then left exactly as it was.
	invalidParams string
	// provisioned is true once the rendered objects were applied.
	provisioned bool
	ingress     *corev1.Service
	deployment  *appsv1.Deployment
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways/finalizers,verbs=update
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile provisions one Gateway's data plane and writes its status.
func (r *GatewayReconciler) Reconcile(ctx context.Context, req reconcile.Request) (_ reconcile.Result, reterr error) {
	var gw gwv1.Gateway
	if err := r.Client.Get(ctx, req.NamespacedName, &gw); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	// spec.addresses are read first so that status tells of an unusable
	// address even when a later phase fails.
	s := &gatewayScope{gateway: &gw, names: provision.NamesFor(&gw), address: gatewayapi.RequestedAddress(gw.Spec.Addresses)}

	ours, err := r.loadClass(ctx, s)
	if err != nil {
		return reconcile.Result{}, err
	}
	// Finalizer first: a deleted Gateway, or one that moved to another
	// controller's class, gets its data plane removed. A class that is merely
	// missing (deleted and about to be recreated, say) takes nothing down.
	if !gw.DeletionTimestamp.IsZero() || (s.class != nil && !ours) {
		return reconcile.Result{}, r.cleanup(ctx, s)
	}
	if s.class == nil {
		return reconcile.Result{}, nil
	}
	// A namespace being deleted takes its Gateways with it, and the API
	// server refuses every new object there: provisioning could only fail
	// (and be retried as an error) until the Gateway's own deletion, which
	// the finalizer above handles.
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: gw.Namespace}, &ns); err == nil && ns.Status.Phase == corev1.NamespaceTerminating {
		return reconcile.Result{}, nil
	}
	if !controllerutil.ContainsFinalizer(&gw, CleanupFinalizer) {
		patch := client.MergeFrom(gw.DeepCopy())
		controllerutil.AddFinalizer(&gw, CleanupFinalizer)
		if err := r.Client.Patch(ctx, &gw, patch); err != nil {
			return reconcile.Result{}, fmt.Errorf("add finalizer to Gateway %s: %w", req.NamespacedName, err)
		}
	}

	original := gw.DeepCopy()
	defer func() {
		// Route status first: it reports whether each route's configuration
		// is live, which only the push below can tell.
		if s.translation != nil {
			if err := r.writeRouteStatuses(ctx, s.gateway, s.listenerSetClaims, s.translation.routes, routeResults(s)); err != nil {
				reterr = errors.Join(reterr, err)
			} else {
				r.servedSets.settle(req.NamespacedName, listenerSetKeys(s.listenerSets))
			}
		}
		if err := r.writePluginAndConsumerStatuses(ctx, s); err != nil {
			reterr = errors.Join(reterr, err)
		}
		if err := r.writeBackendTLSStatuses(ctx, s); err != nil {
			reterr = errors.Join(reterr, err)
		}
		if err := r.patchStatus(ctx, s, original); err != nil {
			reterr = errors.Join(reterr, err)
		}
	}()

	if err := r.validateListeners(ctx, s); err != nil {
		return reconcile.Result{}, err
	}
	// A translation problem does not hold provisioning back; it is retried
	// with the error.
	translateErr := r.translateRoutes(ctx, s)
	fingerprint, renewAt, err := r.adminTLS(ctx, s)
	if err != nil {
		return reconcile.Result{}, errors.Join(err, translateErr)
	}
	s.adminCertFingerprint = fingerprint
	// Come back when the admin certificate is due for renewal. Between
	// events nothing else needs a full reconcile: the periodic replica
	// check (replicaCheck) sends the Gateway back here when a replica no
	// longer holds what was pushed to it.
	result := reconcile.Result{RequeueAfter: max(renewAt.Sub(r.PKI.Now()), time.Second)}
	if !r.checkAddresses(s) {
		return result, translateErr
	}
	objs, err := r.render(ctx, s)
	if err != nil || s.invalidParams != "" {
		return result, errors.Join(err, translateErr)
	}
	if err := r.applyDataPlane(ctx, s, objs); err != nil {
		r.Recorder.Eventf(&gw, nil, corev1.EventTypeWarning, "ProvisioningFailed", "Provision", "%v", err)
		return result, errors.Join(err, translateErr)
	}
	if err := r.observe(ctx, s); err != nil {
		return result, errors.Join(err, translateErr)
	}
	if err := r.syncDataPlane(ctx, s); err != nil {
		return result, errors.Join(err, translateErr)
	}
	if s.sync != nil && s.sync.Total > 0 && !s.sync.AllInSync() {
		// Replicas appear and catch up on their own schedule; look again soon.
		result.RequeueAfter = 2 * time.Second
	}
	return result, translateErr
}

// loadClass reports whether the Gateway's class is served by Drawbridge.
func (r *GatewayReconciler) loadClass(ctx context.Context, s *gatewayScope) (bool, error) {
	var class gwv1.GatewayClass
	if err := r.Client.Get(ctx, types.NamespacedName{Name: string(s.gateway.Spec.GatewayClassName)}, &class); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("get GatewayClass %s: %w", s.gateway.Spec.GatewayClassName, err)
	}
	s.class = &class
	return class.Spec.ControllerName == gatewayapi.ControllerName, nil
}

func (r *GatewayReconciler) validateListeners(ctx context.Context, s *gatewayScope) error {
	secrets := map[types.NamespacedName]*corev1.Secret{}
	// Listener certificates, the CA Secrets of spec.tls.frontend and the
	// backend client certificate.
	secretRefs := append(gatewayapi.ListenerSecretRefs(s.gateway), gatewayapi.FrontendCASecretRefs(s.gateway)...)
	if ref := gatewayapi.BackendClientCertificateRef(s.gateway); ref != nil {
		secretRefs = append(secretRefs, *ref)
	}
	for _, key := range secretRefs {
		if _, done := secrets[key]; done {
			continue
		}
		var secret corev1.Secret
		if err := r.APIReader.Get(ctx, key, &secret); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue
			}
			return fmt.Errorf("get listener Secret %s: %w", key, err)
		}
		secrets[key] = &secret
		s.secrets = append(s.secrets, secret)
	}
	// The CA bundles of spec.tls.frontend are read like listener Secrets:
	// only the ConfigMaps referenced, straight from the API server (the
	// cache holds ConfigMap metadata only).
	s.caConfigMaps = map[types.NamespacedName]*corev1.ConfigMap{}
	for _, key := range gatewayapi.FrontendCAConfigMapRefs(s.gateway) {
		var cm corev1.ConfigMap
		if err := r.APIReader.Get(ctx, key, &cm); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue
			}
			return fmt.Errorf("get CA ConfigMap %s of spec.tls.frontend: %w", key, err)
		}
		s.caConfigMaps[key] = &cm
	}
	var grants gwv1.ReferenceGrantList
	if err := r.Client.List(ctx, &grants); err != nil {
		return fmt.Errorf("list ReferenceGrants: %w", err)
	}
	s.grants = grants.Items
	var namespaces corev1.NamespaceList
	if err := r.Client.List(ctx, &namespaces); err != nil {
		return fmt.Errorf("list Namespaces: %w", err)
	}
	s.namespaces = namespaces.Items
	s.listeners = gatewayapi.ValidateListeners(gatewayapi.ListenerInput{
		Gateway: s.gateway, Secrets: secrets, ConfigMaps: s.caConfigMaps, ReferenceGrants: grants.Items,
	})
	return r.loadListenerSets(ctx, s, secrets)
}

// checkAddresses reports whether the data plane can be provisioned with the
// Gateway's spec.addresses. Addresses it cannot serve leave the data plane
// as it was: changing it could only move the Gateway to an address nobody
// asked for.
func (r *GatewayReconciler) checkAddresses(s *gatewayScope) bool {
	switch {
	case s.address.Unsupported != "":
		r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, string(gwv1.GatewayReasonUnsupportedAddress), "Provision",
			"data plane left unchanged: %s", s.address.Unsupported)
		return false
	case s.address.NotUsable != "":
		r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, string(gwv1.GatewayReasonAddressNotUsable), "Provision",
			"data plane left unchanged: %s", s.address.NotUsable)
		return false
	}
	return true
}

// render merges the class and Gateway configurations and renders the data
// plane. A configuration problem is recorded in the scope, not returned: it is
// the user's to fix, and retrying would not help.
func (r *GatewayReconciler) render(ctx context.Context, s *gatewayScope) (provision.Objects, error) {
	var invalid *InvalidParametersError
	classCfg, err := classConfig(ctx, r.Client, s.class)
	if errors.As(err, &invalid) {
		return r.invalid(s, fmt.Sprintf("GatewayClass %s: %s", s.class.Name, invalid.Message)), nil
	} else if err != nil {
		return provision.Objects{}, err
	}
	gwCfg, err := gatewayConfig(ctx, r.Client, s.gateway)
	if errors.As(err, &invalid) {
		return r.invalid(s, invalid.Message), nil
	} else if err != nil {
		return provision.Objects{}, err
	}
	cfg := provision.Merge(specOf(classCfg), specOf(gwCfg))
	var custom []provision.CustomPluginSource
	if len(cfg.Plugins.Custom) > 0 {
		var missing []string
		custom, missing, err = r.customPluginSources(ctx, classCfg.Namespace, cfg.Plugins.Custom)
		if err != nil {
			return provision.Objects{}, err
		}
		if len(missing) > 0 {
			return r.invalid(s, fmt.Sprintf("GatewayClass %s: %s", s.class.Name, strings.Join(missing, "; "))), nil
		}
	}
	for _, msg := range cfg.Plugins.Ignored {
		r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, "PluginsIgnored", "Provision", "%s", msg)
	}
	objs, err := provision.Render(provision.Input{
		Gateway:       s.gateway,
		Config:        cfg,
		CustomPlugins: custom,
		// The ports of attached ListenerSets are the Gateway's ports too.
		Listeners:            gatewayapi.ServedListeners(s.gateway, s.listeners, s.listenerSets),
		OperatorNamespace:    r.OperatorNamespace,
		OperatorPodLabels:    r.OperatorPodLabels,
		AdminCertFingerprint: s.adminCertFingerprint,
		ProxyEnv:             r.ProxyEnv,
	})
	if err != nil {
		return r.invalid(s, "the merged GatewayConfiguration cannot be rendered: "+err.Error()), nil
	}
	return objs, nil
}

func (r *GatewayReconciler) invalid(s *gatewayScope, message string) provision.Objects {
	s.invalidParams = message
	r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, string(gwv1.GatewayReasonInvalidParameters), "Provision",
		"data plane left unchanged: %s", message)
	return provision.Objects{}
}

// applyDataPlane applies every rendered object and removes the optional ones
// that are no longer configured.
func (r *GatewayReconciler) applyDataPlane(ctx context.Context, s *gatewayScope, objs provision.Objects) error {
	for _, obj := range objs.List() {
		if err := apply(ctx, r.Client, obj); err != nil {
			return err
		}
	}
	key := types.NamespacedName{Namespace: s.gateway.Namespace, Name: s.names.DataPlane}
	stale := []struct {
		obj    client.Object
		absent bool
	}{
		{&autoscalingv2.HorizontalPodAutoscaler{}, objs.HPA == nil},
		{&policyv1.PodDisruptionBudget{}, objs.PDB == nil},
		{&corev1.Service{}, objs.IngressService == nil},
	}
	if objs.MetricsService == nil {
		metricsKey := types.NamespacedName{Namespace: s.gateway.Namespace, Name: s.names.Metrics}
		if err := deleteIfOwned(ctx, r.Client, &corev1.Service{}, metricsKey, s.gateway.UID); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, cm := range objs.PluginConfigMaps {
		keep[cm.Name] = true
	}
	if err := r.deleteStaleConfigMaps(ctx, s.gateway, keep); err != nil {
		return err
	}
	for _, st := range stale {
		if st.absent {
			if err := deleteIfOwned(ctx, r.Client, st.obj, key, s.gateway.UID); err != nil {
				return err
			}
		}
	}
	s.provisioned = true
	return nil
}

// observe reads the live Deployment and ingress Service for status.
func (r *GatewayReconciler) observe(ctx context.Context, s *gatewayScope) error {
	key := types.NamespacedName{Namespace: s.gateway.Namespace, Name: s.names.DataPlane}
	var dep appsv1.Deployment
	if err := r.Client.Get(ctx, key, &dep); err == nil {
		s.deployment = &dep
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get Deployment %s: %w", key, err)
	}
	var svc corev1.Service
	if err := r.Client.Get(ctx, key, &svc); err == nil {
		s.ingress = &svc
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get Service %s: %w", key, err)
	}
	return nil
}

// cleanup deletes the data plane of a Gateway we no longer serve and releases
// the finalizer.
func (r *GatewayReconciler) cleanup(ctx context.Context, s *gatewayScope) error {
	gw := s.gateway
	if !controllerutil.ContainsFinalizer(gw, CleanupFinalizer) {
		return nil
	}
	var sets gwv1.ListenerSetList
	if r.ListenerSets {
		if err := r.Client.List(ctx, &sets, client.MatchingFields{indexListenerSetGateway: client.ObjectKeyFromObject(gw).String()}); err != nil {
			return fmt.Errorf("list ListenerSets of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
		}
	}
	current := map[string]bool{}
	for i := range sets.Items {
		current[client.ObjectKeyFromObject(&sets.Items[i]).String()] = true
	}
	lsKeys := r.servedSets.claims(client.ObjectKeyFromObject(gw), current)
	if err := r.clearRouteStatuses(ctx, gw, lsKeys); err != nil {
		return err
	}
	if err := r.clearPluginStatuses(ctx, gw); err != nil {
		return err
	}
	if err := r.writeBackendTLSPolicyStatuses(ctx, gw, nil, nil); err != nil {
		return err
	}
	r.Configs.Delete(client.ObjectKeyFromObject(gw))
	r.pushers.forget(client.ObjectKeyFromObject(gw))
	r.rejected.forget(client.ObjectKeyFromObject(gw))
	r.servedSets.forget(client.ObjectKeyFromObject(gw))
	r.Metrics.Forget(gw.Namespace, gw.Name)
	key := types.NamespacedName{Namespace: gw.Namespace, Name: s.names.DataPlane}
	for _, obj := range []client.Object{
		&autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{}, &appsv1.Deployment{},
		&corev1.Service{}, &networkingv1.NetworkPolicy{}, &corev1.ServiceAccount{},
	} {
		if err := deleteIfOwned(ctx, r.Client, obj, key, gw.UID); err != nil {
			return err
		}
	}
	for _, name := range []string{s.names.Admin, s.names.Metrics} {
		if err := deleteIfOwned(ctx, r.Client, &corev1.Service{}, types.NamespacedName{Namespace: gw.Namespace, Name: name}, gw.UID); err != nil {
			return err
		}
	}
	if err := r.deleteStaleConfigMaps(ctx, gw, nil); err != nil {
		return err
	}
	// Read and deleted without the cache, which never holds Secrets.
	var secret corev1.Secret
	tlsKey := types.NamespacedName{Namespace: gw.Namespace, Name: s.names.AdminTLS}
	if err := r.APIReader.Get(ctx, tlsKey, &secret); err == nil && metav1.IsControlledBy(&secret, gw) {
		if err := r.Client.Delete(ctx, &secret); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete admin certificate Secret %s: %w", tlsKey, err)
		}
	} else if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("read admin certificate Secret %s: %w", tlsKey, err)
	}
	patch := client.MergeFrom(gw.DeepCopy())
	controllerutil.RemoveFinalizer(gw, CleanupFinalizer)
	if err := r.Client.Patch(ctx, gw, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer from Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	log.FromContext(ctx).Info("data plane removed", "gateway", client.ObjectKeyFromObject(gw))
	return nil
}

// SetupWithManager registers the reconciler and everything that can change a
// Gateway's data plane or status.
func (r *GatewayReconciler) SetupWithManager(mgr ctrl.Manager) error {
	// The echoes of the controller's own status writes translate nothing
	// again (statusEchoes).
	echoes := newStatusEchoes()
	r.Client = echoRecordingClient{Client: r.Client, echoes: echoes}
	ownStatus := echoes.predicate()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("gateway").
		// Pushing to replicas waits on the network; one slow Gateway must
		// not hold up the others. A Gateway is never reconciled twice at
		// once, and the work queue holds its key once however many events
		// arrive meanwhile, so a burst of changes during a push becomes one
		// more translation and push of the newest state.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		For(&gwv1.Gateway{}, builder.WithPredicates(ownStatus)).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Watches(&gwv1.GatewayClass{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForClass)).
		Watches(&v1alpha1.GatewayConfiguration{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForConfig)).
		// A grant can open a listener certificate or any route backend; grants
		// change rarely, so every Gateway is re-evaluated.
		Watches(&gwv1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.allGateways)).
		// Secrets are watched by metadata only: their contents never enter
		// the cache and are read on demand for the listeners that need them.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForSecret)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForEndpointSlice)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForNamespace), builder.WithPredicates(namespaceChanged)).
		Watches(&v1alpha1.KongPlugin{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForKongPlugin), builder.WithPredicates(ownStatus)).
		Watches(&v1alpha1.KongConsumer{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForKongConsumer), builder.WithPredicates(ownStatus)).
		// Custom plugin ConfigMaps (the sources and our copies) and the CA
		// bundles of spec.tls.frontend, by metadata only, like Secrets:
		// contents are read when a Gateway is reconciled.
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForConfigMap))
	if r.ListenerSets {
		b = b.Watches(&gwv1.ListenerSet{}, handler.EnqueueRequestsFromMapFunc(r.gatewayForListenerSet), builder.WithPredicates(ownStatus))
	}
	if r.BackendTLSPolicies {
		b = b.Watches(&gwv1.BackendTLSPolicy{}, handler.EnqueueRequestsFromMapFunc(r.gatewaysForBackendTLSPolicy), builder.WithPredicates(ownStatus))
	}
	for _, k := range r.RouteKinds {
		b = b.Watches(k.newObj(), handler.EnqueueRequestsFromMapFunc(r.gatewaysForRoute), builder.WithPredicates(ownStatus))
	}
	// The periodic replica check sends the Gateways whose replicas drifted.
	drifted := make(chan event.TypedGenericEvent[*gwv1.Gateway])
	b = b.WatchesRawSource(source.Channel(drifted, &handler.TypedEnqueueRequestForObject[*gwv1.Gateway]{}))
	if err := b.Complete(r); err != nil {
		return err
	}
	period := r.ReplicaCheckPeriod
	if period <= 0 {
		period = DefaultReplicaCheckPeriod
	}
	check := &replicaCheck{reconciler: r, period: period, reconcile: drifted, log: mgr.GetLogger().WithName("replica-check")}
	if err := mgr.Add(check); err != nil {
		return fmt.Errorf("add the periodic replica check: %w", err)
	}
	return nil
}

func (r *GatewayReconciler) gatewaysMatching(ctx context.Context, field, value string) []reconcile.Request {
	var gws gwv1.GatewayList
	if err := r.Client.List(ctx, &gws, client.MatchingFields{field: value}); err != nil {
		log.FromContext(ctx).Error(err, "list Gateways by index", "index", field, "value", value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(gws.Items))
	for _, gw := range gws.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gw)})
	}
	return reqs
}

func (r *GatewayReconciler) gatewaysForClass(ctx context.Context, o client.Object) []reconcile.Request {
	return r.gatewaysMatching(ctx, indexGatewayClass, o.GetName())
}

func (r *GatewayReconciler) gatewaysForConfig(ctx context.Context, o client.Object) []reconcile.Request {
	key := o.GetNamespace() + "/" + o.GetName()
	reqs := r.gatewaysMatching(ctx, indexGatewayParams, key)
	var classes gwv1.GatewayClassList
	if err := r.Client.List(ctx, &classes, client.MatchingFields{indexClassParams: key}); err != nil {
		log.FromContext(ctx).Error(err, "list GatewayClasses for GatewayConfiguration", "configuration", key)
		return reqs
	}
	for _, c := range classes.Items {
		reqs = append(reqs, r.gatewaysMatching(ctx, indexGatewayClass, c.Name)...)
	}
	return reqs
}

func (r *GatewayReconciler) gatewaysForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	// The admin CA changed or went away: a rotation. Every Gateway gets an
	// admin certificate from the CA now in the Secret (or a new one).
	if r.PKI != nil && o.GetNamespace() == r.PKI.Namespace && o.GetName() == CASecretName {
		r.PKI.CASecretChanged()
		return r.allGateways(ctx, o)
	}
	reqs := r.gatewaysMatching(ctx, indexGatewaySecrets, o.GetNamespace()+"/"+o.GetName())
	reqs = append(reqs, r.gatewaysForListenerSetSecret(ctx, o)...)
	reqs = append(reqs, r.gatewaysForPluginSecret(ctx, o)...)
	// Our own admin certificate Secrets go back to their Gateway, so a
	// deleted or edited one is reissued.
	if o.GetLabels()[provision.LabelManagedBy] == provision.ManagedByValue {
		if owner := metav1.GetControllerOf(o); owner != nil && owner.Kind == "Gateway" {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: owner.Name}})
		}
	}
	return reqs
}
