package controllers

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// unreachableMapper answers every lookup like a RESTMapper whose API
// server cannot be reached.
type unreachableMapper struct{ meta.RESTMapper }

func (unreachableMapper) RESTMapping(schema.GroupKind, ...string) (*meta.RESTMapping, error) {
	return nil, errors.New("dial tcp 10.96.0.1:443: connect: connection refused")
}

func TestKindInstalledTellsAMissingCRDFromAnUnreachableAPIServer(t *testing.T) {
	served := meta.NewDefaultRESTMapper([]schema.GroupVersion{gwv1.SchemeGroupVersion})
	served.Add(gwv1.SchemeGroupVersion.WithKind("HTTPRoute"), meta.RESTScopeNamespace)

	kinds, err := installedRouteKinds(served)
	if err != nil {
		t.Fatalf("standard channel only: %v", err)
	}
	if len(kinds) != 1 || kinds[0].kind != "HTTPRoute" {
		t.Errorf("installed route kinds = %v, want only HTTPRoute", kinds)
	}
	if ok, err := listenerSetsInstalled(served); ok || err != nil {
		t.Errorf("ListenerSet without its CRD: installed %v, error %v; want false, nil", ok, err)
	}

	kinds, err = installedRouteKinds(unreachableMapper{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable API server: kinds %v, error %v; want the error", kinds, err)
	}
	if ok, err := backendTLSPoliciesInstalled(unreachableMapper{}); ok || err == nil {
		t.Errorf("BackendTLSPolicy with the API server unreachable: installed %v, error %v; want an error", ok, err)
	}
}
