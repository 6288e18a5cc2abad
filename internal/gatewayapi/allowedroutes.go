package gatewayapi

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// AllowedRoutesAdmitsNamespace reports whether a listener's allowedRoutes
// admits routes from namespace ns. owner is the namespace of the object
// that holds the listener (a Gateway or a ListenerSet), which "Same" is
// relative to; nsLabels are ns's labels (kubernetes.io/metadata.name is
// implied, as the API server sets it on every namespace).
func AllowedRoutesAdmitsNamespace(ar *gwv1.AllowedRoutes, owner, ns string, nsLabels map[string]string) bool {
	from := gwv1.NamespacesFromSame
	var selector *metav1.LabelSelector
	if ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		selector = ar.Namespaces.Selector
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSame:
		return ns == owner
	case gwv1.NamespacesFromSelector:
		if selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(selector)
		if err != nil {
			return false
		}
		return sel.Matches(labels.Merge(labels.Set{"kubernetes.io/metadata.name": ns}, nsLabels))
	}
	return false
}
