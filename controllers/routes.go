package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/drawbridge-dev/drawbridge/internal/gatewayapi"
)

// routeKind describes one Gateway API route kind to the reconcilers, so the
// five kinds are read, indexed and given status the same way.
type routeKind struct {
	kind    string
	newObj  func() client.Object
	newList func() client.ObjectList
}

// allRouteKinds are the route kinds Drawbridge translates. TLS, TCP and UDP
// routes are in the experimental channel and may not be installed; see
// installedRouteKinds.
var allRouteKinds = []routeKind{
	{"HTTPRoute", func() client.Object { return &gwv1.HTTPRoute{} }, func() client.ObjectList { return &gwv1.HTTPRouteList{} }},
	{"GRPCRoute", func() client.Object { return &gwv1.GRPCRoute{} }, func() client.ObjectList { return &gwv1.GRPCRouteList{} }},
	{"TLSRoute", func() client.Object { return &gwv1.TLSRoute{} }, func() client.ObjectList { return &gwv1.TLSRouteList{} }},
	{"TCPRoute", func() client.Object { return &gwv1.TCPRoute{} }, func() client.ObjectList { return &gwv1.TCPRouteList{} }},
	{"UDPRoute", func() client.Object { return &gwv1.UDPRoute{} }, func() client.ObjectList { return &gwv1.UDPRouteList{} }},
}

// installedRouteKinds keeps the route kinds whose CRDs are installed, so a
// cluster without some of them still runs the operator.
func installedRouteKinds(ctx context.Context, reader client.Reader, mapper meta.RESTMapper) ([]routeKind, error) {
	var kinds []routeKind
	for _, k := range allRouteKinds {
		ok, err := kindInstalled(ctx, reader, mapper, k.kind)
		if err != nil {
			return nil, err
		}
		if ok {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// crdNames are the CustomResourceDefinitions of the Gateway API kinds the
// operator may run without.
var crdNames = map[string]string{
	"HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes", "TLSRoute": "tlsroutes", "TCPRoute": "tcproutes",
	"UDPRoute": "udproutes", "ListenerSet": "listenersets", "BackendTLSPolicy": "backendtlspolicies",
}

// mappingWait bounds how long kindInstalled waits for discovery to serve a
// kind whose CRD exists.
var mappingWait = time.Minute

// kindInstalled reports whether a Gateway API kind's CRD is installed. The
// CRD object decides, not discovery: right after an API server starts,
// discovery can lack a kind whose CRD exists, and a kind taken for missing
// would be left out of every configuration pushed (every route gone from
// Kong). For an installed kind it then waits until the API server serves
// it. Errors (the API server or etcd not answering yet) are retried; after
// mappingWait the last one is returned: "not installed" is only ever the
// API server saying there is no such CRD.
func kindInstalled(ctx context.Context, reader client.Reader, mapper meta.RESTMapper, kind string) (bool, error) {
	name := crdNames[kind] + "." + gwv1.GroupName
	gk := gwv1.SchemeGroupVersion.WithKind(kind).GroupKind()
	deadline := time.Now().Add(mappingWait)
	for {
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		err := reader.Get(ctx, client.ObjectKey{Name: name}, crd)
		switch {
		case apierrors.IsNotFound(err):
			return false, nil
		case err != nil:
			err = fmt.Errorf("find out whether the CRD %s is installed (the operator needs get on customresourcedefinitions): %w", name, err)
		default:
			if _, err = mapper.RESTMapping(gk, gwv1.SchemeGroupVersion.Version); err == nil {
				return true, nil
			}
			err = fmt.Errorf("the CRD %s is installed but the API server does not serve %s %s at %s: %w",
				name, gwv1.GroupName, kind, gwv1.SchemeGroupVersion.Version, err)
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("gave up after %s: %w", mappingWait, err)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// routeParentRefs returns the parentRefs of any route kind.
func routeParentRefs(obj client.Object) []gwv1.ParentReference {
	switch r := obj.(type) {
	case *gwv1.HTTPRoute:
		return r.Spec.ParentRefs
	case *gwv1.GRPCRoute:
		return r.Spec.ParentRefs
	case *gwv1.TLSRoute:
		return r.Spec.ParentRefs
	case *gwv1.TCPRoute:
		return r.Spec.ParentRefs
	case *gwv1.UDPRoute:
		return r.Spec.ParentRefs
	}
	panic(fmt.Sprintf("not a route: %T", obj))
}

// routeParents returns a pointer to status.parents of any route kind.
func routeParents(obj client.Object) *[]gwv1.RouteParentStatus {
	switch r := obj.(type) {
	case *gwv1.HTTPRoute:
		return &r.Status.Parents
	case *gwv1.GRPCRoute:
		return &r.Status.Parents
	case *gwv1.TLSRoute:
		return &r.Status.Parents
	case *gwv1.TCPRoute:
		return &r.Status.Parents
	case *gwv1.UDPRoute:
		return &r.Status.Parents
	}
	panic(fmt.Sprintf("not a route: %T", obj))
}

// routeBackendRefs returns "namespace/name" of every Service a route's rules
// reference, for the index that maps Service changes to Gateways.
func routeBackendRefs(obj client.Object) []string {
	var refs []gwv1.BackendRef
	switch r := obj.(type) {
	case *gwv1.HTTPRoute:
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				refs = append(refs, b.BackendRef)
			}
		}
	case *gwv1.GRPCRoute:
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				refs = append(refs, b.BackendRef)
			}
		}
	case *gwv1.TLSRoute:
		for _, rule := range r.Spec.Rules {
			refs = append(refs, rule.BackendRefs...)
		}
	case *gwv1.TCPRoute:
		for _, rule := range r.Spec.Rules {
			refs = append(refs, rule.BackendRefs...)
		}
	case *gwv1.UDPRoute:
		for _, rule := range r.Spec.Rules {
			refs = append(refs, rule.BackendRefs...)
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, b := range refs {
		ns := obj.GetNamespace()
		if b.Namespace != nil {
			ns = string(*b.Namespace)
		}
		key := ns + "/" + string(b.Name)
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

// routeGateways returns "namespace/name" of every Gateway a route names in
// its parentRefs or in our entries of its status, so a route that left a
// Gateway still reaches it (to clear the stale status entry).
func routeGateways(obj client.Object) []string { return routeParentKeys(obj, isGatewayRef) }

// routeListenerSets returns "namespace/name" of every ListenerSet a route
// names in its parentRefs or in our entries of its status.
func routeListenerSets(obj client.Object) []string { return routeParentKeys(obj, isListenerSetRef) }

// routeParentKeys returns "namespace/name" of the parents a route names, in
// its parentRefs or in our entries of its status, that match wants.
func routeParentKeys(obj client.Object, wants func(gwv1.ParentReference) bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ref gwv1.ParentReference) {
		if !wants(ref) {
			return
		}
		key := refKey(obj.GetNamespace(), ref)
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	for _, ref := range routeParentRefs(obj) {
		add(ref)
	}
	for _, p := range *routeParents(obj) {
		if string(p.ControllerName) == gatewayapi.ControllerName {
			add(p.ParentRef)
		}
	}
	return out
}

func refKey(routeNamespace string, ref gwv1.ParentReference) string {
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return ns + "/" + string(ref.Name)
}

func isListenerSetRef(ref gwv1.ParentReference) bool {
	return ref.Group != nil && string(*ref.Group) == gwv1.GroupName && ref.Kind != nil && string(*ref.Kind) == "ListenerSet"
}

func splitKey(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

func isGatewayRef(ref gwv1.ParentReference) bool {
	group, kind := gwv1.GroupName, "Gateway"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	return group == gwv1.GroupName && kind == "Gateway"
}

// refersTo builds the predicate MergeParentStatuses needs: does a parentRef
// of a route in routeNamespace point at the Gateway gwNamespace/gwName, or
// at one of its ListenerSets (keys "namespace/name")?
func refersTo(routeNamespace, gwNamespace, gwName string, listenerSets map[string]bool) func(gwv1.ParentReference) bool {
	return func(ref gwv1.ParentReference) bool {
		if isListenerSetRef(ref) {
			return listenerSets[refKey(routeNamespace, ref)]
		}
		ns := routeNamespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		return isGatewayRef(ref) && ns == gwNamespace && string(ref.Name) == gwName
	}
}
