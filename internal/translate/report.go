package translate

import (
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
	"github.com/drawbridge-dev/drawbridge/internal/kong"
)

// Report is a Result in a form meant for people and golden files: the Kong
// config and, per object, the status it would get.
type Report struct {
	Gateway string       `json:"gateway"`
	Config  *kong.Config `json:"config"`
	// Conditions are the Gateway conditions translation decides (see
	// Result.GatewayConditions).
	Conditions []ConditionReport `json:"conditions,omitempty"`
	Listeners  []ListenerReport  `json:"listeners"`
	// ListenerSets are the ListenerSets that name the Gateway, in merge
	// precedence.
	ListenerSets []ListenerSetReport `json:"listenerSets,omitempty"`
	Routes       []RouteReport       `json:"routes,omitempty"`
	// KongPlugins and KongConsumers are this Gateway's verdicts on them.
	KongPlugins   []ObjectReport `json:"kongPlugins,omitempty"`
	KongConsumers []ObjectReport `json:"kongConsumers,omitempty"`
	// BackendTLSPolicies are this Gateway's verdicts on the policies of
	// its backends.
	BackendTLSPolicies []ObjectReport `json:"backendTLSPolicies,omitempty"`
	// BackendClientCertificate is the Gateway's ResolvedRefs verdict on
	// spec.tls.backend.clientCertificateRef, when it has one.
	BackendClientCertificate *ConditionReport `json:"backendClientCertificate,omitempty"`
	Warnings                 []string         `json:"warnings,omitempty"`
}

// ObjectReport is the condition one Gateway gives a KongPlugin (its
// status.ancestors entry) or a KongConsumer.
type ObjectReport struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Conditions []ConditionReport `json:"conditions"`
}

// ListenerReport is the status of one listener.
type ListenerReport struct {
	Name           string            `json:"name"`
	AttachedRoutes int32             `json:"attachedRoutes"`
	Conditions     []ConditionReport `json:"conditions"`
}

// ListenerSetReport is the status of one ListenerSet.
type ListenerSetReport struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Conditions []ConditionReport `json:"conditions"`
	Listeners  []ListenerReport  `json:"listeners"`
}

// RouteReport is the status one parentRef of a route would get.
type RouteReport struct {
	Kind       string               `json:"kind"`
	Namespace  string               `json:"namespace"`
	Name       string               `json:"name"`
	ParentRef  int                  `json:"parentRefIndex"`
	Parent     gwv1.ParentReference `json:"parentRef"`
	Listeners  []gwv1.SectionName   `json:"listeners,omitempty"`
	Conditions []ConditionReport    `json:"conditions"`
}

// ConditionReport is a condition without timestamps.
type ConditionReport struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func conditionReport(c gatewayapi.Condition) ConditionReport {
	return ConditionReport{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

// Report renders the result for the Gateway named gateway ("ns/name").
func (r *Result) Report(gateway string) Report {
	rep := Report{Gateway: gateway, Config: r.Config, Warnings: r.Warnings}
	for _, c := range r.GatewayConditions {
		rep.Conditions = append(rep.Conditions, conditionReport(c))
	}
	for _, l := range r.Listeners {
		rep.Listeners = append(rep.Listeners, listenerReport(l))
	}
	for _, ls := range r.ListenerSets {
		lr := ListenerSetReport{Namespace: ls.Verdict.Key.Namespace, Name: ls.Verdict.Key.Name,
			Conditions: []ConditionReport{conditionReport(ls.Verdict.Accepted)}}
		for _, l := range ls.Listeners {
			lr.Listeners = append(lr.Listeners, listenerReport(l))
		}
		rep.ListenerSets = append(rep.ListenerSets, lr)
	}
	for _, rt := range r.Routes {
		rep.Routes = append(rep.Routes, RouteReport{
			Kind: rt.Route.Kind, Namespace: rt.Route.Namespace, Name: rt.Route.Name,
			ParentRef: rt.ParentRefIndex, Parent: rt.ParentRef, Listeners: rt.Listeners,
			Conditions: []ConditionReport{conditionReport(rt.Accepted), conditionReport(rt.ResolvedRefs)},
		})
	}
	for _, p := range r.KongPlugins {
		rep.KongPlugins = append(rep.KongPlugins, ObjectReport{Namespace: p.Plugin.Namespace, Name: p.Plugin.Name,
			Conditions: []ConditionReport{conditionReport(p.Accepted)}})
	}
	for _, p := range r.BackendTLSPolicies {
		rep.BackendTLSPolicies = append(rep.BackendTLSPolicies, ObjectReport{Namespace: p.Policy.Namespace, Name: p.Policy.Name,
			Conditions: []ConditionReport{conditionReport(p.Accepted), conditionReport(p.ResolvedRefs)}})
	}
	if r.BackendClientCertificate != nil {
		c := conditionReport(*r.BackendClientCertificate)
		rep.BackendClientCertificate = &c
	}
	for _, c := range r.KongConsumers {
		rep.KongConsumers = append(rep.KongConsumers, ObjectReport{Namespace: c.Consumer.Namespace, Name: c.Consumer.Name,
			Conditions: []ConditionReport{{Type: c.Accepted.Type, Status: string(c.Accepted.Status), Reason: c.Accepted.Reason, Message: c.Accepted.Message}}})
	}
	return rep
}

func listenerReport(l ListenerStatus) ListenerReport {
	return ListenerReport{
		Name: string(l.Name), AttachedRoutes: l.AttachedRoutes,
		Conditions: []ConditionReport{conditionReport(l.Verdict.Accepted), conditionReport(l.Verdict.Conflicted), conditionReport(l.Verdict.ResolvedRefs)},
	}
}
