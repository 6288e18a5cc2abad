package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"

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

// BackendTLSPolicy support: the Gateway reconciler reads the policies of
// its backends' namespaces and the CA ConfigMaps they reference (straight
// from the API server: the cache holds ConfigMap metadata only), and writes
// its verdict into each policy's status.ancestors, with the Gateway as the
// ancestor, next to the entries of other Gateways and other controllers.

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=backendtlspolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=backendtlspolicies/status,verbs=get;patch;update

// backendTLSPoliciesInstalled reports whether the BackendTLSPolicy CRD is
// served.
func backendTLSPoliciesInstalled(ctx context.Context, reader client.Reader, mapper meta.RESTMapper) (bool, error) {
	return kindInstalled(ctx, reader, mapper, "BackendTLSPolicy")
}

// snapshotBackendTLS adds the BackendTLSPolicies of the backend namespaces
// and the ConfigMaps they reference as CA certificates.
func (r *GatewayReconciler) snapshotBackendTLS(ctx context.Context, snap *translate.Snapshot, backendNamespaces []string) error {
	if !r.BackendTLSPolicies {
		return nil
	}
	for _, ns := range backendNamespaces {
		var list gwv1.BackendTLSPolicyList
		if err := r.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("list BackendTLSPolicies in %s: %w", ns, err)
		}
		snap.BackendTLSPolicies = append(snap.BackendTLSPolicies, list.Items...)
	}
	for _, key := range caConfigMapRefs(snap.BackendTLSPolicies) {
		var cm corev1.ConfigMap
		if err := r.APIReader.Get(ctx, key, &cm); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue // translation reports the missing ConfigMap on the policy
			}
			return fmt.Errorf("get CA ConfigMap %s: %w", key, err)
		}
		snap.ConfigMaps = append(snap.ConfigMaps, cm)
	}
	return nil
}

// caConfigMapRefs lists the ConfigMaps policies reference as CA
// certificates, sorted.
func caConfigMapRefs(policies []gwv1.BackendTLSPolicy) []types.NamespacedName {
	set := map[types.NamespacedName]bool{}
	for i := range policies {
		for _, k := range policyConfigMaps(&policies[i]) {
			set[k] = true
		}
	}
	out := make([]types.NamespacedName, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func policyConfigMaps(p *gwv1.BackendTLSPolicy) []types.NamespacedName {
	var out []types.NamespacedName
	for _, ref := range p.Spec.Validation.CACertificateRefs {
		if ref.Group == "" && ref.Kind == "ConfigMap" {
			out = append(out, types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)})
		}
	}
	return out
}

// backendTLSAncestorGateways returns "namespace/name" of the Gateways with
// an entry of ours in a policy's status.
func backendTLSAncestorGateways(p *gwv1.BackendTLSPolicy) []string {
	var out []string
	for _, a := range p.Status.Ancestors {
		if string(a.ControllerName) == gatewayapi.ControllerName && isGatewayRef(a.AncestorRef) && a.AncestorRef.Namespace != nil {
			out = append(out, string(*a.AncestorRef.Namespace)+"/"+string(a.AncestorRef.Name))
		}
	}
	return out
}

// mergeBackendTLSAncestors replaces this Gateway's entry in a policy's
// status.ancestors; entries of other controllers and other Gateways are
// kept exactly as they are. res nil removes the entry.
func mergeBackendTLSAncestors(existing []gwv1.PolicyAncestorStatus, gw types.NamespacedName, res *translate.BackendTLSPolicyResult) []gwv1.PolicyAncestorStatus {
	out := []gwv1.PolicyAncestorStatus{}
	var previous []metav1.Condition
	at := -1
	for _, a := range existing {
		if string(a.ControllerName) == gatewayapi.ControllerName && isThisGateway(a.AncestorRef, gw) {
			if at < 0 {
				previous, at = a.Conditions, len(out)
			}
			continue
		}
		out = append(out, a)
	}
	if res != nil {
		conds := append([]metav1.Condition(nil), previous...)
		gatewayapi.Set(&conds, res.Generation, res.Accepted)
		gatewayapi.Set(&conds, res.Generation, res.ResolvedRefs)
		entry := gwv1.PolicyAncestorStatus{AncestorRef: res.AncestorRef, ControllerName: gwv1.GatewayController(gatewayapi.ControllerName), Conditions: conds}
		// Keep the entry where it was, so a status with foreign entries
		// does not reorder on every write.
		if at >= 0 && at <= len(out) {
			out = append(out[:at], append([]gwv1.PolicyAncestorStatus{entry}, out[at:]...)...)
		} else if len(out) < maxPolicyAncestors {
			out = append(out, entry)
		}
	}
	// An empty list, never nil: status.ancestors is required, and a merge
	// patch to nil would delete the field, which the API server refuses.
	return out
}

// writeBackendTLSPolicyStatuses writes this Gateway's verdicts into the
// policies it judged and removes its entries from those it no longer
// sends traffic to (all of them when results is nil).
func (r *GatewayReconciler) writeBackendTLSPolicyStatuses(ctx context.Context, gw *gwv1.Gateway, judged []gwv1.BackendTLSPolicy, results []translate.BackendTLSPolicyResult) error {
	if !r.BackendTLSPolicies {
		return nil
	}
	key := client.ObjectKeyFromObject(gw)
	byPolicy := map[types.NamespacedName]*translate.BackendTLSPolicyResult{}
	for i := range results {
		byPolicy[results[i].Policy] = &results[i]
	}
	candidates := map[types.NamespacedName]*gwv1.BackendTLSPolicy{}
	for i := range judged {
		if _, ok := byPolicy[client.ObjectKeyFromObject(&judged[i])]; ok {
			candidates[client.ObjectKeyFromObject(&judged[i])] = judged[i].DeepCopy()
		}
	}
	var stale gwv1.BackendTLSPolicyList
	if err := r.Client.List(ctx, &stale, client.MatchingFields{indexBackendTLSPolicyAncestors: key.String()}); err != nil {
		return fmt.Errorf("list BackendTLSPolicies with status from Gateway %s: %w", key, err)
	}
	for i := range stale.Items {
		k := client.ObjectKeyFromObject(&stale.Items[i])
		if candidates[k] == nil {
			candidates[k] = stale.Items[i].DeepCopy()
		}
	}
	keys := make([]types.NamespacedName, 0, len(candidates))
	for k := range candidates {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var errs []error
	for _, k := range keys {
		p := candidates[k]
		res := byPolicy[k]
		merged := mergeBackendTLSAncestors(p.Status.Ancestors, key, res)
		if equalAncestors(merged, p.Status.Ancestors) {
			continue
		}
		original := p.DeepCopy()
		p.Status.Ancestors = merged
		if err := r.Client.Status().Patch(ctx, p, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("patch status of BackendTLSPolicy %s: %w", k, err))
			}
			continue
		}
		if res != nil && res.Accepted.Status == metav1.ConditionFalse && !wasFalse(original.Status.Ancestors, key, res.Accepted.Message) {
			r.Recorder.Eventf(p, gw, corev1.EventTypeWarning, res.Accepted.Reason, "Translate", "not applied by Gateway %s: %s", key, res.Accepted.Message)
		}
	}
	return errors.Join(errs...)
}

// writeBackendTLSStatuses runs at the end of a reconcile.
func (r *GatewayReconciler) writeBackendTLSStatuses(ctx context.Context, s *gatewayScope) error {
	if s.translation == nil || s.translation.result == nil {
		return nil
	}
	return r.writeBackendTLSPolicyStatuses(ctx, s.gateway, s.translation.full.BackendTLSPolicies, s.translation.result.BackendTLSPolicies)
}

// gatewaysForBackendTLSPolicy maps a policy to the Gateways of the routes
// that use its target Services, and to those with an entry in its status
// (to clear it).
func (r *GatewayReconciler) gatewaysForBackendTLSPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*gwv1.BackendTLSPolicy)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, ref := range p.Spec.TargetRefs {
		if ref.Group == "" && ref.Kind == "Service" {
			reqs = append(reqs, r.gatewaysForBackend(ctx, p.Namespace, string(ref.Name))...)
		}
	}
	for _, key := range backendTLSAncestorGateways(p) {
		ns, name := splitKey(key)
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	return dedupRequests(reqs)
}

// gatewaysForCAConfigMap maps a ConfigMap to the Gateways of the policies
// that reference it as CA certificates.
func (r *GatewayReconciler) gatewaysForCAConfigMap(ctx context.Context, o client.Object) []reconcile.Request {
	if !r.BackendTLSPolicies {
		return nil
	}
	var list gwv1.BackendTLSPolicyList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexBackendTLSPolicyConfigMaps: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list BackendTLSPolicies by CA ConfigMap")
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		reqs = append(reqs, r.gatewaysForBackendTLSPolicy(ctx, &list.Items[i])...)
	}
	return reqs
}

// gatewayResolvedRefs is the Gateway's ResolvedRefs condition: its backend
// client certificate, then its listeners.
func gatewayResolvedRefs(s *gatewayScope) gatewayapi.Condition {
	secrets := map[types.NamespacedName]*corev1.Secret{}
	for i := range s.secrets {
		secrets[client.ObjectKeyFromObject(&s.secrets[i])] = &s.secrets[i]
	}
	_, clientCert, _ := gatewayapi.ValidateBackendClientCertificate(gatewayapi.ListenerInput{
		Gateway: s.gateway, Secrets: secrets, ReferenceGrants: s.grants,
	})
	if s.translation != nil && s.translation.result != nil && s.translation.result.BackendClientCertificate != nil {
		clientCert = *s.translation.result.BackendClientCertificate
	}
	return gatewayapi.GatewayResolvedRefs(clientCert, s.listeners)
}
