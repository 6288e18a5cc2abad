package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/api/v1alpha1"
	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/provision"
	"github.com/drawbridge-dev/drawbridge/internal/translate"
)

// +kubebuilder:rbac:groups=gateway.drawbridge.dev,resources=kongplugins;kongconsumers,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.drawbridge.dev,resources=kongplugins/status;kongconsumers/status,verbs=get;patch;update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete

// Condition types and reasons of a KongConsumer.
const (
	ConsumerConditionAccepted   = "Accepted"
	ConsumerConditionProgrammed = "Programmed"
	ConsumerReasonAccepted      = "Accepted"
	ConsumerReasonInvalid       = "Invalid"
	ConsumerReasonProgrammed    = "Programmed"
	ConsumerReasonPending       = "Pending"
	// maxPolicyAncestors is the most status.ancestors entries the
	// KongPlugin CRD (GEP-713 PolicyStatus) accepts.
	maxPolicyAncestors = 16
)

// Kinds of our own objects, as Kong's entity tags and rejections name them.
const (
	kindKongPlugin   = "KongPlugin"
	kindKongConsumer = "KongConsumer"
)

// pluginPolicy merges the plugin part of the class and Gateway
// configurations. A configuration that cannot be read gives the default
// policy: render reports the problem on the Gateway.
func (r *GatewayReconciler) pluginPolicy(ctx context.Context, s *gatewayScope) translate.PluginPolicy {
	classCfg, _ := classConfig(ctx, r.Client, s.class)
	gwCfg, _ := gatewayConfig(ctx, r.Client, s.gateway)
	p := provision.Merge(specOf(classCfg), specOf(gwCfg)).Plugins
	return translate.PluginPolicy{Allowed: p.Allowed, Gateway: p.Gateway, Custom: p.CustomNames()}
}

// snapshotPlugins adds the KongPlugins, KongConsumers and the Secrets they
// name to the snapshot: every KongPlugin in the namespaces of the Gateway
// and of the routes that name it (where ExtensionRef filters and targetRefs
// can find them), and the KongConsumers of the namespaces the Gateway
// admits routes from. Secrets are read straight from the API server, never
// cached, like listener certificates.
func (r *GatewayReconciler) snapshotPlugins(ctx context.Context, s *gatewayScope, snap *translate.Snapshot, routes []client.Object) error {
	snap.Plugins = r.pluginPolicy(ctx, s)
	namespaces := map[string]bool{s.gateway.Namespace: true}
	for _, obj := range routes {
		namespaces[obj.GetNamespace()] = true
	}
	for _, ns := range sortedSet(namespaces) {
		var plugins v1alpha1.KongPluginList
		if err := r.Client.List(ctx, &plugins, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("list KongPlugins in %s: %w", ns, err)
		}
		snap.KongPlugins = append(snap.KongPlugins, plugins.Items...)
	}
	var consumers v1alpha1.KongConsumerList
	if err := r.Client.List(ctx, &consumers); err != nil {
		return fmt.Errorf("list KongConsumers: %w", err)
	}
	nsLabels := map[string]map[string]string{}
	for _, ns := range s.namespaces {
		nsLabels[ns.Name] = ns.Labels
	}
	for _, c := range consumers.Items {
		if admitsRoutesFrom(s.gateway, s.listenerSetObjs, c.Namespace, nsLabels[c.Namespace]) {
			snap.KongConsumers = append(snap.KongConsumers, c)
		}
	}
	sort.Slice(snap.KongConsumers, func(i, j int) bool {
		a, b := snap.KongConsumers[i], snap.KongConsumers[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	have := map[types.NamespacedName]bool{}
	for _, sec := range snap.Secrets {
		have[types.NamespacedName{Namespace: sec.Namespace, Name: sec.Name}] = true
	}
	for _, key := range pluginSecretRefs(snap.KongPlugins, snap.KongConsumers) {
		if have[key] {
			continue
		}
		var secret corev1.Secret
		if err := r.APIReader.Get(ctx, key, &secret); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue // translation reports the missing Secret on its object
			}
			return fmt.Errorf("get Secret %s: %w", key, err)
		}
		have[key] = true
		snap.Secrets = append(snap.Secrets, secret)
	}
	return nil
}

// pluginSecretRefs lists the Secrets KongPlugins (configFrom) and
// KongConsumers (credentials) name, sorted.
func pluginSecretRefs(plugins []v1alpha1.KongPlugin, consumers []v1alpha1.KongConsumer) []types.NamespacedName {
	set := map[types.NamespacedName]bool{}
	for i := range plugins {
		for _, k := range kongPluginSecrets(&plugins[i]) {
			set[k] = true
		}
	}
	for i := range consumers {
		for _, k := range kongConsumerSecrets(&consumers[i]) {
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

func kongPluginSecrets(p *v1alpha1.KongPlugin) []types.NamespacedName {
	var out []types.NamespacedName
	for _, f := range p.Spec.ConfigFrom {
		out = append(out, types.NamespacedName{Namespace: p.Namespace, Name: f.SecretKeyRef.Name})
	}
	return out
}

func kongConsumerSecrets(c *v1alpha1.KongConsumer) []types.NamespacedName {
	var out []types.NamespacedName
	for _, cred := range c.Spec.Credentials {
		out = append(out, types.NamespacedName{Namespace: c.Namespace, Name: cred.SecretName})
	}
	return out
}

// admitsRoutesFrom reports whether a listener of the Gateway or of one of
// its ListenerSets admits routes from namespace ns (allowedRoutes).
func admitsRoutesFrom(gw *gwv1.Gateway, sets []gwv1.ListenerSet, ns string, nsLabels map[string]string) bool {
	for _, l := range gw.Spec.Listeners {
		if gatewayapi.AllowedRoutesAdmitsNamespace(l.AllowedRoutes, gw.Namespace, ns, nsLabels) {
			return true
		}
	}
	for _, set := range sets {
		for _, l := range set.Spec.Listeners {
			if gatewayapi.AllowedRoutesAdmitsNamespace(l.AllowedRoutes, set.Namespace, ns, nsLabels) {
				return true
			}
		}
	}
	return false
}

// isThisGateway reports whether a policy ancestorRef names the Gateway.
func isThisGateway(ref gwv1.ParentReference, gw types.NamespacedName) bool {
	return isGatewayRef(ref) && ref.Namespace != nil && string(*ref.Namespace) == gw.Namespace && string(ref.Name) == gw.Name
}

// mergePolicyAncestors replaces this Gateway's entries (ours, for this
// Gateway) in a KongPlugin's status.ancestors with the given results;
// entries of other controllers and of other Gateways stay. The transition
// time of an unchanged condition stays too. At most maxPolicyAncestors are
// kept: existing entries first, so a full list drops the newest.
func mergePolicyAncestors(existing []gwv1.PolicyAncestorStatus, gw types.NamespacedName, results []translate.KongPluginAncestorResult) []gwv1.PolicyAncestorStatus {
	out := []gwv1.PolicyAncestorStatus{}
	previous := map[string][]metav1.Condition{}
	for _, a := range existing {
		if string(a.ControllerName) == gatewayapi.ControllerName && isThisGateway(a.AncestorRef, gw) {
			previous[ancestorKey(a.AncestorRef)] = a.Conditions
			continue
		}
		out = append(out, a)
	}
	for _, res := range results {
		ref := res.AncestorRef
		if ref.Namespace == nil {
			ns := gwv1.Namespace(gw.Namespace)
			ref.Namespace = &ns
		}
		conds := append([]metav1.Condition(nil), previous[ancestorKey(ref)]...)
		gatewayapi.Set(&conds, res.Generation, res.Accepted)
		entry := gwv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: gwv1.GatewayController(gatewayapi.ControllerName), Conditions: conds}
		replaced := false
		for i := range out {
			if string(out[i].ControllerName) == gatewayapi.ControllerName && ancestorKey(out[i].AncestorRef) == ancestorKey(ref) {
				out[i], replaced = entry, true
			}
		}
		if !replaced {
			out = append(out, entry)
		}
	}
	if len(out) > maxPolicyAncestors {
		out = out[:maxPolicyAncestors]
	}
	// An empty list, never nil: status.ancestors is required, and a merge
	// patch to nil would delete the field, which the API server refuses.
	return out
}

func ancestorKey(ref gwv1.ParentReference) string {
	s := ""
	if ref.Group != nil {
		s += string(*ref.Group)
	}
	s += "/"
	if ref.Kind != nil {
		s += string(*ref.Kind)
	}
	s += "/"
	if ref.Namespace != nil {
		s += string(*ref.Namespace)
	}
	s += "/" + string(ref.Name)
	if ref.SectionName != nil {
		s += "#" + string(*ref.SectionName)
	}
	return s
}

// gatewayAncestorRef is the ancestorRef of a Gateway in policy status.
func gatewayAncestorRef(gw *gwv1.Gateway) gwv1.ParentReference {
	group := gwv1.Group(gwv1.GroupName)
	kind := gwv1.Kind("Gateway")
	ns := gwv1.Namespace(gw.Namespace)
	return gwv1.ParentReference{Group: &group, Kind: &kind, Namespace: &ns, Name: gwv1.ObjectName(gw.Name)}
}

// pluginResults are the KongPlugin verdicts of this reconcile: the
// translator's, with Kong's rejections laid over them (a plugin Kong
// rejected was left out, so translation has no verdict on it).
func pluginResults(s *gatewayScope) []translate.KongPluginAncestorResult {
	t := s.translation
	if t == nil || t.result == nil {
		return nil
	}
	out := append([]translate.KongPluginAncestorResult(nil), t.result.KongPlugins...)
	for _, p := range t.full.KongPlugins {
		rej, ok := t.excluded[objectRef{kindKongPlugin, p.Namespace, p.Name}]
		if !ok {
			continue
		}
		out = append(out, translate.KongPluginAncestorResult{
			Plugin:      translate.KongPluginKey{Namespace: p.Namespace, Name: p.Name},
			Generation:  p.Generation,
			AncestorRef: gatewayAncestorRef(s.gateway),
			Accepted: gatewayapi.False(string(gwv1.PolicyConditionAccepted), string(gwv1.PolicyReasonInvalid),
				"Kong rejected the plugin, so it was left out of the configuration: "+rej.Message),
		})
	}
	return out
}

// consumerResults are the KongConsumer verdicts of this reconcile, with
// Kong's rejections laid over them.
func consumerResults(s *gatewayScope) []translate.KongConsumerResult {
	t := s.translation
	if t == nil || t.result == nil {
		return nil
	}
	out := append([]translate.KongConsumerResult(nil), t.result.KongConsumers...)
	for _, c := range t.full.KongConsumers {
		rej, ok := t.excluded[objectRef{kindKongConsumer, c.Namespace, c.Name}]
		if !ok {
			continue
		}
		out = append(out, translate.KongConsumerResult{
			Consumer:   translate.KongConsumerKey{Namespace: c.Namespace, Name: c.Name},
			Generation: c.Generation,
			Accepted: metav1.Condition{Type: ConsumerConditionAccepted, Status: metav1.ConditionFalse, Reason: ConsumerReasonInvalid,
				Message: "Kong rejected the consumer, so it was left out of the configuration: " + rej.Message},
		})
	}
	return out
}

// writePluginStatuses writes this Gateway's verdicts into the KongPlugins
// it judged and removes its entries from those it no longer relates to.
func (r *GatewayReconciler) writePluginStatuses(ctx context.Context, gw *gwv1.Gateway, judged []v1alpha1.KongPlugin, results []translate.KongPluginAncestorResult) error {
	key := client.ObjectKeyFromObject(gw)
	byPlugin := map[types.NamespacedName][]translate.KongPluginAncestorResult{}
	for _, res := range results {
		k := types.NamespacedName{Namespace: res.Plugin.Namespace, Name: res.Plugin.Name}
		byPlugin[k] = append(byPlugin[k], res)
	}
	candidates := map[types.NamespacedName]*v1alpha1.KongPlugin{}
	for i := range judged {
		candidates[client.ObjectKeyFromObject(&judged[i])] = judged[i].DeepCopy()
	}
	// Plugins that carry an entry of this Gateway but were not judged this
	// time (their namespace no longer has a route of the Gateway).
	var stale v1alpha1.KongPluginList
	if err := r.Client.List(ctx, &stale, client.MatchingFields{indexKongPluginAncestors: key.String()}); err != nil {
		return fmt.Errorf("list KongPlugins with status from Gateway %s: %w", key, err)
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
		merged := mergePolicyAncestors(p.Status.Ancestors, key, byPlugin[k])
		if equalAncestors(merged, p.Status.Ancestors) {
			continue
		}
		original := p.DeepCopy()
		p.Status.Ancestors = merged
		if err := r.Client.Status().Patch(ctx, p, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("patch status of KongPlugin %s: %w", k, err))
			}
			continue
		}
		for _, res := range byPlugin[k] {
			if res.Accepted.Status == metav1.ConditionFalse && !wasFalse(original.Status.Ancestors, key, res.Accepted.Message) {
				r.Recorder.Eventf(p, gw, corev1.EventTypeWarning, res.Accepted.Reason, "Translate",
					"not applied by Gateway %s: %s", key, res.Accepted.Message)
			}
		}
	}
	return errors.Join(errs...)
}

func equalAncestors(a, b []gwv1.PolicyAncestorStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if ancestorKey(a[i].AncestorRef) != ancestorKey(b[i].AncestorRef) || a[i].ControllerName != b[i].ControllerName ||
			!equalConditions(a[i].Conditions, b[i].Conditions) {
			return false
		}
	}
	return true
}

func equalConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}

// wasFalse reports whether this Gateway's entry already said False with
// the same message, so an unchanged verdict is not announced again.
func wasFalse(ancestors []gwv1.PolicyAncestorStatus, gw types.NamespacedName, message string) bool {
	for _, a := range ancestors {
		if string(a.ControllerName) == gatewayapi.ControllerName && isThisGateway(a.AncestorRef, gw) {
			c := meta.FindStatusCondition(a.Conditions, string(gwv1.PolicyConditionAccepted))
			return c != nil && c.Status == metav1.ConditionFalse && c.Message == message
		}
	}
	return false
}

// consumerConditions decides a consumer's conditions from this Gateway's
// verdict and whether its replicas hold the configuration.
func consumerConditions(res translate.KongConsumerResult, programmed bool, gw types.NamespacedName) []gatewayapi.Condition {
	accepted := gatewayapi.Condition{Type: ConsumerConditionAccepted, Status: res.Accepted.Status, Reason: res.Accepted.Reason, Message: res.Accepted.Message}
	if accepted.Reason == "" {
		accepted.Reason = ConsumerReasonAccepted
	}
	var prog gatewayapi.Condition
	switch {
	case res.Accepted.Status != metav1.ConditionTrue:
		prog = gatewayapi.False(ConsumerConditionProgrammed, ConsumerReasonInvalid, "Not programmed: the consumer is not accepted")
	case !programmed:
		prog = gatewayapi.False(ConsumerConditionProgrammed, ConsumerReasonPending, fmt.Sprintf("Waiting for the replicas of Gateway %s to hold the configuration", gw))
	default:
		prog = gatewayapi.True(ConsumerConditionProgrammed, ConsumerReasonProgrammed, fmt.Sprintf("The replicas of Gateway %s hold the consumer", gw))
	}
	return []gatewayapi.Condition{accepted, prog}
}

// maxConsumerGateways is the most status.gateways entries the
// KongConsumer CRD accepts.
const maxConsumerGateways = 32

// writeConsumerStatuses records this Gateway's verdict in status.gateways of
// the consumers it judged, removes its entry from those it no longer sees
// (or from all, when results is nil because the Gateway is gone), and sums
// the entries up in status.conditions.
func (r *GatewayReconciler) writeConsumerStatuses(ctx context.Context, gw *gwv1.Gateway, results []translate.KongConsumerResult, programmed bool) error {
	gwKey := client.ObjectKeyFromObject(gw)
	byKey := map[types.NamespacedName]translate.KongConsumerResult{}
	for _, res := range results {
		byKey[types.NamespacedName{Namespace: res.Consumer.Namespace, Name: res.Consumer.Name}] = res
	}
	var all v1alpha1.KongConsumerList
	if err := r.Client.List(ctx, &all); err != nil {
		return fmt.Errorf("list KongConsumers: %w", err)
	}
	var errs []error
	for i := range all.Items {
		c := all.Items[i].DeepCopy()
		original := c.DeepCopy()
		res, judged := byKey[client.ObjectKeyFromObject(c)]
		if judged {
			setConsumerGateway(&c.Status, c.Generation, gwKey, consumerConditions(res, programmed, gwKey))
		} else if !removeConsumerGateway(&c.Status, gwKey) {
			continue
		}
		summariseConsumer(&c.Status, c.Generation)
		if equality.Semantic.DeepEqual(c.Status, original.Status) {
			continue
		}
		if err := r.Client.Status().Patch(ctx, c, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("patch status of KongConsumer %s/%s: %w", c.Namespace, c.Name, err))
			}
			continue
		}
		if judged && res.Accepted.Status == metav1.ConditionFalse && consumerVerdictChanged(original.Status, gwKey, res.Accepted.Message) {
			reason := res.Accepted.Reason
			if reason == "" {
				reason = ConsumerReasonInvalid
			}
			r.Recorder.Eventf(c, gw, corev1.EventTypeWarning, reason, "Translate", "%s", res.Accepted.Message)
		}
	}
	return errors.Join(errs...)
}

// setConsumerGateway puts one Gateway's conditions in status.gateways.
func setConsumerGateway(st *v1alpha1.KongConsumerStatus, generation int64, gw types.NamespacedName, conds []gatewayapi.Condition) {
	i := slices.IndexFunc(st.Gateways, func(g v1alpha1.ConsumerGatewayStatus) bool { return g.Namespace == gw.Namespace && g.Name == gw.Name })
	if i < 0 {
		if len(st.Gateways) >= maxConsumerGateways {
			return
		}
		st.Gateways = append(st.Gateways, v1alpha1.ConsumerGatewayStatus{Namespace: gw.Namespace, Name: gw.Name})
		i = len(st.Gateways) - 1
	}
	for _, c := range conds {
		gatewayapi.Set(&st.Gateways[i].Conditions, generation, c)
	}
	sort.Slice(st.Gateways, func(a, b int) bool {
		x, y := st.Gateways[a], st.Gateways[b]
		return x.Namespace+"/"+x.Name < y.Namespace+"/"+y.Name
	})
}

// removeConsumerGateway drops a Gateway's entry; false when it had none.
func removeConsumerGateway(st *v1alpha1.KongConsumerStatus, gw types.NamespacedName) bool {
	n := len(st.Gateways)
	st.Gateways = slices.DeleteFunc(st.Gateways, func(g v1alpha1.ConsumerGatewayStatus) bool { return g.Namespace == gw.Namespace && g.Name == gw.Name })
	return len(st.Gateways) != n
}

// summariseConsumer writes status.conditions from the Gateways' entries:
// Accepted is the first refusal (the message names the Gateway) or True,
// Programmed is True only when every Gateway holds the consumer. With no
// Gateway left there is nothing to say.
func summariseConsumer(st *v1alpha1.KongConsumerStatus, generation int64) {
	if len(st.Gateways) == 0 {
		st.Conditions = nil
		return
	}
	for _, condType := range []string{ConsumerConditionAccepted, ConsumerConditionProgrammed} {
		var worst *metav1.Condition
		var where string
		for _, g := range st.Gateways {
			c := meta.FindStatusCondition(g.Conditions, condType)
			if c != nil && c.Status != metav1.ConditionTrue {
				worst, where = c, g.Namespace+"/"+g.Name
				break
			}
		}
		if worst != nil {
			gatewayapi.Set(&st.Conditions, generation, gatewayapi.False(condType, worst.Reason, fmt.Sprintf("Gateway %s: %s", where, worst.Message)))
			continue
		}
		reason, msg := ConsumerReasonAccepted, fmt.Sprintf("Accepted by %d Gateway(s)", len(st.Gateways))
		if condType == ConsumerConditionProgrammed {
			reason, msg = ConsumerReasonProgrammed, fmt.Sprintf("The replicas of %d Gateway(s) hold the consumer", len(st.Gateways))
		}
		gatewayapi.Set(&st.Conditions, generation, gatewayapi.True(condType, reason, msg))
	}
}

// consumerVerdictChanged says whether a Gateway's Accepted message for a
// consumer differs from the one recorded, so an event is sent once.
func consumerVerdictChanged(st v1alpha1.KongConsumerStatus, gw types.NamespacedName, msg string) bool {
	for _, g := range st.Gateways {
		if g.Namespace == gw.Namespace && g.Name == gw.Name {
			c := meta.FindStatusCondition(g.Conditions, ConsumerConditionAccepted)
			return c == nil || c.Message != msg
		}
	}
	return true
}

// writePluginAndConsumerStatuses runs at the end of a reconcile, once it is
// known whether the configuration is live.
func (r *GatewayReconciler) writePluginAndConsumerStatuses(ctx context.Context, s *gatewayScope) error {
	if s.translation == nil || s.translation.result == nil {
		return nil
	}
	programmed := s.sync != nil && s.sync.Total > 0 && s.sync.AllInSync()
	return errors.Join(
		r.writePluginStatuses(ctx, s.gateway, s.translation.full.KongPlugins, pluginResults(s)),
		r.writeConsumerStatuses(ctx, s.gateway, consumerResults(s), programmed),
	)
}

// clearPluginStatuses removes this Gateway's entries from every KongPlugin
// when the Gateway goes away.
func (r *GatewayReconciler) clearPluginStatuses(ctx context.Context, gw *gwv1.Gateway) error {
	return errors.Join(r.writePluginStatuses(ctx, gw, nil, nil), r.writeConsumerStatuses(ctx, gw, nil, false))
}

// customPluginSources reads the ConfigMaps of the custom plugins from the
// class configuration's namespace (straight from the API server: the cache
// holds ConfigMap metadata only). The missing ones are returned by name.
func (r *GatewayReconciler) customPluginSources(ctx context.Context, namespace string, custom []v1alpha1.CustomPlugin) ([]provision.CustomPluginSource, []string, error) {
	var out []provision.CustomPluginSource
	var missing []string
	for _, c := range custom {
		key := types.NamespacedName{Namespace: namespace, Name: c.ConfigMapName}
		var cm corev1.ConfigMap
		if err := r.APIReader.Get(ctx, key, &cm); err != nil {
			if apierrors.IsNotFound(err) {
				missing = append(missing, fmt.Sprintf("plugins.custom %s: ConfigMap %s not found", c.Name, key))
				continue
			}
			return nil, nil, fmt.Errorf("get ConfigMap %s of custom plugin %s: %w", key, c.Name, err)
		}
		out = append(out, provision.CustomPluginSource{Name: c.Name, Data: cm.Data, BinaryData: cm.BinaryData})
	}
	return out, missing, nil
}

// deleteStaleConfigMaps removes the custom plugin ConfigMap copies of a
// Gateway that are no longer rendered (keep nil: all of them).
func (r *GatewayReconciler) deleteStaleConfigMaps(ctx context.Context, gw *gwv1.Gateway, keep map[string]bool) error {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := r.Client.List(ctx, list, client.InNamespace(gw.Namespace), client.HasLabels{provision.LabelCustomPlugin}); err != nil {
		return fmt.Errorf("list custom plugin ConfigMaps of Gateway %s/%s: %w", gw.Namespace, gw.Name, err)
	}
	for i := range list.Items {
		item := &list.Items[i]
		if keep[item.Name] || !metav1.IsControlledBy(item, gw) {
			continue
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: item.Namespace, Name: item.Name}}
		if err := r.Client.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete ConfigMap %s/%s: %w", item.Namespace, item.Name, err)
		}
	}
	return nil
}

// gatewaysForKongPlugin maps a KongPlugin to the Gateways that may use it:
// those in its namespace, those of the routes in its namespace, and those
// that wrote its status (to clear their entries).
func (r *GatewayReconciler) gatewaysForKongPlugin(ctx context.Context, o client.Object) []reconcile.Request {
	reqs := r.gatewaysOfNamespace(ctx, o.GetNamespace())
	if p, ok := o.(*v1alpha1.KongPlugin); ok {
		for _, key := range kongPluginAncestorGateways(p) {
			ns, name := splitKey(key)
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		}
	}
	return dedupRequests(reqs)
}

// gatewaysOfNamespace lists the Gateways in a namespace and the Gateways
// of every route there.
func (r *GatewayReconciler) gatewaysOfNamespace(ctx context.Context, ns string) []reconcile.Request {
	var reqs []reconcile.Request
	var gws gwv1.GatewayList
	if err := r.Client.List(ctx, &gws, client.InNamespace(ns)); err != nil {
		log.FromContext(ctx).Error(err, "list Gateways", "namespace", ns)
	}
	for i := range gws.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gws.Items[i])})
	}
	for _, k := range r.RouteKinds {
		list := k.newList()
		if err := r.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			log.FromContext(ctx).Error(err, "list routes", "kind", k.kind, "namespace", ns)
			continue
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			reqs = append(reqs, r.gatewaysForRoute(ctx, item.(client.Object))...)
		}
	}
	return reqs
}

// gatewaysForKongConsumer: which Gateways admit a namespace depends on
// labels and allowedRoutes of every Gateway, so every Gateway looks again;
// consumers change rarely.
func (r *GatewayReconciler) gatewaysForKongConsumer(ctx context.Context, o client.Object) []reconcile.Request {
	return r.allGateways(ctx, o)
}

// gatewaysForPluginSecret maps a Secret named by a KongPlugin or a
// KongConsumer to the Gateways that may use them.
func (r *GatewayReconciler) gatewaysForPluginSecret(ctx context.Context, o client.Object) []reconcile.Request {
	key := o.GetNamespace() + "/" + o.GetName()
	var reqs []reconcile.Request
	var plugins v1alpha1.KongPluginList
	if err := r.Client.List(ctx, &plugins, client.MatchingFields{indexKongPluginSecrets: key}); err != nil {
		log.FromContext(ctx).Error(err, "list KongPlugins by Secret", "secret", key)
	}
	for i := range plugins.Items {
		reqs = append(reqs, r.gatewaysForKongPlugin(ctx, &plugins.Items[i])...)
	}
	var consumers v1alpha1.KongConsumerList
	if err := r.Client.List(ctx, &consumers, client.MatchingFields{indexKongConsumerSecrets: key}); err != nil {
		log.FromContext(ctx).Error(err, "list KongConsumers by Secret", "secret", key)
	}
	if len(consumers.Items) > 0 {
		reqs = append(reqs, r.allGateways(ctx, o)...)
	}
	return dedupRequests(reqs)
}

// gatewaysForConfigMap maps a ConfigMap to the Gateways whose class
// configuration ships it as a custom plugin, an owned copy to its Gateway,
// and a BackendTLSPolicy CA ConfigMap to the Gateways of the policy.
func (r *GatewayReconciler) gatewaysForConfigMap(ctx context.Context, o client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if owner := metav1.GetControllerOf(o); owner != nil && owner.Kind == "Gateway" && o.GetLabels()[provision.LabelCustomPlugin] != "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: owner.Name}})
	}
	// CA bundles of spec.tls.frontend.
	reqs = append(reqs, r.gatewaysMatching(ctx, indexGatewayCAConfigMaps, o.GetNamespace()+"/"+o.GetName())...)
	var cfgs v1alpha1.GatewayConfigurationList
	if err := r.Client.List(ctx, &cfgs, client.MatchingFields{indexConfigCustomPlugins: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list GatewayConfigurations by custom plugin ConfigMap")
	}
	for i := range cfgs.Items {
		reqs = append(reqs, r.gatewaysForConfig(ctx, &cfgs.Items[i])...)
	}
	reqs = append(reqs, r.gatewaysForCAConfigMap(ctx, o)...)
	return dedupRequests(reqs)
}

// kongPluginAncestorGateways returns "namespace/name" of the Gateways with
// an entry of ours in a KongPlugin's status.
func kongPluginAncestorGateways(p *v1alpha1.KongPlugin) []string {
	var out []string
	for _, a := range p.Status.Ancestors {
		if string(a.ControllerName) == gatewayapi.ControllerName && isGatewayRef(a.AncestorRef) && a.AncestorRef.Namespace != nil {
			out = append(out, string(*a.AncestorRef.Namespace)+"/"+string(a.AncestorRef.Name))
		}
	}
	return out
}

func dedupRequests(reqs []reconcile.Request) []reconcile.Request {
	seen := map[types.NamespacedName]bool{}
	out := reqs[:0]
	for _, r := range reqs {
		if !seen[r.NamespacedName] {
			seen[r.NamespacedName] = true
			out = append(out, r)
		}
	}
	return out
}

// secretFieldsOf lists the plugin configuration fields that come from
// Secrets, for the configuration endpoint to hide.
func secretFieldsOf(plugins []v1alpha1.KongPlugin) []dataplane.SecretField {
	var out []dataplane.SecretField
	for _, p := range plugins {
		for _, f := range p.Spec.ConfigFrom {
			out = append(out, dataplane.SecretField{Kind: kindKongPlugin, Namespace: p.Namespace, Name: p.Name, Path: f.Field})
		}
	}
	return out
}
