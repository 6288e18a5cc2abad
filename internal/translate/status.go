package translate

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// ParentStatus renders the result as a status.parents entry with our
// controllerName and the route generation it was computed from.
func (r RouteParentResult) ParentStatus() gwv1.RouteParentStatus {
	s := gwv1.RouteParentStatus{ParentRef: r.ParentRef, ControllerName: gwv1.GatewayController(gatewayapi.ControllerName)}
	gatewayapi.Set(&s.Conditions, r.Generation, r.Accepted)
	gatewayapi.Set(&s.Conditions, r.Generation, r.ResolvedRefs)
	if r.Programmed != nil {
		gatewayapi.Set(&s.Conditions, r.Generation, *r.Programmed)
	}
	return s
}

// MergeParentStatuses updates a route's status.parents with the results of
// one Gateway's translation. Entries written by other controllers, and our
// entries for other Gateways, are kept untouched. Our entries for this
// Gateway are replaced by results (conditions keep their transition time
// when their status is unchanged) and stale ones are dropped. isThisGateway
// tells which parentRefs point at the translated Gateway; results must all
// belong to the same route.
func MergeParentStatuses(existing []gwv1.RouteParentStatus, results []RouteParentResult, isThisGateway func(gwv1.ParentReference) bool) []gwv1.RouteParentStatus {
	out := make([]gwv1.RouteParentStatus, 0, len(existing)+len(results))
	used := make([]bool, len(results))
	for _, e := range existing {
		if string(e.ControllerName) != gatewayapi.ControllerName || !isThisGateway(e.ParentRef) {
			out = append(out, e)
			continue
		}
		for i, r := range results {
			if used[i] || !reflect.DeepEqual(e.ParentRef, r.ParentRef) {
				continue
			}
			used[i] = true
			conds := append([]metav1.Condition(nil), e.Conditions...)
			gatewayapi.Set(&conds, r.Generation, r.Accepted)
			gatewayapi.Set(&conds, r.Generation, r.ResolvedRefs)
			if r.Programmed != nil {
				gatewayapi.Set(&conds, r.Generation, *r.Programmed)
			}
			out = append(out, gwv1.RouteParentStatus{ParentRef: e.ParentRef, ControllerName: e.ControllerName, Conditions: conds})
			break
		}
	}
	for i, r := range results {
		if used[i] || duplicateRef(out, r.ParentRef) {
			continue
		}
		out = append(out, r.ParentStatus())
	}
	return out
}

func duplicateRef(list []gwv1.RouteParentStatus, ref gwv1.ParentReference) bool {
	for _, e := range list {
		if string(e.ControllerName) == gatewayapi.ControllerName && reflect.DeepEqual(e.ParentRef, ref) {
			return true
		}
	}
	return false
}
