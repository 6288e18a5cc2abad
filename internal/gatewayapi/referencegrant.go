package gatewayapi

import (
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Reference describes one side of a cross-namespace reference.
type Reference struct {
	Group     string
	Kind      string
	Namespace string
	// Name is only meaningful on the "to" side; ReferenceGrants may restrict it.
	Name string
}

// ReferenceAllowed reports whether from may reference to. References inside
// one namespace are always allowed; across namespaces a ReferenceGrant in the
// target namespace must list the source (group, kind, namespace) and the
// target (group, kind, and name when the grant names one).
func ReferenceAllowed(from, to Reference, grants []gwv1.ReferenceGrant) bool {
	if from.Namespace == to.Namespace {
		return true
	}
	for i := range grants {
		g := &grants[i]
		if g.Namespace != to.Namespace {
			continue
		}
		if grantListsFrom(g, from) && grantListsTo(g, to) {
			return true
		}
	}
	return false
}

func grantListsFrom(g *gwv1.ReferenceGrant, from Reference) bool {
	for _, f := range g.Spec.From {
		if string(f.Group) == from.Group && string(f.Kind) == from.Kind && string(f.Namespace) == from.Namespace {
			return true
		}
	}
	return false
}

func grantListsTo(g *gwv1.ReferenceGrant, to Reference) bool {
	for _, t := range g.Spec.To {
		if string(t.Group) != to.Group || string(t.Kind) != to.Kind {
			continue
		}
		if t.Name == nil || *t.Name == "" || string(*t.Name) == to.Name {
			return true
		}
	}
	return false
}
