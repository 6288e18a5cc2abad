package controllers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=listenersets,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=listenersets/status,verbs=get;patch;update

// listenerSetsInstalled reports whether the API server serves ListenerSets;
// without the CRD the Gateways simply have no ListenerSets.
func listenerSetsInstalled(ctx context.Context, reader client.Reader, mapper meta.RESTMapper) (bool, error) {
	return kindInstalled(ctx, reader, mapper, "ListenerSet")
}

// loadListenerSets reads the ListenerSets that name the Gateway and the
// Secrets their listeners reference, and decides them. It runs after the
// Gateway's own listeners are validated, because those take precedence.
func (r *GatewayReconciler) loadListenerSets(ctx context.Context, s *gatewayScope, secrets map[types.NamespacedName]*corev1.Secret) error {
	if !r.ListenerSets {
		return nil
	}
	var list gwv1.ListenerSetList
	key := client.ObjectKeyFromObject(s.gateway).String()
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexListenerSetGateway: key}); err != nil {
		return fmt.Errorf("list ListenerSets of Gateway %s: %w", key, err)
	}
	s.listenerSetObjs = list.Items
	for i := range list.Items {
		for _, ref := range gatewayapi.ListenerSetSecretRefs(&list.Items[i]) {
			if _, done := secrets[ref]; done {
				continue
			}
			var secret corev1.Secret
			if err := r.APIReader.Get(ctx, ref, &secret); err != nil {
				if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
					continue
				}
				return fmt.Errorf("get ListenerSet Secret %s: %w", ref, err)
			}
			secrets[ref] = &secret
			s.secrets = append(s.secrets, secret)
		}
	}
	s.listenerSets = gatewayapi.ValidateListenerSets(gatewayapi.ListenerSetInput{
		ListenerInput:    gatewayapi.ListenerInput{Gateway: s.gateway, Secrets: secrets, ConfigMaps: s.caConfigMaps, ReferenceGrants: s.grants},
		GatewayListeners: s.listeners,
		ListenerSets:     list.Items,
		Namespaces:       s.namespaces,
	})
	s.listenerSetClaims = r.servedSets.claims(client.ObjectKeyFromObject(s.gateway), listenerSetKeys(s.listenerSets))
	return nil
}

// servedListenerSets remembers, per Gateway, the ListenerSets whose route
// status entries it last wrote. A ListenerSet that is deleted, or moves to
// another Gateway, no longer shows up in the Gateway's list, yet routes may
// still carry entries for it: the remembered keys let the Gateway that wrote
// them clear them. The memory is lost on restart, which leaves at worst a
// stale entry, as before.
type servedListenerSets struct {
	mu sync.Mutex
	m  map[types.NamespacedName]map[string]bool
}

// claims returns the ListenerSet keys whose route status entries the Gateway
// owns in this reconcile: the current ones and those it wrote before.
func (m *servedListenerSets) claims(gw types.NamespacedName, current map[string]bool) map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for k := range m.m[gw] {
		out[k] = true
	}
	for k := range current {
		out[k] = true
	}
	return out
}

// settle records the current ListenerSets once route statuses were written,
// so departed ones are claimed no longer.
func (m *servedListenerSets) settle(gw types.NamespacedName, current map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[types.NamespacedName]map[string]bool{}
	}
	m.m[gw] = current
}

func (m *servedListenerSets) forget(gw types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, gw)
}

// attachedListenerSets counts the ListenerSets whose listeners the Gateway
// serves, for status.attachedListenerSets.
func attachedListenerSets(s *gatewayScope) int32 {
	n := int32(0)
	for _, ls := range s.listenerSets {
		if ls.Attached() {
			n++
		}
	}
	return n
}

// writeListenerSetStatuses patches the status of every ListenerSet of the
// Gateway whose status changed. It runs deferred with the Gateway status,
// so a ListenerSet is Programmed only once its Gateway is.
func (r *GatewayReconciler) writeListenerSetStatuses(ctx context.Context, s *gatewayScope, gatewayProgrammed bool) error {
	objs := map[types.NamespacedName]*gwv1.ListenerSet{}
	for i := range s.listenerSetObjs {
		objs[client.ObjectKeyFromObject(&s.listenerSetObjs[i])] = &s.listenerSetObjs[i]
	}
	var attached map[types.NamespacedName]translate.ListenerSetStatus
	if s.translation != nil && s.translation.result != nil {
		attached = map[types.NamespacedName]translate.ListenerSetStatus{}
		for _, ls := range s.translation.result.ListenerSets {
			attached[ls.Verdict.Key] = ls
		}
	}
	var errs []error
	for _, res := range s.listenerSets {
		ls, ok := objs[res.Key]
		if !ok {
			continue
		}
		var counts map[gwv1.SectionName]int32
		if st, ok := attached[res.Key]; ok {
			counts = map[gwv1.SectionName]int32{}
			for _, l := range st.Listeners {
				counts[l.Name] = l.AttachedRoutes
			}
		}
		status := listenerSetStatus(s, ls, res, counts, gatewayProgrammed)
		if reflect.DeepEqual(status, ls.Status) {
			continue
		}
		wasAccepted := meta.FindStatusCondition(ls.Status.Conditions, string(gwv1.ListenerSetConditionAccepted))
		original := ls.DeepCopy()
		ls.Status = status
		if err := r.Client.Status().Patch(ctx, ls, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("patch status of ListenerSet %s: %w", res.Key, err))
			}
			continue
		}
		// One event per change of verdict, not one per reconcile.
		now := meta.FindStatusCondition(status.Conditions, string(gwv1.ListenerSetConditionAccepted))
		if now != nil && now.Status != metav1.ConditionTrue &&
			(wasAccepted == nil || wasAccepted.Status != now.Status || wasAccepted.Reason != now.Reason) {
			r.Recorder.Eventf(ls, s.gateway, corev1.EventTypeWarning, now.Reason, "Attach", "%s", now.Message)
		}
	}
	return errors.Join(errs...)
}

// listenerSetStatus builds the status of one ListenerSet, keeping existing
// conditions so their transition times only move on real changes. counts
// are the attached routes per listener; nil keeps the last reported ones.
func listenerSetStatus(s *gatewayScope, ls *gwv1.ListenerSet, res gatewayapi.ListenerSetResult, counts map[gwv1.SectionName]int32, gatewayProgrammed bool) gwv1.ListenerSetStatus {
	gen := ls.Generation
	status := *ls.Status.DeepCopy()
	accepted := res.Accepted
	acceptedType, programmedType := string(gwv1.ListenerSetConditionAccepted), string(gwv1.ListenerSetConditionProgrammed)
	if s.invalidParams != "" && accepted.Status == metav1.ConditionTrue {
		accepted = gatewayapi.False(acceptedType, string(gwv1.ListenerSetReasonParentNotAccepted),
			fmt.Sprintf("Gateway %s/%s is not accepted: %s", s.gateway.Namespace, s.gateway.Name, s.invalidParams))
	}
	var programmed gatewayapi.Condition
	switch {
	case accepted.Status != metav1.ConditionTrue:
		programmed = gatewayapi.False(programmedType, accepted.Reason, "Not programmed: "+accepted.Message)
	case !gatewayProgrammed:
		programmed = gatewayapi.False(programmedType, string(gwv1.ListenerSetReasonPending),
			fmt.Sprintf("Waiting for Gateway %s/%s to be programmed", s.gateway.Namespace, s.gateway.Name))
	default:
		programmed = gatewayapi.True(programmedType, string(gwv1.ListenerSetReasonProgrammed), "The ListenerSet's listeners are live on the Gateway's data plane")
	}
	gatewayapi.Set(&status.Conditions, gen, accepted)
	gatewayapi.Set(&status.Conditions, gen, programmed)

	previous := map[gwv1.SectionName]gwv1.ListenerEntryStatus{}
	for _, l := range ls.Status.Listeners {
		previous[l.Name] = l
	}
	status.Listeners = make([]gwv1.ListenerEntryStatus, 0, len(res.Listeners))
	for _, l := range res.Listeners {
		entry := gwv1.ListenerEntryStatus{Name: l.Name, SupportedKinds: l.SupportedKinds}
		if prev, ok := previous[l.Name]; ok {
			entry.Conditions = prev.Conditions
			entry.AttachedRoutes = prev.AttachedRoutes
		}
		if counts != nil {
			entry.AttachedRoutes = counts[l.Name]
		}
		if !res.Attached() {
			entry.AttachedRoutes = 0
		}
		entry.Conditions = listenerConditions(entry.Conditions, gen, l, listenerProgrammed(l, accepted, gatewayProgrammed))
		status.Listeners = append(status.Listeners, entry)
	}
	return status
}

// listenerProgrammed decides a ListenerSet listener's Programmed condition.
// A conflicted listener carries the conflict's reason, as the API asks.
func listenerProgrammed(l gatewayapi.ListenerResult, setAccepted gatewayapi.Condition, gatewayProgrammed bool) gatewayapi.Condition {
	programmedType := string(gwv1.ListenerConditionProgrammed)
	switch {
	case l.Conflicted.Status == metav1.ConditionTrue:
		return gatewayapi.False(programmedType, l.Conflicted.Reason, "Not programmed: "+l.Conflicted.Message)
	case !l.Valid():
		return gatewayapi.False(programmedType, string(gwv1.ListenerReasonInvalid), "Listener is not valid; see its other conditions")
	case setAccepted.Status != metav1.ConditionTrue:
		return gatewayapi.False(programmedType, string(gwv1.ListenerReasonInvalid), "The ListenerSet is not accepted: "+setAccepted.Message)
	case !gatewayProgrammed:
		return gatewayapi.False(programmedType, string(gwv1.ListenerReasonPending), "Waiting for the Gateway to be programmed")
	}
	return gatewayapi.True(programmedType, string(gwv1.ListenerReasonProgrammed), "Listener is programmed")
}

// gatewayForListenerSet maps a ListenerSet event to the Gateway it names.
// On an update the handler calls it for the old and the new object, so a
// Gateway the ListenerSet left is reconciled too.
func (r *GatewayReconciler) gatewayForListenerSet(_ context.Context, o client.Object) []reconcile.Request {
	ls, ok := o.(*gwv1.ListenerSet)
	if !ok {
		return nil
	}
	if key, ok := gatewayapi.ListenerSetParent(ls); ok {
		return []reconcile.Request{{NamespacedName: key}}
	}
	return nil
}

// gatewaysOfListenerSets maps "namespace/name" ListenerSet keys to their
// Gateways, read from the cache.
func (r *GatewayReconciler) gatewaysOfListenerSets(ctx context.Context, keys []string) []reconcile.Request {
	if !r.ListenerSets {
		return nil
	}
	var reqs []reconcile.Request
	for _, k := range keys {
		var ls gwv1.ListenerSet
		ns, name := splitKey(k)
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ls); err != nil {
			if !apierrors.IsNotFound(err) {
				log.FromContext(ctx).Error(err, "get ListenerSet", "listenerSet", k)
			}
			continue
		}
		reqs = append(reqs, r.gatewayForListenerSet(ctx, &ls)...)
	}
	return reqs
}

func (r *GatewayReconciler) gatewaysForListenerSetSecret(ctx context.Context, o client.Object) []reconcile.Request {
	if !r.ListenerSets {
		return nil
	}
	var list gwv1.ListenerSetList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexListenerSetSecrets: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list ListenerSets by Secret", "secret", o.GetNamespace()+"/"+o.GetName())
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		reqs = append(reqs, r.gatewayForListenerSet(ctx, &list.Items[i])...)
	}
	return reqs
}
