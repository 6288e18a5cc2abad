package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tlsroutes;tcproutes;udproutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes/status;grpcroutes/status;tlsroutes/status;tcproutes/status;udproutes/status,verbs=get;patch;update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch

// translateRoutes snapshots everything attached to the Gateway and
// translates it to Kong configuration, leaving out the objects Kong rejected
// before (as long as they are unchanged). Route status is written at the end
// of the reconcile, once it is known whether the configuration is live.
func (r *GatewayReconciler) translateRoutes(ctx context.Context, s *gatewayScope) error {
	routes, snap, err := r.snapshot(ctx, s)
	if err != nil {
		return err
	}
	t := &translation{routes: routes, full: snap, versions: objectVersions(routes, snap)}
	t.excluded = r.rejected.current(client.ObjectKeyFromObject(s.gateway), t.versions)
	s.translation = t
	return r.retranslate(ctx, s)
}

// retranslate translates the snapshot without the excluded objects and
// records the configuration for the data plane.
func (r *GatewayReconciler) retranslate(ctx context.Context, s *gatewayScope) error {
	t := s.translation
	start := time.Now()
	snap := withoutRejected(t.full, t.routes, t.excluded)
	if t.separateRoutes {
		separate := *snap
		separate.SeparateRoutes = true
		snap = &separate
	}
	res, err := translate.Translate(snap)
	if err != nil {
		s.translation = nil
		if errors.Is(err, translate.ErrNotOurGateway) {
			return nil
		}
		return fmt.Errorf("translate routes of Gateway %s/%s: %w", s.gateway.Namespace, s.gateway.Name, err)
	}
	r.Metrics.ObserveTranslation(s.gateway.Namespace, s.gateway.Name, time.Since(start))
	// Only the JSON is pushed: the entity tree it was encoded from would
	// otherwise stay live through the push and the status writes, the
	// largest thing a reconcile holds after translating.
	res.Config = nil
	t.result = res
	s.attachedRoutes = map[gwv1.SectionName]int32{}
	for _, l := range res.Listeners {
		s.attachedRoutes[l.Name] = l.AttachedRoutes
	}
	r.Configs.SetSecretFields(client.ObjectKeyFromObject(s.gateway), secretFieldsOf(t.full.KongPlugins))
	cfg, changed := r.Configs.Set(client.ObjectKeyFromObject(s.gateway), s.gateway.Generation, res.JSON, time.Now())
	if changed {
		log.FromContext(ctx).Info("configuration translated", "sha256", cfg.SHA256, "bytes", len(cfg.JSON),
			"routes", len(res.Routes), "excluded", len(t.excluded), "duration", time.Since(start))
		for _, w := range res.Warnings {
			r.Recorder.Eventf(s.gateway, nil, corev1.EventTypeWarning, "TranslationWarning", "Translate", "%s", w)
		}
	}
	return nil
}

// snapshot reads the routes that name the Gateway and everything they need.
func (r *GatewayReconciler) snapshot(ctx context.Context, s *gatewayScope) ([]client.Object, *translate.Snapshot, error) {
	snap := &translate.Snapshot{
		GatewayClass: s.class, Gateway: s.gateway, Listeners: s.listeners,
		ListenerSets: s.listenerSetObjs, ListenerSetResults: s.listenerSets,
		Secrets: s.secrets, ReferenceGrants: s.grants, Namespaces: s.namespaces,
	}
	routes, err := r.routesOf(ctx, client.ObjectKeyFromObject(s.gateway).String(), s.listenerSetClaims)
	if err != nil {
		return nil, nil, err
	}
	backendNamespaces := map[string]bool{}
	// The snapshot holds the routes by value. Sized up front, its slices
	// never move, so routes can point into them instead of into the lists
	// they were read with: one copy of every route stays live through the
	// reconcile instead of two (with 5,000 routes, about 2 MB less).
	counts := map[string]int{}
	for _, obj := range routes {
		counts[kindOf(obj)]++
	}
	snap.HTTPRoutes = slices.Grow(snap.HTTPRoutes, counts["HTTPRoute"])
	snap.GRPCRoutes = slices.Grow(snap.GRPCRoutes, counts["GRPCRoute"])
	snap.TLSRoutes = slices.Grow(snap.TLSRoutes, counts["TLSRoute"])
	snap.TCPRoutes = slices.Grow(snap.TCPRoutes, counts["TCPRoute"])
	snap.UDPRoutes = slices.Grow(snap.UDPRoutes, counts["UDPRoute"])
	for i, obj := range routes {
		switch rt := obj.(type) {
		case *gwv1.HTTPRoute:
			snap.HTTPRoutes = append(snap.HTTPRoutes, *rt)
			routes[i] = &snap.HTTPRoutes[len(snap.HTTPRoutes)-1]
		case *gwv1.GRPCRoute:
			snap.GRPCRoutes = append(snap.GRPCRoutes, *rt)
			routes[i] = &snap.GRPCRoutes[len(snap.GRPCRoutes)-1]
		case *gwv1.TLSRoute:
			snap.TLSRoutes = append(snap.TLSRoutes, *rt)
			routes[i] = &snap.TLSRoutes[len(snap.TLSRoutes)-1]
		case *gwv1.TCPRoute:
			snap.TCPRoutes = append(snap.TCPRoutes, *rt)
			routes[i] = &snap.TCPRoutes[len(snap.TCPRoutes)-1]
		case *gwv1.UDPRoute:
			snap.UDPRoutes = append(snap.UDPRoutes, *rt)
			routes[i] = &snap.UDPRoutes[len(snap.UDPRoutes)-1]
		}
		for _, key := range routeBackendRefs(obj) {
			ns, _, _ := strings.Cut(key, "/")
			backendNamespaces[ns] = true
		}
	}
	for _, ns := range sortedSet(backendNamespaces) {
		var svcs corev1.ServiceList
		// Read-only, like the routes above.
		if err := r.Client.List(ctx, &svcs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return nil, nil, fmt.Errorf("list Services in %s: %w", ns, err)
		}
		snap.Services = append(snap.Services, svcs.Items...)
		var slices discoveryv1.EndpointSliceList
		if err := r.Client.List(ctx, &slices, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return nil, nil, fmt.Errorf("list EndpointSlices in %s: %w", ns, err)
		}
		snap.EndpointSlices = append(snap.EndpointSlices, slices.Items...)
	}
	if err := r.snapshotPlugins(ctx, s, snap, routes); err != nil {
		return nil, nil, err
	}
	if err := r.snapshotBackendTLS(ctx, snap, sortedSet(backendNamespaces)); err != nil {
		return nil, nil, err
	}
	return routes, snap, nil
}

// routesOf lists the routes of every installed kind that name a Gateway
// ("namespace/name") or one of its ListenerSets in their parentRefs or in
// our status entries.
func (r *GatewayReconciler) routesOf(ctx context.Context, gateway string, listenerSets map[string]bool) ([]client.Object, error) {
	var out []client.Object
	seen := map[objectRef]bool{}
	list := func(k routeKind, field, value string) error {
		l := k.newList()
		// The routes are read, never written, until writeRouteStatuses
		// copies the ones whose status changes: no copy of thousands of
		// cached routes on every reconcile (TestTranslateLeavesItsInputAlone
		// holds translation to that).
		if err := r.Client.List(ctx, l, client.MatchingFields{field: value}, client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("list %ss by %s: %w", k.kind, value, err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return fmt.Errorf("read %s list: %w", k.kind, err)
		}
		for _, item := range items {
			obj := item.(client.Object)
			ref := objectRef{k.kind, obj.GetNamespace(), obj.GetName()}
			if !seen[ref] {
				seen[ref] = true
				out = append(out, obj)
			}
		}
		return nil
	}
	for _, k := range r.RouteKinds {
		if err := list(k, indexRouteGateways, gateway); err != nil {
			return nil, err
		}
		for _, ls := range sortedSet(listenerSets) {
			if err := list(k, indexRouteListenerSets, ls); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// listenerSetKeys are the "namespace/name" keys of a Gateway's ListenerSets.
func listenerSetKeys(sets []gatewayapi.ListenerSetResult) map[string]bool {
	keys := map[string]bool{}
	for _, ls := range sets {
		keys[ls.Key.String()] = true
	}
	return keys
}

// writeRouteStatuses merges this Gateway's results into each route's
// status.parents and patches the routes whose status changed. Entries of
// other controllers and of other Gateways are kept. The patch is guarded by
// resourceVersion, because several Gateways may write one route's status.
func (r *GatewayReconciler) writeRouteStatuses(ctx context.Context, gw *gwv1.Gateway, listenerSets map[string]bool, routes []client.Object, results []translate.RouteParentResult) error {
	byRoute := map[translate.RouteKey][]translate.RouteParentResult{}
	for _, res := range results {
		byRoute[res.Route] = append(byRoute[res.Route], res)
	}
	var errs []error
	for _, obj := range routes {
		key := translate.RouteKey{Kind: kindOf(obj), Namespace: obj.GetNamespace(), Name: obj.GetName()}
		parents := routeParents(obj)
		merged := translate.MergeParentStatuses(*parents, byRoute[key], refersTo(obj.GetNamespace(), gw.Namespace, gw.Name, listenerSets))
		if reflect.DeepEqual(merged, *parents) || (len(merged) == 0 && len(*parents) == 0) {
			continue
		}
		// obj is the informer cache's own object (routesOf does not copy):
		// change a copy.
		original := obj
		obj = obj.DeepCopyObject().(client.Object)
		*routeParents(obj) = merged
		patch := client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})
		if err := r.Client.Status().Patch(ctx, obj, patch); apierrors.IsNotFound(err) {
			continue // deleted since it was read: no status to write
		} else if err != nil {
			errs = append(errs, fmt.Errorf("patch status of %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// clearRouteStatuses removes this Gateway's entries (and those for its
// ListenerSets) from the routes that still name it, when the Gateway goes
// away.
func (r *GatewayReconciler) clearRouteStatuses(ctx context.Context, gw *gwv1.Gateway, listenerSets map[string]bool) error {
	routes, err := r.routesOf(ctx, client.ObjectKeyFromObject(gw).String(), listenerSets)
	if err != nil {
		return err
	}
	return r.writeRouteStatuses(ctx, gw, listenerSets, routes, nil)
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *gwv1.HTTPRoute:
		return "HTTPRoute"
	case *gwv1.GRPCRoute:
		return "GRPCRoute"
	case *gwv1.TLSRoute:
		return "TLSRoute"
	case *gwv1.TCPRoute:
		return "TCPRoute"
	case *gwv1.UDPRoute:
		return "UDPRoute"
	}
	return ""
}

// gatewaysForRoute maps a route event to the Gateways it names (now or in its
// status, so a Gateway it left clears its entry).
func (r *GatewayReconciler) gatewaysForRoute(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, key := range routeGateways(o) {
		ns, name, _ := strings.Cut(key, "/")
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}})
	}
	// A route on a ListenerSet is translated by the ListenerSet's Gateway.
	return append(reqs, r.gatewaysOfListenerSets(ctx, routeListenerSets(o))...)
}

// gatewaysForBackend maps a Service (or its EndpointSlices) to the Gateways
// of the routes that use it as a backend.
func (r *GatewayReconciler) gatewaysForBackend(ctx context.Context, namespace, service string) []reconcile.Request {
	seen := map[client.ObjectKey]bool{}
	var reqs []reconcile.Request
	for _, k := range r.RouteKinds {
		list := k.newList()
		if err := r.Client.List(ctx, list, client.MatchingFields{indexRouteBackends: namespace + "/" + service}); err != nil {
			log.FromContext(ctx).Error(err, "list routes by backend", "kind", k.kind, "service", namespace+"/"+service)
			continue
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			for _, req := range r.gatewaysForRoute(ctx, item.(client.Object)) {
				if !seen[req.NamespacedName] {
					seen[req.NamespacedName] = true
					reqs = append(reqs, req)
				}
			}
		}
	}
	return reqs
}

func (r *GatewayReconciler) gatewaysForService(ctx context.Context, o client.Object) []reconcile.Request {
	return r.gatewaysForBackend(ctx, o.GetNamespace(), o.GetName())
}

func (r *GatewayReconciler) gatewaysForEndpointSlice(ctx context.Context, o client.Object) []reconcile.Request {
	service := o.GetLabels()[discoveryv1.LabelServiceName]
	if service == "" {
		return nil
	}
	reqs := r.gatewaysForBackend(ctx, o.GetNamespace(), service)
	// A Gateway's own admin Service: its endpoints are the Kong replicas to
	// configure.
	var gws gwv1.GatewayList
	if err := r.Client.List(ctx, &gws, client.InNamespace(o.GetNamespace())); err != nil {
		log.FromContext(ctx).Error(err, "list Gateways", "namespace", o.GetNamespace())
		return reqs
	}
	for i := range gws.Items {
		if provision.NamesFor(&gws.Items[i]).Admin == service {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gws.Items[i])})
		}
	}
	return reqs
}

// gatewaysForNamespace maps a Namespace event to the Gateways it can
// change: those in the namespace (one being deleted is not provisioned),
// and those that admit routes, ListenerSets or consumers by a namespace
// label selector, in their own listeners or in a ListenerSet's. Every other
// Gateway reads nothing of a namespace but its name, and the routes,
// ListenerSets and consumers in it bring their own events. Enqueueing every
// Gateway instead made creating N namespaces cost N times every Gateway's
// reconcile (a fleet of Gateways, each in a namespace of its own).
func (r *GatewayReconciler) gatewaysForNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var gws gwv1.GatewayList
	if err := r.Client.List(ctx, &gws); err != nil {
		log.FromContext(ctx).Error(err, "list Gateways")
		return nil
	}
	selecting := map[types.NamespacedName]bool{}
	if r.ListenerSets {
		var sets gwv1.ListenerSetList
		if err := r.Client.List(ctx, &sets); err != nil {
			log.FromContext(ctx).Error(err, "list ListenerSets")
			return nil
		}
		for i := range sets.Items {
			set := &sets.Items[i]
			for _, l := range set.Spec.Listeners {
				if selectsNamespaces(l.AllowedRoutes) {
					if key, ok := gatewayapi.ListenerSetParent(set); ok {
						selecting[key] = true
					}
				}
			}
		}
	}
	var reqs []reconcile.Request
	for i := range gws.Items {
		gw := &gws.Items[i]
		key := client.ObjectKeyFromObject(gw)
		if gw.Namespace == ns.GetName() || selecting[key] || gatewaySelectsNamespaces(gw) {
			reqs = append(reqs, reconcile.Request{NamespacedName: key})
		}
	}
	return reqs
}

// gatewaySelectsNamespaces reports whether a Gateway admits routes or
// ListenerSets by namespace labels.
func gatewaySelectsNamespaces(gw *gwv1.Gateway) bool {
	for _, l := range gw.Spec.Listeners {
		if selectsNamespaces(l.AllowedRoutes) {
			return true
		}
	}
	al := gw.Spec.AllowedListeners
	return al != nil && al.Namespaces != nil && al.Namespaces.From != nil && *al.Namespaces.From == gwv1.NamespacesFromSelector
}

func selectsNamespaces(ar *gwv1.AllowedRoutes) bool {
	return ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil && *ar.Namespaces.From == gwv1.NamespacesFromSelector
}

// namespaceChanged passes Namespace updates that can matter to a Gateway:
// labels (selectors), and the start of deletion.
var namespaceChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		if e.ObjectOld == nil || e.ObjectNew == nil {
			return true
		}
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) ||
			(e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil)
	},
}

// allGateways answers events that can change any Gateway's translation
// (ReferenceGrants, and the plugin and class objects that name no Gateway).
func (r *GatewayReconciler) allGateways(ctx context.Context, _ client.Object) []reconcile.Request {
	var gws gwv1.GatewayList
	if err := r.Client.List(ctx, &gws); err != nil {
		log.FromContext(ctx).Error(err, "list Gateways")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(gws.Items))
	for i := range gws.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gws.Items[i])})
	}
	return reqs
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
